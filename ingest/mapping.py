"""Mapping a spreadsheet the tool has never seen: the user's flags, proposals, saved profiles.

A home-made sheet ("Kunde", "Auftragswert", "Value €", "Stage" with "Closed Won") matches no
profile. This module

- reads the user's answer from the command line (``--map "Header=field"``, ``--value
  "field:Their word=our value"``) into :class:`ingest.profiles.Overrides`;
- proposes an answer when there is none: each column's likely field from its header (fuzzy, with
  English and German synonyms) and from its contents (emails, web addresses, dates, amounts,
  currencies, stage-like words), each with sample values and a confidence, and for columns with a
  fixed set of values (stage, status ...) every distinct value with its count and a proposed
  target;
- writes what was used as a user profile (``--save-profile NAME``), whose identifying headers are
  the file's headers, so the next export of the same sheet is recognised by itself.

No database and no terminal here: the command line asks the questions (:mod:`consulting_crm`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.entities import ENTITIES, ENTITY_FIELDS, ENUMS, IDENTITY, Field
from ingest.errors import CrmError, ExitCode
from ingest.options import ImportOptions, Overrides
from ingest.profiles import (
    CREATE_ACCOUNTS_ENTITIES,
    PROFILE_SUFFIX,
    Mapping,
    MappingNeeded,
    check_profile_name,
    choose_mapping,
    parse_profile,
)
from ingest.readers import SheetTable, normalise_header, open_table
from ingest.results import display_name

SAMPLE_ROWS = 200  # rows read to judge a column's contents
SHOWN_SAMPLES = 3  # sample values printed beside a proposal
MIN_CONFIDENCE = 0.5  # below this a column is left unmapped


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# Header words for each field, English and German, compared after normalise_header. The first
# entity listed for a field in ENTITY_FIELDS decides nothing: a proposal is made per entity.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "account_name": _words(
        "client|customer|account|account name|company|organisation|organization|kunde|"
        "kundenname|firma|unternehmen|mandant|auftraggeber|organisation name"
    ),
    "name": _words(
        "name|project|project name|deal|deal name|opportunity|engagement|projekt|"
        "projektname|auftrag|vorhaben|titel|mandat"
    ),
    "company": _words("company|firma|unternehmen|organisation|organization|employer"),
    "amount": _words(
        "amount|value|deal value|project value|fee|fees|budget|revenue|price|auftragswert|"
        "wert|betrag|volumen|umsatz|honorar|preis|auftragsvolumen|netto|summe"
    ),
    "estimated_amount": _words("estimated amount|value|potential|budget|potenzial|wert"),
    "annual_revenue": _words("annual revenue|revenue|umsatz|jahresumsatz"),
    "currency_code": _words("currency|currency code|währung|waehrung|währungscode"),
    "stage": _words("stage|phase|status|pipeline stage|deal stage|stufe|stand"),
    "status": _words("status|lead status|stand|zustand"),
    "delivery_status": _words("delivery status|delivery|lieferstatus|umsetzung"),
    "probability": _words("probability|chance|likelihood|wahrscheinlichkeit|prozent"),
    "close_date": _words(
        "close date|closing date|closed|won on|decision date|expected close|"
        "abschlussdatum|abschluss|datum|date|entscheidung"
    ),
    "start_date": _words("start|start date|begin|beginn|startdatum|projektstart"),
    "end_date": _words("end|end date|ende|enddatum|projektende|bis"),
    "created_at": _words("created|created at|created on|erstellt|angelegt|datum"),
    "description": _words(
        "description|notes|note|comment|comments|remarks|beschreibung|notiz|notizen|"
        "bemerkung|bemerkungen|kommentar"
    ),
    "next_step": _words("next step|next steps|nächster schritt|naechster schritt|todo"),
    "email": _words("email|e mail|mail|email address|e mail adresse|mailadresse"),
    "primary_contact_email": _words("contact email|email|e mail|kontakt email|mail"),
    "contact_email": _words("contact email|email|e mail"),
    "first_name": _words("first name|given name|firstname|vorname"),
    "last_name": _words("last name|surname|family name|lastname|nachname|familienname"),
    "title": _words("title|job title|position|role|funktion|jobtitel|rolle"),
    "phone": _words("phone|telephone|tel|telefon|telefonnummer|phone number"),
    "mobile_phone": _words("mobile|mobile phone|cell|handy|mobil|mobiltelefon"),
    "website": _words("website|web|url|homepage|webseite|internetseite"),
    "domain": _words("domain|website|web|url|homepage|webseite"),
    "linkedin_url": _words("linkedin|linkedin url|linkedin profile"),
    "city": _words("city|town|stadt|ort"),
    "country": _words("country|land|staat"),
    "street": _words("street|address|strasse|adresse|anschrift"),
    "postal_code": _words("postal code|zip|zip code|postcode|plz|postleitzahl"),
    "industry": _words("industry|sector|branche|sektor"),
    "lead_source": _words("source|lead source|quelle|herkunft|kanal|channel"),
    "project_type": _words("type|project type|projekttyp|art|leistung|service"),
    "external_id": _words("id|external id|nr|nummer|number|no|ref|reference"),
    "department": _words("department|abteilung|bereich"),
    "subject": _words("subject|betreff|thema|topic"),
    "activity_type": _words("type|activity type|art|typ"),
    "occurred_at": _words("date|datum|when|occurred|zeitpunkt"),
}

# Where a field means something else in one entity: an account's name is a company's name.
ENTITY_HEADER_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("accounts", "name"): _words(
        "name|account|account name|company|company name|client|customer|organisation|"
        "organization|kunde|kundenname|firma|firmenname|unternehmen|mandant"
    ),
}

# Words a column with a fixed set of values uses for each of our values (English and German).
VALUE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "project_stage": {
        "qualification": _words(
            "qualification|qualifying|discovery|lead|new|neu|anfrage|erstgespräch|"
            "erstgespraech|prospect|qualifizierung|open|offen"
        ),
        "proposal": _words("proposal|offer|quote|angebot|angebot versendet|pitch"),
        "negotiation": _words(
            "negotiation|negotiating|contract sent|verhandlung|vertrag|in verhandlung|commit"
        ),
        "won": _words(
            "won|closed won|gewonnen|beauftragt|signed|auftrag|zusage|abgeschlossen|done|closed"
        ),
        "lost": _words(
            "lost|closed lost|verloren|abgesagt|absage|declined|abgelehnt|cancelled|storniert"
        ),
    },
    "lead_status": {
        "new": _words("new|neu|open|offen"),
        "contacted": _words("contacted|kontaktiert|in progress|in bearbeitung|called"),
        "qualified": _words("qualified|qualifiziert|hot|heiss"),
        "unqualified": _words("unqualified|disqualified|nicht qualifiziert|kalt|cold"),
        "converted": _words("converted|konvertiert|customer|kunde|gewonnen|won"),
    },
    "delivery_status": {
        "not_started": _words("not started|nicht begonnen|geplant|planned"),
        "active": _words("active|aktiv|running|läuft|laeuft|in progress|ongoing"),
        "on_hold": _words("on hold|paused|pausiert|angehalten"),
        "completed": _words("completed|done|fertig|abgeschlossen|erledigt|finished"),
        "cancelled": _words("cancelled|canceled|abgebrochen|storniert"),
    },
}

_EMAIL = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://)?(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?$", re.IGNORECASE)
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
_AMOUNT = re.compile(
    r"^(?:[€$£]|[A-Z]{3})?\s*[-+]?\d{1,3}(?:[.,' ]?\d{3})*(?:[.,]\d{1,2})?\s*(?:[€$£]|[A-Z]{3})?$"
)
_MONEY_MARK = re.compile(r"[€$£]|[A-Z]{3}|\d[.,']\d")
CURRENCIES = frozenset({"eur", "usd", "gbp", "chf", "€", "$", "£", "euro", "dollar", "sek", "nok"})


@dataclass(frozen=True)
class ValueProposal:
    """One distinct value of a fixed-set column, how often it occurs and what it should become."""

    value: str
    count: int
    target: str | None  # None: no guess; the user has to say


@dataclass(frozen=True)
class ColumnProposal:
    """What one column of the file probably is."""

    header: str
    field: str | None  # None: leave the column out
    confidence: float  # 0 to 1
    reason: str  # "header", "contents" or both
    samples: tuple[str, ...]
    values: tuple[ValueProposal, ...] = ()  # for fixed-set fields: values to map

    @property
    def percent(self) -> str:
        return f"{round(self.confidence * 100)}%"


@dataclass
class Proposal:
    """A proposed mapping of a whole file to one entity."""

    entity: str
    columns: list[ColumnProposal] = field(default_factory=list)

    @property
    def mapped(self) -> list[ColumnProposal]:
        return [column for column in self.columns if column.field is not None]

    def overrides(self) -> Overrides:
        values = {
            column.field: {v.value: v.target for v in column.values if v.target is not None}
            for column in self.mapped
            if column.field is not None and any(v.target for v in column.values)
        }
        return Overrides(
            columns={column.field: column.header for column in self.mapped if column.field},
            values=values,
        )

    def has_identity(self) -> bool:
        return any(column.field in IDENTITY[self.entity] for column in self.mapped)


# --- the command line's answer -----------------------------------------------------------------


def parse_overrides(maps: list[str], values: list[str]) -> Overrides:
    """``--map "Header=field"`` (repeatable) and ``--value "field:Their word=our value"``."""
    columns: dict[str, str] = {}
    for text in maps:
        header, equals, target = text.rpartition("=")
        header, target = header.strip(), target.strip()
        if not equals or not header or not target:
            raise CrmError(
                f'--map "{text}": write it as "Header=field", e.g. --map "Kunde=account_name".',
                exit_code=ExitCode.USAGE,
            )
        if target in columns:
            raise CrmError(
                f'--map: {target} is given twice ("{columns[target]}" and "{header}"); keep one.',
                exit_code=ExitCode.USAGE,
            )
        columns[target] = header
    value_maps: dict[str, dict[str, str]] = {}
    for text in values:
        target, colon, rest = text.partition(":")
        source, equals, label = rest.rpartition("=")
        target, source, label = target.strip(), source.strip(), label.strip()
        if not colon or not equals or not target or not source or not label:
            raise CrmError(
                f'--value "{text}": write it as "field:Their word=our value", e.g. '
                '--value "stage:Closed Won=won".',
                exit_code=ExitCode.USAGE,
            )
        enums = {
            spec.enum
            for fields in ENTITY_FIELDS.values()
            for name, spec in fields.items()
            if name == target and spec.enum
        }
        if not enums:
            fixed = sorted(
                {
                    name
                    for fields in ENTITY_FIELDS.values()
                    for name, spec in fields.items()
                    if spec.enum
                }
            )
            raise CrmError(
                f'--value "{text}": {target} has no fixed set of values; --value is for: '
                f"{', '.join(fixed)}.",
                exit_code=ExitCode.USAGE,
            )
        allowed = sorted({label for enum in enums for label in ENUMS[enum]})
        if label not in allowed:
            raise CrmError(
                f'--value "{text}": {label!r} is not a value of {target}; use one of: '
                f"{', '.join(allowed)}.",
                exit_code=ExitCode.USAGE,
            )
        value_maps.setdefault(target, {})[source] = label
    return Overrides(columns=columns, values=value_maps)


def flag(option: str, text: str) -> str:
    """One flag as the user types it in a shell: double quotes unless the text needs more."""
    if not re.search(r'["$`\\!]', text):
        return f'{option} "{text}"'
    return f"{option} {shlex.quote(text)}"


def flags_for(overrides: Overrides, *, entity: str | None = None) -> list[str]:
    """The exact --entity/--map/--value flags that say what ``overrides`` say."""
    out = [f"--entity {entity}"] if entity else []
    out += [flag("--map", f"{header}={target}") for target, header in overrides.columns.items()]
    for target, mapping in overrides.values.items():
        out += [flag("--value", f"{target}:{source}={label}") for source, label in mapping.items()]
    return out


# --- saved profiles -----------------------------------------------------------------------------


def profile_text(
    name: str,
    mapping: Mapping,
    *,
    source_file: str,
    date_format: str | None,
    create_accounts: bool = False,
) -> str:
    """A user profile that maps this file exactly as ``mapping`` did, identified by its headers
    (with ``create_accounts``, as --create-accounts asked, for a file of projects or contacts)."""
    variant = mapping.variant
    entity = mapping.entity if variant.entity != "people" else variant.entity
    headers = [header for header in mapping.headers if not header.startswith("(column ")]
    lines = [
        f"# Your profile {name}, made from {source_file} on {dt.date.today().isoformat()}.",
        "# A file whose headers include every header in `detect` is imported with it by itself.",
        '# See docs/importing.md, "Importing your own spreadsheet", for what each key means.',
        f"name = {_toml(name)}",
        f"description = {_toml(f'your profile {name} (from {source_file})')}",
    ]
    chosen_date_format = date_format or variant.date_format
    if chosen_date_format:
        lines.append(f"date_format = {_toml(chosen_date_format)}")
    if variant.restore_formula_guard:
        lines.append("restore_formula_guard = true")
    lines += [
        "",
        "[[variants]]",
        f"name = {_toml(entity)}",
        f"entity = {_toml(entity)}",
        f"detect = [[{', '.join(_toml(header) for header in headers)}]]",
    ]
    if (create_accounts or variant.create_accounts) and entity in CREATE_ACCOUNTS_ENTITIES:
        lines += [
            "# Clients (account names) that are no account yet become accounts.",
            "create_accounts = true",
        ]
    lines += [
        "",
        "[variants.columns]",
    ]
    lines += [
        f"{target} = [{_toml(mapping.headers[index])}]"
        for target, index in sorted(mapping.targets.items(), key=lambda item: item[1])
    ]
    for section, table in (("defaults", variant.defaults), ("first_of", variant.first_of)):
        if table:
            lines += ["", f"[variants.{section}]"]
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    if variant.blanks:
        lines += ["", "[variants.blanks]"]
        lines += [
            f"{key} = [{', '.join(_toml(v) for v in listed)}]"
            for key, listed in variant.blanks.items()
        ]
    for target, value_map in variant.values.items():
        if target in mapping.targets and value_map:
            lines += ["", f"[variants.values.{target}]"]
            lines += [f"{_toml(source)} = {_toml(label)}" for source, label in value_map.items()]
    return "\n".join(lines) + "\n"


def _toml(text: str) -> str:
    # A JSON string is a TOML basic string (the same escapes, \uXXXX included).
    return json.dumps(text, ensure_ascii=False)


def save_profile(folder: Path, name: str, text: str) -> Path:
    """Check ``text`` as a profile and write it to ``folder/NAME.toml``."""
    check_profile_name(name, where="--save-profile")
    target = folder / f"{name}{PROFILE_SUFFIX}"
    parse_profile(name, text, path=target)  # what is written must read back
    folder.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    return target


# --- proposals ----------------------------------------------------------------------------------


def sample_columns(
    table: SheetTable, rows: int = SAMPLE_ROWS, also: Sequence[SheetTable] = ()
) -> list[list[str]]:
    """The first ``rows`` data rows' values, per column, blanks left out; with ``also`` (the
    other sheets of a workbook with the same header row), the first ``rows`` of each as well."""
    columns: list[list[str]] = [[] for _ in table.headers]
    for each in (table, *also):
        seen = 0
        for chunk in each.chunks(rows_per_chunk=rows):
            for row in chunk.rows:
                for index, cell in enumerate(row):
                    if cell.strip():
                        columns[index].append(cell.strip())
                seen += 1
                if seen >= rows:
                    break
            if seen >= rows:
                break
    return columns


def propose(headers: list[str], columns: list[list[str]], *, entity: str | None) -> Proposal:
    """The most likely mapping of the file: for ``entity``, or for the entity it fits best."""
    candidates = [entity] if entity else list(ENTITIES)
    best: tuple[tuple[int, float], Proposal] | None = None
    for candidate in candidates:
        proposal = _propose_for(candidate, headers, columns)
        score = (int(proposal.has_identity()), sum(c.confidence for c in proposal.mapped))
        if best is None or score > best[0]:
            best = (score, proposal)
    assert best is not None
    return best[1]


def _propose_for(entity: str, headers: list[str], columns: list[list[str]]) -> Proposal:
    fields = {name: spec for name, spec in ENTITY_FIELDS[entity].items() if spec.kind != "id"}
    scored: list[tuple[float, int, str, str]] = []  # confidence, column, field, reason
    for index, header in enumerate(headers):
        by_header = _header_scores(header, fields, entity)
        by_contents = _content_scores(columns[index], fields, entity)
        for target in [name for name in fields if name in by_header or name in by_contents]:
            from_header, from_contents = by_header.get(target, 0.0), by_contents.get(target, 0.0)
            if from_header and from_contents:
                confidence, reason = min(0.99, max(from_header, from_contents) + 0.1), "both"
            elif from_header:
                confidence, reason = from_header, "header"
                if columns[index] and _contradicts(columns[index], fields[target].kind):
                    confidence -= 0.3
            else:
                confidence, reason = from_contents, "contents"
            if confidence >= MIN_CONFIDENCE:
                scored.append((confidence, index, target, reason))
    # Greedy: the surest pairs first; one field per column and one column per field.
    chosen: dict[int, tuple[str, float, str]] = {}
    taken: set[str] = set()
    # On a tie a column identifying the record wins (an account's domain over its website).
    order = {name: position for position, name in enumerate(fields)}
    identity = IDENTITY[entity]
    scored.sort(key=lambda s: (-s[0], s[2] not in identity, s[1], order[s[2]]))
    for confidence, index, target, reason in scored:
        if index in chosen or target in taken:
            continue
        chosen[index] = (target, confidence, reason)
        taken.add(target)
    proposal = Proposal(entity=entity)
    for index, header in enumerate(headers):
        samples = tuple(dict.fromkeys(columns[index]))[:SHOWN_SAMPLES]
        if index not in chosen:
            proposal.columns.append(ColumnProposal(header, None, 0.0, "", samples))
            continue
        target, confidence, reason = chosen[index]
        enum = fields[target].enum
        values = propose_values(columns[index], enum) if enum else ()
        proposal.columns.append(
            ColumnProposal(header, target, round(confidence, 2), reason, samples, values)
        )
    return proposal


def _header_scores(header: str, fields: dict[str, Field], entity: str) -> dict[str, float]:
    key = normalise_header(header)
    scores: dict[str, float] = {}
    if not key:
        return scores
    for target in fields:
        synonyms = ENTITY_HEADER_SYNONYMS.get((entity, target)) or HEADER_SYNONYMS.get(target, ())
        words = (target, *synonyms)
        best = 0.0
        for word in words:
            synonym = normalise_header(word)
            if key == synonym:
                score = 0.95
            elif len(synonym) >= 4 and (key.startswith(synonym) or key.endswith(synonym)):
                score = 0.8  # "Value €" → value, "Projektname" → name, "Kundenname"
            else:
                score = difflib.SequenceMatcher(None, key, synonym).ratio() * 0.85
            best = max(best, score)
        if best >= MIN_CONFIDENCE:
            scores[target] = best
    return scores


def _share(values: list[str], test: re.Pattern[str]) -> float:
    return sum(1 for value in values if test.match(value)) / len(values) if values else 0.0


def _content_scores(values: list[str], fields: dict[str, Field], entity: str) -> dict[str, float]:
    """Fields a column's contents look like, and how sure that is (the share that fits)."""
    if not values:
        return {}
    scores: dict[str, float] = {}

    def offer(target: str, share: float) -> None:
        if target in fields and share >= 0.8:
            scores[target] = max(scores.get(target, 0.0), 0.6 + 0.3 * share)

    offer("primary_contact_email" if entity == "projects" else "email", _share(values, _EMAIL))
    if entity == "activities":
        offer("contact_email", _share(values, _EMAIL))
    offer("website", _share(values, _URL) if not _share(values, _EMAIL) else 0.0)
    offer("domain", _share(values, _URL) if not _share(values, _EMAIL) else 0.0)
    dates = _share(values, _DATE)
    for target in ("close_date", "created_at", "occurred_at"):
        offer(target, dates)
    # An amount from its contents alone needs a currency or a decimal or thousands mark:
    # a column of plain small numbers (sizes, counts) is not money.
    money = sum(1 for value in values if _AMOUNT.match(value) and _MONEY_MARK.search(value)) / len(
        values
    )
    for target in ("amount", "estimated_amount", "annual_revenue"):
        offer(target, money if dates < 0.5 else 0.0)
    offer("currency_code", sum(1 for v in values if v.casefold() in CURRENCIES) / len(values))
    for target, enum in (("stage", "project_stage"), ("status", "lead_status")):
        if target in fields:
            known = sum(1 for v in values if _value_target(v, enum) is not None)
            offer(target, known / len(values))
    return scores


