"""`crm db members`: the member list, on a plain server and on a stand-in for Supabase."""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
import pytest

from consulting_crm import database as db
from consulting_crm.cli import main
from consulting_crm.members import add_member, list_members, remove_member, uses_supabase_auth
from ingest.errors import CrmError
from tests.test_schema import SEED_ROWS
from tests.test_security import MEMBER, STRANGER, SUPABASE_AUTH, count, sign_in


@pytest.fixture
def plain(make_database: Callable[..., str]) -> str:
    """A database with schema.sql and one row per table, on a server without Supabase."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(SEED_ROWS)  # type: ignore[arg-type]
    return conninfo


@pytest.fixture
def supabase(make_database: Callable[..., str]) -> str:
    """A database with an auth schema like Supabase's (auth.users, auth.uid()), then schema.sql."""
    conninfo = make_database(with_schema=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute(SUPABASE_AUTH)  # type: ignore[arg-type]
        conn.execute(
            "insert into auth.users (id, email) values (%s, 'Me@Firm.example'), "
            "(%s, 'stranger@else.example')",
            (MEMBER, STRANGER),
        )
        conn.commit()
        db.apply_schema(conn)
    return conninfo


def test_plain_server_members_are_user_ids_with_a_label(plain: str) -> None:
    with psycopg.connect(plain) as conn:
        assert not uses_supabase_auth(conn)
        member, created = add_member(conn, MEMBER, email="Me@Firm.example")
        again, created_again = add_member(conn, MEMBER)
        assert (created, created_again) == (True, False)
        assert (str(member.user_id), member.email) == (MEMBER, "me@firm.example")
        assert again.email == "me@firm.example"  # adding again keeps the label
        assert [(str(m.user_id), m.email) for m in list_members(conn)] == [
            (MEMBER, "me@firm.example")
        ]
        with pytest.raises(CrmError, match=r"'me@firm.example' is not a user id.*--email"):
            add_member(conn, "me@firm.example")
        removed = remove_member(conn, "ME@firm.example")
        assert str(removed.user_id) == MEMBER
        assert list_members(conn) == []
        with pytest.raises(CrmError, match="is not a member; `crm db members list` shows who is"):
            remove_member(conn, MEMBER)


def test_adding_a_member_opens_the_crm_to_them_and_removing_closes_it(plain: str) -> None:
    with psycopg.connect(plain) as owner, psycopg.connect(plain) as request:
        sign_in(request, MEMBER)
        assert count(request, "accounts") == 0
        add_member(owner, MEMBER)
        assert count(request, "accounts") == 1
        remove_member(owner, MEMBER)
        assert count(request, "accounts") == 0
        request.rollback()


def test_supabase_members_are_found_by_email_in_auth_users(supabase: str) -> None:
    with psycopg.connect(supabase) as conn:
        assert uses_supabase_auth(conn)
        member, created = add_member(conn, "me@firm.example")
        assert (str(member.user_id), member.email, created) == (MEMBER, "Me@Firm.example", True)
        by_id, _ = add_member(conn, STRANGER)
        assert by_id.email == "stranger@else.example"
        assert [str(m.user_id) for m in list_members(conn)] == [MEMBER, STRANGER]
        assert str(remove_member(conn, "Stranger@Else.example").user_id) == STRANGER
        # The email shown is the user's current one.
        conn.execute("update auth.users set email = 'new@firm.example' where id = %s", (MEMBER,))
        assert [m.email for m in list_members(conn)] == ["new@firm.example"]


@pytest.mark.parametrize(
    ("who", "email", "message"),
    [
        (
            "nobody@firm.example",
            None,
            "no Supabase user has the email nobody@firm.example: sign up first (or invite them "
            "in the Supabase dashboard",
        ),
        (
            "33333333-3333-4333-8333-333333333333",
            None,
            "no Supabase user has the id 33333333-3333-4333-8333-333333333333: sign up first",
        ),
        (MEMBER, "me@firm.example", "--email is for servers without Supabase Auth"),
    ],
    ids=["unknown-email", "unknown-id", "email-label"],
)
def test_supabase_refusals_name_the_fix(
    supabase: str, who: str, email: str | None, message: str
) -> None:
    with psycopg.connect(supabase) as conn:
        with pytest.raises(CrmError, match=re.escape(message)):
            add_member(conn, who, email=email)
        assert list_members(conn) == []


def test_without_the_schema_it_says_run_init(make_database: Callable[..., str]) -> None:
    conninfo = make_database(with_schema=False)
    with psycopg.connect(conninfo) as conn, pytest.raises(CrmError, match="run `crm db init`"):
        list_members(conn)


def test_members_commands(
    plain: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", plain)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["db", "members", "list"]) == 0
    assert "No members" in capsys.readouterr().out
    assert main(["db", "members", "add", MEMBER, "--email", "me@firm.example"]) == 0
    assert f"Added member me@firm.example ({MEMBER})" in capsys.readouterr().out
    assert main(["db", "members", "add", MEMBER]) == 0
    assert "was already a member" in capsys.readouterr().out
    assert main(["db", "members", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Members (1)" in listed
    assert re.search(rf"me@firm\.example\s*│\s*{MEMBER}", listed)
    assert main(["db", "members", "remove", "me@firm.example"]) == 0
    assert f"Removed member me@firm.example ({MEMBER})" in capsys.readouterr().out
    assert main(["db", "members", "remove", "me@firm.example"]) == 3
    err = capsys.readouterr().err
    assert "me@firm.example is not a member" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["db", "members", "add", "me@firm.example"]) == 3
    assert "is not a user id" in capsys.readouterr().err
