"""A corpus of replies written the way real mail clients write them, with the answer each must get.

Each :class:`Case` answers one PeManTIK email (the real message the outbox sent, markers and
all) as one client does: Outlook (desktop, web, mobile), Gmail (web, Android), Thunderbird
(format=flowed and HTML), Apple Mail, iPhone Mail, Samsung Email, Yahoo Mail, a plain-text
client that hard-wraps, Excel's CSV files, and a few webmails; quote headers in Indonesian and
English; top-, bottom- and interleaved posting; HTML-only and plain; charsets right and wrong;
files attached, inline and inside forwarded messages. :func:`build` writes the raw MIME bytes
as that client would send them.

``python -m tests.reply_corpus DIR`` writes the corpus against a sample original (one
``.eml`` per case and ``expected.json``); ``tests/test_inbox_corpus.py`` runs every case
through the real inbox reader and checks the answer. A case with ``gap`` set is one the
product cannot read yet: its expectation is what the product does today (nothing stored, the
writer asked to resend in the documented format), so a test fails if it starts to be read
differently without anyone looking.
"""

from __future__ import annotations

import base64
import json
import quopri
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

ASSESSOR_TEXT = "Saya menyatakan tidak memiliki benturan kepentingan dengan {wilayah}."
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SENT = datetime.fromisoformat("2026-07-07T10:15:00+08:00")  # when the person replies


# --------------------------------------------------------------------------- the original


@dataclass
class Original:
    """The PeManTIK message as the person's client shows it."""

    message_id: str
    references: list[str]
    subject: str
    name: str
    email: str
    to: str
    date: datetime
    text: str
    html: str

    @classmethod
    def of(cls, msg: EmailMessage) -> Original:
        name, email = parseaddr(str(msg["From"]))
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        return cls(
            message_id=str(msg["Message-ID"]),
            references=str(msg.get("References", "") or "").split(),
            subject=str(msg["Subject"]),
            name=name,
            email=email,
            to=str(msg["To"]),
            date=msg["Date"].datetime,
            text=plain.get_content() if plain is not None else "",
            html=html.get_content() if html is not None else "",
        )

    @property
    def html_inner(self) -> str:
        """The original's HTML between <body> and </body> (as clients quote it)."""
        low = self.html.lower()
        start = low.find("<body")
        start = low.find(">", start) + 1 if start >= 0 else 0
        end = low.rfind("</body>")
        return self.html[start : end if end > 0 else None]


@dataclass
class Person:
    email: str
    name: str


@dataclass
class File:
    name: str
    data: bytes
    content_type: str = XLSX_TYPE


# --------------------------------------------------------------------------- MIME helpers


def _text(
    body: str,
    subtype: str = "plain",
    *,
    label: str | None = "utf-8",
    codec: str = "utf-8",
    cte: str = "quoted-printable",
    flowed: bool = False,
    delsp: bool = False,
) -> Message:
    """A text part encoded with ``codec`` and labelled ``label`` (None: no charset at all)."""
    part = Message()
    data = body.replace("\n", "\r\n").encode(codec)
    ctype = f"text/{subtype}"
    if label is not None:
        ctype += f'; charset="{label}"'
    if flowed:
        ctype += "; format=flowed" + ("; delsp=yes" if delsp else "")
    part["Content-Type"] = ctype
    part["Content-Transfer-Encoding"] = cte
    if cte == "quoted-printable":
        part.set_payload(quopri.encodestring(data).decode("ascii"))
    elif cte == "base64":
        part.set_payload(base64.encodebytes(data).decode("ascii"))
    else:
        part.set_payload(data.decode(codec))
    return part


def _file(item: File, *, inline: bool = False) -> Message:
    part = Message()
    part["Content-Type"] = f'{item.content_type}; name="{item.name}"'
    part["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{item.name}"'
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(item.data).decode("ascii"))
    return part


def _multipart(subtype: str, *parts: Message) -> Message:
    msg = Message()
    msg["Content-Type"] = f'multipart/{subtype}; boundary="=_{subtype}_{abs(hash(parts))}"'
    msg.set_payload(list(parts))
    return msg


def _envelope(
    body: Message,
    orig: Original,
    who: Person,
    *,
    mailer: str,
    message_id: str,
    subject: str | None = None,
    extra: dict[str, str] | None = None,
    thread: bool = True,
) -> bytes:
    msg = Message()
    msg["From"] = formataddr((who.name, who.email))
    msg["To"] = formataddr((orig.name, orig.email))
    msg["Subject"] = subject if subject is not None else f"Re: {orig.subject}"
    msg["Date"] = format_datetime(SENT)
    msg["Message-ID"] = message_id
    if thread:
        msg["In-Reply-To"] = orig.message_id
        msg["References"] = " ".join([*orig.references, orig.message_id])
    msg["MIME-Version"] = "1.0"
    if mailer:
        msg["X-Mailer"] = mailer
    for key, value in (extra or {}).items():
        msg[key] = value
    for key, value in body.items():
        msg[key] = value
    msg.set_payload(body.get_payload())
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _with_files(body: Message, files: list[File], inline: bool = False) -> Message:
    if not files:
        return body
    return _multipart("mixed", body, *[_file(f, inline=inline) for f in files])


def _quote(text: str, prefix: str = "> ") -> str:
    return "\n".join(
        (prefix + line).rstrip() if line else prefix.rstrip() for line in text.split("\n")
    )


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_lines(text: str, tag: str = "div") -> str:
    """Own text as Gmail/Outlook write it: one block per line, empty lines as <br>."""
    out = []
    for line in text.split("\n"):
        out.append(f"<{tag}>{_html_escape(line) if line else '<br>'}</{tag}>")
    return "".join(out)


DAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DAYS_ID = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"]
DAYS_ID_LONG = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS_ID = "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des".split()
MONTHS_ID_LONG = (
    "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"
).split()
MONTHS_EN_LONG = (
    "January February March April May June July August September October November December"
).split()


def _wrap_attribution(line: str, width: int = 78) -> str:
    """Gmail breaks a long intro line before the address: '... <' / 'addr> wrote:'."""
    if len(line) <= width or " <" not in line:
        return line
    head, _, tail = line.partition(" <")
    return f"{head} <\n{tail}"


# --------------------------------------------------------------------------- the clients


@dataclass
class Reply:
    """What the person writes: ``top`` above the quote, ``bottom`` below it, or ``turns`` —
    (lines of the original to quote, own answer) pairs — for an interleaved reply."""

    top: str = ""
    bottom: str = ""
    turns: list[tuple[int, str]] = field(default_factory=list)
    files: list[File] = field(default_factory=list)