def _contradicts(values: list[str], kind: str) -> bool:
    """The contents clearly are not of this kind (a "Datum" column of names, say)."""
    checks = {"email": _EMAIL, "date": _DATE, "timestamp": _DATE, "money": _AMOUNT}
    test = checks.get(kind)
    return test is not None and _share(values, test) < 0.5


def propose_values(values: list[str], enum: str) -> tuple[ValueProposal, ...]:
    """Every distinct value that is not already one of ours, with its count and a target."""
    allowed = {normalise_header(label) for label in ENUMS[enum]}
    counts = Counter(values)
    return tuple(
        ValueProposal(value, count, _value_target(value, enum))
        for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if normalise_header(value) not in allowed
    )


def _value_target(value: str, enum: str) -> str | None:
    key = normalise_header(value)
    words = VALUE_SYNONYMS.get(enum, {label: () for label in ENUMS[enum]})
    best: tuple[float, str | None] = (0.0, None)
    for label in ENUMS[enum]:
        for word in (label, *words.get(label, ())):
            synonym = normalise_header(word)
            if key == synonym:
                return label
            score = difflib.SequenceMatcher(None, key, synonym).ratio()
            if score > best[0]:
                best = (score, label)
    return best[1] if best[0] >= 0.8 else None


def describe_proposal(proposal: Proposal) -> list[str]:
    """The proposal as lines: each column's field, confidence and samples; values to map."""
    lines = [f"Proposed mapping as {proposal.entity} (confidence; sample values):"]
    for column in proposal.columns:
        samples = ", ".join(column.samples) or "(empty)"
        if column.field is None:
            lines.append(f'  "{column.header}" → (not imported)  e.g. {samples}')
        else:
            lines.append(
                f'  "{column.header}" → {column.field}  ({column.percent} from the '
                f"{_REASONS[column.reason]}; e.g. {samples})"
            )
    for column in proposal.mapped:
        if column.values and column.field is not None:
            enum = ENTITY_FIELDS[proposal.entity][column.field].enum
            allowed = ", ".join(ENUMS[enum]) if enum else ""
            lines.append(
                f'Values of "{column.header}" that {column.field} does not know '
                f"(it takes: {allowed}):"
            )
            for value in column.values:
                target = value.target or "? (say which with --value)"
                lines.append(f'  "{value.value}" ×{value.count} → {target}')
    return lines


