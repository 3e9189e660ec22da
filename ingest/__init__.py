"""The ingestion library: export files in, PostgreSQL rows out, through a connection you give it.

Readers (CSV, XLSX), mapping profiles, validation, staging and merge, the spreadsheet and mail
importers, the audit trail, and the dispatcher that picks an importer for a path. It never imports
the application (:mod:`consulting_crm`), typer or rich.
"""
