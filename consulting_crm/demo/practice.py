"""A made-up consultancy, generated from a seed: the records behind the demo's export files.

Everything here is plain data. ``consulting_crm.demo.files`` writes it out in the shapes of the
exports a consultant really has (HubSpot, LinkedIn, Excel, our template, Salesforce, Gmail
Takeout), and the test suite's ``tests.factories.demo_figures`` computes the headline figures these
records imply, independently of the database, so the demo can be checked end to end.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

DEMO_AS_OF = date(2026, 6, 30)
OWNER_NAME = "Morgan Avery"
OWNER_EMAILS = ("morgan@averyadvisory.example", "morgan.avery@gmail.com")
YEARS_OF_HISTORY = 3

FIRST_NAMES = [
    "Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Fatima", "Gustav", "Hana", "Ines", "Jonas",
    "Kwame", "Lucía", "Mateo", "Noor", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomás",
    "Uma", "Valentina", "Wen", "Ximena", "Yusuf", "Zoë", "Amélie", "Björn", "Céline", "Darius",
    "Émile", "Freya", "Giulia", "Hugo", "Ingrid", "Jules", "Katarzyna", "Leon", "Maëlle", "Nils",
]  # fmt: skip
LAST_NAMES = [
    "Abara", "Bergström", "Castellano", "Dubois", "Eriksen", "Fontaine", "García", "Hoffmann",
    "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrov",
    "Quinn", "Rossi", "Schäfer", "Tanaka", "Urquhart", "Van der Berg", "Weiß", "Xu", "Yilmaz",
    "Zimmermann", "Åkesson", "Bianchi", "Costa", "De Vries", "Esposito", "Fischer", "Gonzalez",
]  # fmt: skip
COMPANY_FIRST = [
    "Northwind", "Bluefin", "Copperleaf", "Driftwood", "Evergreen", "Foxglove", "Granite",
    "Harbourline", "Ironbark", "Juniper", "Kestrel", "Lumen", "Meridian", "Nettle", "Oakridge",
    "Pinecrest", "Quarry", "Redwing", "Saltmarsh", "Tidewater", "Umber", "Vantage", "Willow",
    "Yarrow", "Zephyr", "Alder", "Brightwater", "Cinder", "Dovetail", "Elmstead",
]  # fmt: skip
COMPANY_SECOND = [
    "Logistics", "Foods", "Health", "Energy", "Analytics", "Retail", "Manufacturing", "Media",
    "Insurance", "Software", "Hospitality", "Biotech", "Partners", "Mobility", "Studios",
]  # fmt: skip
COMPANY_SUFFIX = ["GmbH", "Ltd", "B.V.", "S.A.", "AG", "Inc.", "& Co.", "SRL", "AB", "Oy"]
INDUSTRIES = {
    "Logistics": "Transportation", "Foods": "Food & Beverage", "Health": "Healthcare",
    "Energy": "Energy", "Analytics": "Information Technology", "Retail": "Retail",
    "Manufacturing": "Manufacturing", "Media": "Media", "Insurance": "Insurance",
    "Software": "Information Technology", "Hospitality": "Hospitality", "Biotech": "Biotechnology",
    "Partners": "Professional Services", "Mobility": "Automotive", "Studios": "Entertainment",
}  # fmt: skip
CITIES = [
    ("Amsterdam", "Netherlands"), ("Berlin", "Germany"), ("Copenhagen", "Denmark"),
    ("Dublin", "Ireland"), ("Edinburgh", "United Kingdom"), ("Frankfurt", "Germany"),
    ("Gothenburg", "Sweden"), ("Helsinki", "Finland"), ("Lisbon", "Portugal"),
    ("Lyon", "France"), ("Milan", "Italy"), ("Munich", "Germany"), ("Rotterdam", "Netherlands"),
    ("Vienna", "Austria"), ("Zürich", "Switzerland"), ("Windhoek", "Namibia"),
]  # fmt: skip
TITLES = [
    "Chief Executive Officer", "Chief Operating Officer", "CFO", "Head of Data",
    "VP Operations", "Director of Strategy", "Head of Digital", "Operations Manager",
    "Managing Director", "Head of Finance", "Product Lead", "IT Director",
]  # fmt: skip
SERVICES = [
    "Data strategy", "Pricing review", "Operating model redesign", "BI dashboard rollout",
    "Supply chain diagnostic", "CRM selection", "Cost reduction programme", "Market entry study",
    "Analytics team set-up", "Process automation", "Due diligence support", "Forecasting model",
]  # fmt: skip
LEAD_SOURCES_HUBSPOT = [
    "ORGANIC_SEARCH", "REFERRALS", "SOCIAL_MEDIA", "EMAIL_MARKETING", "DIRECT_TRAFFIC", "OFFLINE",
]  # fmt: skip
# HubSpot's internal lead-status values and the share of leads in each.
HUBSPOT_LEAD_STATUSES = [
    ("NEW", 0.30), ("ATTEMPTED_TO_CONTACT", 0.15), ("CONNECTED", 0.15), ("IN_PROGRESS", 0.12),
    ("OPEN_DEAL", 0.08), ("UNQUALIFIED", 0.15), ("BAD_TIMING", 0.05),
]  # fmt: skip
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me")


@dataclass
class Account:
    key: int
    name: str
    domain: str
    industry: str
    city: str
    country: str
    created_at: datetime
    hubspot_id: str
    salesforce_id: str  # the consultant once trialled Salesforce; tasks point at these ids
    tier: float  # how much work this client gives: drives revenue concentration
    goes_quiet_on: date | None  # after this date nobody at the client writes any more

    @property
    def website(self) -> str:
        return f"https://www.{self.domain}"


@dataclass
class Contact:
    account: Account
    first_name: str
    last_name: str
    email: str
    title: str
    phone: str
    hubspot_id: str
    created_at: datetime


@dataclass
class Lead:
    first_name: str
    last_name: str
    email: str | None
    company: str
    title: str
    created_at: datetime
    channel: str  # "hubspot" or "linkedin"
    hubspot_id: str | None = None
    hubspot_status: str | None = None
    lead_source: str | None = None
    linkedin_url: str | None = None
    phone: str | None = None
    country: str | None = None
    converted_account: Account | None = None  # the client the lead became, if it did
    converted_date: date | None = None


@dataclass
class Project:
    external_id: str
    account: Account
    name: str
    stage: str
    amount: int
    created_at: datetime
    close_date: date
    start_date: date | None = None
    end_date: date | None = None
    delivery_status: str | None = None
    lead_source: str | None = None
    contact: Contact | None = None


@dataclass
class Email:
    message_id: str
    thread_id: str
    sent_at: datetime
    sender: tuple[str, str]  # (display name, address)
    recipients: list[tuple[str, str]]
    subject: str
    body: str
    labels: list[str]
    in_reply_to: str | None = None
    account: Account | None = None  # the client it is about, when there is one
    contact: Contact | None = None


@dataclass
class Task:
    salesforce_id: str
    account: Account
    contact: Contact | None
    subject: str
    activity_date: date
    status: str
    priority: str
    subtype: str  # "Call" or "Task"
    description: str
    created_at: datetime


@dataclass
class Practice:
    """Everything the demo's files contain, generated from one seed."""

    as_of: date
    seed: int
    scale: int
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _moment(rng: random.Random, day: date) -> datetime:
    """A working-hours timestamp on ``day`` (UTC)."""
    minutes = rng.randint(8 * 60, 18 * 60)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, 28))


