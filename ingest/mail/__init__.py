"""Mail import: mbox files, Apple Mail .mbox folders and .eml files become email activities.

The public interface the ``crm import`` and ``crm relink`` commands call:

- :func:`is_mail_export` — is this path a mail export (decided from its content)?
- :func:`import_mail_file` — import one export in one transaction and say what it came to.
- :func:`relink` — link stored, unmatched messages to contacts, leads and accounts that arrived
  since (the spreadsheet importer calls it after each import).

Where each concern lives (only ``load`` and ``link`` touch the database):

- ``sources`` — recognise an export by content and yield its messages one at a time.
- ``headers`` — header blocks: charsets, encoded words, parameters, Message-IDs, addresses, dates.
- ``mime`` — MIME structure: parts found by boundary, text parts decoded, attachments measured.
- ``body`` — the body a person reads: HTML as text, quoted history trimmed, length capped.
- ``message`` — one message's bytes to a ``ParsedMessage`` (or ``MessageRejected``).
- ``people`` — the owner's addresses, direction, counterparts, free-mail domains, sender names.
- ``load`` — one export in one transaction: stage with COPY, de-duplicate, merge, batch row.
- ``link`` — link messages to contacts, leads and accounts, create their activities; relink.
"""

from __future__ import annotations

from ingest.mail.link import relink
from ingest.mail.load import import_mail_file
from ingest.mail.sources import is_mail_export

__all__ = ["import_mail_file", "is_mail_export", "relink"]
