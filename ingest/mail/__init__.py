"""Mail import: mbox files, Apple Mail .mbox folders and .eml files become email activities.

The public interface the ``crm import`` and ``crm relink`` commands call:

- :func:`is_mail_export` — is this path a mail export (decided from its content)?
- :func:`import_mail_file` — import one export in one transaction and say what it came to.
- :func:`relink` — link stored, unmatched messages to contacts, leads and accounts that arrived
  since (the spreadsheet importer calls it after each import).
"""

from __future__ import annotations

from ingest.mail.link import relink
from ingest.mail.load import import_mail_file
from ingest.mail.sources import is_mail_export

__all__ = ["import_mail_file", "is_mail_export", "relink"]
