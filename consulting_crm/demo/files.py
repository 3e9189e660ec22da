"""Write the demo practice out as the files a consultant really has, quirks included.

Each writer produces the shape of a real export (see ../shared/FORMATS.md): a HubSpot contacts
export with a UTF-8 BOM, LinkedIn's Connections.csv with its "Notes:" preamble and CRLF line ends,
an Excel workbook of accounts, a semicolon-separated projects file in our template with decimal
commas, a Salesforce task report, and a Gmail Takeout mbox. A few rows are wrong on purpose, as in
real life; they end up in the reject report, not in the figures.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from consulting_crm.demo.practice import OWNER_EMAILS, Practice

# Rows deliberately broken in the demo files, and why. The importers must reject exactly these.
BAD_HUBSPOT_EMAILS = ("maria.rossi@", "jonas at fontaine-analytics.example")
BAD_PROJECT_NAME = "Workshop series – Unknown Client"


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the generated files, in the order they should be imported."""

    accounts: Path
    hubspot_contacts: Path
    linkedin: Path
    lead_conversions: Path
    projects: Path
    salesforce_tasks: Path
    mailbox: Path

    def in_import_order(self) -> list[Path]:
        return [
            self.accounts,
            self.hubspot_contacts,
            self.linkedin,
            self.lead_conversions,
            self.projects,
            self.salesforce_tasks,
            self.mailbox,
        ]


def write_demo_files(practice: Practice, out: Path) -> DemoFiles:
    """Write every demo export into ``out`` (created if missing); same practice, same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(
        accounts=out / "accounts.xlsx",
        hubspot_contacts=out / "hubspot-contacts-export.csv",
        linkedin=out / "Connections.csv",
        lead_conversions=out / "lead-conversions.csv",
        projects=out / "projects.csv",
        salesforce_tasks=out / "salesforce-tasks-report.csv",
        mailbox=out / "Takeout" / "Mail" / "All mail Including Spam and Trash.mbox",
    )
    write_accounts_xlsx(practice, files.accounts)
    write_hubspot_contacts(practice, files.hubspot_contacts)
    write_linkedin_connections(practice, files.linkedin)
    write_lead_conversions(practice, files.lead_conversions)
    write_projects_csv(practice, files.projects)
    write_salesforce_tasks(practice, files.salesforce_tasks)
    write_gmail_mbox(practice, files.mailbox)
    return files


def _csv_text(rows: Iterable[Iterable[object]], *, delimiter: str = ",", crlf: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def write_accounts_xlsx(practice: Practice, path: Path) -> None:
    """An Excel workbook of clients, as a consultant keeps one: real date cells, a header row."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Clients"
    sheet.append(
        [
            "External ID", "Account Name", "Domain", "Website", "Industry", "City", "Country",
            "Created At",
        ]
    )  # fmt: skip
    for account in practice.accounts:
        sheet.append(
            [
                account.salesforce_id,
                account.name,
                account.domain,
                account.website,
                account.industry,
                account.city,
                account.country,
                account.created_at.date(),
            ]
        )
    for cell in sheet["H"][1:]:
        cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_reproducible_zip(buffer.getvalue()))


def _reproducible_zip(data: bytes) -> bytes:
    """Pin the timestamps openpyxl writes (zip entries, docProps), so the same data gives the
    same bytes and a re-run of the demo is recognised as the same file."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>2020-01-01T00:00:00Z\g<3>",
                    content,
                )
            pinned = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(pinned, content)
    return out.getvalue()


def write_hubspot_contacts(practice: Practice, path: Path) -> None:
    """HubSpot's contacts export (UTF-8 with BOM): client contacts and leads, mixed, as HubSpot
    keeps them. Client contacts share their account's domain, so the importer files them as
    contacts; everyone else becomes a lead."""
    header = [
        "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner",
        "Lifecycle Stage", "Lead Status", "Create Date", "Last Activity Date",
        "Associated Company", "Job Title", "Company Name", "Country/Region", "Original Source",
    ]  # fmt: skip
    rows: list[list[object]] = [[*header]]
    for contact in practice.contacts:
        rows.append(
            [
                contact.hubspot_id,
                contact.first_name,
                contact.last_name,
                contact.email,
                contact.phone,
                "Morgan Avery",
                "customer",
                "",
                f"{contact.created_at:%Y-%m-%d %H:%M}",
                "",
                contact.account.name,
                contact.title,
                contact.account.name,
                contact.account.country,
                "OFFLINE",
            ]
        )
    hubspot = [lead for lead in practice.leads if lead.channel == "hubspot"]
    for index, lead in enumerate(hubspot):
        rows.append(
            [
                lead.hubspot_id,
                lead.first_name,
                lead.last_name,
                lead.email,
                lead.phone,
                "Morgan Avery",
                "lead",
                lead.hubspot_status,
                f"{lead.created_at:%Y-%m-%d %H:%M}",
                "",
                "",
                lead.title,
                lead.company,
                lead.country,
                lead.lead_source,
            ]
        )
        if index in (17, 61):  # two rows with unusable addresses, as real exports have
            bad = BAD_HUBSPOT_EMAILS[0 if index == 17 else 1]
            rows.append([str(int(lead.hubspot_id or 0) + 7), "Maria" if index == 17 else "Jonas",
                         "Rossi" if index == 17 else "Fontaine", bad, "", "Morgan Avery", "lead",
                         "NEW", f"{lead.created_at:%Y-%m-%d %H:%M}", "", "", "", "", "",
                         "OFFLINE"])  # fmt: skip
    path.write_bytes(b"\xef\xbb\xbf" + _csv_text(rows).encode("utf-8"))


def write_lead_conversions(practice: Practice, path: Path) -> None:
    """The leads that became clients, in our leads template: the consultant's own list of wins."""
    rows: list[list[object]] = [
        ["email", "status", "converted_account_external_id", "converted_date"]
    ]
    for lead in practice.leads:
        if lead.converted_account is None or lead.converted_date is None:
            continue
        rows.append(
            [
                lead.email,
                "converted",
                lead.converted_account.salesforce_id,
                lead.converted_date.isoformat(),
            ]
        )
    path.write_bytes(_csv_text(rows).encode("utf-8"))


