"""Writes the mail fixtures in tests/data/mail: real-looking exports of our made-up consultancy.

The files are checked in so they can be read like any export; this module is how they were made
(some need exact bytes: CRLF line ends, cp1252 text, base64 attachments), and a test checks that
the checked-in files still equal what it writes. Regenerate with
``.venv/bin/python -m tests.factories.mail_files``.

The people: Maria Kessler (the consultant: maria@kessler-consulting.de and m.kessler@gmail.com),
Jonas Weber (a contact at Nordlicht Logistik, nordlicht-logistik.de), Anna Keller (at Alpenbau,
an account known only by its domain alpenbau.ch), Sofia Brandt (a lead, brandt-design.at) and
Lukas Hoffmann (a private gmail.com address nobody knows yet).
"""

from __future__ import annotations

import base64
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "mail"

OWNERS = ("maria@kessler-consulting.de", "m.kessler@gmail.com")

_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    + b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" * 12
    + b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


# --- Gmail Takeout -----------------------------------------------------------------------------

GMAIL_JONAS_QUESTION = """\
X-GM-THRID: 1826547913387021450
X-Gmail-Labels: {labels}
Delivered-To: maria@kessler-consulting.de
Received: by 2002:a05:7000:1f0e:b0:5d1:2c3f:8a21 with SMTP id k14csp412233mab;
        Wed, 12 Mar 2025 01:14:03 -0700 (PDT)
Return-Path: <jonas.weber@nordlicht-logistik.de>
MIME-Version: 1.0
Date: Wed, 12 Mar 2025 09:14:00 +0100
Message-ID: <CAJw8kT2x-Lieferung.001@mail.gmail.com>
Subject: Lieferplan Q2 - kurze Frage
From: Jonas Weber <Jonas.Weber@Nordlicht-Logistik.de>
To: Maria Kessler <maria@kessler-consulting.de>
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hallo Maria,

k=C3=B6nnen wir den Lieferplan f=C3=BCr Q2 am Freitag besprechen?

Viele Gr=C3=BC=C3=9Fe
Jonas

On Tue, Mar 11, 2025 at 4:02 PM Maria Kessler <maria@kessler-consulting.de> wrote:
> Hallo Jonas,
> anbei der Entwurf.
"""

GMAIL_MARIA_REPLY = """\
X-GM-THRID: 1826547913387021450
X-Gmail-Labels: =?UTF-8?Q?Gesendet,"Kunden,_2025",Ge=C3=B6ffnet?=
MIME-Version: 1.0
Date: Wed, 12 Mar 2025 10:02:31 +0100
References: <CAJw8kT2x-Lieferung.001@mail.gmail.com>
In-Reply-To: <CAJw8kT2x-Lieferung.001@mail.gmail.com>
Message-ID: <CAMk5rQ9-reply.002@mail.gmail.com>
Subject: Re: Lieferplan Q2 - kurze Frage
From: Maria Kessler <maria@kessler-consulting.de>
To: Jonas Weber <jonas.weber@nordlicht-logistik.de>
Content-Type: text/plain; charset="UTF-8"

Hallo Jonas,

Freitag 10 Uhr passt. Ich schicke eine Einladung.

Maria
"""

GMAIL_ALPENBAU_HTML = """\
X-GM-THRID: 1826601288410933307
X-Gmail-Labels: Posteingang,Wichtig
MIME-Version: 1.0
Date: Thu, 13 Mar 2025 14:45:10 +0100
Message-ID: <0102019587aa.alpenbau@email.alpenbau.ch>
Subject: =?ISO-8859-1?Q?Angebot_f=FCr_den_Umbau?=
From: "Keller, Anna" <anna.keller@alpenbau.ch>
To: maria@kessler-consulting.de
Content-Type: text/html; charset="utf-8"

<html><head><style>p { color: #333; }</style></head>
<body><p>Guten Tag Frau Kessler,</p>
<p>wir m&ouml;chten Sie um ein Angebot f&uuml;r die Prozessberatung bitten.<br>
Budget: ca. 40&nbsp;000 &euro;</p>
<ul><li>Analyse</li><li>Workshop</li></ul>
<p>Freundliche Gr&uuml;&szlig;e<br>Anna Keller</p></body></html>
"""

