"""Header blocks decoded: charsets, RFC 2047 words, parameters, Message-IDs, addresses, dates.

The header block is split and unfolded by hand (as ``policy.compat32`` would, without building a
``Message``); nothing here goes through ``email.policy.default``, which raises on malformed headers
(``To: (c):``, ``Content-Type: text/plain; name*``) and is several times slower. Every fallback
is recorded in the caller's ``flags`` list (they end up in ``details.flags``). No psycopg here.
"""

from __future__ import annotations

import binascii
import codecs
import re
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime

from ingest.characters import strip_invisible, strip_nul
from ingest.entities import KIND_MAX_LENGTHS

__all__ = [
    "add_flag",
    "collapse_whitespace",
    "decode_text",
    "decode_words",
    "first_header",
    "message_ids",
    "normalise_message_id",
    "parse_addresses",
    "parse_date",
    "parse_from_line_date",
    "parse_headers",
    "split_head",
    "split_labels",
    "split_params",
]

# The same rule as the CHECK constraints on contacts.email and leads.email (format and length).
_VALID_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_ADDRESS_CHARS = KIND_MAX_LENGTHS["email"]
_HEADER_LINE = re.compile(r"^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)$", re.S)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?)")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FROM_LINE_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) "
    r"+(\d{1,2}):(\d{2})(?::(\d{2}))?(?: +([+-]\d{4}|[A-Z]{2,5}))? +(\d{4})"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


# ---------------------------------------------------------------------------------------------
# Bytes and charsets
# ---------------------------------------------------------------------------------------------


def decode_text(data: bytes, declared: str | None, flags: list[str]) -> str:
    """Declared charset, then cp1252, then UTF-8 with replacement; every fallback is flagged."""
    charset = (declared or "").strip().strip('"').lower()
    if charset in ("", "us-ascii", "ascii"):
        # Undeclared or "ascii" 8-bit text is UTF-8 far more often than anything else, and a
        # strict UTF-8 decode of other text fails, so this costs no accuracy.
        charset = "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        add_flag(flags, f"unknown_charset:{charset}")
    else:
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            add_flag(flags, f"wrong_charset:{charset}")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        add_flag(flags, "undecodable_bytes_replaced")
        return data.decode("utf-8", errors="replace")


def add_flag(flags: list[str], flag: str) -> None:
    """Record a decoding problem once; the flags end up in the message's ``details.flags``."""
    if flag not in flags:
        flags.append(flag)


def decode_words(value: str, flags: list[str]) -> str:
    """Decode RFC 2047 encoded words (=?charset?Q|B?...?=), tolerating bad charsets and padding."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub("", value)

    def one(match: re.Match[str]) -> str:
        charset, encoding, payload = match.group(1), match.group(2).upper(), match.group(3)
        try:
            if encoding == "B":
                raw = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                raw = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            add_flag(flags, "bad_encoded_word")
            return match.group(0)
        return decode_text(raw, charset, flags)

    return _ENCODED_WORD.sub(one, value)


def collapse_whitespace(value: str | None) -> str | None:
    """Runs of whitespace become one space; blank becomes None (subjects, file names)."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """Split a message or MIME part into its header block and its body."""
    if data.startswith(b"\n"):
        return b"", data[1:]
    if data.startswith(b"\r\n"):
        return b"", data[2:]
    end = _HEADER_END.search(data)
    if end is None:
        return data, b""
    return data[: end.start()], data[end.end() :]


def parse_headers(block: bytes, flags: list[str]) -> dict[str, list[str]]:
    """Unfold and split a header block; raw 8-bit bytes are decoded like any text."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = decode_text(block, "cp1252", flags)
        add_flag(flags, "8bit_headers")
    headers: dict[str, list[str]] = {}
    name: str | None = None
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        if line[0] in " \t":
            if name is not None:
                headers[name][-1] += " " + line.strip()
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            name = None
            add_flag(flags, "malformed_header_line")
            continue
        name = match.group(1).lower()
        headers.setdefault(name, []).append(match.group(2).strip())
    return headers


def first_header(headers: dict[str, list[str]], name: str) -> str | None:
    """The first value of a header (``name`` lower-case), or None when it is missing."""
    values = headers.get(name)
    return values[0] if values else None


