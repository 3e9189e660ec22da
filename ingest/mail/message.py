"""One message's bytes become the facts we store: a ParsedMessage, or MessageRejected.

This ties the pieces together — the header block (:mod:`ingest.mail.headers`), the MIME parts
(:mod:`ingest.mail.mime`) and the body text (:mod:`ingest.mail.body`) — and decides what needs the
whole message: the date and its fallbacks, the thread key, the labels, the content fingerprint and
message key that de-duplicate across exports, and whether the mail is automated. Direction and
counterparts depend on whose mailbox it is: :mod:`ingest.mail.people`.

Speed and robustness come from decoding only what we keep; nothing here goes through
``email.policy.default``, which raises on malformed headers and is several times slower. No
psycopg here, no whole-file reads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from ingest.mail.body import BODY_MAX_CHARS, readable_text, trim_body
from ingest.mail.headers import (
    add_flag,
    collapse_whitespace,
    decode_words,
    first_header,
    message_ids,
    normalise_message_id,
    parse_addresses,
    parse_date,
    parse_from_line_date,
    parse_headers,
    split_head,
    split_labels,
)
from ingest.mail.mime import Attachment, collect_parts

__all__ = ["MessageRejected", "ParsedMessage", "parse_message"]

MAX_MESSAGE_ID_CHARS = 500

# Headers that an export tool adds or rewrites; left out of the byte hash of a message without
# Message-ID so the same message from two exports (or two Takeout labels) hashes the same.
EXPORT_HEADERS = frozenset(
    {
        "x-gmail-labels",
        "x-gm-thrid",
        "x-mozilla-status",
        "x-mozilla-status2",
        "x-mozilla-keys",
        "status",
        "x-status",
        "x-keywords",
        "x-uid",
        "content-length",
        "lines",
    }
)

# Senders that are machines: their mail, like mail with List-Id or Precedence: bulk, is automated
# and never makes a lead.
AUTOMATED_LOCAL_PARTS = frozenset(
    {
        "bounce",
        "bounces",
        "donotreply",
        "do-not-reply",
        "mailer-daemon",
        "newsletter",
        "no-reply",
        "noreply",
        "notification",
        "notifications",
        "postmaster",
    }
)

_MBOXO_ESCAPED = re.compile(r"(?m)^>(>*From )")


class MessageRejected(Exception):
    """A message we cannot store; the reason code and message go to ingest.rejected_rows."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass
class ParsedMessage:
    """What one message says, decoded; direction and counterparts need the owners (classify)."""

    message_id: str | None
    message_key: str
    content_sha256: str
    occurred_at: datetime
    occurred_at_source: str
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    cc_addresses: list[str]
    bcc_addresses: list[str]
    subject: str | None
    body: str | None
    body_truncated: bool
    body_is_html: bool
    thread_key: str | None
    thread_key_source: str | None
    in_reply_to: str | None
    labels: list[str]
    attachments: list[Attachment]
    is_automated: bool
    flags: list[str] = field(default_factory=list)