def write_linkedin_connections(practice: Practice, path: Path) -> None:
    """LinkedIn's Connections.csv: a Notes preamble, CRLF, e-mail mostly missing."""
    preamble = (
        "Notes:\r\n"
        '"When exporting your connection data, you may notice that some of the email addresses '
        "are missing. You will only see email addresses for connections who have allowed their "
        'connections to see or download their email address."\r\n'
        "\r\n"
    )
    rows: list[list[object]] = [
        ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
    ]
    for lead in practice.leads:
        if lead.channel != "linkedin":
            continue
        rows.append(
            [
                lead.first_name,
                lead.last_name,
                lead.linkedin_url,
                lead.email,
                lead.company,
                lead.title,
                f"{lead.created_at:%d %b %Y}",
            ]
        )
    path.write_bytes((preamble + _csv_text(rows)).encode("utf-8"))


def _decimal_comma(amount: int) -> str:
    """12500 -> '12.500,00', as a European Excel writes it."""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def write_projects_csv(practice: Practice, path: Path) -> None:
    """Projects in our own template, saved by a European Excel: `sep=;` line, decimal commas."""
    header = [
        "External ID", "Project Name", "Account Name", "Stage", "Amount", "Currency",
        "Close Date", "Start Date", "End Date", "Delivery Status", "Lead Source",
        "Primary Contact Email", "Created At",
    ]  # fmt: skip
    rows: list[list[object]] = [[*header]]
    for project in practice.projects:
        rows.append(
            [
                project.external_id,
                project.name,
                project.account.name,
                project.stage,
                _decimal_comma(project.amount),
                "EUR",
                project.close_date.isoformat(),
                project.start_date.isoformat() if project.start_date else "",
                project.end_date.isoformat() if project.end_date else "",
                project.delivery_status or "",
                project.lead_source,
                project.contact.email if project.contact else "",
                project.created_at.date().isoformat(),
            ]
        )
    # A project for a client that is in no list: rejected with the account named.
    rows.append(
        ["PRJ-9999", BAD_PROJECT_NAME, "Unknown Client GmbH", "proposal", "4.000,00", "EUR",
         practice.as_of.isoformat(), "", "", "", "Website", "", practice.as_of.isoformat()]
    )  # fmt: skip
    path.write_bytes(("sep=;\r\n" + _csv_text(rows, delimiter=";")).encode("utf-8"))


def write_salesforce_tasks(practice: Practice, path: Path) -> None:
    """A Salesforce Task export by API names (Data Loader): calls and to-dos whose WhatId is the
    client's Salesforce account id (the External ID column of the accounts workbook)."""
    header = [
        "Id", "WhoId", "WhatId", "Subject", "TaskSubtype", "ActivityDate", "Status", "Priority",
        "Description", "CompletedDateTime", "CreatedDate",
    ]  # fmt: skip
    rows: list[list[object]] = [[*header]]
    for task in practice.tasks:
        rows.append(
            [
                task.salesforce_id,
                "",
                task.account.salesforce_id,
                task.subject,
                task.subtype,
                task.activity_date.isoformat(),
                task.status,
                task.priority,
                task.description,
                f"{task.activity_date.isoformat()}T16:00:00.000Z"
                if task.status == "Completed"
                else "",
                task.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            ]
        )
    path.write_bytes(_csv_text(rows).encode("utf-8"))


def write_gmail_mbox(practice: Practice, path: Path) -> None:
    """A Gmail Takeout mbox: X-GM-THRID and X-Gmail-Labels headers, one message per mail."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mbox_policy = policy.default.clone(linesep="\n")
    with path.open("wb") as handle:
        for email in practice.emails:
            message = EmailMessage()
            message["X-GM-THRID"] = str(int(email.thread_id, 16))
            message["X-Gmail-Labels"] = ",".join(email.labels)
            message["Delivered-To"] = OWNER_EMAILS[0]
            message["Date"] = format_datetime(email.sent_at)
            message["From"] = formataddr(email.sender)
            message["To"] = ", ".join(formataddr(r) for r in email.recipients)
            message["Subject"] = email.subject
            message["Message-ID"] = email.message_id
            if email.in_reply_to:
                message["In-Reply-To"] = email.in_reply_to
                message["References"] = email.in_reply_to
            message.set_content(email.body)
            # The From_ line Takeout writes: an id, then the date in asctime form.
            from_line = f"From {int(email.thread_id, 16)}@xxx {email.sent_at:%a %b %d %H:%M:%S %Y}"
            handle.write(from_line.encode("ascii") + b"\n")
            BytesGenerator(handle, mangle_from_=True, policy=mbox_policy).flatten(message)
            handle.write(b"\n")
