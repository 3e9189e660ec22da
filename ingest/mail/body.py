"""The body a person reads: text/plain or text/html parts → trimmed, capped plain text.

Quoted history under a reply and its attribution line are dropped, and what is left is capped
at :data:`BODY_MAX_CHARS` (docs/importing.md, "Privacy: bodies"). No psycopg here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

__all__ = ["BODY_MAX_CHARS", "html_to_text", "readable_text", "trim_body"]

# Documented limit (docs/importing.md, "Mail exports"): bodies are stored trimmed and capped.
BODY_MAX_CHARS = 20_000

_HTML_DROP = re.compile(r"<(script|style|head|title)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_HTML_BREAK = re.compile(r"<br\s*/?>|</(p|div|tr|h[1-6]|table|blockquote|ul|ol)\s*>", re.I)
_HTML_ITEM = re.compile(r"<li\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\f\v\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ATTRIBUTION = re.compile(
    r"^(On .{4,200} wrote:|Am .{4,200} schrieb .{1,200}:|Le .{4,200} a écrit ?:"
    r"|-+ ?Original Message ?-+|-+ ?Ursprüngliche Nachricht ?-+)$",
    re.I,
)
_OUTLOOK_SEPARATOR = re.compile(r"^(_{20,}|-{5,} ?Original Message ?-{5,})$", re.I)


def readable_text(plain: Sequence[str], html_parts: Sequence[str]) -> str:
    """The plain-text parts when there are any, else the HTML parts as text, else nothing."""
    if plain:
        return "\n\n".join(plain)
    if html_parts:
        return html_to_text("\n".join(html_parts))
    return ""


def html_to_text(markup: str) -> str:
    """A small, fast HTML-to-text conversion: enough for a readable timeline entry."""
    text = _HTML_DROP.sub("", markup)
    text = _HTML_BREAK.sub("\n", text)
    text = _HTML_ITEM.sub("\n- ", text)
    text = _HTML_TAG.sub("", text)
    text = html.unescape(text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())


def trim_body(text: str, limit: int = BODY_MAX_CHARS) -> tuple[str | None, bool]:
    """Drop the quoted history under a reply and its attribution line; cap the length."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    for index, line in enumerate(lines):
        if _OUTLOOK_SEPARATOR.match(line.strip()) and any(
            candidate.startswith(("From:", "Von:", "De:"))
            for candidate in lines[index + 1 : index + 3]
        ):
            lines = lines[:index]
            break
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].startswith(">")):
        end -= 1
    if any(line.startswith(">") for line in lines[end:]):
        lines = lines[:end]
        if lines and _ATTRIBUTION.match(lines[-1].strip()):
            lines.pop()
    trimmed = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not trimmed:
        return None, False
    if len(trimmed) > limit:
        return trimmed[:limit].rstrip() + " […]", True
    return trimmed, False