def parse_message(
    data: bytes,
    *,
    from_line: str | None = None,
    store_body: bool = True,
    body_limit: int = BODY_MAX_CHARS,
) -> ParsedMessage:
    """Parse one message; raises MessageRejected for a message we cannot store."""
    flags: list[str] = []
    head, body = split_head(data)
    headers = parse_headers(head, flags)
    if not any(
        name in headers for name in ("from", "date", "message-id", "subject", "received", "to")
    ):
        raise MessageRejected(
            "not_a_message",
            "has no mail headers (From, To, Date, Subject, Message-ID or Received), so the "
            "export is damaged here; the message was skipped and the others were imported.",
        )

    raw_message_id = first_header(headers, "message-id")
    message_id = normalise_message_id(raw_message_id)
    if message_id is not None and len(message_id) > MAX_MESSAGE_ID_CHARS:
        add_flag(flags, "message_id_too_long")
        message_id = None

    occurred_at = parse_date(first_header(headers, "date"))
    source = "date"
    if occurred_at is None:
        if headers.get("date"):
            add_flag(flags, "unreadable_date")
        occurred_at, source = parse_from_line_date(from_line), "from_line"
    if occurred_at is None:
        source = "received"
        for received in headers.get("received", []):
            occurred_at = parse_date(received.rpartition(";")[2])
            if occurred_at is not None:
                break
    if occurred_at is None:
        raise MessageRejected(
            "missing_date",
            "has no readable Date header, mbox From_ line date or Received date (an unsent draft "
            "has none), so it cannot be placed on the timeline; the message was skipped.",
        )

    senders = parse_addresses(headers.get("from"), flags, "from") or parse_addresses(
        headers.get("sender"), flags, "sender"
    )
    from_name, from_address = senders[0] if senders else (None, None)
    to = [address for _, address in parse_addresses(headers.get("to"), flags, "to")]
    cc = [address for _, address in parse_addresses(headers.get("cc"), flags, "cc")]
    bcc = [address for _, address in parse_addresses(headers.get("bcc"), flags, "bcc")]

    subject_raw = first_header(headers, "subject")
    subject = (
        collapse_whitespace(decode_words(subject_raw, flags)) if subject_raw is not None else None
    )

    parts = collect_parts(headers, body, flags)
    full_text = readable_text(parts.plain, parts.html)
    stored_body, truncated = trim_body(full_text, body_limit) if store_body else (None, False)

    thread_id = (first_header(headers, "x-gm-thrid") or "").strip()
    references = message_ids(first_header(headers, "references"))
    in_reply_to_ids = message_ids(first_header(headers, "in-reply-to"))
    if thread_id:
        thread_key, thread_source = thread_id, "x-gm-thrid"
    elif references:
        thread_key, thread_source = references[0], "references"
    elif in_reply_to_ids:
        thread_key, thread_source = in_reply_to_ids[0], "in-reply-to"
    elif message_id:
        thread_key, thread_source = message_id, "message-id"
    else:
        thread_key, thread_source = None, None

    labels_raw = headers.get("x-gmail-labels")
    labels = split_labels(",".join(labels_raw), flags) if labels_raw else []

    content = hashlib.sha256()
    for part in (
        occurred_at.isoformat(),
        from_address or "",
        subject or "",
        _MBOXO_ESCAPED.sub(r"\1", full_text) if ">From " in full_text else full_text,
        "|".join(f"{a.name}:{a.content_type}:{a.size_bytes}" for a in parts.attachments),
    ):
        content.update(part.encode("utf-8", "surrogatepass"))
        content.update(b"\x1f")
    content_sha256 = content.hexdigest()
    message_key = message_id if message_id else "sha256:" + _bytes_sha256(head, body)

    local_part = (from_address or "").partition("@")[0]
    precedence = (first_header(headers, "precedence") or "").strip().lower()
    auto_submitted = (first_header(headers, "auto-submitted") or "no").strip().lower()
    is_automated = (
        "list-id" in headers
        or "list-unsubscribe" in headers
        or precedence in ("bulk", "list", "junk")
        or not auto_submitted.startswith("no")
        or local_part in AUTOMATED_LOCAL_PARTS
    )

    return ParsedMessage(
        message_id=message_id,
        message_key=message_key,
        content_sha256=content_sha256,
        occurred_at=occurred_at,
        occurred_at_source=source,
        from_address=from_address,
        from_name=from_name or None,
        to_addresses=to,
        cc_addresses=cc,
        bcc_addresses=bcc,
        subject=subject,
        body=stored_body,
        body_truncated=truncated,
        body_is_html=not parts.plain and bool(parts.html),
        thread_key=thread_key,
        thread_key_source=thread_source,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        labels=labels,
        attachments=parts.attachments,
        is_automated=is_automated,
        flags=flags,
    )


def _bytes_sha256(head: bytes, body: bytes) -> str:
    """SHA-256 of the message bytes without the headers an export tool adds; LF line ends."""
    digest = hashlib.sha256()
    skipping = False
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            name = line.partition(b":")[0].strip().lower().decode("ascii", "replace")
            skipping = name in EXPORT_HEADERS
        if not skipping:
            digest.update(line + b"\n")
    # An mboxo writer may have turned a body line `From ` into `>From `; hash both alike.
    digest.update((b"\n" + body).replace(b"\r\n", b"\n").replace(b"\n>From ", b"\nFrom "))
    return digest.hexdigest()