GMAIL_NEWSLETTER = """\
X-GM-THRID: 1826655112095521001
X-Gmail-Labels: Kategorie Werbung
MIME-Version: 1.0
Date: Fri, 14 Mar 2025 06:00:00 +0000
Message-ID: <news.20250314@mailer.saas-tool.io>
Subject: Your March product update
From: SaaS Tool <news@saas-tool.io>
To: maria@kessler-consulting.de
List-Unsubscribe: <https://saas-tool.io/unsubscribe?u=8841>
Precedence: bulk
Content-Type: text/plain; charset=us-ascii

New this month: dashboards.
"""

GMAIL_INTERNAL = """\
X-GM-THRID: 1826700010203040506
X-Gmail-Labels: Gesendet
MIME-Version: 1.0
Date: Fri, 14 Mar 2025 18:30:00 +0100
Message-ID: <CAMk5rQ9-self.003@mail.gmail.com>
Subject: Notiz an mich: Reisekosten
From: Maria Kessler <maria@kessler-consulting.de>
To: "M. Kessler" <m.kessler@gmail.com>
Content-Type: text/plain; charset="UTF-8"

Belege Hamburg einreichen.
"""

GMAIL_NO_MESSAGE_ID = """\
X-GM-THRID: 1826766660001112223
X-Gmail-Labels: Posteingang
MIME-Version: 1.0
Date: Sat, 15 Mar 2025 11:20:00 +0100
Subject: Empfehlung von Petra
From: Lukas Hoffmann <lukas.hoffmann@gmail.com>
To: maria@kessler-consulting.de
Content-Type: text/plain; charset="UTF-8"

Hallo Frau Kessler, Petra hat mir Ihre Adresse gegeben.
Haben Sie im April Zeit fuer ein Gespraech?
"""

GMAIL_ATTACHMENTS = f"""\
X-GM-THRID: 1826800000000000042
X-Gmail-Labels: Gesendet
MIME-Version: 1.0
Date: Mon, 17 Mar 2025 09:00:00 +0100
Message-ID: <CAMk5rQ9-offer.004@mail.gmail.com>
Subject: Angebot Markenworkshop
From: Maria Kessler <maria@kessler-consulting.de>
To: Sofia Brandt <sofia.brandt@brandt-design.at>
Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60717"

--000000000000a1b2c3d4e5f60717
Content-Type: text/plain; charset="UTF-8"

Liebe Sofia,

anbei das Angebot und das Moodboard.

Maria

--000000000000a1b2c3d4e5f60717
Content-Type: text/html; charset="UTF-8"

<div dir=3D"ltr">Liebe Sofia,<br><br>anbei das Angebot und das Moodboard.</div>

--000000000000a1b2c3d4e5f60717--
--000000000000a1b2c3d4e5f60718
Content-Type: application/pdf; name="=?UTF-8?Q?Angebot_Q3_=E2=82=AC.pdf?="
Content-Disposition: attachment; filename*=UTF-8''Angebot%20Q3%20%E2%82%AC.pdf
Content-Transfer-Encoding: base64
X-Attachment-Id: f_m8c1x2y30

{_b64(_PDF)}
--000000000000a1b2c3d4e5f60718
Content-Type: image/png; name="moodboard.png"
Content-Disposition: attachment; filename="moodboard.png"
Content-Transfer-Encoding: base64
Content-ID: <f_m8c1x2y31>

{_b64(_PNG)}
--000000000000a1b2c3d4e5f60718--
"""


def _takeout_from_line(thread_id: str, when: str) -> str:
    return f"From {thread_id}@xxx {when}\n"