def gmail(orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id") -> bytes:
    d = orig.date
    if lang == "en":
        hour = d.strftime("%I:%M %p").lstrip("0")
        intro = f"On {DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}, {d.year} at {hour} {orig.name} <{orig.email}> wrote:"
    else:
        intro = f"Pada tanggal {DAYS_ID[d.weekday()]}, {d.day} {MONTHS_ID[d.month - 1]} {d.year} pukul {d:%H.%M} {orig.name} <{orig.email}> menulis:"
    quoted = _quote(orig.text)
    plain = ""
    if reply.top:
        plain += reply.top + "\n\n"
    plain += _wrap_attribution(intro) + "\n\n" + quoted + "\n"
    if reply.bottom:
        plain += "\n" + reply.bottom + "\n"
    top_html = f'<div dir="ltr">{_html_lines(reply.top)}</div><br>' if reply.top else ""
    bottom_html = f'<div dir="ltr">{_html_lines(reply.bottom)}</div>' if reply.bottom else ""
    html = (
        f'{top_html}<div class="gmail_quote gmail_quote_container"><div dir="ltr" '
        f'class="gmail_attr">{_html_escape(intro)}<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
        f'padding-left:1ex">{orig.html_inner}</blockquote></div>{bottom_html}'
    )
    body = _multipart("alternative", _text(plain), _text(html, "html"))
    return _envelope(_with_files(body, reply.files), orig, who, mailer="", message_id=mid)


def outlook(
    orig: Original,
    who: Person,
    reply: Reply,
    mid: str,
    lang: str = "id",
    *,
    flavour: str = "desktop",
    label: str = "us-ascii",
    codec: str = "utf-8",
    html_only: bool = False,
) -> bytes:
    """Outlook: the original unprefixed below a header block (desktop/web/mobile)."""
    d = orig.date
    if lang == "en":
        sent = f"{MONTHS_EN_LONG[d.month - 1]} {d.day}, {d.year} {d:%I:%M %p}"
        labels = ("From", "Sent", "To", "Subject")
        sent = f"{['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][d.weekday()]}, {sent}"
    else:
        sent = f"{DAYS_ID_LONG[d.weekday()]}, {d.day:02d} {MONTHS_ID_LONG[d.month - 1]} {d.year} {d:%H.%M}"
        labels = ("Dari", "Dikirim", "Kepada", "Subjek")
    values = (f"{orig.name} <{orig.email}>", sent, orig.to, orig.subject)
    block = "\n".join(f"{k}: {v}" for k, v in zip(labels, values, strict=True))
    separator = "-----Original Message-----" if flavour == "classic" else "_" * 32
    sign = ""
    if flavour == "mobile":
        sign = (
            "\n\nGet Outlook for Android" if lang == "en" else "\n\nDapatkan Outlook untuk Android"
        )
    plain = f"{reply.top}{sign}\n\n{separator}\n{block}\n\n{orig.text}\n"
    own = "".join(
        f'<p class="MsoNormal">{_html_escape(line) if line else "<o:p>&nbsp;</o:p>"}</p>'
        for line in reply.top.split("\n")
    )
    header_html = "<br>".join(
        f"<b>{k}:</b> {_html_escape(v)}" for k, v in zip(labels, values, strict=True)
    )
    if flavour == "desktop" or flavour == "classic":
        quote_html = (
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">'
            f'<p class="MsoNormal">{header_html}</p></div>{orig.html_inner}'
        )
    else:
        quote_html = (
            '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" '
            f'tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri">{header_html}'
            f"</font><div>&nbsp;</div></div>{orig.html_inner}"
        )
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta '
        'http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body lang="EN-US">'
        f'<div class="WordSection1">{own}{sign and "<p>" + sign.strip() + "</p>"}</div>'
        f"{quote_html}</body></html>"
    )
    if html_only:
        body = _text(html, "html")
    else:
        body = _multipart(
            "alternative", _text(plain, label=label, codec=codec), _text(html, "html")
        )
    extra = {
        "Thread-Index": "AQHa0000PeManTIKuji==",
        "X-MS-Has-Attach": "yes" if reply.files else "",
    }
    mailer = {"desktop": "Microsoft Outlook 16.0", "classic": "Microsoft Office Outlook 12.0"}
    return _envelope(
        _with_files(body, reply.files),
        orig,
        who,
        mailer=mailer.get(flavour, ""),
        message_id=mid,
        extra=extra,
    )


def thunderbird(
    orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id", *, html: bool = False
) -> bytes:
    """Thunderbird: format=flowed plain text wrapped at 72 (soft breaks end in a space)."""
    d = orig.date
    if lang == "en":
        intro = f"On {d.month}/{d.day}/{d:%y} {d:%I:%M %p}, {orig.name} wrote:"
    else:
        intro = f"Pada {d:%d/%m/%y %H.%M}, {orig.name} menulis:"
    if reply.turns:
        lines = orig.text.split("\n")
        chunks, at = [], 0
        for count, answer in reply.turns:
            chunks.append(_quote("\n".join(lines[at : at + count])))
            chunks.append(answer)
            at += count
        chunks.append(_quote("\n".join(lines[at:])))
        text = intro + "\n" + "\n".join(chunks)
    else:
        text = ""
        if reply.top:
            text += reply.top + "\n\n"
        text += intro + "\n" + _quote(orig.text) + "\n"
        if reply.bottom:
            text += "\n" + reply.bottom + "\n"
    if html:
        own = f"<p>{'<br>'.join(_html_escape(x) for x in reply.top.split(chr(10)))}</p>"
        markup = (
            f'<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8">'
            f'</head><body>{own}<div class="moz-cite-prefix">{_html_escape(intro)}<br></div>'
            f'<blockquote type="cite" cite="mid:{orig.message_id.strip("<>")}">'
            f"{orig.html_inner}</blockquote></body></html>"
        )
        body = _multipart("alternative", _text(_flow(text)), _text(markup, "html"))
    else:
        body = _text(_flow(text), flowed=True)
    return _envelope(
        _with_files(body, reply.files),
        orig,
        who,
        mailer="",
        message_id=mid,
        extra={"User-Agent": "Mozilla Thunderbird"},
    )


def _flow(text: str, width: int = 72) -> str:
    """RFC 3676 encoding as Thunderbird does it: long lines broken with a trailing space."""
    out = []
    for line in text.split("\n"):
        prefix = ""
        while line.startswith(">"):
            prefix += ">"
            line = line[1:]
        line = line[1:] if prefix and line.startswith(" ") else line
        lead = prefix + (" " if prefix else "")
        if len(lead + line) <= width or " " not in line:
            out.append((lead + line).rstrip() if line != "-- " else lead + line)
            continue
        pieces = textwrap.wrap(
            line, width - len(lead), break_long_words=False, drop_whitespace=False
        )
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            out.append(lead + (piece.rstrip() if last else piece.rstrip() + " "))
    return "\n".join(out)


