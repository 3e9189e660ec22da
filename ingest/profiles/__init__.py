"""Mapping profiles: declarative TOML files that say how an export's headers map to our columns.

One file per export format (``generic``, ``salesforce``, ``hubspot`` ...). A profile has one or more
*variants*, one per kind of file the tool exports (a Salesforce Lead export, an Opportunity
export ...), each naming its target entity, the headers that identify it (``detect``), which
headers feed which column (``columns``, first match wins), value maps for enums (``values``),
constants (``defaults``), multi-valued cells to cut at a separator (``first_of``), placeholders
that mean blank (``blanks``) and, for projects and contacts, whether account names no account has
create one (``create_accounts``, as ``--create-accounts`` does). A profile may also remove the
apostrophe that guards a formula-like cell (``restore_formula_guard``, for files written by
``crm export salesforce``). Headers are compared after :func:`ingest.readers.normalise_header`,
so `StageName`, `stage_name` and `Stage Name` are the same column.

Users add their own profiles, in the same format, as ``*.toml`` files in a folder of their own
(``$CRM_HOME/profiles``; the application passes it in, :mod:`ingest` never looks for it). They
are checked as strictly as the built-in ones, with an error naming the file and the fix, and
``--profile auto`` tries them before the built-in ones, so a saved profile recognises the next
export of the same spreadsheet by its headers.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ingest.entities import (
    DATE_ORDERS,
    ENTITIES,
    ENTITY_FIELDS,
    ENUMS,
    IDENTITY,
    PEOPLE,
    PEOPLE_ENTITIES,
)
from ingest.errors import CrmError, ExitCode
from ingest.options import Overrides
from ingest.readers import normalise_header

# Specific profiles first: on a tie the earlier one wins; generic is the fallback.
PROFILE_NAMES = ("salesforce", "hubspot", "google_contacts", "linkedin", "outlook", "generic")

# A user profile's name is its file name without .toml: it is also the `source` and
# `external_system` of the records it loads, so it stays short and plain.
PROFILE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
PROFILE_SUFFIX = ".toml"


@dataclass(frozen=True)
class Variant:
    """One kind of file a profile understands."""

    profile: str
    name: str
    entity: str  # an entity, or "people" (contacts or leads, decided per row)
    columns: dict[str, tuple[str, ...]]
    detect: tuple[tuple[str, ...], ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    first_of: dict[str, str] = field(default_factory=dict)
    blanks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_format: str | None = None
    restore_formula_guard: bool = False
    create_accounts: bool = False

    @property
    def label(self) -> str:
        return f"{self.profile}:{self.name}"

    def detects(self, keys: set[str]) -> bool:
        return any(all(normalise_header(h) in keys for h in group) for group in self.detect)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    variants: tuple[Variant, ...]
    path: Path | None = None  # a user profile's file; None for a built-in one

    @property
    def origin(self) -> str:
        return str(self.path) if self.path is not None else "built-in"


@dataclass
class Mapping:
    """How one file's columns map: the chosen variant, target → column index, and the rest."""

    variant: Variant
    entity: str
    targets: dict[str, int]  # target field → index of the file column feeding it
    headers: list[str]
    unmapped: list[str]
    auto: bool

    @property
    def profile(self) -> str:
        return self.variant.profile

    def header_of(self, target: str) -> str:
        return self.headers[self.targets[target]] if target in self.targets else target


@cache
def builtin_profiles() -> tuple[Profile, ...]:
    """Every bundled profile, parsed and checked against the entity fields."""
    return tuple(
        parse_profile(
            name,
            resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8"),
        )
        for name in PROFILE_NAMES
    )


def user_profiles(folder: Path | None) -> tuple[Profile, ...]:
    """The user's profiles in ``folder`` (``*.toml``, by name), each checked; none without one."""
    if folder is None or not folder.is_dir():
        return ()
    return tuple(
        read_profile_file(path)
        for path in sorted(folder.glob(f"*{PROFILE_SUFFIX}"))
        if path.is_file()
    )


