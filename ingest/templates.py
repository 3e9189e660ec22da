"""Import templates that teach: every column an entity takes, an example row, and what each
column accepts.

``crm import --template ENTITY --format xlsx`` writes a workbook whose first sheet is the
template (the header row, one example row, a drop-down list on every column with a fixed set of
values) and whose second sheet explains each column; ``--format csv`` writes the header row only
(docs/importing.md lists the allowed values beside it). Both import back with the generic
profile as they are.
"""

from __future__ import annotations

from pathlib import Path

from ingest.entities import ENTITIES, ENTITY_FIELDS, ENUMS, IDENTITY, KIND_MAX_LENGTHS, Field
from ingest.errors import CrmError
from ingest.profiles import template_headers

TEMPLATE_FORMATS = ("csv", "xlsx")
TEMPLATE_ROWS = 5000  # rows below the header that get the drop-down lists

# One believable row per entity (the example row of the workbook).
EXAMPLES: dict[str, dict[str, str]] = {
    "leads": {
        "external_id": "L-1001", "first_name": "Ada", "last_name": "Lovelace",
        "company": "Analytical Engines Ltd", "title": "Head of Finance",
        "email": "ada@engines.example", "phone": "+44 20 7946 0001",
        "website": "https://engines.example", "city": "London", "country": "United Kingdom",
        "lead_source": "Referral", "status": "new", "estimated_amount": "12000.00",
        "description": "Met at the finance summit", "created_at": "2025-03-04 10:30",
    },
    "accounts": {
        "external_id": "A-2001", "name": "Alder Foods GmbH", "domain": "alder-foods.example",
        "website": "https://www.alder-foods.example", "industry": "Food", "city": "Köln",
        "postal_code": "50667", "country": "Germany", "annual_revenue": "25000000",
        "employee_count": "180",
    },
    "contacts": {
        "external_id": "C-3001", "first_name": "Jonas", "last_name": "Becker",
        "email": "jonas.becker@alder-foods.example", "title": "CFO", "department": "Finance",
        "phone": "+49 221 555 0100", "city": "Köln", "country": "Germany",
        "has_opted_out_of_email": "no", "account_name": "Alder Foods GmbH",
    },
    "projects": {
        "external_id": "P-4001", "name": "Pricing review", "account_name": "Alder Foods GmbH",
        "stage": "proposal", "amount": "12500.00", "currency_code": "EUR", "probability": "50%",
        "close_date": "2025-06-30",
        "next_step": "Send the proposal",
        "primary_contact_email": "jonas.becker@alder-foods.example",
    },
    "activities": {
        "external_id": "T-5001", "activity_type": "call", "direction": "outbound",
        "status": "completed", "subject": "Discovery call", "occurred_at": "2025-03-12 14:00",
        "contact_email": "jonas.becker@alder-foods.example", "account_name": "Alder Foods GmbH",
    },
}  # fmt: skip

_KIND_TEXT = {
    "text": "text",
    "key": "your own id for the record in the system it comes from (kept as written)",
    "email": "an e-mail address, name@domain.tld",
    "domain": "a web domain or address; stored as its host, e.g. example.com",
    "money": "an amount like 12500.00 or 12.500,00; a currency sign or code may stand with it",
    "percent": "75, 75% or 0.75",
    "integer": "a whole number",
    "date": "a date, best written 2025-03-31",
    "timestamp": "a date and time, best written 2025-03-31 14:30 (a date alone is midnight)",
    "boolean": "yes or no (also TRUE/FALSE, 1/0, x)",
}


def describe_field(entity: str, name: str) -> tuple[str, str]:
    """What a template column takes, and whether the file needs it."""
    spec: Field = ENTITY_FIELDS[entity][name]
    if spec.enum is not None:
        text = "one of: " + ", ".join(ENUMS[spec.enum])
    elif spec.format == "url":
        text = "a web address, e.g. https://example.com"
    elif spec.format == "phone":
        text = "a phone number as you write it, best with the country code"
    else:
        text = _KIND_TEXT.get(spec.kind, spec.kind)
    if name.endswith(("_external_id", "_name", "_domain", "_email")) and name not in (
        "first_name",
        "last_name",
    ):
        text += " (names a record imported before; it must exist)"
    limit = None if spec.long_text else (spec.max_length or KIND_MAX_LENGTHS.get(spec.kind))
    if limit is not None:
        text += f"; at most {limit} characters"
    identity = IDENTITY[entity]
    needed = f"one of {', '.join(identity)}" if name in identity else ""
    return text, needed


def write_template(entity: str, out: Path | None, template_format: str = "csv") -> Path:
    """Write the template for ``entity`` to ``out`` (a file, or a folder for the default name)."""
    if entity not in ENTITIES:
        raise CrmError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}.")
    if template_format not in TEMPLATE_FORMATS:
        raise CrmError(
            f"unknown template format {template_format!r}; choose one of: "
            f"{', '.join(TEMPLATE_FORMATS)}."
        )
    name = f"{entity}-template.{template_format}"
    target = out or Path(name)
    if target.is_dir():
        target = target / name
    headers = template_headers(entity)
    if template_format == "csv":
        # UTF-8 with BOM, so Excel reads it.
        target.write_text(",".join(headers) + "\r\n", encoding="utf-8-sig")
    else:
        _write_xlsx(entity, headers, target)
    return target


def _write_xlsx(entity: str, headers: list[str], target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = entity
    example = EXAMPLES[entity]
    sheet.append(headers)
    sheet.append([example.get(header, "") for header in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    fields = ENTITY_FIELDS[entity]
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(header) + 2)
        spec = fields[header]
        choices = ENUMS[spec.enum] if spec.enum else ("yes", "no") if spec.kind == "boolean" else ()
        if not choices:
            continue
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(choices) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=header,
            error=f"{header} takes one of: {', '.join(choices)}",
            promptTitle=header,
            prompt=f"One of: {', '.join(choices)}",
            showInputMessage=True,
        )
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(validation)
    guide = workbook.create_sheet("Columns")
    guide.append(["column", "takes", "required", "example"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for header in headers:
        text, needed = describe_field(entity, header)
        guide.append([header, text, needed, example.get(header, "")])
    guide.append([])
    guide.append(
        [
            "Fill one row per record on the first sheet (replace the example row), keep the "
            "header row, then: crm import FILE. Blank cells are fine; each row needs at least "
            f"one of: {', '.join(IDENTITY[entity])}."
        ]
    )
    for letter, width in (("A", 30), ("B", 90), ("C", 40), ("D", 30)):
        guide.column_dimensions[letter].width = width
    workbook.save(target)