def gmail_takeout() -> bytes:
    """All mail Including Spam and Trash.mbox: 8 entries, one message twice (two labels)."""
    entries = [
        (
            "1826547913387021450",
            "Wed Mar 12 08:14:03 +0000 2025",
            GMAIL_JONAS_QUESTION.format(labels="=?UTF-8?Q?Posteingang,Ge=C3=B6ffnet?="),
        ),
        ("1826547913387021451", "Wed Mar 12 09:02:31 +0000 2025", GMAIL_MARIA_REPLY),
        ("1826601288410933307", "Thu Mar 13 13:45:10 +0000 2025", GMAIL_ALPENBAU_HTML),
        ("1826655112095521001", "Fri Mar 14 06:00:00 +0000 2025", GMAIL_NEWSLETTER),
        ("1826700010203040506", "Fri Mar 14 17:30:00 +0000 2025", GMAIL_INTERNAL),
        ("1826766660001112223", "Sat Mar 15 10:20:00 +0000 2025", GMAIL_NO_MESSAGE_ID),
        ("1826800000000000042", "Mon Mar 17 08:00:00 +0000 2025", GMAIL_ATTACHMENTS),
        # Takeout writes a message once per label it exports under: the same mail again.
        (
            "1826547913387021450",
            "Wed Mar 12 08:14:03 +0000 2025",
            GMAIL_JONAS_QUESTION.format(labels='"Kunden, 2025",Wichtig'),
        ),
    ]
    text = "".join(_takeout_from_line(thread, when) + body + "\n" for thread, when, body in entries)
    return text.encode("utf-8")


# --- Thunderbird (mboxo) -----------------------------------------------------------------------

TB_FROM_LINE_BODY = """\
From - Tue Mar 18 08:05:12 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
X-Mozilla-Keys:
Return-Path: <jonas.weber@nordlicht-logistik.de>
Message-ID: <5c1e2a90-1d2b-4a44-9a7b-0a5d61f0c001@nordlicht-logistik.de>
Date: Tue, 18 Mar 2025 09:05:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: de-DE
To: Maria Kessler <maria@kessler-consulting.de>
From: Jonas Weber <jonas.weber@nordlicht-logistik.de>
Subject: Lagerumzug
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Hallo Maria,

From the warehouse side everything is ready for the move.

>From the archive: the old plan said April.

Gruß, Jonas

"""

TB_DUPLICATE_OF_GMAIL = """\
From - Wed Mar 12 08:14:03 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
Received: by 2002:a05:7000:1f0e:b0:5d1:2c3f:8a21 with SMTP id k14csp412233mab;
        Wed, 12 Mar 2025 01:14:03 -0700 (PDT)
Return-Path: <jonas.weber@nordlicht-logistik.de>
MIME-Version: 1.0
Date: Wed, 12 Mar 2025 09:14:00 +0100
Message-ID: <CAJw8kT2x-Lieferung.001@mail.gmail.com>
Subject: Lieferplan Q2 - kurze Frage
From: Jonas Weber <Jonas.Weber@Nordlicht-Logistik.de>
To: Maria Kessler <maria@kessler-consulting.de>
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hallo Maria,

k=C3=B6nnen wir den Lieferplan f=C3=BCr Q2 am Freitag besprechen?

Viele Gr=C3=BC=C3=9Fe
Jonas

On Tue, Mar 11, 2025 at 4:02 PM Maria Kessler <maria@kessler-consulting.de> wrote:
> Hallo Jonas,
> anbei der Entwurf.

"""

TB_UNKNOWN_CHARSET_HEAD = """\
From - Wed Mar 19 10:00:00 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
Message-ID: <AM0PR07MB-charset.77@eurprd07.prod.outlook.com>
Date: Wed, 19 Mar 2025 11:00:00 +0100
From: Jonas Weber <jonas.weber@nordlicht-logistik.de>
To: maria@kessler-consulting.de
Subject: Gruesse aus Zuerich
MIME-Version: 1.0
Content-Type: text/plain; charset="x-mac-unknown"
Content-Transfer-Encoding: 8bit

"""
TB_UNKNOWN_CHARSET_BODY = "Grüße aus Zürich – bis bald!\nJonas\n\n"

TB_MALFORMED_HEADERS = """\
From - Thu Mar 20 07:30:00 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
Message-ID: <20250320073000.malformed@nordlicht-logistik.de>
Date: Thu, 20 Mar 2025 08:30:00 +0100
From: Jonas Weber <jonas.weber@nordlicht-logistik.de>
To: (c):
Cc: maria@kessler-consulting.de
Subject: Scan vom Drucker
MIME-Version: 1.0
Content-Type: text/plain; name*
Content-Transfer-Encoding: 7bit

Der Scan liegt im Anhang des naechsten Mails.

"""

