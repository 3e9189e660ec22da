"""Exports of the CRM into other systems' load formats (today: Salesforce's Data Loader CSVs)."""