def apple_mail(
    orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id", *, phone: bool = False
) -> bytes:
    """Apple Mail (macOS) and iPhone Mail: '>' quotes, blockquote type=cite, files inline."""
    d = orig.date
    if phone:
        if lang == "en":
            intro = (
                f"On {MONTHS_EN[d.month - 1]} {d.day}, {d.year}, at {d:%I:%M %p}".replace(" 0", " ")
                + f", {orig.name} <{orig.email}> wrote:"
            )
        else:
            intro = f"Pada {d.day} {MONTHS_ID[d.month - 1]} {d.year}, pukul {d:%H.%M}, {orig.name} <{orig.email}> menulis:"
        sign = "Sent from my iPhone" if lang == "en" else "Dikirim dari iPhone saya"
    else:
        if lang == "en":
            intro = f"On {d.day} {MONTHS_EN[d.month - 1]} {d.year}, at {d:%H:%M}, {orig.name} <{orig.email}> wrote:"
        else:
            intro = f"Pada {d.day} {MONTHS_ID[d.month - 1]} {d.year}, pukul {d:%H.%M}, {orig.name} <{orig.email}> menulis:"
        sign = ""
    own = reply.top + (f"\n\n{sign}" if sign else "")
    plain = ""
    if own.strip():
        plain += own + "\n\n"
    plain += intro + "\n\n" + _quote(orig.text) + "\n"
    if reply.bottom:
        plain += "\n" + reply.bottom + "\n"
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        f'<body dir="auto">{_html_lines(own)}<div dir="ltr"><br><blockquote type="cite">'
        f'{_html_escape(intro)}<br><br></blockquote></div><blockquote type="cite">'
        f"{orig.html_inner}</blockquote>{_html_lines(reply.bottom) if reply.bottom else ''}"
        "</body></html>"
    )
    if reply.files:
        # Apple Mail puts attachments inline, between HTML fragments, inside the alternative.
        rich = _multipart(
            "mixed",
            _text(html, "html"),
            *[_file(f, inline=True) for f in reply.files],
            _text("<html><body></body></html>", "html"),
        )
        body = _multipart("alternative", _text(plain), rich)
    else:
        body = _multipart("alternative", _text(plain), _text(html, "html"))
    return _envelope(
        body,
        orig,
        who,
        mailer="iPhone Mail (22F76)" if phone else "Apple Mail (2.3826)",
        message_id=mid,
    )


def samsung(orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id") -> bytes:
    """Samsung Email / Android: HTML only, the original under an 'Original message' block."""
    d = orig.date
    if lang == "en":
        block = f"-------- Original message --------<br>From: {_html_escape(orig.name)} &lt;{orig.email}&gt; <br>Date: {d:%d/%m/%y %H.%M} (GMT+08:00) <br>To: {_html_escape(orig.to)} <br>Subject: {_html_escape(orig.subject)} <br>"
        sign = "Sent from my Galaxy"
    else:
        block = f"-------- Pesan asli --------<br>Dari: {_html_escape(orig.name)} &lt;{orig.email}&gt; <br>Tanggal: {d:%d/%m/%y %H.%M} (GMT+08:00) <br>Ke: {_html_escape(orig.to)} <br>Subjek: {_html_escape(orig.subject)} <br>"
        sign = "Dikirim dari perangkat Samsung Galaxy saya"
    html = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>'
        f'<body><div dir="auto">{_html_lines(reply.top)}</div><div dir="auto"><br></div>'
        f'<div id="composer_signature" dir="auto"><div style="font-size:85%;color:#575757">'
        f'{sign}</div></div><div><br></div><div align="left" dir="auto" style="font-size:100%;'
        f'color:#000000"><div>{block}</div><br></div>{orig.html_inner}</body></html>'
    )
    body = _text(html, "html", cte="base64")
    return _envelope(_with_files(body, reply.files), orig, who, mailer="", message_id=mid)


def yahoo(orig: Original, who: Person, reply: Reply, mid: str, lang: str = "en") -> bytes:
    d = orig.date
    intro = f"On {['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][d.weekday()]}, {MONTHS_EN_LONG[d.month - 1]} {d.day}, {d.year} at {d:%I:%M:%S %p} GMT+8, {orig.name} <{orig.email}> wrote:"
    plain = f"{reply.top}\n\n    {intro}\n\n{_quote(orig.text)}\n"
    html = (
        f'<html><head></head><body><div class="ydp3f1e yahoo-style-wrap">{_html_lines(reply.top)}'
        f'</div><div id="yahoo_quoted_1" class="yahoo_quoted"><div style="font-family:Helvetica">'
        f"<div>{_html_escape(intro)}</div><div><br></div><div>{orig.html_inner}</div></div></div>"
        "</body></html>"
    )
    body = _multipart("alternative", _text(plain), _text(html, "html"))
    return _envelope(
        _with_files(body, reply.files),
        orig,
        who,
        mailer="WebService/1.1 YMailNorrin",
        message_id=mid,
    )


def plain_client(
    orig: Original,
    who: Person,
    reply: Reply,
    mid: str,
    lang: str = "id",
    *,
    width: int = 72,
    label: str = "utf-8",
    codec: str = "utf-8",
    intro: str | None = None,
    prefix: str = "> ",
) -> bytes:
    """A plain-text client that hard-wraps what the person typed at ``width`` columns (mutt,
    Outlook's plain-text mode, many webmails), with a chosen intro and quote prefix."""
    d = orig.date
    if intro is None:
        intro = (
            f"On {d:%a, %d %b %Y %H:%M}, {orig.name} wrote:"
            if lang == "en"
            else f"Pada {DAYS_ID_LONG[d.weekday()]}, {d.day} {MONTHS_ID_LONG[d.month - 1]} {d.year} {d:%H.%M}, {orig.name} menulis:"
        )
    own = "\n".join(
        "\n".join(textwrap.wrap(line, width, break_long_words=False)) if line else ""
        for line in reply.top.split("\n")
    )
    text = f"{own}\n\n{intro}\n{_quote(orig.text, prefix) if prefix else orig.text}\n"
    body = _text(text, label=label, codec=codec)
    return _envelope(
        _with_files(body, reply.files), orig, who, mailer="Mutt/2.2.12", message_id=mid
    )


def html_breaks(
    orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id", *, width: int = 76
) -> bytes:
    """An HTML-only webmail that puts a <br> where its editor wrapped the line (width)."""
    own = "<br>\n".join(
        "<br>\n".join(_html_escape(x) for x in textwrap.wrap(line, width, break_long_words=False))
        if line
        else ""
        for line in reply.top.split("\n")
    )
    html = (
        f"<html><body><p>{own}</p><p>Pada {orig.date:%d-%m-%Y %H:%M}, {_html_escape(orig.name)} "
        f'menulis:</p><blockquote style="border-left:2px solid #1010ff">{orig.html_inner}'
        "</blockquote></body></html>"
    )
    return _envelope(_text(html, "html"), orig, who, mailer="Zimbra 10.0", message_id=mid)


