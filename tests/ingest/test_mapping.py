"""User profiles are checked like built-in ones; proposals from headers and contents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import CrmError
from ingest.mapping import propose, propose_values
from ingest.options import Overrides
from ingest.profiles import choose_mapping, load_profiles, read_profile_file

GOOD = """
name = "pipeline"
[[variants]]
name = "deals"
entity = "projects"
detect = [["Client", "Deal"]]
[variants.columns]
account_name = ["Client"]
name = ["Deal"]
stage = ["Stage"]
[variants.values.stage]
"Closed Won" = "won"
"""


@pytest.mark.parametrize(
    ("file_name", "text", "message"),
    [
        ("pipeline.toml", "name = ", "pipeline.toml: not valid TOML"),
        ("pipeline.toml", 'name = "other"\n', "name = 'other' differs from the file name"),
        ("generic.toml", GOOD, "'generic' is the name of a built-in profile"),
        ("My Pipeline.toml", GOOD, "'My Pipeline' is not a usable profile name"),
        ("pipeline.toml", 'name = "pipeline"\n', "no [[variants]]"),
        ("pipeline.toml", GOOD.replace("projects", "deals"), "entity must be one of leads,"),
        ("pipeline.toml", GOOD.replace("account_name =", "client ="), "'client' is not a column"),
        ("pipeline.toml", GOOD.replace('= "won"', '= "gewonnen"'), "maps to 'gewonnen'"),
        ("pipeline.toml", GOOD.replace("detect", "detekt"), "unknown key(s) detekt"),
        ("pipeline.toml", GOOD.replace('["Deal"]', "[]"), "columns.name must be a header"),
        ("pipeline.toml", GOOD + "[variants.values.name]\nX = 'Y'\n", "values.name: value maps"),
        (
            "pipeline.toml",
            GOOD.replace("detect =", 'create_accounts = "yes"\ndetect ='),
            "create_accounts must be true or false",
        ),
        (
            "pipeline.toml",
            'name = "pipeline"\n[[variants]]\nname = "l"\nentity = "leads"\n'
            'create_accounts = true\n[variants.columns]\nlast_name = ["Name"]\n',
            "create_accounts is for files of projects or contacts (this variant loads leads)",
        ),
    ],
)
def test_a_bad_user_profile_names_the_file_and_the_fix(
    tmp_path: Path, file_name: str, text: str, message: str
) -> None:
    path = tmp_path / file_name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrmError) as caught:
        read_profile_file(path)
    assert message in str(caught.value)
    with pytest.raises(CrmError):  # and every auto-detection stops on it, rather than skip it
        load_profiles(tmp_path)


def test_user_profiles_come_first_and_are_detected(tmp_path: Path) -> None:
    (tmp_path / "pipeline.toml").write_text(GOOD, encoding="utf-8")
    assert [profile.name for profile in load_profiles(tmp_path)][:2] == ["pipeline", "salesforce"]
    mapping = choose_mapping(
        ["Deal", "Client", "Stage", "Owner"], file_name="x.csv", user_dir=tmp_path
    )
    assert (mapping.variant.label, mapping.targets) == (
        "pipeline:deals",
        {"name": 0, "account_name": 1, "stage": 2},
    )
    # Without the identifying headers it is not used; the generic template is.
    other = choose_mapping(["name", "stage"], file_name="x.csv", user_dir=tmp_path)
    assert other.variant.label == "generic:projects"


def test_map_takes_a_header_away_from_other_columns() -> None:
    overrides = Overrides(columns={"account_name": "name"})
    headers = ["name", "project_name"]
    mapping = choose_mapping(headers, file_name="x.csv", overrides=overrides)
    # "name" is the account's now, not also the project's name (which comes from project_name).
    assert (mapping.entity, mapping.targets) == ("projects", {"account_name": 0, "name": 1})


def test_english_headers_and_contents() -> None:
    headers = ["Client", "Opportunity", "Value €", "Stage", "Won on", "E-Mail", "Web"]
    columns = [
        ["Fir Partners", "Gum Tree Ltd"],
        ["Pricing review", "Board pack"],
        ["€12,000", "4.500,50 €"],
        ["Closed Won", "Proposal", "Closed Lost", "Closed Won"],
        ["14/02/2025", "01/05/2025"],
        ["ann@fir.example", "bo@gum.example"],
        ["fir.example", "https://gum.example"],
    ]
    proposal = propose(headers, columns, entity=None)
    assert proposal.entity == "projects"
    assert {column.header: column.field for column in proposal.columns} == {
        "Client": "account_name",
        "Opportunity": "name",
        "Value €": "amount",
        "Stage": "stage",
        "Won on": "close_date",
        "E-Mail": "primary_contact_email",
        "Web": None,  # a project has no website
    }
    (stage,) = [column for column in proposal.columns if column.field == "stage"]
    assert [(v.value, v.count, v.target) for v in stage.values] == [
        ("Closed Won", 2, "won"),
        ("Closed Lost", 1, "lost"),
    ]


def test_contents_alone_propose_a_column() -> None:
    proposal = propose(
        ["Wer", "xyz"], [["a@b.example", "c@d.example"], ["foo", "bar"]], entity="leads"
    )
    (email,) = proposal.mapped
    assert (email.header, email.field, email.reason) == ("Wer", "email", "contents")


def test_unknown_values_get_no_guess() -> None:
    assert [
        (v.value, v.target) for v in propose_values(["Zzz", "won", "Angebot"], "project_stage")
    ] == [
        ("Angebot", "proposal"),
        ("Zzz", None),
    ]
