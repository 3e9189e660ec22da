"""People and classification: whose mail it is, which way it went, who the other party is.

The owner's own addresses (and ``@domain`` entries for a whole firm) decide direction: mail from
an owner is outbound. Every other address is a counterpart, the sender first for received mail;
mail with no counterpart is internal. Free-mail domains never stand for a company. A sender's
display name and domain give a new lead's name and company. No psycopg here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.characters import strip_invisible
from ingest.mail.message import ParsedMessage

__all__ = [
    "FREE_MAIL_DOMAINS",
    "Classified",
    "Owners",
    "classify",
    "company_from_domain",
    "split_person_name",
]

# Addresses at these domains belong to people, not to a company: they never link mail to an
# account by domain, and --create-leads makes no lead from them (docs/importing.md).
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.at",
        "gmx.ch",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "posteo.de",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "t-online.de",
        "tutanota.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)


@dataclass(frozen=True)
class Owners:
    """The user's own addresses (and ``@domain`` entries for a whole firm), lower-cased."""

    addresses: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def of(cls, entries: Sequence[str]) -> Owners:
        visible = [strip_invisible(entry).strip().lower() for entry in entries]
        cleaned = [entry for entry in visible if entry]
        return cls(
            addresses=frozenset(entry for entry in cleaned if not entry.startswith("@")),
            domains=frozenset(entry[1:] for entry in cleaned if entry.startswith("@")),
        )

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        return address in self.addresses or address.rpartition("@")[2] in self.domains


@dataclass(frozen=True)
class Classified:
    direction: str  # 'inbound' or 'outbound'
    counterparts: list[str]  # non-owner addresses, the ones that decide the link, in order
    is_internal: bool


def classify(message: ParsedMessage, owners: Owners) -> Classified:
    """Direction from the sender; counterparts are the other party's addresses, sender first."""
    outbound = message.from_address is not None and message.from_address in owners
    ordered = [] if outbound else [message.from_address] if message.from_address else []
    ordered += message.to_addresses + message.cc_addresses + message.bcc_addresses
    counterparts: list[str] = []
    for address in ordered:
        if address not in owners and address not in counterparts:
            counterparts.append(address)
    return Classified(
        direction="outbound" if outbound else "inbound",
        counterparts=counterparts,
        is_internal=not counterparts,
    )


def company_from_domain(domain: str) -> str:
    """`acme-consulting.co.uk` → `Acme Consulting`: the name a lead's company starts with."""
    labels = [label for label in domain.lower().split(".") if label]
    if len(labels) >= 3 and labels[-2] in ("co", "com", "org", "net", "ac", "gov", "edu"):
        name = labels[-3]
    elif len(labels) >= 2:
        name = labels[-2]
    else:
        name = labels[0] if labels else domain
    return " ".join(word.capitalize() for word in re.split(r"[-_]+", name) if word) or domain


def split_person_name(display: str | None) -> tuple[str | None, str | None]:
    """`Doe, Jane` or `Jane Doe` → (first, last)."""
    if not display:
        return None, None
    display = display.strip().strip("'\"").strip()
    if not display or "@" in display:
        return None, None
    if "," in display:
        last, _, first = display.partition(",")
        return first.strip() or None, last.strip() or None
    parts = display.split()
    if len(parts) == 1:
        return None, parts[0]
    return " ".join(parts[:-1]), parts[-1]