def outlook_table(orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id") -> bytes:
    """Outlook HTML with the delegates typed into a table (``reply.bottom``: rows of cells
    separated by '|', the first row the head)."""
    rows = [line.split("|") for line in reply.bottom.split("\n") if line.strip()]
    head = "".join(f"<th>{_html_escape(c.strip())}</th>" for c in rows[0])
    body_rows = "".join(
        "<tr>" + "".join(f"<td>{_html_escape(c.strip())}</td>" for c in row) + "</tr>"
        for row in rows[1:]
    )
    html = (
        f'<html><body><p class="MsoNormal">{_html_escape(reply.top)}</p>'
        f'<table class="MsoTableGrid" border="1"><tr>{head}</tr>{body_rows}</table>'
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> '
        f"{_html_escape(orig.name)}</div>{orig.html_inner}</body></html>"
    )
    return _envelope(
        _text(html, "html"), orig, who, mailer="Microsoft Outlook 16.0", message_id=mid
    )


def forward_as_attachment(
    orig: Original, who: Person, reply: Reply, mid: str, lang: str = "id", *, inner: bytes
) -> bytes:
    """Outlook 'Forward as attachment': the colleague's message (with its file) as
    message/rfc822 under the person's reply to the PeManTIK email."""
    from email import message_from_bytes
    from email.policy import compat32

    body = _multipart(
        "alternative",
        _text(
            f"{reply.top}\n\n{'_' * 32}\nDari: {orig.name} <{orig.email}>\nSubjek: {orig.subject}\n\n{orig.text}\n"
        ),
        _text(f"<html><body><p>{_html_escape(reply.top)}</p></body></html>", "html"),
    )
    nested = Message()
    nested["Content-Type"] = "message/rfc822"
    nested["Content-Disposition"] = (
        'attachment; filename="Jawaban kuesioner dari Bidang Aptika.eml"'
    )
    nested.set_payload([message_from_bytes(inner, policy=compat32)])
    return _envelope(
        _multipart("mixed", body, nested),
        orig,
        who,
        mailer="Microsoft Outlook 16.0",
        message_id=mid,
    )


def colleague_message(sender: Person, to: Person, text: str, files: list[File]) -> bytes:
    """A plain message from a colleague to the PIC, carrying a file (to be forwarded)."""
    msg = Message()
    msg["From"] = formataddr((sender.name, sender.email))
    msg["To"] = formataddr((to.name, to.email))
    msg["Subject"] = "Jawaban kuesioner PeManTIK sudah diisi"
    msg["Date"] = format_datetime(SENT)
    msg["Message-ID"] = f"<rekan-{abs(hash(text))}@kantor.go.id>"
    msg["MIME-Version"] = "1.0"
    body = _with_files(_text(text), files)
    for key, value in body.items():
        msg[key] = value
    msg.set_payload(body.get_payload())
    return msg.as_bytes()


# --------------------------------------------------------------------------- the cases


@dataclass
class Expect:
    """What the inbox reader must do with a case."""

    state: str = "processed"  # the message's final state
    stored: dict[str, Any] = field(default_factory=dict)  # e.g. {"confirmation": {...}}
    reply: list[str] = field(default_factory=list)  # words the automatic reply must contain
    no_reply: bool = False  # nothing may be sent to the writer


@dataclass
class Case:
    name: str
    client: str
    lang: str
    party: str  # "wilayah" / "asesor" / "asing"
    letter: str  # the PeManTIK email replied to: pemberitahuan / undangan / permohonan, or
    # balasan (an automatic reply with the format and its examples)
    wait: str | None  # the wait open for the region: jawaban / konfirmasi / nilai
    write: Callable[[Original, Person, str, dict[str, Any]], bytes]
    expect: Expect
    gap: str = ""  # why the product cannot read this yet (the expectation is today's answer)
    year: int = 2026  # the cycle of the letter replied to
    files: str = ""  # which file(s) the case needs from the harness (see tests)


def _w(client: Callable[..., bytes], reply: Callable[[dict], Reply], **kw: Any):
    def write(orig: Original, who: Person, mid: str, ctx: dict[str, Any]) -> bytes:
        return client(orig, who, reply(ctx), mid, **kw)

    write.reply_of = reply  # type: ignore[attr-defined]  # what the writer typed, for the checks
    return write


def _auto(write):  # noqa: ANN001, ANN202
    """The same message sent by an out-of-office responder (RFC 3834 header)."""

    def auto(orig: Original, who: Person, mid: str, ctx: dict[str, Any]) -> bytes:
        return b"Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n" + write(
            orig, who, mid, ctx
        )

    auto.reply_of = write.reply_of  # type: ignore[attr-defined]
    return auto


def R(top: str = "", bottom: str = "", files: str = "", turns=None) -> Callable[[dict], Reply]:  # noqa: ANN001, N802
    """A reply's text (``{wilayah}`` filled in) and the harness files it carries."""

    def make(ctx: dict[str, Any]) -> Reply:
        fmt = {"wilayah": ctx.get("wilayah", "")}
        return Reply(
            top=top.format(**fmt),
            bottom=bottom.format(**fmt),
            turns=[(n, t.format(**fmt)) for n, t in (turns or [])],
            files=[ctx["files"][f] for f in files.split(",") if f],
        )

    return make


def attend(*delegates: tuple[str, str], note: str = "") -> dict:
    return {
        "confirmation": {
            "attend": True,
            "delegates": [{"nama": n, "jabatan": j} for n, j in delegates],
            "note": note,
        }
    }


def absent(note: str = "") -> dict:
    return {"confirmation": {"attend": False, "delegates": [], "note": note}}


def willing(statement: str) -> dict:
    return {"assignment": {"state": "accepted", "coi_statement": statement}}


def declined(reason: str) -> dict:
    return {"assignment": {"state": "declined", "reason": reason}}


NOTHING: dict = {}
LONG_JABATAN = (
    "Kepala Bidang Aplikasi Informatika dan Persandian pada Dinas Komunikasi dan Informatika"
)
SARI = ("Sari Dewi, S.Kom.", "Kepala Bidang Aplikasi Informatika")
ANDI = ("Andi Pratama", "Pranata Komputer Ahli Muda")


def cases() -> list[Case]:
    return [
        # ---------------------------------------------------------------- attendance, by client
        Case(
            "outlook-desktop-id-hadir",
            "Outlook 365 (Windows)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R(
                    "HADIR\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda\n\nSalam,\nSari"
                ),
            ),
            Expect(stored=attend(SARI, ANDI), reply=["telah kami terima"]),
        ),
        Case(
            "outlook-desktop-en-tidak-hadir",
            "Outlook 365 (Windows)",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R("TIDAK HADIR\nAlasan: bertepatan dengan rapat paripurna DPRD\n\nRegards,\nSari"),
                lang="en",
            ),
            Expect(stored=absent("bertepatan dengan rapat paripurna DPRD")),
        ),
        Case(
            "outlook-classic-id-sentence",
            "Outlook 2007",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R(
                    "Dengan hormat,\nKami akan hadir, terima kasih.\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda"
                ),
                flavour="classic",
            ),
            Expect(stored=attend(ANDI)),
        ),
        Case(
            "outlook-web-id-tidak-hadir-karena",
            "Outlook on the web",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R(
                    "Mohon maaf, kami TIDAK HADIR karena bertepatan dengan kunjungan kerja Wali Kota."
                ),
                flavour="web",
            ),
            Expect(stored=absent("bertepatan dengan kunjungan kerja Wali Kota")),
        ),
        Case(
            "outlook-mobile-id-berhalangan",
            "Outlook for Android",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R("Mohon maaf, kami berhalangan hadir karena ada agenda DPRD."),
                flavour="mobile",
            ),
            Expect(stored=absent("ada agenda DPRD")),
        ),
        Case(
            "outlook-mobile-en-hadir",
            "Outlook for iOS",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R("HADIR\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika"),
                lang="en",
                flavour="mobile",
            ),
            Expect(stored=attend(SARI)),
        ),
        Case(
            "outlook-web-html-only-id",
            "Outlook on the web (HTML only)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R("HADIR\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika"),
                flavour="web",
                html_only=True,
            ),
            Expect(stored=attend(SARI)),
        ),
        Case(
            "outlook-desktop-html-only-en",
            "Outlook 365 (HTML only)",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(outlook, R("TIDAK HADIR\nAlasan: cuti bersama"), lang="en", html_only=True),
            Expect(stored=absent("cuti bersama")),
        ),
        Case(
            "gmail-web-id-top",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                gmail,
                R(
                    "HADIR\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda"
                ),
            ),
            Expect(stored=attend(SARI, ANDI)),
        ),
        Case(
            "gmail-web-en-wrapped-intro",
            "Gmail (web)",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("Hadir.\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda"), lang="en"),
            Expect(stored=attend(ANDI)),
        ),
        Case(
            "gmail-android-id-list",
            "Gmail (Android)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                gmail,
                R(
                    "Siap, kami akan hadir.\nDelegasi:\n1. Sari Dewi, S.Kom. - Kepala Bidang Aplikasi Informatika\n2. Andi Pratama (Pranata Komputer Ahli Muda)"
                ),
            ),
            Expect(stored=attend(SARI, ANDI)),
        ),
        Case(
            "gmail-web-id-bottom-post",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R(bottom="TIDAK HADIR\nAlasan: Kepala Dinas sedang dinas luar")),
            Expect(stored=absent("Kepala Dinas sedang dinas luar")),
        ),
        Case(
            "gmail-web-id-thanks-only",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("Terima kasih, undangan sudah kami baca.")),
            Expect(
                state="unreadable",
                reply=["belum dapat kami baca", "undangan sudah kami baca", "HADIR"],
            ),
        ),
        Case(
            "thunderbird-id-flowed-long-jabatan",
            "Thunderbird 128",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                thunderbird,
                R(f"HADIR\nDelegasi: Drs. H. Muhammad Faisal Rahman, M.Si. | {LONG_JABATAN}"),
            ),
            Expect(stored=attend(("Drs. H. Muhammad Faisal Rahman, M.Si.", LONG_JABATAN))),
        ),
        Case(
            "thunderbird-en-interleaved",
            "Thunderbird 128",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                thunderbird,
                R(
                    turns=[
                        (6, "HADIR"),
                        (3, "Delegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika"),
                    ]
                ),
                lang="en",
            ),
            Expect(stored=attend(SARI)),
        ),
        Case(
            "thunderbird-id-html",
            "Thunderbird 128 (HTML)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(thunderbird, R("TIDAK HADIR\nAlasan: sedang ada audit BPK"), html=True),
            Expect(stored=absent("sedang ada audit BPK")),
        ),
        Case(
            "apple-mail-id-tidak-hadir",
            "Apple Mail (macOS)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(apple_mail, R("TIDAK HADIR\nAlasan: bersamaan dengan Musrenbang")),
            Expect(stored=absent("bersamaan dengan Musrenbang")),
        ),
        Case(
            "apple-mail-en-bottom",
            "Apple Mail (macOS)",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                apple_mail,
                R(bottom="HADIR\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda"),
                lang="en",
            ),
            Expect(stored=attend(ANDI)),
        ),
        Case(
            "iphone-id-hadir",
            "iPhone Mail",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                apple_mail,
                R("Hadir.\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika"),
                phone=True,
            ),
            Expect(stored=attend(SARI)),
        ),
        Case(
            "iphone-en-tidak-hadir",
            "iPhone Mail",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(apple_mail, R("TIDAK HADIR karena cuti bersama"), lang="en", phone=True),
            Expect(stored=absent("cuti bersama")),
        ),
        Case(
            "samsung-id-html-only",
            "Samsung Email",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(samsung, R("HADIR\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda")),
            Expect(stored=attend(ANDI)),
        ),
        Case(
            "samsung-en-sentence",
            "Samsung Email",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(samsung, R("Kami tidak dapat hadir karena jaringan di lokasi terputus."), lang="en"),
            Expect(stored=absent("jaringan di lokasi terputus")),
        ),
        Case(
            "yahoo-en-hadir",
            "Yahoo Mail",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(yahoo, R("HADIR\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika")),
            Expect(stored=attend(SARI)),
        ),
        # ---------------------------------------------------------------- wrapped lines
        Case(
            "plain-wrap-72-jabatan",
            "plain text, hard wrap 72",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R(f"HADIR\nDelegasi: Drs. H. Muhammad Faisal Rahman, M.Si. | {LONG_JABATAN}"),
                width=72,
            ),
            Expect(stored=attend(("Drs. H. Muhammad Faisal Rahman, M.Si.", LONG_JABATAN))),
        ),
        Case(
            "plain-wrap-76-reason",
            "Outlook plain text, wrap 76",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R(
                    "TIDAK HADIR karena pada tanggal tersebut seluruh pejabat struktural mengikuti kegiatan retret di luar daerah"
                ),
                width=76,
            ),
            Expect(
                stored=absent(
                    "pada tanggal tersebut seluruh pejabat struktural mengikuti kegiatan retret di luar daerah"
                )
            ),
        ),
        Case(
            "plain-wrap-78-two-delegates",
            "plain text, hard wrap 78",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R(
                    f"HADIR\nDelegasi: Ir. Andi Pratama Wijayakusuma, S.T., M.T. | {LONG_JABATAN}\nDelegasi: Sari Dewi, S.Kom. | Kepala Bidang Aplikasi Informatika"
                ),
                width=78,
                lang="en",
            ),
            Expect(
                stored=attend(("Ir. Andi Pratama Wijayakusuma, S.T., M.T.", LONG_JABATAN), SARI)
            ),
        ),
        Case(
            "html-hard-breaks-jabatan",
            "Zimbra webmail (HTML, <br> at 76)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                html_breaks,
                R(f"HADIR\nDelegasi: Drs. H. Muhammad Faisal Rahman, M.Si. | {LONG_JABATAN}"),
            ),
            Expect(stored=attend(("Drs. H. Muhammad Faisal Rahman, M.Si.", LONG_JABATAN))),
        ),
        Case(
            "plain-short-continuation-refused",
            "plain text, typed line breaks",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R("HADIR\nDelegasi: Sari Dewi | Kepala Bidang\nAplikasi Informatika"),
                width=200,
            ),
            Expect(
                stored=NOTHING,
                reply=["baris 3 ('Aplikasi Informatika')", "satu delegasi pada satu baris"],
            ),
        ),
        # ---------------------------------------------------------------- quotes never data
        Case(
            "unknown-intro-unprefixed-autoreply",
            "webmail, unknown intro, no '>'",
            "id",
            "wilayah",
            "balasan",
            "konfirmasi",
            _w(
                plain_client,
                R("HADIR"),
                intro="Pesan dari PeManTIK pada 06-07-2026 pukul 09.12",
                prefix="",
            ),
            Expect(stored=NOTHING, reply=["minimal satu delegasi"]),
        ),
        Case(
            "unknown-intro-bersedia-only",
            "webmail, unknown intro, no '>'",
            "id",
            "asesor",
            "balasan",
            "konfirmasi",
            _w(
                plain_client,
                R("BERSEDIA"),
                intro="Pesan dari PeManTIK pada 06-07-2026 pukul 09.12",
                prefix="",
            ),
            Expect(stored=NOTHING, reply=["pernyataan bebas benturan kepentingan wajib diisi"]),
        ),
        Case(
            "template-example-delegate-refused",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("HADIR\nDelegasi: Nama Lengkap | Jabatan")),
            Expect(
                stored=NOTHING,
                reply=["baris 2 ('Delegasi: Nama Lengkap | Jabatan') masih berupa contoh"],
            ),
        ),
        Case(
            "template-example-statement-refused",
            "Outlook 365 (Windows)",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(
                outlook,
                R(
                    "BERSEDIA\nPernyataan: (pernyataan bebas benturan kepentingan, wajib bila bersedia)"
                ),
            ),
            Expect(stored=NOTHING, reply=["masih berupa contoh", "baris 2"]),
        ),
        Case(
            "template-example-ack-refused",
            "iPhone Mail",
            "id",
            "wilayah",
            "pemberitahuan",
            None,
            _w(
                apple_mail,
                R("Diterima oleh: Nama, Nomor agenda: 123/ABC/2026, Tanggal diterima: 2026-07-02"),
                phone=True,
            ),
            Expect(stored=NOTHING, reply=["baris 1", "masih berupa contoh"]),
        ),
        Case(
            "quoted-hadir-not-taken",
            "Thunderbird 128",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(thunderbird, R("Baik, terima kasih infonya.")),
            Expect(state="unreadable", stored=NOTHING),
        ),
        Case(
            "outlook-unprefixed-original-with-keywords",
            "Outlook 365 (Windows)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(outlook, R("TIDAK HADIR")),
            Expect(stored=absent()),
        ),
        # ---------------------------------------------------------------- sentences
        Case(
            "sentence-conflict",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("HADIR\nMohon maaf, kami tidak hadir.")),
            Expect(stored=NOTHING, reply=["bertentangan"]),
        ),
        Case(
            "sentence-hedge-quoted-back",
            "Gmail (Android)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("Kami usahakan hadir, Pak.")),
            Expect(state="unreadable", reply=["Kami usahakan hadir, Pak.", "Yang kami perlukan"]),
        ),
        Case(
            "sentence-question-quoted-back",
            "iPhone Mail",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(apple_mail, R("Apakah kami boleh hadir secara daring?"), phone=True),
            Expect(state="unreadable", reply=["Apakah kami boleh hadir secara daring?"]),
        ),
        Case(
            "sentence-hadir-without-delegate",
            "Outlook on the web",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(outlook, R("Kami akan hadir, terima kasih."), flavour="web"),
            Expect(stored=NOTHING, reply=["minimal satu delegasi"]),
        ),
        # ---------------------------------------------------------------- charsets
        Case(
            "outlook-cp1252-labelled-latin1",
            "Outlook 2010 (windows-1252 labelled iso-8859-1)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook,
                R("HADIR\nDelegasi: Ni Luh Putu Ayu\u2019s | Kepala Seksi \u2013 Persandian"),
                label="iso-8859-1",
                codec="windows-1252",
                flavour="classic",
            ),
            Expect(stored=attend(("Ni Luh Putu Ayu\u2019s", "Kepala Seksi \u2013 Persandian"))),
        ),
        Case(
            "utf8-labelled-latin1",
            "webmail (UTF-8 labelled iso-8859-1)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R("HADIR\nDelegasi: Désy Rahmawati | Analis Kebijakan Ahli Muda"),
                label="iso-8859-1",
                codec="utf-8",
            ),
            Expect(stored=attend(("Désy Rahmawati", "Analis Kebijakan Ahli Muda"))),
        ),
        Case(
            "cp1252-unlabelled",
            "old webmail (no charset)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                plain_client,
                R("HADIR\nDelegasi: Ratna Sari Dewi | Kepala Subbagian Umum – Kepegawaian"),
                label=None,
                codec="windows-1252",
            ),
            Expect(stored=attend(("Ratna Sari Dewi", "Kepala Subbagian Umum – Kepegawaian"))),
        ),
        # ---------------------------------------------------------------- questionnaire workbooks
        Case(
            "gmail-workbook",
            "Gmail (web)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(gmail, R("Terlampir jawaban kuesioner kami.", files="jawaban")),
            Expect(stored={"answers": 1}),
            files="jawaban",
        ),
        Case(
            "outlook-workbook-and-ack",
            "Outlook 365 (Windows)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(
                outlook,
                R(
                    "Diterima oleh: Rina Marlina, Nomor agenda: 005/77/Diskominfo/2026\n\nTerlampir jawaban kuesioner.",
                    files="jawaban",
                ),
            ),
            Expect(
                stored={
                    "answers": 1,
                    "ack": {
                        "received_by": "Rina Marlina",
                        "agenda_number": "005/77/Diskominfo/2026",
                    },
                }
            ),
            files="jawaban",
        ),
        Case(
            "apple-mail-inline-workbook",
            "Apple Mail (macOS)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(apple_mail, R("Berikut kami kirimkan jawaban kuesioner.", files="jawaban")),
            Expect(stored={"answers": 1}),
            files="jawaban",
        ),
        Case(
            "forwarded-rfc822-workbook",
            "Outlook 365 (forward as attachment)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            lambda orig, who, mid, ctx: forward_as_attachment(
                orig,
                who,
                Reply(top="Jawaban dari Bidang Aptika terlampir dalam surel yang diteruskan."),
                mid,
                inner=colleague_message(
                    Person("staf.aptika@kantor.go.id", "Staf Aptika"),
                    who,
                    "Pak, kuesioner sudah diisi.",
                    [ctx["files"]["jawaban"]],
                ),
            ),
            Expect(stored={"answers": 1}),
            files="jawaban",
        ),
        Case(
            "last-year-thread-this-year-workbook",
            "Gmail (web)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(gmail, R("Jawaban kuesioner tahun ini terlampir.", files="jawaban")),
            Expect(stored={"answers": 1}),
            year=2025,
            files="jawaban",
        ),
        Case(
            "new-thread-workbook-by-metadata",
            "Outlook 365 (new message)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            lambda orig, who, mid, ctx: _envelope(
                _with_files(
                    _text("Yth. Admin PeManTIK,\nberikut jawaban kuesioner kami."),
                    [ctx["files"]["jawaban"]],
                ),
                orig,
                who,
                mailer="Microsoft Outlook 16.0",
                message_id=mid,
                subject="Jawaban kuesioner",
                thread=False,
            ),
            Expect(stored={"answers": 1}),
            files="jawaban",
        ),
        Case(
            "this-year-thread-last-year-workbook",
            "Gmail (web)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(gmail, R("Jawaban terlampir.", files="lama")),
            Expect(stored=NOTHING, reply=["tahun 2025, bukan tahun 2026"]),
            files="lama",
        ),
        Case(
            "password-protected-workbook",
            "Outlook 365 (Windows)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(outlook, R("Jawaban kami terlampir.", files="terkunci")),
            Expect(stored=NOTHING, reply=["dilindungi kata sandi", "hapus kata sandinya"]),
            files="terkunci",
        ),
        Case(
            "merged-cells-workbook",
            "Gmail (web)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(gmail, R("Jawaban terlampir.", files="gabung")),
            Expect(stored=NOTHING, reply=["digabung (merge)", "Unmerge"]),
            files="gabung",
        ),
        Case(
            "inserted-row-workbook",
            "Apple Mail (macOS)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(apple_mail, R("Jawaban terlampir.", files="sisip")),
            Expect(stored=NOTHING, reply=["1 baris disisipkan pada baris"]),
            files="sisip",
        ),
        Case(
            "xls-old-format",
            "Outlook 2007",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(outlook, R("Jawaban terlampir.", files="xls"), flavour="classic"),
            Expect(stored=NOTHING, reply=["Excel Workbook (.xlsx)"]),
            files="xls",
        ),
        Case(
            "outlook-rich-text-winmail",
            "Outlook (Rich Text, winmail.dat)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(outlook, R("Jawaban terlampir.", files="winmail")),
            Expect(stored=NOTHING, reply=["winmail.dat", "HTML atau Teks Biasa"]),
            files="winmail",
        ),
        Case(
            "last-year-thread-hadir",
            "Gmail (web)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(gmail, R("HADIR\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda")),
            Expect(stored=NOTHING, reply=["surat PeManTIK tahun 2025", "PeManTIK tahun 2026"]),
            year=2025,
        ),
        # ---------------------------------------------------------------- assessors
        Case(
            "gmail-assessor-insya-allah",
            "Gmail (web)",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(gmail, R("Insya Allah saya bersedia.\nPernyataan: " + ASSESSOR_TEXT)),
            Expect(stored=willing(ASSESSOR_TEXT)),
        ),
        Case(
            "outlook-assessor-declines",
            "Outlook 365 (Windows)",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(outlook, R("TIDAK BERSEDIA\nAlasan: sedang menjalani tugas belajar")),
            Expect(stored=declined("sedang menjalani tugas belajar")),
        ),
        Case(
            "thunderbird-assessor-free-statement",
            "Thunderbird 128",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(thunderbird, R("Saya bersedia menjadi asesor. " + ASSESSOR_TEXT)),
            Expect(stored=willing(ASSESSOR_TEXT)),
        ),
        Case(
            "iphone-assessor-declines-karena",
            "iPhone Mail",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(
                apple_mail,
                R("Mohon maaf, saya tidak bersedia karena bertugas ke luar negeri."),
                phone=True,
            ),
            Expect(stored=declined("bertugas ke luar negeri")),
        ),
        Case(
            "assessor-bare-bersedia",
            "Samsung Email",
            "id",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(samsung, R("BERSEDIA")),
            Expect(stored=NOTHING, reply=["pernyataan bebas benturan kepentingan wajib diisi"]),
        ),
        Case(
            "assessor-bersedia-hadir",
            "Apple Mail (macOS)",
            "en",
            "asesor",
            "permohonan",
            "konfirmasi",
            _w(apple_mail, R("Saya bersedia hadir.\nPernyataan: " + ASSESSOR_TEXT), lang="en"),
            Expect(stored=willing(ASSESSOR_TEXT)),
        ),
        Case(
            "assessor-csv-id-locale-cp1252",
            "Excel (Indonesian locale) CSV, Gmail",
            "id",
            "asesor",
            "permohonan",
            "nilai",
            _w(gmail, R("Nilai terlampir.", files="csv-id")),
            Expect(stored={"scores": "all"}),
            files="csv-id",
        ),
        Case(
            "assessor-csv-decimal-refused",
            "Excel (Indonesian locale) CSV, Outlook",
            "id",
            "asesor",
            "permohonan",
            "nilai",
            _w(outlook, R("Nilai terlampir.", files="csv-desimal")),
            Expect(stored=NOTHING, reply=["baris 3", "harus bilangan bulat"]),
            files="csv-desimal",
        ),
        Case(
            "assessor-csv-utf16-tabs",
            "Excel 'Unicode Text' saved as .csv",
            "en",
            "asesor",
            "permohonan",
            "nilai",
            _w(thunderbird, R("Scores attached.", files="csv-utf16"), lang="en"),
            Expect(stored={"scores": "all"}),
            files="csv-utf16",
        ),
        Case(
            "assessor-json-scores",
            "Thunderbird 128",
            "id",
            "asesor",
            "permohonan",
            "nilai",
            _w(thunderbird, R("Nilai terlampir (JSON).", files="json")),
            Expect(stored={"scores": "all"}),
            files="json",
        ),
        # ---------------------------------------------------------------- acknowledgements
        Case(
            "outlook-ack-fields",
            "Outlook 365 (Windows)",
            "id",
            "wilayah",
            "pemberitahuan",
            None,
            _w(
                outlook,
                R(
                    "Diterima oleh: Rina Marlina, Nomor agenda: 005/77/Diskominfo/2026, Tanggal diterima: 6 Juli 2026"
                ),
            ),
            Expect(
                stored={
                    "ack": {
                        "received_by": "Rina Marlina",
                        "agenda_number": "005/77/Diskominfo/2026",
                        "received_date": "2026-07-06",
                    }
                }
            ),
        ),
        Case(
            "phone-ack-word",
            "Gmail (Android)",
            "id",
            "wilayah",
            "pemberitahuan",
            None,
            _w(gmail, R("Surat sudah diterima.")),
            Expect(stored={"ack": {"agenda_number": ""}}),
        ),
        # ---------------------------------------------------------------- senders
        Case(
            "personal-address-answered",
            "Gmail (personal address)",
            "id",
            "asing",
            "undangan",
            "konfirmasi",
            _w(gmail, R("HADIR\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda")),
            Expect(
                state="quarantined",
                stored=NOTHING,
                reply=["belum terdaftar", "alamat surel yang terdaftar"],
            ),
        ),
        Case(
            "out-of-office",
            "Outlook automatic reply",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _auto(
                _w(
                    outlook,
                    R(
                        "Saya sedang cuti sampai 20 Juli 2026. Untuk urusan mendesak hubungi staf kami."
                    ),
                )
            ),
            Expect(state="unreadable", stored=NOTHING, no_reply=True),
        ),
        # ---------------------------------------------------------------- known gaps
        Case(
            "gap-english-sentence",
            "Gmail (web)",
            "en",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                gmail,
                R(
                    "We will be there, thank you.\nDelegasi: Andi Pratama | Pranata Komputer Ahli Muda"
                ),
                lang="en",
            ),
            Expect(state="unreadable", stored=NOTHING, reply=["HADIR"]),
            gap="English sentences without the words attend/hadir are not understood; the writer is asked for HADIR/TIDAK HADIR",
        ),
        Case(
            "outlook-delegates-in-html-table",
            "Outlook 365 (table)",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(
                outlook_table,
                R("HADIR", bottom="Nama | Jabatan\nAndi Pratama | Pranata Komputer Ahli Muda"),
            ),
            Expect(stored=attend(ANDI)),
        ),
        Case(
            "gap-workbook-in-zip",
            "Gmail (web)",
            "id",
            "wilayah",
            "pemberitahuan",
            "jawaban",
            _w(gmail, R("Jawaban terlampir dalam arsip.", files="zip")),
            Expect(stored=NOTHING, reply=["arsip terkompresi", "tanpa dikompres"]),
            gap="a workbook inside a .zip archive is not unpacked (the writer is told to attach the .xlsx itself)",
            files="zip",
        ),
        Case(
            "gap-scanned-pdf-answer",
            "iPhone Mail",
            "id",
            "wilayah",
            "undangan",
            "konfirmasi",
            _w(apple_mail, R("Terlampir surat balasan kami.", files="pdf"), phone=True),
            Expect(state="unreadable", stored=NOTHING, reply=["belum dapat kami baca"]),
            gap="an answer given only as a scanned letter (PDF) is not read",
            files="pdf",
        ),
    ]


