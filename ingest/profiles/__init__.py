"""Mapping profiles: declarative TOML files that say how an export's headers map to our columns.

One file per export format (``generic``, ``salesforce``, ``hubspot`` ...). A profile has one or more
*variants*, one per kind of file the tool exports (a Salesforce Lead export, an Opportunity
export ...), each naming its target entity, the headers that identify it (``detect``), which
headers feed which column (``columns``, first match wins), value maps for enums (``values``),
constants (``defaults``), multi-valued cells to cut at a separator (``first_of``) and placeholders
that mean blank (``blanks``). A profile may also remove the apostrophe that guards a formula-like
cell (``restore_formula_guard``, for files written by ``crm export salesforce``). Headers are
compared after :func:`ingest.readers.normalise_header`, so `StageName`, `stage_name` and
`Stage Name` are the same column.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ingest.entities import DATE_ORDERS, ENTITIES, ENTITY_FIELDS, IDENTITY, PEOPLE_ENTITIES
from ingest.errors import CrmError, ExitCode
from ingest.readers import normalise_header

# Specific profiles first: on a tie the earlier one wins; generic is the fallback.
PROFILE_NAMES = ("salesforce", "hubspot", "google_contacts", "linkedin", "outlook", "generic")


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
def load_profiles() -> tuple[Profile, ...]:
    """Every bundled profile, parsed and checked against the entity fields."""
    return tuple(_load(name) for name in PROFILE_NAMES)


def get_profile(name: str) -> Profile:
    for profile in load_profiles():
        if profile.name == name:
            return profile
    raise CrmError(
        f"there is no profile named {name!r}; choose one of: auto, {', '.join(PROFILE_NAMES)}."
    )


def _load(name: str) -> Profile:
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    date_format = data.get("date_format")
    if date_format is not None and date_format not in DATE_ORDERS:
        raise ValueError(f"profile {name}: date_format must be one of {DATE_ORDERS}")
    variants = []
    for raw in data["variants"]:
        entity = raw["entity"]
        fields = ENTITY_FIELDS[entity]
        columns = {target: tuple(aliases) for target, aliases in raw["columns"].items()}
        named = [*columns, *raw.get("defaults", {}), *raw.get("blanks", {})]
        unknown = [target for target in named if target not in fields]
        if unknown:
            raise ValueError(f"profile {name}:{raw['name']}: unknown columns {unknown}")
        variants.append(
            Variant(
                profile=name,
                name=raw["name"],
                entity=entity,
                columns=columns,
                detect=tuple(tuple(group) for group in raw.get("detect", [])),
                values={target: dict(mapping) for target, mapping in raw.get("values", {}).items()},
                defaults=dict(raw.get("defaults", {})),
                first_of=dict(raw.get("first_of", {})),
                blanks={target: tuple(values) for target, values in raw.get("blanks", {}).items()},
                date_format=date_format,
                restore_formula_guard=bool(data.get("restore_formula_guard", False)),
            )
        )
    return Profile(name=name, description=data["description"], variants=tuple(variants))


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


def choose_mapping(
    headers: list[str],
    *,
    file_name: str,
    profile: str = "auto",
    entity: str | None = None,
) -> Mapping:
    """Pick the profile variant for a file's headers (or use the named profile) and map it.

    With ``--profile auto`` a specific profile whose identifying headers are present beats the
    generic template; among those, the variant that maps the most columns wins. ``--entity``
    restricts the choice to variants loading that entity (people variants count for leads and
    contacts, and the entity then decides where every row goes).
    """
    if entity is not None and entity not in ENTITIES:
        raise CrmError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}.")
    keys = {normalise_header(header) for header in headers}
    profiles = load_profiles() if profile == "auto" else (get_profile(profile),)
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
            targets, unmapped = map_columns(variant, headers)
            score = (int(detected), len(targets), -rank)
            if best is None or score > best[0]:
                best = (score, variant, targets, unmapped)
    if best is None or not best[2]:
        wanted = f" as {entity}" if entity else ""
        raise CrmError(
            f"{file_name}: no column matches a known export{wanted} (columns: "
            + ", ".join(headers[:12])
            + ("…" if len(headers) > 12 else "")
            + "). Use the template from `crm import --template ENTITY`, or name the columns "
            "like it.",
            exit_code=ExitCode.FILE_FAILED,
        )
    _, variant, targets, unmapped = best
    target_entity = variant.entity
    if target_entity == "people" and entity is not None:
        target_entity = entity
    # At least one identifying column must be mapped, or the file cannot be loaded as the entity.
    required = IDENTITY[variant.entity if variant.entity == "people" else target_entity]
    if not any(column in targets for column in required):
        names = [variant.columns.get(column, (column,))[0] for column in required]
        raise CrmError(
            f"{file_name}: no required column for {target_entity} is mapped by profile "
            f"{variant.label}; the file needs at least one of: {', '.join(names)}. "
            "Rename the header, or choose another --profile or --entity.",
            exit_code=ExitCode.FILE_FAILED,
        )
    return Mapping(
        variant=variant,
        entity=target_entity,
        targets=targets,
        headers=headers,
        unmapped=unmapped,
        auto=profile == "auto",
    )


def template_headers(entity: str) -> list[str]:
    """The header row of the generic template for an entity: every column it can fill."""
    for variant in get_profile("generic").variants:
        if variant.entity == entity:
            return [aliases[0] for aliases in variant.columns.values()]
    raise CrmError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}.")
