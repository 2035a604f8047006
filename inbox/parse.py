"""Reading one inbound message: headers, the reply text without the quoted original, and the
attachments. No database, no network.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parseaddr

from inbox.quotes import SplitReply, split_reply
from inbox.text import decode_text, html_lines, repair_c1, unflow
from mail.message import PRODUCT_HEADER

_MSGID = re.compile(r"<[^<>\s]+>")
SYNTHETIC_DOMAIN = "pemantik.inbox.invalid"
# File types named by content type when a client sends an attachment without a file name.
_SUFFIX_BY_TYPE = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "text/csv": ".csv",
    "application/json": ".json",
}


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    forwarded: bool = False  # found inside a forwarded message (message/rfc822)


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
    split: SplitReply = field(default_factory=SplitReply)  # the writer's lines and the quote

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
        value = str(msg.get(name, "") or "")
    except Exception:  # noqa: BLE001 - undecodable header: keep what the raw says
        value = str(msg.get_all(name, [""])[0] if msg.get_all(name) else "")
    return repair_c1(value)


def strip_quoted(text: str) -> str:
    """The writer's own text of a plain-text reply (see :mod:`inbox.quotes`)."""
    return split_reply(text).text


def is_product_message(msg: EmailMessage) -> bool:
    """A message the product sent (it carries the product's header)."""
    try:
        return msg.get(PRODUCT_HEADER) is not None
    except Exception:  # noqa: BLE001 - a malformed header is not ours
        return False


def part_text(part: EmailMessage) -> str:
    """A text part decoded as a mail client would (charset rules, format=flowed joined)."""
    data = part.get_payload(decode=True) or b""
    if not isinstance(data, bytes):
        data = str(data).encode("utf-8", "replace")
    text = decode_text(data, part.get_content_charset())
    if part.get_content_type() == "text/plain":
        params = {k.lower(): str(v).lower() for k, v in part.get_params() or []}
        if params.get("format") == "flowed":
            text = unflow(text, delsp=params.get("delsp") == "yes")
    return text


def _split_body(msg: EmailMessage) -> tuple[str, SplitReply]:
    """The full text and its split: the plain part, or the HTML when the plain part has no
    text of the writer's own (an HTML-only message, or a plain stub)."""
    plain = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    full, split = "", SplitReply()
    if plain is not None:
        full = part_text(plain)
        split = split_reply(full)
    if html_part is not None and not split.text:
        html_text = html_lines(part_text(html_part))
        html_split = split_reply(html_text)
        if html_split.text or not full:
            full, split = html_text, html_split
    return full, split


def _inner_message(part: EmailMessage) -> EmailMessage | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return inner if isinstance(inner, EmailMessage) else None
    name = (part.get_filename() or "").lower()
    if name.endswith(".eml") and not part.is_multipart():
        data = part.get_payload(decode=True) or b""
        return message_from_bytes(data, policy=default)  # type: ignore[return-value]
    return None


def _attachments(msg: EmailMessage) -> list[Attachment]:
    """Every file in the message, also inside forwarded messages (not in the product's own
    messages quoted back to us: their files are ours, not the writer's)."""
    bodies = {id(p) for p in (msg.get_body(("plain",)), msg.get_body(("html",))) if p is not None}
    out: list[Attachment] = []

    def visit(part: EmailMessage, forwarded: bool, depth: int) -> None:
        inner = _inner_message(part)
        if inner is not None:
            if depth < 5 and not is_product_message(inner):
                visit(inner, True, depth + 1)
            return
        if part.is_multipart():
            for sub in part.iter_parts():
                visit(sub, forwarded, depth)
            return
        if id(part) in bodies:
            return
        ctype = part.get_content_type()
        name = part.get_filename() or ""
        if not name and (part.get_content_maintype() == "text" or ctype in _INLINE_TYPES):
            return  # a text fragment of the body (Apple Mail), not a file
        if not name:
            name = "lampiran" + _SUFFIX_BY_TYPE.get(ctype, "")
        data = part.get_payload(decode=True) or b""
        out.append(Attachment(name, ctype, data if isinstance(data, bytes) else b"", forwarded))

    visit(msg, False, 0)
    return out


_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif"}  # signatures' logos without a name


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` leniently: a malformed part is skipped, never raised."""
    msg = message_from_bytes(raw, policy=default)
    name, addr = parseaddr(_header(msg, "From"))
    if not addr:
        pairs = getaddresses([_header(msg, "Sender")])
        addr = pairs[0][1] if pairs else ""
    try:
        full, split = _split_body(msg)
    except Exception:  # noqa: BLE001
        full, split = "", SplitReply()
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
        body=split.text,
        full_body=full,
        attachments=attachments,
        message=msg,
        split=split,
    )
