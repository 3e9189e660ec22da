"""The entity registry: what the importer can write to each table, and how to read it from a file.

One :class:`Entity` per table the importers load (leads, accounts, contacts, projects,
activities), in the order the tables are named to the user. Each lists the columns an import
writes (``columns``: values read from the file, and the ids of related records the loader
resolves), the natural keys of related records a file may name instead of their ids
(``references``), the columns that identify a row (``identity``), and the table columns no import
fills, each with its reason (``not_imported``). Contact lists exported from other tools are read
as one more kind, ``people``, whose rows become contacts or leads one by one.

The validator (:mod:`ingest.validate`), the profiles (:mod:`ingest.profiles`) and the loader
(:mod:`ingest.load`) all derive from here, and ``tests/ingest/test_entities.py`` compares the
registry with ``schema.sql`` (every column, type, insert default and enum label), so a column
added to one and not the other fails the suite.

Plain data only: no pandas, no psycopg, so the command line can name the entities and date
orders without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How an ambiguous date like 03/04/2024 is read (--date-format, a profile's date_format).
DATE_ORDERS = ("DMY", "MDY", "YMD")

# The labels of the enum types in schema.sql, in their order there.
ENUMS: dict[str, tuple[str, ...]] = {
    "lead_status": ("new", "contacted", "qualified", "unqualified", "converted"),
    "project_stage": ("qualification", "proposal", "negotiation", "won", "lost"),
    "delivery_status": ("not_started", "active", "on_hold", "completed", "cancelled"),
    "activity_type": ("email", "call", "meeting", "note", "task"),
    "activity_direction": ("inbound", "outbound"),
    "activity_status": ("open", "completed", "cancelled"),
}

# How a value is read from a cell, and the type it is staged as (enums are staged as text and
# cast on merge, so a bad label is a rejected row rather than a failed COPY).
KIND_SQL_TYPES: dict[str, str] = {
    "text": "text",  # kept as written (blank = NULL)
    "key": "text",  # an external id: trimmed
    "email": "text",  # checked like the CHECK constraint, `mailto:` dropped
    "domain": "text",  # a domain or website, reduced to its lower-cased host
    "money": "numeric(14,2)",  # `1.234,56 €`; the currency goes to a `<name>__currency` column
    "percent": "numeric(5,4)",  # 75, 75% or 0.75 → 0.7500
    "integer": "integer",
    "date": "date",
    "timestamp": "timestamptz",
    "boolean": "boolean",
    "enum": "text",  # one of ENUMS[enum], or a profile's value map
    "id": "uuid",  # a related record's id: never read, resolved from `references`
}

# The most characters a value of each kind may have unless its field says otherwise, checked per
# row before loading and mirrored by CHECK constraints (`<table>_<column>_length`) in schema.sql.
# 255 is Salesforce's limit for names and external ids; an email address is at most 254 characters
# (RFC 5321's path limit), a domain at most 253 (RFC 1035). A value longer than the btree limit
# (about 2,700 bytes) in an indexed column would otherwise fail the whole file in PostgreSQL.
KIND_MAX_LENGTHS: dict[str, int] = {"text": 255, "key": 255, "email": 254, "domain": 253}
URL_MAX_LENGTH = 2048  # web addresses: what browsers and sitemaps accept, room for parameters
PHONE_MAX_LENGTH = 40  # Salesforce's Phone fields
POSTAL_CODE_MAX_LENGTH = 20  # Salesforce's PostalCode

# Columns of every table that no file fills: the database sets them (the id by its default,
# updated_at by a trigger) or the importer does, the same for every row of a file (source: the
# profile or "mail"; external_system: the system its external_id belongs to, the same profile
# name; import_batch_id: the file's batch).
SYSTEM_COLUMNS = ("source", "external_system", "import_batch_id", "updated_at")

# How a later import merges a value into a stored record (Field.merge):
MERGE_RULES = (
    "overwrite",  # a value in the file replaces the stored one (a blank cell never does)
    "earliest",  # the earlier of the stored and the new value (first-touch dates)
    "fill_blank",  # the file's value only fills a blank stored value (origin facts, ids)
)

# Cells that mean "no value" in fields that hold a formatted value (phones, emails, URLs,
# numbers, dates): read as blank, compared case-insensitively after trimming. Free text (names,
# company, title, descriptions) keeps every value as written: `NA` is a surname, `None` a name.
PLACEHOLDERS = frozenset(
    (
        "-",
        "--",
        "–",
        "—",
        "n/a",
        "n.a.",
        "n.a",
        "na",
        "none",
        "null",
        "nil",
        "?",
        "tbd",
        "#n/a",
        "unknown",
    )
)
# The kinds whose placeholders are blanks; a text field takes part when it has a `format`.
PLACEHOLDER_KINDS = frozenset(
    ("email", "domain", "money", "percent", "integer", "date", "timestamp")
)
# Text that follows a format, though it is stored as written.
TEXT_FORMATS = ("phone", "url")


@dataclass(frozen=True)
class Field:
    """A column the importer fills: how to read it, its staged type and its insert default."""

    name: str
    kind: str = "text"  # a key of KIND_SQL_TYPES
    enum: str | None = None  # for kind "enum": a key of ENUMS
    default: str | None = None  # SQL used on insert when the cell is blank
    references: tuple[str, ...] = ()  # for kind "id": the reference fields it is resolved from
    max_length: int | None = None  # characters; None: the kind's (KIND_MAX_LENGTHS)
    long_text: bool = False  # free text (descriptions, bodies): no length limit
    merge: str = "overwrite"  # one of MERGE_RULES: how a later import changes a stored value
    format: str | None = None  # for kind "text": one of TEXT_FORMATS (phone, url)

    def __post_init__(self) -> None:
        if self.kind not in KIND_SQL_TYPES:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.merge not in MERGE_RULES:
            raise ValueError(f"{self.name}: unknown merge rule {self.merge!r}")
        if self.format is not None and (self.kind != "text" or self.format not in TEXT_FORMATS):
            raise ValueError(f"{self.name}: a format is one of {TEXT_FORMATS}, on a text field")
        if (self.kind == "enum") != (self.enum in ENUMS):
            raise ValueError(f"{self.name}: an enum field names one of {list(ENUMS)}")

    @property
    def sql_type(self) -> str:
        """The type of its column in the stage table."""
        return KIND_SQL_TYPES[self.kind]

    @property
    def length_limit(self) -> int | None:
        """The most characters a value may have (None: no limit)."""
        if self.long_text or self.kind not in KIND_MAX_LENGTHS:
            return None
        return self.max_length or KIND_MAX_LENGTHS[self.kind]

    @property
    def placeholders_are_blank(self) -> bool:
        """Whether cells like `-` or `n/a` (PLACEHOLDERS) are blanks in this field."""
        return self.kind in PLACEHOLDER_KINDS or self.format is not None

    @property
    def cast(self) -> str:
        """The cast from the stage to the table ("" when none is needed)."""
        return f"public.{self.enum}" if self.enum else ""


@dataclass(frozen=True)
class Entity:
    """One table the importers load, and what a file can say about its rows."""

    name: str
    id_column: str
    columns: tuple[Field, ...]  # the table's columns an import writes, in the order it does
    references: tuple[Field, ...] = ()  # natural keys of related records (read, never stored)
    identity: tuple[str, ...] = ()  # a file must map one of these, in this order in messages
    rows_need_identity: bool = False  # and each row must fill one (the table's CHECK says so)
    not_imported: dict[str, str] = field(default_factory=dict)  # column → why no file fills it

    @property
    def table(self) -> str:
        """Its table in schema public, named like the entity."""
        return self.name

    @property
    def fields(self) -> dict[str, Field]:
        """What a file can fill, by name: the table's values, then the references."""
        values = [column for column in self.columns if column.kind != "id"]
        return {column.name: column for column in (*values, *self.references)}

    @property
    def system_columns(self) -> tuple[str, ...]:
        """The table's columns no file fills and that need no reason of their own."""
        return (self.id_column, *SYSTEM_COLUMNS)


