"""A seeded, synthetic Gmail-Takeout-like mbox for the memory test and the benchmark.

Mixed plain text and HTML-only messages, some with attachments, RFC 2047-encoded names, subjects
and labels, threads, a few body lines starting with ``From `` — written straight as bytes so that
generating 100k messages takes seconds. Nothing here is read by the importer itself.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from email.header import Header
from pathlib import Path

OWNER = "maria@kessler-consulting.de"
_FIRST = ["Jonas", "Anna", "Sofia", "Lukas", "Petra", "Jörg", "Zoë", "Mehmet", "Ines", "Tomáš"]
_LAST = ["Weber", "Keller", "Brandt", "Hoffmann", "Schäfer", "Novák", "Yılmaz", "Ødegaard"]
_DOMAINS = [f"client{n:03d}.example" for n in range(200)] + ["gmail.com", "outlook.com"]
_WORDS = [
    "Angebot",
    "Projekt",
    "Workshop",
    "Termin",
    "Rechnung",
    "Lieferplan",
    "Budget",
    "Entwurf",
    "Protokoll",
    "Freigabe",
    "Umsetzung",
    "Analyse",
    "Zeitplan",
    "Abstimmung",
    "Vertrag",
    "Änderung",
    "Rückfrage",
]
_LABELS = ["Posteingang", "Gesendet", "Wichtig", "Geöffnet", "Kunden, 2025", "Kategorie Updates"]


# What Gmail puts above the headers a person reads: received chains, signatures, ARC seals.
_TRANSPORT_HEADERS = """\
Received: by 2002:a05:7000:1f0e:b0:5d1:2c3f:8a21 with SMTP id k14csp412233mab;
        {stamp}
X-Google-Smtp-Source: AGHT+IF{n:08d}xQ2kZpW3v9Lr0aTqYxJm5bHc7dNf1sUe8gVw4yKo6iP
X-Received: by 2002:a17:907:3e8c:b0:a9a:1f2b:3c4d with SMTP id hs12mr{n:08d}ejc.41;
        {stamp}
ARC-Seal: i=1; a=rsa-sha256; t=1741770843; cv=none;
        d=google.com; s=arc-20240605;
        b=Qm9yZGxpY2h0IExvZ2lzdGlrIEdtYkggLSBzeW50aGV0aWMgQVJDIHNlYWwgZm9yIHRoZSBi
         ZW5jaG1hcmsgb25seSwgbm90IGEgcmVhbCBzaWduYXR1cmUgYXQgYWxsLCBwYWRkaW5nIHBh
         ZGRpbmcgcGFkZGluZw==
ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com;
        s=arc-20240605; h=to:subject:message-id:date:from:mime-version:dkim-signature;
        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
        b=YXJjIG1lc3NhZ2Ugc2lnbmF0dXJlIGZvciB0aGUgYmVuY2htYXJrLCBub3QgYSByZWFsIG9u
         ZSwgcGFkZGluZyBwYWRkaW5nIHBhZGRpbmcgcGFkZGluZyBwYWRkaW5nIHBhZGRpbmc=
ARC-Authentication-Results: i=1; mx.google.com;
       dkim=pass header.i=@{domain} header.s=s1 header.b=Xk3v9Lr0;
       spf=pass (google.com: domain of sender designates 203.0.113.25 as permitted sender)
Return-Path: <bounce-{n}@{domain}>
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
        by mx.google.com with SMTPS id a640c23a62f3a-ac2b1c3d4e5sor{n:08d}.12.2025;
        {stamp}
Received-SPF: pass (google.com: domain of sender designates 209.85.220.41 as permitted sender)
Authentication-Results: mx.google.com;
       dkim=pass header.i=@{domain} header.s=s1 header.b=Xk3v9Lr0;
       spf=pass (google.com: domain of sender designates 209.85.220.41 as permitted sender)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1; t=1741770843;
        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date;
        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
        b=ZGtpbSBzaWduYXR1cmUgZm9yIHRoZSBiZW5jaG1hcmssIG5vdCBhIHJlYWwgb25lLCBwYWRk
         aW5nIHBhZGRpbmcgcGFkZGluZyBwYWRkaW5nIHBhZGRpbmcgcGFkZGluZyBwYWRkaW5n