def split_params(value: str) -> tuple[str, dict[str, str]]:
    """``type/subtype; a=b; c="d"`` with RFC 2231 (``name*``, ``name*0*``) and malformed params."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    main = pieces[0].strip().lower()
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        key, equals, raw = piece.partition("=")
        key = key.strip().lower()
        if not equals or not key:
            continue  # e.g. `name*` with no value: ignored, as mail clients do
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if "*" in key:
            base, _, rest = key.partition("*")
            encoded = rest.endswith("*") or rest == ""
            index_text = rest.rstrip("*")
            index = int(index_text) if index_text.isdigit() else 0
            extended.setdefault(base, {})[index] = (raw, encoded)
        else:
            plain[key] = raw
    for base, sections in extended.items():
        joined_raw: list[bytes] = []
        charset = "utf-8"
        for position, index in enumerate(sorted(sections)):
            raw, encoded = sections[index]
            if encoded:
                if position == 0 and raw.count("'") >= 2:
                    charset, _, raw = raw.split("'", 2)
                joined_raw.append(_percent_decode(raw))
            else:
                joined_raw.append(raw.encode("utf-8"))
        plain[base] = decode_text(b"".join(joined_raw), charset or "utf-8", [])
    return main, plain


def _percent_decode(value: str) -> bytes:
    out = bytearray()
    index = 0
    raw = value.encode("utf-8", "replace")
    while index < len(raw):
        byte = raw[index]
        if byte == 0x25 and index + 2 < len(raw) + 0 and _is_hex(raw[index + 1 : index + 3]):
            out.append(int(raw[index + 1 : index + 3], 16))
            index += 3
        else:
            out.append(byte)
            index += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(b) in "0123456789abcdefABCDEF" for b in pair)


def normalise_message_id(value: str | None) -> str | None:
    """``<Local@Example.COM>`` → ``Local@example.com``: brackets off, domain lower-cased."""
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    token = match.group(1) if match else (value.split() or [""])[0].strip("<>")
    if not token:
        return None
    local, at, domain = token.rpartition("@")
    return f"{local}@{domain.lower()}" if at else token


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a References or In-Reply-To header, normalised, in order."""
    if not value:
        return []
    found = _MESSAGE_ID.findall(value)
    return [normalised for token in found if (normalised := normalise_message_id(f"<{token}>"))]


def parse_addresses(
    values: list[str] | None, flags: list[str], header: str
) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs; malformed entries are dropped and flagged."""
    if not values:
        return []
    pairs: list[tuple[str, str]] = []
    simple = _simple_addresses(values)
    for name, address in simple if simple is not None else getaddresses(values):
        # Invisible characters (zero-width, bidi controls) and NULs are not part of an address:
        # `ada\u200b@x.com` is ada@x.com, whichever contact or lead that is.
        address = strip_nul(strip_invisible(address)).strip().strip("<>").lower()
        if not address:
            continue
        if len(address) > _MAX_ADDRESS_CHARS or not _VALID_ADDRESS.match(address):
            add_flag(flags, f"malformed_address:{header}")
            continue
        pairs.append((decode_words(name, flags).strip(), address))
    if not pairs and any(value.strip() for value in values):
        # e.g. `To: (c):` or `To: undisclosed-recipients:;` — nothing usable, not an error.
        add_flag(flags, f"no_address:{header}")
    return pairs


_SIMPLE_NAMED = re.compile(r"^\s*([^<>\"(),;:\\@]*?)\s*<([^<>\s\"(),;:\\]+@[^<>\s\"(),;:\\]+)>\s*$")
_SIMPLE_BARE = re.compile(r"^\s*([^<>\s\"(),;:\\]+@[^<>\s\"(),;:\\]+)\s*$")


def _simple_addresses(values: list[str]) -> list[tuple[str, str]] | None:
    """The common `Name <a@b>, c@d` cases by regex; None sends anything else to getaddresses."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        if '"' in value or "(" in value:
            return None
        for piece in value.split(","):
            if not piece.strip():
                continue
            named = _SIMPLE_NAMED.match(piece)
            if named is not None:
                pairs.append((named.group(1), named.group(2)))
                continue
            bare = _SIMPLE_BARE.match(piece)
            if bare is None:
                return None
            pairs.append(("", bare.group(1)))
    return pairs


def split_labels(value: str, flags: list[str]) -> list[str]:
    """Gmail's X-Gmail-Labels: RFC 2047-decoded first, then split at commas outside quotes."""
    decoded = decode_words(value, flags)
    labels: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in decoded:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            labels.append("".join(current))
            current = []
        else:
            current.append(char)
    labels.append("".join(current))
    return sorted({label.strip() for label in labels if label.strip()})


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def _plausible(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # `-0000` means "no zone known": take it as UTC
        moment = moment.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    if not (datetime(1980, 1, 1, tzinfo=UTC) <= moment <= now + timedelta(days=2)):
        return None
    return moment


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _plausible(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_from_line_date(from_line: str | None) -> datetime | None:
    """The asctime date of an mbox From_ line (`From x Wed Mar 12 09:14:00 +0000 2025`)."""
    if not from_line:
        return None
    match = _FROM_LINE_DATE.search(from_line)
    if match is None:
        return None
    _, month, day, hour, minute, second, zone, year = match.groups()
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    try:
        naive = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute))
        naive += timedelta(seconds=int(second or 0))
    except ValueError:
        return None
    return _plausible((naive - offset).replace(tzinfo=UTC))