def describe_unknown_values(rows: list[tuple[str, str, int]], mapping: Mapping) -> str | None:
    """The note for values a fixed-set column did not know (``rows``: header, value, count):
    each with its count and proposed target, and the --value flags for those with a target."""
    by_header = {mapping.headers[index]: target for target, index in mapping.targets.items()}
    fields = ENTITY_FIELDS[mapping.variant.entity]
    parts: list[str] = []
    flags: list[str] = []
    for header in dict.fromkeys(header for header, _, _ in rows):
        target = by_header.get(header)
        enum = fields[target].enum if target in fields else None
        if target is None or enum is None:
            continue
        listed = []
        for _, value, count in (row for row in rows if row[0] == header):
            proposed = _value_target(value, enum)
            listed.append(f'"{value}" ×{count} → {proposed or "?"}')
            if proposed:
                flags.append(flag("--value", f"{target}:{value}={proposed}"))
        parts.append(f'values "{header}" ({target}) does not know: ' + ", ".join(listed))
    if not parts:
        return None
    if flags:
        hint = "to read them, import again with " + " ".join(flags)
    else:
        hint = 'to read them, import again with --value "FIELD:VALUE=OURS" for each'
    hint += (
        " (--save-profile NAME, or `crm profile edit` for a profile of yours, keeps them for "
        "next time)"
    )
    return "; ".join(parts) + "; " + hint