def read_profile_file(path: Path) -> Profile:
    """Parse one user profile file; a :class:`CrmError` names the file and what to change."""
    name = path.name[: -len(PROFILE_SUFFIX)]
    check_profile_name(name, where=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrmError(f"{path}: cannot read this profile ({exc}).") from exc
    return parse_profile(name, text, path=path)


def check_profile_name(name: str, *, where: str = "profile name") -> None:
    if name in PROFILE_NAMES or name == "auto":
        raise CrmError(f"{where}: {name!r} is the name of a built-in profile; choose another name.")
    if not PROFILE_NAME.match(name):
        raise CrmError(
            f"{where}: {name!r} is not a usable profile name; use lower-case letters, digits, "
            "'-' and '_', starting with a letter (at most 40 characters), e.g. my_pipeline."
        )


def load_profiles(user_dir: Path | None = None) -> tuple[Profile, ...]:
    """The user's profiles (tried first: they were made for the user's own files), then the
    bundled ones, generic last."""
    return (*user_profiles(user_dir), *builtin_profiles())


def get_profile(name: str, user_dir: Path | None = None) -> Profile:
    profiles = load_profiles(user_dir)
    for profile in profiles:
        if profile.name == name:
            return profile
    raise CrmError(
        f"there is no profile named {name!r}; choose one of: auto, "
        f"{', '.join(profile.name for profile in profiles)} (`crm profile list` shows them)."
    )


def parse_profile(name: str, text: str, *, path: Path | None = None) -> Profile:
    """Parse and check a profile's TOML text; every mistake is a :class:`CrmError` naming the
    file, the variant and the key, with what is allowed there."""
    where = str(path) if path is not None else f"profile {name}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{where}: not valid TOML ({exc}); correct the file.") from exc
    declared = data.get("name", name)
    if declared != name:
        raise CrmError(
            f"{where}: name = {declared!r} differs from the file name; make them the same "
            f"(name = {name!r})."
        )
    known = {"name", "description", "date_format", "restore_formula_guard", "variants"}
    _no_unknown_keys(where, data, known)
    date_format = data.get("date_format")
    if date_format is not None and date_format not in DATE_ORDERS:
        raise CrmError(f"{where}: date_format must be one of {', '.join(DATE_ORDERS)}.")
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise CrmError(
            f"{where}: no [[variants]]; add at least one with name, entity and [variants.columns]."
        )
    variants = tuple(
        _variant(
            where,
            name,
            raw,
            date_format=date_format,
            restore_formula_guard=bool(data.get("restore_formula_guard", False)),
        )
        for raw in raw_variants
    )
    description = data.get("description", f"your profile {name}")
    return Profile(name=name, description=str(description), variants=variants, path=path)


_VARIANT_KEYS = {
    "name",
    "entity",
    "detect",
    "columns",
    "values",
    "defaults",
    "first_of",
    "blanks",
    "create_accounts",
}
# The entities whose rows name an account that --create-accounts may create.
CREATE_ACCOUNTS_ENTITIES = ("projects", "contacts")


def _no_unknown_keys(where: str, table: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise CrmError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )


def _strings(where: str, key: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise CrmError(f'{where}: {key} must be a header or a list of headers, e.g. ["Client"].')
    return tuple(items)


def _variant(
    where: str,
    profile: str,
    raw: object,
    *,
    date_format: str | None,
    restore_formula_guard: bool,
) -> Variant:
    if not isinstance(raw, dict):
        raise CrmError(f"{where}: each [[variants]] must be a table.")
    label = f"{where}, variant {raw.get('name', '?')!r}"
    _no_unknown_keys(label, raw, _VARIANT_KEYS)
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise CrmError(f'{where}: a [[variants]] has no name; add name = "leads" or similar.')
    entity = raw.get("entity")
    kinds = (*ENTITIES, PEOPLE)
    if entity not in kinds:
        raise CrmError(f"{label}: entity must be one of {', '.join(kinds)} (found {entity!r}).")
    fields = ENTITY_FIELDS[entity]
    readable_fields = ", ".join(name for name, spec in fields.items() if spec.kind != "id")
    raw_columns = raw.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        raise CrmError(f"{label}: [variants.columns] is missing; map at least one column.")
    columns = {
        target: _strings(label, f"columns.{target}", aliases)
        for target, aliases in raw_columns.items()
    }
    for section in ("values", "defaults", "first_of", "blanks"):
        if not isinstance(raw.get(section, {}), dict):
            raise CrmError(f"{label}: {section} must be a table.")
    named = [*columns, *raw.get("defaults", {}), *raw.get("blanks", {}), *raw.get("values", {})]
    for target in named:
        if target not in fields or fields[target].kind == "id":
            raise CrmError(
                f"{label}: {target!r} is not a column of {entity}; use one of: {readable_fields}."
            )
    values: dict[str, dict[str, str]] = {}
    for target, mapping in raw.get("values", {}).items():
        enum = fields[target].enum
        if enum is None or not isinstance(mapping, dict):
            raise CrmError(
                f"{label}: values.{target}: value maps are for columns with a fixed set of "
                'values (stage, status ...), written as "Their word" = "our value".'
            )
        for source, target_value in mapping.items():
            if target_value not in ENUMS[enum]:
                raise CrmError(
                    f"{label}: values.{target}: {source!r} maps to {target_value!r}, which is "
                    f"not one of: {', '.join(ENUMS[enum])}."
                )
        values[target] = dict(mapping)
    create_accounts = raw.get("create_accounts", False)
    if not isinstance(create_accounts, bool):
        raise CrmError(f"{label}: create_accounts must be true or false.")
    if create_accounts and entity not in CREATE_ACCOUNTS_ENTITIES:
        raise CrmError(
            f"{label}: create_accounts is for files of "
            f"{' or '.join(CREATE_ACCOUNTS_ENTITIES)} (this variant loads {entity}); remove it."
        )
    detect = raw.get("detect", [])
    if not isinstance(detect, list):
        raise CrmError(f"{label}: detect must be a list of lists of headers.")
    return Variant(
        profile=profile,
        name=raw["name"],
        entity=entity,
        columns=columns,
        detect=tuple(_strings(label, "detect", group) for group in detect),
        values=values,
        defaults={key: str(value) for key, value in raw.get("defaults", {}).items()},
        first_of={key: str(value) for key, value in raw.get("first_of", {}).items()},
        blanks={
            target: _strings(label, f"blanks.{target}", listed)
            for target, listed in raw.get("blanks", {}).items()
        },
        date_format=date_format,
        restore_formula_guard=restore_formula_guard,
        create_accounts=create_accounts,
    )


def fits(overrides: Overrides, variant: Variant) -> bool:
    """Whether every field the overrides name is a column of the variant's entity."""
    fields = ENTITY_FIELDS[variant.entity]
    return all(target in fields for target in (*overrides.columns, *overrides.values))


def apply_overrides(overrides: Overrides, variant: Variant) -> Variant:
    """The variant with the overridden columns first (their headers taken from its other
    columns) and the value maps added."""
    taken = {normalise_header(header) for header in overrides.columns.values()}
    columns = {
        target: tuple(alias for alias in aliases if normalise_header(alias) not in taken)
        for target, aliases in variant.columns.items()
    }
    for target, header in overrides.columns.items():
        columns[target] = (header,)
    values = {target: dict(mapping) for target, mapping in variant.values.items()}
    for target, mapping in overrides.values.items():
        values.setdefault(target, {}).update(mapping)
    return replace(variant, columns=columns, values=values)


def map_columns(variant: Variant, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Target → column index for a variant, and the headers it leaves unmapped."""
    positions = {normalise_header(header): index for index, header in enumerate(headers)}
    targets: dict[str, int] = {}
    for target, aliases in variant.columns.items():
        for alias in aliases:
            index = positions.get(normalise_header(alias))
            if index is not None:
                targets[target] = index
                break
    used = set(targets.values())
    unmapped = [header for index, header in enumerate(headers) if index not in used]
    return targets, unmapped


class MappingNeeded(CrmError):
    """No profile maps the columns a file needs: the user has to say which column is which
    (``--map``), and :mod:`ingest.mapping` can propose how."""

    def __init__(self, message: str, *, entity: str | None) -> None:
        super().__init__(message, exit_code=ExitCode.FILE_FAILED)
        self.entity = entity


def choose_mapping(
    headers: list[str],
    *,
    file_name: str,
    profile: str = "auto",
    entity: str | None = None,
    user_dir: Path | None = None,
    overrides: Overrides | None = None,
) -> Mapping:
    """Pick the profile variant for a file's headers (or use the named profile) and map it.

    With ``--profile auto`` a profile whose identifying headers are present (the user's own
    first, then the specific built-in ones) beats the generic template; among those, the variant
    that maps the most columns wins. ``--entity`` restricts the choice to variants loading that
    entity (people variants count for leads and contacts, and the entity then decides where
    every row goes). ``overrides`` (``--map``/``--value``) are applied to every candidate, and
    only variants that have all their columns are candidates.
    """
    if entity is not None and entity not in ENTITIES:
        raise CrmError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}.")
    keys = {normalise_header(header) for header in headers}
    if overrides:
        _check_overrides(overrides, headers, file_name)
    profiles = load_profiles(user_dir) if profile == "auto" else (get_profile(profile, user_dir),)
    best: tuple[tuple[int, int, int], Variant, dict[str, int], list[str]] | None = None
    for rank, candidate in enumerate(profiles):
        for variant in candidate.variants:
            if entity is not None and variant.entity not in (
                entity,
                "people" if entity in PEOPLE_ENTITIES else "",
            ):
                continue
            detected = variant.detects(keys)
            if profile == "auto" and variant.detect and not detected:
                continue
            if overrides:
                if not fits(overrides, variant):
                    continue
                variant = apply_overrides(overrides, variant)
            targets, unmapped = map_columns(variant, headers)
            score = (int(detected), len(targets), -rank)
            if best is None or score > best[0]:
                best = (score, variant, targets, unmapped)
    if best is None or not best[2]:
        if overrides and best is None:
            named = ", ".join(sorted({*overrides.columns, *overrides.values}))
            raise CrmError(
                f"{file_name}: no {entity or 'entity'} has all the columns given with --map/"
                f"--value ({named}); check the field names (`crm import --template ENTITY` "
                "lists them) or the --entity.",
                exit_code=ExitCode.FILE_FAILED,
            )
        wanted = f" as {entity}" if entity else ""
        raise MappingNeeded(
            f"{file_name}: no column matches a known export{wanted} (columns: "
            + ", ".join(headers[:12])
            + ("…" if len(headers) > 12 else "")
            + '). Say which column is which with --map "Header=field", or use the '
            "template from `crm import --template ENTITY`.",
            entity=entity,
        )
    _, variant, targets, unmapped = best
    target_entity = variant.entity
    if target_entity == "people" and entity is not None:
        target_entity = entity
    # At least one identifying column must be mapped, or the file cannot be loaded as the entity.
    required = IDENTITY[variant.entity if variant.entity == "people" else target_entity]
    if not any(column in targets for column in required):
        names = [variant.columns.get(column, (column,))[0] for column in required]
        raise MappingNeeded(
            f"{file_name}: no required column for {target_entity} is mapped by profile "
            f"{variant.label}; the file needs at least one of: {', '.join(names)}. "
            'Say which column holds it with --map "Header=field", rename the header, or '
            "choose another --profile or --entity.",
            entity=entity or target_entity,
        )
    return Mapping(
        variant=variant,
        entity=target_entity,
        targets=targets,
        headers=headers,
        unmapped=unmapped,
        auto=profile == "auto",
    )


def _check_overrides(overrides: Overrides, headers: list[str], file_name: str) -> None:
    """Every --map header is a column of the file, and every field a column of some entity."""
    keys = {normalise_header(header) for header in headers}
    every_field = {name for fields in ENTITY_FIELDS.values() for name in fields}
    for target, header in overrides.columns.items():
        if normalise_header(header) not in keys:
            raise CrmError(
                f'{file_name}: --map "{header}={target}": the file has no column "{header}" '
                f"(columns: {', '.join(headers)}).",
                exit_code=ExitCode.FILE_FAILED,
            )
    for target in (*overrides.columns, *overrides.values):
        if target not in every_field:
            raise CrmError(
                f"{file_name}: {target!r} is not a column the import can fill; "
                "`crm import --template ENTITY` lists an entity's columns.",
                exit_code=ExitCode.FILE_FAILED,
            )


def template_headers(entity: str) -> list[str]:
    """The header row of the generic template for an entity: every column it can fill."""
    for variant in get_profile("generic").variants:
        if variant.entity == entity:
            return [aliases[0] for aliases in variant.columns.values()]
    raise CrmError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}.")
