"""Split a reply into what its writer wrote and what they quoted.

Works on text lines (an HTML body first goes through :func:`inbox.text.html_lines`, so the
rules are the same for both), for top-posting, bottom-posting and interleaved replies:

* a line quoted with ``>`` (any level) is quoted;
* everything from the start of an unprefixed original is quoted: Outlook's separator or its
  reply header block (``From:/Sent:/To:/Subject:``, ``Dari:/Dikirim:/Kepada:/Subjek:``), the
  "original/forwarded message" lines of Outlook, Gmail, Android and Apple Mail, and the
  product's own first line (:data:`mail.message.REPLY_MARKER`) with the header block above it,
  in whatever language that header is;
* the intro line above a quoted block ("On … wrote:", "Pada … menulis:", Apple Mail's "On …,
  at …, … wrote:", Thunderbird's "… menulis:", also wrapped over two or three lines) is
  quoted; intros in other languages are found by quotequail, Close's quote-detection library;
* a signature (``--`` line) up to the next quote, and a phone's sign-off line ("Sent from my
  iPhone", "Dikirim dari iPhone saya", "Get Outlook for Android", …), are dropped.

What is left, with its line numbers among the writer's own non-blank lines, is the only text
the reader ever interprets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import quotequail

from mail.message import MARKER_PATTERN

_QUOTE_PREFIX = re.compile(r"^((?:[ \t]*>)+)[ \t]?")

# Lines that start an unprefixed original (Outlook, Gmail forwards, Android, Apple Mail).
_SEPARATOR = re.compile(
    r"^\s*(?:"
    r"_{10,}"
    r"|-{2,}\s*(?:original message|pesan asli|forwarded message|pesan yang diteruskan"
    r"|pesan terusan|pesan diteruskan|email asli|surel asli)\s*-{2,}"
    r"|(?:begin forwarded message|awal pesan yang diteruskan|pesan yang diteruskan)\s*:"
    r")\s*$",
    re.I,
)
_FROM_LABEL = re.compile(r"^\s*\*?\s*(?:from|dari|pengirim)\s*\*?\s*:\s*\S", re.I)
_HEADER_LABEL = re.compile(
    r"^\s*\*?\s*(?:sent|date|to|cc|subject|dikirim|terkirim|tanggal|kepada|ke|tembusan|subjek"
    r"|perihal|hal|judul)\s*\*?\s*:",
    re.I,
)
_ANY_LABEL = re.compile(r"^\s*\*?\s*[\w .'\-]{1,30}?\s*\*?\s*:(?:\s|$)")
# Intro lines of a quoted block, English and Indonesian (Gmail, Apple Mail, Thunderbird,
# Outlook mobile, Yahoo, Samsung), matched on the line re-joined when the client wrapped it.
_INTRO = re.compile(
    r"^\s*(?:on\s.+\s(?:wrote|writes)|pada\s.+\s(?:menulis|ditulis|wrote))\s*:\s*$", re.I
)
# Looser forms, trusted only on the single line right above a quoted block.
_INTRO_LOOSE = re.compile(r"^\s*(?:.+\s(?:menulis|wrote)|.+<[^<>@\s]+@[^<>\s]+>)\s*:\s*$", re.I)
_SIGN_OFF = re.compile(
    r"^\s*(?:"
    r"sent from (?:my )?\S.{0,40}"
    r"|(?:di)?kirim(?:kan)? dari .{1,40}"
    r"|get outlook for .{1,30}"
    r"|dapatkan outlook untuk .{1,30}"
    r"|sent from (?:mail|yahoo mail|outlook) .{0,40}"
    r"|sent via .{1,30}"
    r")$",
    re.I,
)
_SIGNATURE = re.compile(r"^\s*--\s*$")


@dataclass
class OwnLine:
    number: int  # among the writer's own non-blank lines, from 1
    text: str


@dataclass
class SplitReply:
    own: list[str] = field(default_factory=list)  # the writer's lines, blank lines kept
    quoted: list[str] = field(default_factory=list)
    marker_seen: bool = False  # the product's first line was found in the quote

    @property
    def text(self) -> str:
        return "\n".join(self.own).strip("\n")

    def lines(self) -> list[OwnLine]:
        out, number = [], 0
        for line in self.own:
            if line.strip():
                number += 1
                out.append(OwnLine(number, line))
        return out


def _depth(line: str) -> tuple[int, str]:
    found = _QUOTE_PREFIX.match(line)
    if not found:
        return 0, line
    return found.group(1).count(">"), line[found.end() :]


def _joined(lines: list[str]) -> str:
    """Lines re-joined as quotequail does ("John <" + "john@x>" without a space)."""
    text = ""
    for line in lines:
        line = line.strip()
        if text and text[-1] not in "<([{\"'":
            text += " "
        text += line
    return text


# What the writer's own answer lines look like (never a client's header or intro).
_ANSWER_WORDS = re.compile(
    r"\b(?:hadir|bersedia|diterima|delegasi|pernyataan|alasan|agenda)\b", re.I
)
_DATE = re.compile(
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-\d{2}-\d{2}|\b\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4}\b"
)


def _intro_like(line: str) -> bool:
    return bool(
        "@" in line
        or _DATE.search(line)
        or "pemantik" in line.lower()
        or line.rstrip().endswith(":")
        or _SEPARATOR.match(line)
    )


def _header_block_above(lines: list[str], index: int) -> int:
    """Where the client's header or intro above ``index`` (the original's first line) begins:
    a header block (``Label: value`` lines, any language) or a short intro line (with an
    address, a date or the product's name), never a line of the writer's answer."""
    top = index
    i = index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    block_end = i
    while i >= 0 and lines[i].strip():
        i -= 1
    block = lines[i + 1 : block_end + 1]
    if not block or any(_ANSWER_WORDS.search(x) for x in block):
        return top
    headers = all(_ANY_LABEL.match(x) or "@" in x or _SEPARATOR.match(x) for x in block)
    if (headers and len(block) >= 2) or (len(block) <= 2 and any(_intro_like(x) for x in block)):
        top = i + 1
        # The separator line (and blank lines) just above the header block belong to it.
        j = top - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and _SEPARATOR.match(lines[j]):
            top = j
    return top


def _outlook_header_at(lines: list[str], index: int) -> bool:
    if not _FROM_LABEL.match(lines[index]):
        return False
    return any(_HEADER_LABEL.match(x) for x in lines[index + 1 : index + 6])


def _library_intro(lines: list[str]) -> int | None:
    """The first intro/forward line quotequail recognises in ``lines`` (None when none)."""
    text = "\n".join(lines)
    parts = quotequail.quote(text, limit=len(lines) + 1, quote_intro_line=True)
    if len(parts) < 2:
        return None
    return len(parts[0][1].split("\n")) if parts[0][1] else 0


def split_reply(text: str) -> SplitReply:
    """Split ``text`` (plain text, or :func:`inbox.text.html_lines` of an HTML body)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    depths = [_depth(line) for line in lines]
    out = SplitReply(marker_seen=any(MARKER_PATTERN.search(line) for line in lines))

    # 1. Where an unprefixed original begins, everything from there on is quoted.
    cut = len(lines)
    for i, (depth, content) in enumerate(depths):
        if depth:
            continue
        if MARKER_PATTERN.search(content):
            cut = _header_block_above(lines, i)
            break
        if _SEPARATOR.match(content) or _outlook_header_at(lines, i):
            cut = i
            break

    # 2. Intro lines above each quoted block, and intros only the library knows.
    intro: set[int] = set()
    for i in range(cut):
        if not depths[i][0] or (i and depths[i - 1][0]):
            continue
        j = i - 1
        while j >= 0 and not depths[j][0] and not lines[j].strip():
            j -= 1
        if j < 0 or depths[j][0]:
            continue
        matched = False
        for k in (1, 2, 3):
            chunk = list(range(j - k + 1, j + 1))
            if chunk[0] < 0 or any(depths[c][0] or not lines[c].strip() for c in chunk):
                break
            if _INTRO.match(_joined([lines[c] for c in chunk])):
                intro.update(chunk)
                matched = True
                break
        if not matched and (
            _INTRO_LOOSE.match(lines[j])
            or (lines[j].rstrip().endswith(":") and re.search(r"[@\d]", lines[j]))
        ):
            intro.add(j)
    unprefixed = [i for i in range(cut) if not depths[i][0] and i not in intro]
    found = _library_intro([lines[i] for i in unprefixed])
    if found is not None and found < len(unprefixed):
        start = unprefixed[found]
        nxt = next((i for i in range(start + 1, cut) if lines[i].strip()), None)
        if nxt is not None and depths[nxt][0]:
            intro.add(start)
        else:
            cut = start

    # 3. The writer's own lines: unquoted, not an intro, no signature, no phone sign-off.
    in_signature = False
    for i, line in enumerate(lines):
        depth = depths[i][0]
        if i >= cut or depth or i in intro:
            if depth or i >= cut:
                in_signature = False
            out.quoted.append(line)
            continue
        if _SIGNATURE.match(line):
            in_signature = True
        if in_signature or _SIGN_OFF.match(line) or MARKER_PATTERN.search(line):
            continue
        out.own.append(line.rstrip())
    return out
