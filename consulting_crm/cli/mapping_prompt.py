"""On a terminal, `crm import` asks how to map a spreadsheet no profile maps.

The proposal of :mod:`ingest.mapping` is shown one column at a time (accept, change, skip), then
every value of a fixed-set column we do not know, then, for projects and contacts whose account
names include clients that are no account yet, the offer to create them (--create-accounts), then
the offer to save it all as a profile.
Without a terminal (cron, CI, a pipe) nothing is asked: the import fails with the proposal and the
flags to pass, as :mod:`ingest.spreadsheet` reports it.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from ingest.entities import ENTITIES, ENTITY_FIELDS, ENUMS, IDENTITY
from ingest.errors import CrmError
from ingest.options import ImportOptions
from ingest.profiles import CREATE_ACCOUNTS_ENTITIES
from ingest.readers import SPREADSHEET_SUFFIXES

Ask = Callable[[str], str]


def on_a_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask_mapping_if_needed(
    files: list[Path],
    options: ImportOptions,
    console: Console,
    ask: Ask = input,
    *,
    unknown_accounts: Callable[[list[str]], list[str]] | None = None,
) -> ImportOptions:
    """When the one spreadsheet of the run matches no profile, ask how to map it; the options
    returned import it that way (with the profile saved, when the user chose to).

    For a file of projects or contacts whose account names include clients that are no account
    yet (``unknown_accounts`` says which), it also offers to create them (--create-accounts)."""
    from ingest.mapping import describe_proposal, propose, sample_columns
    from ingest.options import Overrides
    from ingest.profiles import MappingNeeded, choose_mapping
    from ingest.readers import open_table
    from ingest.results import display_name

    sheets = [path for path in files if path.suffix.lower() in SPREADSHEET_SUFFIXES]
    if len(sheets) != 1 or len(files) != 1:
        return options
    path = sheets[0]
    try:
        table = open_table(path, sheet=options.sheet, encoding=options.encoding)
        choose_mapping(
            table.headers,
            file_name=display_name(path),
            profile=options.profile,
            entity=options.entity,
            user_dir=options.profile_dir,
        )
        return options  # a profile maps it
    except MappingNeeded as exc:
        entity = exc.entity
        reason = str(exc)
    except CrmError:
        return options  # the import reports it as usual
    show = _printer(console)
    show(reason)
    # A workbook's sheets with the same header row are imported with this mapping: their values
    # count too.
    also = [open_table(path, sheet=other) for other in table.same_column_sheets]
    proposal = propose(table.headers, sample_columns(table, also=also), entity=entity)
    for line in describe_proposal(proposal):
        show(line)
    show("")
    chosen_entity = _choose(
        ask,
        f"Load the rows as [{proposal.entity}] ({', '.join(ENTITIES)}): ",
        proposal.entity,
        ENTITIES,
        show,
    )
    if chosen_entity != proposal.entity:
        proposal = propose(table.headers, sample_columns(table, also=also), entity=chosen_entity)
        for line in describe_proposal(proposal)[1:]:
            show(line)
    fields = [name for name, spec in ENTITY_FIELDS[chosen_entity].items() if spec.kind != "id"]
    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    show("For each column: Enter or a to accept, c to change the field, s to skip the column.")
    for column in proposal.columns:
        samples = ", ".join(column.samples) or "(empty)"
        if column.field is None:
            question = f'"{column.header}" (e.g. {samples}) → not imported. [s]kip or c: '
            default = "s"
        else:
            question = (
                f'"{column.header}" (e.g. {samples}) → {column.field} ({column.percent}). '
                "[a]ccept, c or s: "
            )
            default = "a"
        answer = _choose(ask, question, default, ("a", "c", "s"), show)
        target = column.field if answer == "a" else None
        if answer == "c":
            target = _choose(
                ask, f'  Field for "{column.header}" ({", ".join(fields)}): ', None, fields, show
            )
        if target is None:
            continue
        if target in columns:
            show(f'  {target} was already given to "{columns[target]}"; this column is skipped.')
            continue
        columns[target] = column.header
        enum = ENTITY_FIELDS[chosen_entity][target].enum
        if enum is None:
            continue
        from ingest.mapping import propose_values

        all_values = sample_columns(table, also=also)[table.headers.index(column.header)]
        for value in propose_values(all_values, enum):
            labels = ENUMS[enum]
            proposed = value.target or ""
            question = (
                f'  "{value.value}" ×{value.count} → [{proposed or "?"}] '
                f"({', '.join(labels)}, or s to leave it): "
            )
            label = _choose(ask, question, proposed or None, (*labels, "s"), show)
            if label != "s":
                values.setdefault(target, {})[value.value] = label
    if not any(target in columns for target in IDENTITY[chosen_entity]):
        raise CrmError(
            f"{display_name(path)}: nothing was imported: a file of {chosen_entity} needs one of "
            f"{', '.join(IDENTITY[chosen_entity])} mapped."
        )
    create_accounts = options.create_accounts
    if (
        not create_accounts
        and unknown_accounts is not None
        and chosen_entity in CREATE_ACCOUNTS_ENTITIES
        and "account_name" in columns
    ):
        header = columns["account_name"]
        every_row = sample_columns(table, rows=sys.maxsize, also=also)[table.headers.index(header)]
        missing = unknown_accounts(list(dict.fromkeys(every_row)))
        if missing:
            from ingest.load.matching import listed

            show(
                f'{len(missing)} client(s) in "{header}" are no account yet: {listed(missing)}. '
                "Without accounts their rows are rejected."
            )
            answer = _choose(
                ask,
                "Create these accounts (--create-accounts)? y or [n]: ",
                "n",
                ("y", "n"),
                show,
            )
            create_accounts = answer == "y"
    overrides = Overrides(columns=columns, values=values)
    chosen = dataclasses.replace(
        options, entity=chosen_entity, overrides=overrides, create_accounts=create_accounts
    )
    name = ask("Save this mapping as a profile for next time? Name (Enter: do not save): ").strip()
    while name:
        try:
            from consulting_crm.cli.profiles import save_profile_before_import

            return save_profile_before_import(files, chosen, name)
        except CrmError as exc:
            show(f"{exc}")
            name = ask("Another name (Enter: do not save): ").strip()
    from ingest.mapping import flags_for

    flags = flags_for(overrides, entity=chosen_entity)
    if create_accounts:
        flags.append("--create-accounts")
    show("Not saved. To import the same way without questions: " + " ".join(flags))
    return chosen


def _printer(console: Console) -> Callable[[str], None]:
    def show(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    return show


def _choose(
    ask: Ask,
    question: str,
    default: str | None,
    allowed: tuple[str, ...] | list[str],
    show: Callable[[str], None],
) -> str:
    """Ask until the answer is one of ``allowed`` (Enter gives ``default``, when there is one)."""
    while True:
        try:
            answer = ask(question).strip()
        except EOFError as exc:
            raise CrmError("no answer (end of input); nothing was imported.") from exc
        if not answer and default is not None:
            return default
        if answer in allowed:
            return answer
        show(f"  Please answer one of: {', '.join(allowed)}.")
