"""Consulting CRM: importers, database access and the crm command."""