# --------------------------------------------------------------------------- writing the corpus


def sample_original() -> Original:
    """A PeManTIK email as the outbox writes it (markers included), without a database."""
    from mail.message import marked_html, marked_text

    text = marked_text(
        "Yth. Sari,\n\nMohon konfirmasi kehadiran: balas dengan HADIR atau TIDAK HADIR.\n"
        "Tulis setiap keterangan pada baris tersendiri.\n    Delegasi: Nama Lengkap | Jabatan\n"
        "\nHormat kami,\nPeManTIK\n"
    )
    html = marked_html(
        "<html><body><p>Yth. Sari,</p><p>Mohon konfirmasi kehadiran: HADIR atau TIDAK HADIR."
        "</p><p><code>Delegasi: Nama Lengkap | Jabatan</code></p></body></html>"
    )
    return Original(
        message_id="<contoh-undangan@kaltimprov.go.id>",
        references=[],
        subject="[PEMANTIK-2026-64.72] Surat Undangan PeManTIK 2026",
        name="PeManTIK Diskominfo Kaltim",
        email="pemantik@kaltimprov.go.id",
        to="Sari <pic@samarindakota.go.id>",
        date=datetime.fromisoformat("2026-07-06T09:12:00+08:00"),
        text=text,
        html=html,
    )


