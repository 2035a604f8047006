"""A reply's text as its writer's mail client showed it: decoded, unflowed, HTML made lines.

* :func:`decode_text` decodes a body the way mail clients do (the WHATWG Encoding rules
  browsers and Thunderbird follow): a label of ``iso-8859-1`` or ``us-ascii`` means
  windows-1252, valid UTF-8 wins over a Latin label, and a missing or wrong label is detected
  (charset-normalizer) rather than decoded into control characters.
* :func:`unflow` joins the soft line breaks of ``format=flowed`` (RFC 3676) text.
* :func:`html_lines` turns an HTML body into text lines with the quoted parts prefixed by
  ``>`` (one per level), whatever the client's quote markup (``blockquote``, Gmail's
  ``gmail_quote``, Outlook's reply header block, Thunderbird's ``moz-cite-prefix``, Yahoo's
  ``yahoo_quoted``), so :mod:`inbox.quotes` splits plain text and HTML the same way.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

# Labels the WHATWG Encoding Standard maps to windows-1252 (what every browser and mail client
# decodes them as).
_WINDOWS_1252_LABELS = {
    "ansi_x3.4-1968",
    "ascii",
    "cp1252",
    "cp819",
    "csisolatin1",
    "ibm819",
    "iso-8859-1",
    "iso-ir-100",
    "iso8859-1",
    "iso88591",
    "iso_8859-1",
    "iso_8859-1:1987",
    "l1",
    "latin1",
    "latin-1",
    "us-ascii",
    "windows-1252",
    "x-cp1252",
}
# Outlook's separator line between the reply and the original (also emitted for Outlook's
# HTML reply header), which :mod:`inbox.quotes` reads as "the rest is quoted".
OUTLOOK_SEPARATOR = "_" * 32


def _codec(label: str | None) -> str | None:
    name = (label or "").strip().strip('"').lower()
    if not name:
        return None
    if name in _WINDOWS_1252_LABELS:
        return "windows-1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def detect_text(data: bytes) -> str | None:
    """``data`` decoded with its detected encoding (BOMs first); None when nothing fits."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Latin text that windows-1252 decodes (none of its five undefined bytes, no NULs of a
    # UTF-16 without BOM) is windows-1252: the Windows code page of Indonesian and English
    # locales, what Outlook, old webmail and Excel write. charset-normalizer would pick among
    # code pages that agree on the letters and differ on dashes and quotes, and its pick was
    # seen to vary between runs (cp852 once, cp1250 otherwise, for the same bytes).
    if b"\x00" not in data:
        try:
            return data.decode("windows-1252")
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else None


def decode_text(data: bytes, label: str | None) -> str:
    """Decode a text part's bytes given its declared charset (see the module docstring)."""
    codec = _codec(label)
    if codec == "windows-1252" and not data.isascii():
        try:  # a UTF-8 body labelled Latin-1 or ASCII: UTF-8 never occurs by chance
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    found = detect_text(data)
    if found is not None:
        return found
    return data.decode("windows-1252", "replace")


_C1 = re.compile("[\x80-\x9f]")


def repair_c1(text: str) -> str:
    """Text decoded as Latin-1 that was windows-1252 (C1 control characters where ’ or – were
    meant), as in a mislabelled encoded-word header: decoded again the way clients show it."""
    if not _C1.search(text):
        return text
    try:
        return text.encode("latin-1").decode("windows-1252")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return _C1.sub("", text)


def unflow(text: str, delsp: bool = False) -> str:
    """Join the soft line breaks of RFC 3676 ``format=flowed`` text (quote levels kept)."""
    out: list[str] = []
    buffer: list[str] = []
    depth_of_buffer = 0

    def emit() -> None:
        prefix = ">" * depth_of_buffer + (" " if depth_of_buffer else "")
        out.append(prefix + "".join(buffer))
        buffer.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        stripped = raw.lstrip(">")
        depth = len(raw) - len(stripped)
        if stripped.startswith(" "):  # space-stuffing (and the space after the quote marks)
            stripped = stripped[1:]
        if buffer and depth != depth_of_buffer:
            emit()
        depth_of_buffer = depth
        soft = stripped.endswith(" ") and stripped != "-- "
        if soft:
            buffer.append(stripped[:-1] if delsp else stripped)
            continue
        buffer.append(stripped)
        emit()
    if buffer:
        emit()
    return "\n".join(out)


_BLOCK_TAGS = {
    "address",
    "article",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_SKIP_TAGS = {"head", "script", "style", "title", "template"}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"}
# Containers whose whole content is a quoted original (with its attribution line).
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
# Outlook (desktop, web, mobile) starts the original with one of these, unquoted: everything
# from there on is the original.
_OUTLOOK_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\s+#(?:e1e1e1|b5c4df)", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")


class _Lines(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, raised the quote depth)
        self.skip = 0
        self.pre = 0
        self.rest_quoted = False
        self.line_depth = 0

    def flush(self, force: bool = False) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = _SPACES.sub(" ", text).strip()
        if text or force:
            self.lines.append((self.line_depth if text else self.depth, text))
        self.current = []
        self.line_depth = self.depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        classes = values.get("class", "").lower()
        ident = values.get("id", "").lower()
        if tag == "br":
            self.flush(force=True)
            return
        if tag in _BLOCK_TAGS:
            self.flush()
        if not self.rest_quoted and (
            ident in _OUTLOOK_IDS
            or (tag == "div" and _OUTLOOK_BORDER.search(values.get("style", "")))
        ):
            self.flush()
            self.lines.append((self.depth, OUTLOOK_SEPARATOR))
            self.rest_quoted = True
        raises = tag == "blockquote" or any(c in classes.split() for c in _QUOTE_CLASSES)
        if tag == "li":
            self.current.append("- ")
        if tag == "pre":
            self.pre += 1
        if tag in ("td", "th"):
            # Cells of a row on one line, as a person reads them: "Budi | Kepala Bidang".
            if "".join(self.current).strip():
                self.current.append(" | ")
        if tag not in _VOID_TAGS:
            self.stack.append((tag, raises))
            if raises:
                self.depth += 1
                self.line_depth = self.depth

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if tag in _VOID_TAGS:
            return
        # Close up to the matching open tag (HTML in mail is often unbalanced).
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                break
        else:
            return
        if tag in _BLOCK_TAGS or any(r for _, r in self.stack[index:]):
            self.flush()
        for _, raised in self.stack[index:]:
            if raised:
                self.depth -= 1
        del self.stack[index:]
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        self.line_depth = self.depth

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not "".join(self.current).strip():
            self.line_depth = self.depth
        if self.pre:
            parts = data.replace("\r\n", "\n").split("\n")
            for part in parts[:-1]:
                self.current.append(part)
                self.flush(force=True)
            self.current.append(parts[-1])
            return
        self.current.append(data)


def html_lines(value: str) -> str:
    """The text of an HTML body, one line per block or ``<br>``, quoted parts ``>``-prefixed."""
    parser = _Lines()
    try:
        parser.feed(value)
        parser.close()
    except Exception:  # noqa: BLE001 - broken markup: keep what was read
        pass
    parser.flush()
    out = []
    for depth, text in parser.lines:
        text = text.replace("\u00a0", " ").rstrip()
        out.append(("> " * depth) + text if depth else text)
    return "\n".join(out).strip("\n")
