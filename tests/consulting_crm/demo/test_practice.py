"""The demo practice is deterministic and obeys the rules the database enforces."""

from __future__ import annotations

import hashlib
from pathlib import Path

from consulting_crm.demo.files import write_demo_files
from consulting_crm.demo.practice import DEMO_AS_OF, generate_practice


def _digests(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_same_seed_same_files(tmp_path: Path) -> None:
    write_demo_files(generate_practice(seed=3), tmp_path / "a")
    write_demo_files(generate_practice(seed=3), tmp_path / "b")
    write_demo_files(generate_practice(seed=4), tmp_path / "c")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_scale_multiplies_volumes() -> None:
    one, three = generate_practice(scale=1), generate_practice(scale=3)
    assert len(three.accounts) == 3 * len(one.accounts)
    assert len(three.leads) == 3 * len(one.leads)


def test_records_obey_the_schema_rules() -> None:
    practice = generate_practice()
    emails = [c.email.lower() for c in practice.contacts]
    assert len(emails) == len(set(emails))
    assert len({a.domain for a in practice.accounts}) == len(practice.accounts)
    for project in practice.projects:
        assert project.amount >= 0
        if project.stage in ("won", "lost"):
            assert project.close_date <= DEMO_AS_OF
        else:
            assert project.close_date > DEMO_AS_OF
        if project.delivery_status is not None:
            assert project.stage == "won"
        if project.start_date and project.end_date:
            assert project.end_date >= project.start_date
    assert all(e.sent_at.date() <= DEMO_AS_OF for e in practice.emails)
