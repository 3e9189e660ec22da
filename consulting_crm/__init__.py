"""Consulting CRM, the application behind the ``crm`` command.

The command line, settings, where the database is and its schema, BI logins, the dbt runner, the
nightly run, the HTML report, exports to other systems and the demo. It uses the ingestion library
(:mod:`ingest`) to bring files in; ``ingest`` never imports this package.
"""
