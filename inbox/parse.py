"""Reading one inbound message: headers, the reply text without the quoted original, and the
attachments. No database, no network.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parseaddr

_MSGID = re.compile(r"<[^<>\s]+>")
# Where the quoted original begins in common clients (English and Indonesian).
_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"On .+wrote:\s*$|Pada .+menulis:\s*$|Pada .+ditulis:\s*$"
    r"|-{2,}\s*(?:Original Message|Pesan Asli|Forwarded message|Pesan yang diteruskan)\s*-{2,}"
    r"|_{10,}\s*$"
    r"|(?:From|Dari)\s*:\s*.+@.+$"
    r")",
    re.I,
)
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(?:p|div|br|tr|li|h\d)[^>]*>", re.I)
SYNTHETIC_DOMAIN = "pemantik.inbox.invalid"


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str
    sender: str  # the From address, lower case ("" when there is none)
    sender_name: str
    subject: str
    in_reply_to: list[str]
    references: list[str]
    body: str  # the new text of the reply, without the quoted original
    full_body: str
    attachments: list[Attachment] = field(default_factory=list)
    message: EmailMessage | None = None

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this reply refers to, the most specific first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen


def synthetic_message_id(raw: bytes) -> str:
    """The id of a message without Message-ID: derived from its bytes, so stable across runs."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"


def message_id_of(msg: EmailMessage, raw: bytes) -> str:
    try:
        value = str(msg.get("Message-ID", "") or "")
    except Exception:  # noqa: BLE001 - a malformed header must not lose the message
        value = ""
    found = _MSGID.search(value)
    if found:
        return found.group(0)[:900]
    return synthetic_message_id(raw)


def message_ids(value: object) -> list[str]:
    return _MSGID.findall(str(value or ""))


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, "") or "")
    except Exception:  # noqa: BLE001 - undecodable header: keep what the raw says
        return str(msg.get_all(name, [""])[0] if msg.get_all(name) else "")


def strip_quoted(text: str) -> str:
    """The reply's own lines: stop at the quoted original, drop '>' lines and the signature."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _QUOTE_START.match(line) or line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip()


# Where common clients put the quoted original in HTML (Gmail, Outlook, Apple Mail, Thunderbird).
_HTML_QUOTE = re.compile(
    r'<blockquote|<div[^>]+class="gmail_quote|<div[^>]+id="(?:divRplyFwdMsg|appendonsend)"'
    r'|<div[^>]+class="moz-cite-prefix',
    re.I,
)


def html_to_text(value: str) -> str:
    """The text of an HTML body, without the quoted original."""
    cut = _HTML_QUOTE.search(value)
    if cut:
        value = value[: cut.start()]
    return html.unescape(_TAG.sub("", _BLOCK.sub("\n", value)))


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # noqa: BLE001 - wrong charset: decode leniently
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return str(content)


def _attachments(msg: EmailMessage) -> list[Attachment]:
    out = []
    for part in msg.iter_attachments():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        data = part.get_payload(decode=True) or b""
        out.append(Attachment(name, part.get_content_type(), data))
    return out


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` leniently: a malformed part is skipped, never raised."""
    msg = message_from_bytes(raw, policy=default)
    name, addr = parseaddr(_header(msg, "From"))
    if not addr:
        pairs = getaddresses([_header(msg, "Sender")])
        addr = pairs[0][1] if pairs else ""
    try:
        full = _body_text(msg)
    except Exception:  # noqa: BLE001
        full = ""
    try:
        attachments = _attachments(msg)
    except Exception:  # noqa: BLE001
        attachments = []
    return ParsedMessage(
        message_id=message_id_of(msg, raw),
        sender=addr.strip().lower(),
        sender_name=name.strip(),
        subject=" ".join(_header(msg, "Subject").split()),
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        body=strip_quoted(full),
        full_body=full,
        attachments=attachments,
        message=msg,
    )