def _text(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name) for name in names)


DESCRIPTION = Field("description", long_text=True)


def _phone(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, format="phone", max_length=PHONE_MAX_LENGTH) for name in names)


def _url(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, format="url", max_length=URL_MAX_LENGTH) for name in names)


# First-touch facts: when a record was first known keeps the earliest date any import gave, and
# where it came from is written once; a record's external id is the first one it got.
CREATED_AT = Field("created_at", "timestamp", default="now()", merge="earliest")
# The business date a lead or deal started, only when the source says so (NULL: unknown);
# created_at is the audit date and gets the import time when a file has none.
OPENED_ON = Field("opened_on", "date", merge="earliest")
LEAD_SOURCE = Field("lead_source", merge="fill_blank")
EXTERNAL_ID = Field("external_id", "key", merge="fill_blank")
ACCOUNT_REFERENCES = (
    Field("account_external_id", "key"),
    Field("account_name"),
    Field("account_domain", "domain"),
)
ACCOUNT_ID = Field("account_id", "id", references=tuple(f.name for f in ACCOUNT_REFERENCES))

LEADS = Entity(
    name="leads",
    id_column="lead_id",
    columns=(
        EXTERNAL_ID,
        *_text("first_name", "last_name", "company", "title"),
        Field("email", "email"),
        *_phone("phone"),
        *_url("website", "linkedin_url"),
        *_text("city", "country"),
        LEAD_SOURCE,
        Field("status", "enum", "lead_status", default="'new'"),
        Field("estimated_amount", "money"),
        DESCRIPTION,
        Field("converted_account_id", "id", references=("converted_account_external_id",)),
        Field("converted_contact_id", "id", references=("converted_contact_external_id",)),
        Field("converted_project_id", "id", references=("converted_project_external_id",)),
        Field("converted_date", "date"),
        OPENED_ON,
        CREATED_AT,
    ),
    references=(
        Field("converted_account_external_id", "key"),
        Field("converted_contact_external_id", "key"),
        Field("converted_project_external_id", "key"),
    ),
    identity=("email", "last_name", "first_name", "company", "linkedin_url"),
    rows_need_identity=True,  # leads_identified
)