def generate_practice(*, seed: int = 7, scale: int = 1, as_of: date = DEMO_AS_OF) -> Practice:
    """Generate the consultancy's data. The same seed, scale and date give the same records."""
    rng = random.Random(seed)
    practice = Practice(as_of=as_of, seed=seed, scale=scale)
    history_start = as_of - timedelta(days=365 * YEARS_OF_HISTORY)
    used_names: set[str] = set()
    used_emails: set[str] = set()

    def person_email(first: str, last: str, domain: str) -> str:
        base = f"{_slug(first)}.{_slug(last)}"
        email, n = f"{base}@{domain}", 1
        while email in used_emails:
            n += 1
            email = f"{base}{n}@{domain}"
        used_emails.add(email)
        return email

    def phone() -> str:
        country_code = rng.choice(["31", "49", "45", "353", "44"])
        return f"+{country_code} {rng.randint(10, 99)} {rng.randint(1000000, 9999999)}"

    # Accounts: a few big clients and a long tail, so revenue concentration is worth a chart.
    for key in range(30 * scale):
        for attempt in range(100):
            second = rng.choice(COMPANY_SECOND)
            stem = f"{rng.choice(COMPANY_FIRST)} {second}"
            if attempt >= 50:  # large scales run out of word pairs
                stem = f"{stem} {key}"
            if stem not in used_names:
                used_names.add(stem)
                break
        name = f"{stem} {rng.choice(COMPANY_SUFFIX)}"
        city, country = rng.choice(CITIES)
        created_day = history_start + timedelta(days=rng.randint(0, 365 * 2))
        tier = rng.paretovariate(1.3)
        quiet = None
        if key % 7 == 3:  # a client who stopped writing long ago
            quiet = as_of - timedelta(days=rng.randint(200, 400))
        elif key % 7 == 5:  # a client going quiet recently
            quiet = as_of - timedelta(days=rng.randint(70, 150))
        practice.accounts.append(
            Account(
                key=key,
                name=name,
                domain=f"{_slug(stem)}.example",
                industry=INDUSTRIES[second],
                city=city,
                country=country,
                created_at=_moment(rng, created_day),
                hubspot_id=str(9_000_000 + key * 37),
                salesforce_id=f"0015g00000{key:05d}AAA",
                tier=tier,
                goes_quiet_on=quiet,
            )
        )

    for account in practice.accounts:
        for _ in range(rng.randint(1, 4)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created_day = account.created_at.date() + timedelta(days=rng.randint(0, 60))
            practice.contacts.append(
                Contact(
                    account=account,
                    first_name=first,
                    last_name=last,
                    email=person_email(first, last, account.domain),
                    title=rng.choice(TITLES),
                    phone=phone(),
                    hubspot_id=str(40_000 + len(practice.contacts) * 11),
                    created_at=_moment(rng, min(created_day, as_of)),
                )
            )
    contacts_by_account: dict[int, list[Contact]] = {}
    for contact in practice.contacts:
        contacts_by_account.setdefault(contact.account.key, []).append(contact)

    # Projects: closed history plus an open pipeline.
    serial = 1000
    for account in practice.accounts:
        count = max(1, min(8, round(account.tier * rng.uniform(0.8, 2.2))))
        for _ in range(count):
            serial += 1
            created_day = account.created_at.date() + timedelta(days=rng.randint(0, 900))
            if created_day > as_of - timedelta(days=5):
                created_day = as_of - timedelta(days=rng.randint(5, 120))
            cycle = rng.randint(14, 120)
            close_day = created_day + timedelta(days=cycle)
            amount = round(rng.uniform(6_000, 40_000) * min(account.tier, 4) / 500.0) * 500
            if close_day <= as_of:
                stage = "won" if rng.random() < 0.62 else "lost"
            else:
                stage = rng.choice(["qualification", "proposal", "proposal", "negotiation"])
            project = Project(
                external_id=f"PRJ-{serial}",
                account=account,
                name=f"{rng.choice(SERVICES)} – {account.name.split()[0]}",
                stage=stage,
                amount=amount,
                created_at=_moment(rng, created_day),
                close_date=close_day,
                lead_source=rng.choice(["Referral", "Website", "LinkedIn", "Existing client"]),
                contact=rng.choice(contacts_by_account[account.key]),
            )
            if stage == "won":
                project.start_date = close_day + timedelta(days=rng.randint(3, 30))
                project.end_date = _add_months(project.start_date, rng.randint(1, 6)) - timedelta(
                    days=1
                )
                if project.start_date > as_of:
                    project.delivery_status = "not_started"
                elif project.end_date < as_of:
                    project.delivery_status = "completed"
                else:
                    project.delivery_status = "active"
            practice.projects.append(project)

    # Leads from HubSpot (with email) and LinkedIn (mostly without).
    statuses, weights = zip(*HUBSPOT_LEAD_STATUSES, strict=True)

    def prospect_company() -> str:
        """A company that is not a client (so the person stays a lead)."""
        for attempt in range(100):
            stem = f"{rng.choice(COMPANY_FIRST)} {rng.choice(COMPANY_SECOND)}"
            if attempt >= 50:
                stem = f"{stem} Prospects {rng.randint(1, 10**6)}"
            if stem not in used_names:
                return stem
        raise AssertionError("unreachable: numbered names are always new")

    for n in range(120 * scale):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = prospect_company()
        domain = rng.choice(FREE_MAIL) if n % 9 == 0 else f"{_slug(company)}-lead.example"
        created_day = history_start + timedelta(days=rng.randint(0, 365 * YEARS_OF_HISTORY))
        practice.leads.append(
            Lead(
                first_name=first,
                last_name=last,
                email=person_email(first, last, domain),
                company=company,
                title=rng.choice(TITLES),
                created_at=_moment(rng, created_day),
                channel="hubspot",
                hubspot_id=str(51_000 + n * 13),
                hubspot_status=rng.choices(statuses, weights)[0],
                lead_source=rng.choice(LEAD_SOURCES_HUBSPOT),
                phone=phone() if n % 3 else None,
                country=rng.choice(CITIES)[1],
            )
        )
    hubspot_leads = [lead for lead in practice.leads if lead.channel == "hubspot"]
    for n in range(80 * scale):
        if n % 10 == 0:  # the same person in both exports: merged by email
            twin = hubspot_leads[n % len(hubspot_leads)]
            first, last, email, company = twin.first_name, twin.last_name, twin.email, twin.company
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = prospect_company()
            email = None
        connected = history_start + timedelta(days=rng.randint(0, 365 * YEARS_OF_HISTORY))
        practice.leads.append(
            Lead(
                first_name=first,
                last_name=last,
                email=email,
                company=company,
                title=rng.choice(TITLES),
                created_at=datetime.combine(connected, time(0, 0), tzinfo=UTC),
                channel="linkedin",
                linkedin_url=f"https://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-{n:04d}",
            )
        )

    # A random stream of its own, so converting leads changes none of the other records.
    _convert_leads(random.Random(seed * 1000 + 15), practice)
    _generate_mail(rng, practice, contacts_by_account, history_start)
    _generate_tasks(rng, practice, contacts_by_account)
    return practice


# The HubSpot lead statuses of people who got far enough to become a client, and the share of
# them who did; conversion takes one to three months from the first contact.
CONVERTIBLE_STATUSES = ("OPEN_DEAL", "IN_PROGRESS", "CONNECTED")
CONVERSION_SHARE = 0.4


def _convert_leads(rng: random.Random, practice: Practice) -> None:
    """Mark some HubSpot leads as converted into a client, as a practice records a won lead."""
    for lead in practice.leads:
        if lead.channel != "hubspot" or lead.email is None:
            continue
        if lead.hubspot_status not in CONVERTIBLE_STATUSES or rng.random() >= CONVERSION_SHARE:
            continue
        converted = lead.created_at.date() + timedelta(days=rng.randint(20, 90))
        if converted > practice.as_of:
            continue
        lead.converted_account = rng.choice(practice.accounts)
        lead.converted_date = converted


def _generate_mail(
    rng: random.Random,
    practice: Practice,
    contacts_by_account: dict[int, list[Contact]],
    history_start: date,
) -> None:
    owner = (OWNER_NAME, OWNER_EMAILS[0])
    topics = ["kick-off", "next steps", "proposal", "invoice question", "workshop agenda",
              "status update", "draft report", "follow-up", "contract", "data access"]  # fmt: skip
    serial = 0
    for account in practice.accounts:
        people = contacts_by_account[account.key]
        last_day = min(account.goes_quiet_on or practice.as_of, practice.as_of)
        first_day = max(account.created_at.date(), history_start)
        if last_day <= first_day:
            continue
        threads = max(2, round(account.tier * 6)) * practice.scale
        # Clients that have not gone quiet keep writing: a few threads in the last six weeks.
        recent = 0 if account.goes_quiet_on else rng.randint(1, 3)
        for thread in range(threads + recent):
            contact = rng.choice(people)
            if thread < threads:
                day = first_day + timedelta(days=rng.randint(0, (last_day - first_day).days))
            else:
                day = last_day - timedelta(days=rng.randint(0, 40))
            topic = rng.choice(topics)
            thread_id = f"{rng.getrandbits(60):x}"
            subject = f"{topic.capitalize()} – {account.name}"
            previous: str | None = None
            inbound = rng.random() < 0.5
            for reply in range(rng.randint(1, 4)):
                serial += 1
                sent = _moment(rng, day) + timedelta(hours=reply * rng.randint(2, 30))
                if sent.date() > last_day:
                    break
                person = (f"{contact.first_name} {contact.last_name}", contact.email)
                sender, recipient = (person, owner) if inbound else (owner, person)
                message_id = f"<{serial}.{thread_id}@mail.{sender[1].split('@')[1]}>"
                practice.emails.append(
                    Email(
                        message_id=message_id,
                        thread_id=thread_id,
                        sent_at=sent,
                        sender=sender,
                        recipients=[recipient],
                        subject=subject if reply == 0 else f"Re: {subject}",
                        body=(
                            f"Hi {recipient[0].split()[0]},\n\n"
                            f"About the {topic}: could we look at this on "
                            f"{(sent + timedelta(days=3)):%A}?\n\n"
                            f"Best,\n{sender[0]}\n"
                        ),
                        labels=["Inbox" if inbound else "Sent", "Clients"],
                        in_reply_to=previous,
                        account=account,
                        contact=contact,
                    )
                )
                previous = message_id
                inbound = not inbound
    # Mail that links to nobody: newsletters and a message between the owner's own addresses.
    for n in range(10 * practice.scale):
        serial += 1
        sent = _moment(rng, practice.as_of - timedelta(days=rng.randint(1, 700)))
        practice.emails.append(
            Email(
                message_id=f"<news.{serial}@lists.newsletter-hub.example>",
                thread_id=f"{rng.getrandbits(60):x}",
                sent_at=sent,
                sender=("Industry Weekly", "digest@newsletter-hub.example"),
                recipients=[owner],
                subject=f"Industry Weekly #{n + 100}",
                body="This week's reading list for independent consultants.\n",
                labels=["Updates"],
            )
        )
    serial += 1
    practice.emails.append(
        Email(
            message_id=f"<self.{serial}@averyadvisory.example>",
            thread_id=f"{rng.getrandbits(60):x}",
            sent_at=_moment(rng, practice.as_of - timedelta(days=12)),
            sender=owner,
            recipients=[(OWNER_NAME, OWNER_EMAILS[1])],
            subject="Note to self: quarterly review",
            body="Remember to update the pipeline before the review.\n",
            labels=["Sent"],
        )
    )
    practice.emails.sort(key=lambda email: email.sent_at)


def _generate_tasks(
    rng: random.Random, practice: Practice, contacts_by_account: dict[int, list[Contact]]
) -> None:
    subjects = ["Call: check in", "Call: proposal walkthrough", "Send case study",
                "Prepare workshop", "Follow up on invoice", "Call: renewal"]  # fmt: skip
    for _ in range(40 * practice.scale):
        account = rng.choice(practice.accounts)
        subject = rng.choice(subjects)
        day = practice.as_of - timedelta(days=rng.randint(-20, 600))
        done = day <= practice.as_of
        practice.tasks.append(
            Task(
                salesforce_id=f"00T{rng.getrandbits(48):012X}",
                account=account,
                contact=rng.choice(contacts_by_account[account.key]),
                subject=subject,
                activity_date=day,
                status="Completed" if done else "Not Started",
                priority=rng.choice(["High", "Normal", "Normal", "Low"]),
                subtype="Call" if subject.startswith("Call") else "Task",
                description=f"{subject} with {account.name}.",
                created_at=_moment(rng, min(day, practice.as_of) - timedelta(days=2)),
            )
        )