TB_SAME_ID_OTHER_MESSAGE = """\
From - Fri Mar 21 16:45:00 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
Message-ID: <5c1e2a90-1d2b-4a44-9a7b-0a5d61f0c001@nordlicht-logistik.de>
Date: Fri, 21 Mar 2025 17:45:00 +0100
MIME-Version: 1.0
To: Maria Kessler <maria@kessler-consulting.de>
From: Jonas Weber <jonas.weber@nordlicht-logistik.de>
Subject: Lagerumzug - Nachtrag
Content-Type: text/plain; charset=UTF-8

Der Umzug verschiebt sich um eine Woche.

"""

TB_BROKEN = """\
From - Sat Mar 22 12:00:00 2025
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
\x00\x00\x00\x13\x88\x01garbage left by a crashed compaction\x00\x00

"""


def thunderbird_inbox() -> bytes:
    """Thunderbird's Inbox file (mboxo, no extension): 6 messages, one broken."""
    return (
        TB_FROM_LINE_BODY.encode("utf-8")
        + TB_DUPLICATE_OF_GMAIL.encode("utf-8")
        + TB_UNKNOWN_CHARSET_HEAD.encode("ascii")
        + TB_UNKNOWN_CHARSET_BODY.encode("cp1252")
        + TB_MALFORMED_HEADERS.encode("ascii")
        + TB_BROKEN.encode("latin-1")
        + TB_SAME_ID_OTHER_MESSAGE.encode("utf-8")
    )


# --- mboxrd (mutt, getmail) --------------------------------------------------------------------


def mboxrd() -> bytes:
    """An mboxrd written by mutt: `From ` and `>From` body lines carry one more `>`."""
    return b"""\
From maria@kessler-consulting.de Mon Mar 24 09:00:00 2025
Return-Path: <maria@kessler-consulting.de>
Date: Mon, 24 Mar 2025 10:00:00 +0100
From: Maria Kessler <maria@kessler-consulting.de>
To: Jonas Weber <jonas.weber@nordlicht-logistik.de>
Subject: Protokoll Workshop
Message-ID: <20250324090000.GA1234@kessler-consulting.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
User-Agent: Mutt/2.2.12 (2023-09-09)

Hallo Jonas,

>From now on we meet every Monday.
>>From your last mail: "the budget is fixed".

Maria

From maria@kessler-consulting.de Mon Mar 24 15:30:00 2025
Return-Path: <maria@kessler-consulting.de>
Date: Mon, 24 Mar 2025 16:30:00 +0100
From: Maria Kessler <maria@kessler-consulting.de>
To: Sofia Brandt <sofia.brandt@brandt-design.at>
Subject: Termin
Message-ID: <20250324153000.GB1234@kessler-consulting.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Passt Donnerstag?

"""


# --- Apple Mail --------------------------------------------------------------------------------

APPLE_INFO_PLIST = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>DisplayName</key>
\t<string>Kunden</string>
</dict>
</plist>
"""


def apple_mail_mbox() -> bytes:
    """Kunden.mbox/mbox as Apple Mail's "Export Mailbox" writes it: 2 messages."""
    return b"""\
From anna.keller@alpenbau.ch Tue Mar 25 08:12:44 2025
Return-Path: <anna.keller@alpenbau.ch>
Content-Type: text/plain;
\tcharset=utf-8
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Re: Angebot =?utf-8?Q?f=C3=BCr?= den Umbau
From: Anna Keller <anna.keller@alpenbau.ch>
In-Reply-To: <0102019587aa.alpenbau@email.alpenbau.ch>
Date: Tue, 25 Mar 2025 09:12:44 +0100
Content-Transfer-Encoding: quoted-printable
Message-Id: <A1B2C3D4-0001-4E5F-9A8B-ALPENBAU@alpenbau.ch>
References: <0102019587aa.alpenbau@email.alpenbau.ch>
To: Maria Kessler <maria@kessler-consulting.de>
X-Mailer: Apple Mail (2.3774.600.62)

Danke, wir melden uns n=C3=A4chste Woche.

From m.kessler@gmail.com Tue Mar 25 20:01:00 2025
Return-Path: <m.kessler@gmail.com>
Content-Type: text/plain;
\tcharset=us-ascii
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Unterlagen
From: Maria Kessler <m.kessler@gmail.com>
Date: Tue, 25 Mar 2025 21:01:00 +0100
Content-Transfer-Encoding: 7bit
Message-Id: <F00D-0002@gmail.com>
To: Anna Keller <anna.keller@alpenbau.ch>, Jonas Weber <jonas.weber@nordlicht-logistik.de>
X-Mailer: Apple Mail (2.3774.600.62)

Anbei die Unterlagen fuer beide Projekte.

"""