ACCOUNTS = Entity(
    name="accounts",
    id_column="account_id",
    columns=(
        EXTERNAL_ID,
        Field("name"),
        Field("domain", "domain"),
        *_url("website"),
        Field("industry"),
        *_phone("phone"),
        *_text("street", "city", "state"),
        Field("postal_code", max_length=POSTAL_CODE_MAX_LENGTH),
        Field("country"),
        Field("annual_revenue", "money"),
        Field("employee_count", "integer"),
        DESCRIPTION,
        CREATED_AT,
    ),
    identity=("name",),
)

CONTACTS = Entity(
    name="contacts",
    id_column="contact_id",
    columns=(
        EXTERNAL_ID,
        ACCOUNT_ID,
        *_text("first_name", "last_name"),
        Field("email", "email"),
        *_text("title", "department"),
        *_phone("phone", "mobile_phone"),
        *_url("linkedin_url"),
        *_text("city", "country"),
        Field("has_opted_out_of_email", "boolean", default="false"),
        DESCRIPTION,
        CREATED_AT,
    ),
    references=ACCOUNT_REFERENCES,
    identity=("email", "last_name", "first_name"),
    rows_need_identity=True,  # contacts_identified
)

PROJECTS = Entity(
    name="projects",
    id_column="project_id",
    columns=(
        EXTERNAL_ID,
        ACCOUNT_ID,
        Field(
            "primary_contact_id",
            "id",
            references=("primary_contact_external_id", "primary_contact_email"),
        ),
        Field("name"),
        Field("stage", "enum", "project_stage", default="'qualification'"),
        Field("amount", "money"),
        Field("currency_code", default="'EUR'", max_length=3),
        Field("probability", "percent"),
        Field("close_date", "date"),
        Field("start_date", "date"),
        Field("end_date", "date"),
        Field("delivery_status", "enum", "delivery_status"),
        LEAD_SOURCE,
        *_text("project_type", "next_step"),
        DESCRIPTION,
        OPENED_ON,
        CREATED_AT,
    ),
    references=(
        *ACCOUNT_REFERENCES,
        Field("primary_contact_external_id", "key"),
        Field("primary_contact_email", "email"),
    ),
    identity=("name",),
)

