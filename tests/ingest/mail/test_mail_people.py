"""People and classification: direction, counterparts, names and companies (no database)."""

from __future__ import annotations

import pytest

from ingest.mail.message import parse_message
from ingest.mail.people import Owners, classify, company_from_domain, split_person_name


def test_classify_direction_counterparts_and_internal() -> None:
    owners = Owners.of(["Maria@Kessler-Consulting.de", "@kessler-consulting.de", " "])
    message = parse_message(
        b"From: Maria <maria@kessler-consulting.de>\nTo: a@x.de, Bob <bob@kessler-consulting.de>\n"
        b"Cc: c@y.de, a@x.de\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\nHi\n"
    )
    assert classify(message, owners).__dict__ == {
        "direction": "outbound",
        "counterparts": ["a@x.de", "c@y.de"],
        "is_internal": False,
    }
    internal = parse_message(
        b"From: bob@kessler-consulting.de\nTo: maria@kessler-consulting.de\n"
        b"Date: Mon, 3 Mar 2025 10:00:00 +0000\n\nHi\n"
    )
    assert classify(internal, owners).__dict__ == {
        "direction": "outbound",
        "counterparts": [],
        "is_internal": True,
    }


@pytest.mark.parametrize(
    ("domain", "company"),
    [
        ("nordlicht-logistik.de", "Nordlicht Logistik"),
        ("mail.acme-consulting.co.uk", "Acme Consulting"),
        ("brandt_design.at", "Brandt Design"),
    ],
)
def test_company_from_domain(domain: str, company: str) -> None:
    assert company_from_domain(domain) == company


@pytest.mark.parametrize(
    ("display", "names"),
    [
        ("Doe, Jane", ("Jane", "Doe")),
        ("Jane Q. Doe", ("Jane Q.", "Doe")),
        ("Cher", (None, "Cher")),
        ("a@b.c", (None, None)),
        (None, (None, None)),
    ],
)
def test_person_names(display: str | None, names: tuple[str | None, str | None]) -> None:
    assert split_person_name(display) == names