# --- Outlook .eml folder -----------------------------------------------------------------------


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


OUTLOOK_REPLY = """\
Received: from AM9PR07MB7201.eurprd07.prod.outlook.com (2603:10a6:20b:2c0::9) by
 AM9PR07MB7201.eurprd07.prod.outlook.com with HTTPS; Wed, 26 Mar 2025 13:20:11 +0000
From: Sofia Brandt <sofia.brandt@brandt-design.at>
To: Maria Kessler <maria@kessler-consulting.de>
Subject: AW: Angebot Markenworkshop
Thread-Topic: Angebot Markenworkshop
Thread-Index: AQHbnq2Xk1l0p2v3TUCmZ0l8c1Q2Ng==
Date: Wed, 26 Mar 2025 13:20:10 +0000
Message-ID: <VI1PR07MB4432A8C1@VI1PR07MB4432.eurprd07.prod.outlook.com>
References: <CAMk5rQ9-offer.004@mail.gmail.com>
In-Reply-To: <CAMk5rQ9-offer.004@mail.gmail.com>
Accept-Language: de-AT, en-US
Content-Language: de-AT
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
\tboundary="_000_VI1PR07MB4432A8C1VI1PR07MB4432eurp_"
MIME-Version: 1.0

--_000_VI1PR07MB4432A8C1VI1PR07MB4432eurp_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Liebe Maria,

das Angebot passt, wir starten gerne im Mai.

Sofia

________________________________
Von: Maria Kessler <maria@kessler-consulting.de>
Gesendet: Montag, 17. M=E4rz 2025 09:00
An: Sofia Brandt <sofia.brandt@brandt-design.at>
Betreff: Angebot Markenworkshop

Liebe Sofia,
anbei das Angebot.

--_000_VI1PR07MB4432A8C1VI1PR07MB4432eurp_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Liebe Maria,</p><p>das Angebot passt.</p></body></html>

--_000_VI1PR07MB4432A8C1VI1PR07MB4432eurp_--
"""

OUTLOOK_NO_DATE = """\
Received: from mail.nordlicht-logistik.de (mail.nordlicht-logistik.de [203.0.113.25])
 by mx.kessler-consulting.de with ESMTPS id 4ZK1p23456;
 Thu, 27 Mar 2025 07:45:00 +0100
From: Jonas Weber <jonas.weber@nordlicht-logistik.de>
To: Maria Kessler <maria@kessler-consulting.de>
Subject: Rechnung 2025-031
Message-ID: <nodate.20250327@nordlicht-logistik.de>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit

Die Rechnung ist bezahlt.
"""

OUTLOOK_DRAFT = """\
From: Maria Kessler <maria@kessler-consulting.de>
To: Lukas Hoffmann <lukas.hoffmann@gmail.com>
Subject: Entwurf: Termin im April
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
X-Unsent: 1

Hallo Herr Hoffmann,
"""


def outlook_folder() -> dict[str, bytes]:
    return {
        "AW_ Angebot Markenworkshop.eml": _crlf(OUTLOOK_REPLY),
        "Entwurf_ Termin im April.eml": _crlf(OUTLOOK_DRAFT),
        "Rechnung 2025-031.eml": _crlf(OUTLOOK_NO_DATE),
    }


# -----------------------------------------------------------------------------------------------


def all_files() -> dict[str, bytes]:
    """Relative path → bytes of every fixture."""
    files = {
        "takeout/Mail/All mail Including Spam and Trash.mbox": gmail_takeout(),
        "thunderbird/Inbox": thunderbird_inbox(),
        "mutt/sent.mboxrd": mboxrd(),
        "apple/Kunden.mbox/mbox": apple_mail_mbox(),
        "apple/Kunden.mbox/Info.plist": APPLE_INFO_PLIST.encode(),
        "single/Rechnung 2025-031.eml": _crlf(OUTLOOK_NO_DATE),
    }
    files.update({f"outlook/{name}": data for name, data in outlook_folder().items()})
    return files


def write_all(root: Path = DATA) -> None:
    for relative, data in all_files().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


if __name__ == "__main__":
    write_all()
    print(f"wrote {len(all_files())} files under {DATA}")