ACTIVITIES = Entity(
    name="activities",
    id_column="activity_id",
    columns=(
        EXTERNAL_ID,
        Field("activity_type", "enum", "activity_type"),
        Field("direction", "enum", "activity_direction"),
        Field("status", "enum", "activity_status", default="'completed'"),
        Field("subject"),
        Field("body", long_text=True),
        Field("occurred_at", "timestamp"),
        Field("ends_at", "timestamp"),
        Field("due_date", "date"),
        # Who/What are Salesforce's polymorphic references: the id of a lead or contact (Who),
        # of a project or account (What).
        Field("lead_id", "id", references=("who_external_id", "lead_email")),
        Field(
            "account_id",
            "id",
            references=("what_external_id", *(f.name for f in ACCOUNT_REFERENCES)),
        ),
        Field(
            "project_id",
            "id",
            references=("project_external_id", "what_external_id", "project_name"),
        ),
        Field("contact_id", "id", references=("who_external_id", "contact_email")),
        CREATED_AT,
    ),
    references=(
        Field("who_external_id", "key"),
        Field("what_external_id", "key"),
        Field("lead_email", "email"),
        Field("contact_email", "email"),
        *ACCOUNT_REFERENCES,
        Field("project_external_id", "key"),
        Field("project_name"),
    ),
    identity=("subject", "occurred_at", "due_date", "body"),
    not_imported={
        "thread_key": "filled by the mail importer (the conversation a message belongs to)",
        "details": "filled by the mail importer (addresses, message id, attachments)",
    },
)

# In the order the user sees them named (`--entity`, messages).
REGISTRY: dict[str, Entity] = {
    entity.name: entity for entity in (LEADS, ACCOUNTS, CONTACTS, PROJECTS, ACTIVITIES)
}
ENTITIES = tuple(REGISTRY)

# People files (HubSpot contacts, Google, Outlook, LinkedIn) become contacts or leads per row:
# they can fill any field of either, and are identified like leads.
PEOPLE = "people"
PEOPLE_ENTITIES = ("leads", "contacts")

# What each kind of file can fill: an entity's fields, or for people those of leads and contacts.
ENTITY_FIELDS: dict[str, dict[str, Field]] = {name: e.fields for name, e in REGISTRY.items()}
ENTITY_FIELDS[PEOPLE] = {
    **LEADS.fields,
    **{name: spec for name, spec in CONTACTS.fields.items() if name not in LEADS.fields},
}

# A file of each kind must map at least one of these columns ...
IDENTITY: dict[str, tuple[str, ...]] = {name: e.identity for name, e in REGISTRY.items()}
IDENTITY[PEOPLE] = LEADS.identity
# ... and for these kinds every row must fill one, or it is rejected before the merge.
ROW_IDENTITY: dict[str, tuple[str, ...]] = {
    name: e.identity for name, e in REGISTRY.items() if e.rows_need_identity
}
ROW_IDENTITY[PEOPLE] = LEADS.identity