X-Gm-Message-State: AOJu0Yw{n:08d}kZpW3v9Lr0aTqYxJm5bHc7dNf1sUe8gVw4yKo6iP
X-Gm-Gg: ASbGncu{n:08d}Q2kZpW3v9Lr0aTqYxJm5bHc7dNf1sUe8gVw4yKo6iP"""


def _encoded(text: str) -> str:
    return text if text.isascii() else Header(text, "utf-8").encode()


def _paragraphs(rng: random.Random) -> list[str]:
    return [
        " ".join(rng.choice(_WORDS).lower() for _ in range(rng.randint(8, 30))).capitalize() + "."
        for _ in range(rng.randint(2, 8))
    ]


def write_mailbox(path: Path, count: int, *, seed: int = 4, attachment_share: float = 0.15) -> int:
    """Write ``count`` messages to ``path``; return the file size in bytes."""
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    attachment = base64.encodebytes(rng.randbytes(120_000)).decode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for number in range(count):
            sent = start + timedelta(minutes=number * 7 + rng.randint(0, 6))
            person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            address = f"p{rng.randint(0, 4000)}@{rng.choice(_DOMAINS)}"
            outbound = rng.random() < 0.4
            sender, recipient = (
                (f"Maria Kessler <{OWNER}>", f"{_encoded(person)} <{address}>")
                if outbound
                else (f"{_encoded(person)} <{address}>", f"Maria Kessler <{OWNER}>")
            )
            thread = 1_800_000_000_000_000_000 + number // 3
            subject = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
            labels = ",".join(
                f'"{label}"' if "," in label else label
                for label in rng.sample(_LABELS, rng.randint(1, 3))
            )
            paragraphs = _paragraphs(rng)
            if rng.random() < 0.05:
                paragraphs.insert(1, "From the project side everything is fine.")
            stamp = f"{sent:%a, %d %b %Y %H:%M:%S} +0000"
            headers = [
                f"X-GM-THRID: {thread}",
                f"X-Gmail-Labels: {_encoded(labels)}",
                f"Delivered-To: {OWNER}",
                _TRANSPORT_HEADERS.format(stamp=stamp, n=number, domain=address.partition("@")[2]),
                f"Date: {stamp}",
                f"Message-ID: <m{number}.{seed}@mail.example>",
                f"Subject: {_encoded(subject)}",
                f"From: {sender}",
                f"To: {recipient}",
                "MIME-Version: 1.0",
            ]
            if number % 3:
                headers.append(f"In-Reply-To: <m{number - 1}.{seed}@mail.example>")
            kind = rng.random()
            if kind < 0.6:
                headers.append('Content-Type: text/plain; charset="UTF-8"')
                body = "\n\n".join(paragraphs)
            elif kind < 1 - attachment_share - 0.15:
                headers.append('Content-Type: text/html; charset="UTF-8"')
                body = (
                    "<html><body>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</body></html>"
                )
            elif kind < 1 - attachment_share:
                boundary = f"a{number:012d}"
                headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
                body = (
                    f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\n\n"
                    + "\n\n".join(paragraphs)
                    + f"\n--{boundary}\nContent-Type: text/html; charset=UTF-8\n"
                    "Content-Transfer-Encoding: quoted-printable\n\n"
                    + "".join(f'<div dir=3D"ltr">{p}</div>' for p in paragraphs)
                    + f"\n--{boundary}--\n"
                )
            else:
                boundary = f"b{number:012d}"
                headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
                size = rng.randint(5_000, 120_000)
                body = (
                    f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\n\n"
                    + "\n\n".join(paragraphs)
                    + f'\n--{boundary}\nContent-Type: application/pdf; name="report{number}.pdf"\n'
                    f'Content-Disposition: attachment; filename="report{number}.pdf"\n'
                    "Content-Transfer-Encoding: base64\n\n"
                    + attachment[: size // 57 * 77]
                    + f"\n--{boundary}--\n"
                )
            body = body.replace("\nFrom ", "\n>From ")  # as Takeout escapes (mboxo)
            handle.write(
                f"From {thread}@xxx {sent:%a %b %d %H:%M:%S} +0000 {sent:%Y}\n".encode("ascii")
                + "\n".join(headers).encode("utf-8")
                + b"\n\n"
                + body.encode("utf-8")
                + b"\n\n"
            )
        return handle.tell()