def own_text(case: Case, ctx: dict[str, Any]) -> str:
    """Everything the writer typed in ``case`` (nothing else may ever be stored)."""
    reply_of = getattr(case.write, "reply_of", None)
    if reply_of is None:
        return ""
    reply = reply_of(ctx)
    return " ".join(" ".join([reply.top, reply.bottom, *(t for _, t in reply.turns)]).split())


def write_corpus(out: Path) -> int:
    """Write every case as ``NN-name.eml`` and ``expected.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    orig = sample_original()
    files = {
        name: File(f"{name}.bin", b"contoh", "application/octet-stream")
        for name in (
            "jawaban",
            "lama",
            "terkunci",
            "gabung",
            "sisip",
            "xls",
            "winmail",
            "csv-id",
            "csv-desimal",
            "csv-utf16",
            "json",
            "zip",
            "pdf",
        )
    }
    expected = {}
    for n, case in enumerate(cases(), start=1):
        who = Person("pic@samarindakota.go.id", "Sari")
        raw = case.write(
            orig,
            who,
            f"<korpus-{n}@samarindakota.go.id>",
            {"files": files, "wilayah": "Kota Samarinda"},
        )
        name = f"{n:02d}-{case.name}.eml"
        (out / name).write_bytes(raw)
        expected[name] = {
            "client": case.client,
            "lang": case.lang,
            "party": case.party,
            "state": case.expect.state,
            "stored": case.expect.stored,
            "reply": case.expect.reply,
            "gap": case.gap,
        }
    (out / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False))
    return len(expected)


if __name__ == "__main__":  # pragma: no cover - a tool for people
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "reply-corpus")
    print(f"{write_corpus(target)} balasan ditulis ke {target}")