_REASONS = {"header": "header", "contents": "contents", "both": "header and contents"}


def explain_mapping_needed(
    message: str, table: SheetTable, *, entity: str | None, also: Sequence[SheetTable] = ()
) -> str:
    """The failure for a file no profile maps: the reason, the proposal, and the exact flags.
    ``also``: the workbook's other sheets read with the same mapping, whose values count too."""
    proposal = propose(table.headers, sample_columns(table, also=also), entity=entity)
    lines = [message, *describe_proposal(proposal)]
    if proposal.has_identity():
        flags = flags_for(proposal.overrides(), entity=proposal.entity)
        lines.append(
            "To import with this mapping (change what is wrong), add these options, and "
            "--save-profile NAME to have it remembered:"
        )
        lines.append("  " + " ".join(flags))
    else:
        needed = ", ".join(IDENTITY[proposal.entity])
        lines.append(
            f"No column looks like one of {needed}, of which {proposal.entity} needs one; say "
            f'which column holds it, e.g. --map "Header={IDENTITY[proposal.entity][0]}".'
        )
    return "\n".join(lines)


def mapping_for_table(
    table: SheetTable, file_name: str, options: ImportOptions, also: Sequence[SheetTable] = ()
) -> Mapping:
    """The mapping ``options`` give for ``table`` (profile, --entity, --map, --value); when none
    fits, a CrmError with the proposal and the flags to pass, judged on the values of ``table``
    and of ``also`` (the other sheets of a workbook imported with it)."""
    try:
        return choose_mapping(
            table.headers,
            file_name=file_name,
            profile=options.profile,
            entity=options.entity,
            user_dir=options.profile_dir,
            overrides=options.overrides,
        )
    except MappingNeeded as exc:
        raise CrmError(
            explain_mapping_needed(str(exc), table, entity=exc.entity, also=also),
            exit_code=exc.exit_code,
        ) from exc


def save_profile_for_file(path: Path, options: ImportOptions, name: str) -> tuple[Path, Mapping]:
    """Map ``path`` the way ``options`` say (profile, --entity, --map, --value) and save that as
    the user profile ``name`` in ``options.profile_dir``; a file no mapping fits fails with the
    proposal, as its import would."""
    if options.profile_dir is None:
        raise CrmError("there is no folder for your profiles; set CRM_HOME.")
    table = open_table(path, sheet=options.sheet, encoding=options.encoding)
    file_name = display_name(path)
    mapping = mapping_for_table(table, file_name, options)
    text = profile_text(
        name,
        mapping,
        source_file=file_name,
        date_format=options.date_format,
        create_accounts=options.create_accounts,
    )
    return save_profile(options.profile_dir, name, text), mapping
