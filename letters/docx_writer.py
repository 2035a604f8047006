"""From rendered wording (a small line markup) to a .docx on a master document.

The master (A4, margins, fonts, the kop from ``settings.organisation``, the optional logo) is
built once with python-docx and kept as its zip parts in memory. Each document only produces a
new ``word/document.xml`` body (plain OOXML strings, no re-parsing of the template), plus its
chart images, and is packed with fixed zip timestamps and fixed core properties, so the same
input always gives the same bytes (and the same sha256).

The markup the jinja2 templates produce, one paragraph per line (blank lines are ignored)::

    text                      body paragraph (justified, first line indented)
    .polos text               paragraph without indent
    .judul text               centred, bold (document titles)
    .bab text                 centred, bold, space after (chapter headings)
    .subjudul text            left, bold (section headings)
    .tengah text              centred
    .kanan text               right column (date line, signature block), left aligned
    .ttd text                 right column, centred (signature block)
    .ttd-nama text            right column, centred, bold and underlined (signer's name)
    .kolom Label | text       "Label : text" with a hanging indent (Nomor, Sifat, Hari/tanggal)
    .pasal Label | a. | text  "Label : a. text" (Menimbang, Mengingat, KESATU)
    .butir a. | text          numbered item with a hanging indent
    .spasi                    empty line (kept with the next line when the line before is)
    .utuh / .akhir-utuh       a block kept on one page (signature blocks, the closing part)
    .halaman                  page break
    .gambar name | 16         a chart image (width in cm) given by the document's code
    .tabel [polos] [tengah] [kecil] [lebar=1,6,2]   starts a table, then rows:
    .kepala A | B | C         header row (bold, shaded, repeated on each page)
    .sel A | B | C            row; "~~" breaks a line inside a cell
    .akhir                    ends the table
    .kop-pemerintah / .kop-instansi / .kop-alamat text   the kop lines (master only)

Inline ``**bold**`` and ``__underline__`` work everywhere.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.oxml import parse_xml
from docx.shared import Cm, Pt

from letters.errors import TemplateProblem

TWIPS_PER_CM = 567
TEXT_WIDTH_CM = 16.0  # A4 21 cm minus left 3 cm and right 2 cm margins
RIGHT_COLUMN_TWIPS = 4536  # 8 cm: where the date line and the signature block start
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

_INLINE = re.compile(r"(\*\*.+?\*\*|__.+?__)")


# A "|" inside a filled-in value stands as this character until the line is split into cells.
PIPE = "\ue000"
# Characters XML 1.0 does not allow (a stray control character would make Word refuse the file).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _esc(text: str) -> str:
    return escape(_BAD_XML.sub("", text).replace(PIPE, "|"), {'"': "&quot;"})


def _runs(
    text: str, *, bold: bool = False, underline: bool = False, size: int | None = None
) -> str:
    """Runs for one line of text with **bold** and __underline__ spans."""
    out = []
    for piece in _INLINE.split(text):
        if not piece:
            continue
        b, u = bold, underline
        if piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
            piece, b = piece[2:-2], True
        elif piece.startswith("__") and piece.endswith("__") and len(piece) > 4:
            piece, u = piece[2:-2], True
        parts = piece.split("\t")
        rpr = ""
        if b or u or size:
            rpr = (
                "<w:rPr>"
                + ("<w:b/>" if b else "")
                + ('<w:u w:val="single"/>' if u else "")
                + (f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>' if size else "")
                + "</w:rPr>"
            )
        for i, part in enumerate(parts):
            if i:
                out.append(f"<w:r>{rpr}<w:tab/></w:r>")
            if part:
                out.append(f'<w:r>{rpr}<w:t xml:space="preserve">{_esc(part)}</w:t></w:r>')
    return "".join(out)


def _para(
    runs: str,
    *,
    jc: str | None = None,
    left: int = 0,
    hanging: int = 0,
    first_line: int = 0,
    tabs: tuple[int, ...] = (),
    after: int | None = None,
    keep_next: bool = False,
    border_bottom: bool = False,
    page_break: bool = False,
) -> str:
    ppr = []
    if keep_next:
        ppr.append("<w:keepNext/>")
    if border_bottom:
        ppr.append(
            '<w:pBdr><w:bottom w:val="thickThinSmallGap" w:sz="24" w:space="1" w:color="000000"/></w:pBdr>'
        )
    if tabs:
        ppr.append(
            "<w:tabs>" + "".join(f'<w:tab w:val="left" w:pos="{t}"/>' for t in tabs) + "</w:tabs>"
        )
    if after is not None:
        ppr.append(f'<w:spacing w:after="{after}"/>')
    if left or hanging or first_line:
        ind = f'<w:ind w:left="{left}"'
        if hanging:
            ind += f' w:hanging="{hanging}"'
        elif first_line:
            ind += f' w:firstLine="{first_line}"'
        ppr.append(ind + "/>")
    if jc:
        ppr.append(f'<w:jc w:val="{jc}"/>')
    ppr_xml = f"<w:pPr>{''.join(ppr)}</w:pPr>" if ppr else ""
    br = '<w:r><w:br w:type="page"/></w:r>' if page_break else ""
    return f"<w:p>{ppr_xml}{br}{runs}</w:p>"


KEEP_START = "<w:p><w:pPr><w:keepNext/>"  # how a paragraph kept with the next one begins


def keep_with_next(xml: str) -> str:
    """Every paragraph of a chunk kept with the next (keepNext first in pPr, as the schema
    wants), and every table row unsplittable."""
    xml = xml.replace("<w:keepNext/>", "")
    xml = xml.replace("<w:pPr>", "<w:pPr><w:keepNext/>")
    return re.sub(r"<w:p>(?!<w:pPr>)", "<w:p><w:pPr><w:keepNext/></w:pPr>", xml)


def png_size(data: bytes) -> tuple[int, int]:
    """Pixel width and height of a PNG (from its IHDR chunk)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("gambar bukan PNG")
    return struct.unpack(">II", data[16:24])


@dataclass
class Media:
    name: str  # part name inside the package, e.g. word/media/chart1.png
    rel_id: str
    data: bytes


@dataclass
class BodyWriter:
    """Turns markup lines into body XML; collects the images it refers to."""

    source: str = ""  # template name, for error messages
    images: dict[str, bytes] = field(default_factory=dict)
    first_rel: int = 100
    chunks: list[str] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    _table: list[str] | None = None
    _kolom: list[tuple[str, str]] = field(default_factory=list)
    _table_opts: dict = field(default_factory=dict)
    _whole_from: int | None = None  # first chunk of an open '.utuh' block

    def problem(self, lineno: int, message: str) -> TemplateProblem:
        return TemplateProblem(f"templat '{self.source}' baris hasil {lineno}: {message}")

    def feed(self, markup: str) -> BodyWriter:
        for lineno, raw in enumerate(markup.splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("."):
                directive, _, rest = line.partition(" ")
                self._directive(directive[1:], rest.strip(), lineno)
            else:
                self._need_no_table(lineno, line)
                self._flush_kolom()
                self.chunks.append(_para(_runs(line), jc="both", first_line=709, after=120))
        self._flush_kolom()
        if self._table is not None:
            raise self.problem(0, "tabel tidak ditutup dengan '.akhir'")
        if self._whole_from is not None:
            raise self.problem(0, "blok '.utuh' tidak ditutup dengan '.akhir-utuh'")
        return self

    def _keep_whole(self, start: int) -> None:
        """Keep chunks[start:] on one page: every paragraph (table cells too) but the block's
        last chunk is kept with the next one, and table rows never split."""
        for i in range(start, len(self.chunks) - 1):
            self.chunks[i] = keep_with_next(self.chunks[i])

    def _flush_kolom(self) -> None:
        """Lay out consecutive '.kolom' lines with one label column wide enough for all."""
        if not self._kolom:
            return
        longest = max(len(label) for label, _ in self._kolom)
        # About 0.22 cm per character of Arial 11 pt; at least 2.5 cm (Nomor/Sifat/Lampiran/Hal).
        colon = max(1418, int(longest * 0.22 * TWIPS_PER_CM) + 113)
        text_at = colon + 170
        for label, text in self._kolom:
            self.chunks.append(
                _para(
                    _runs(f"{label}\t:\t{text}"),
                    left=text_at,
                    hanging=text_at,
                    tabs=(colon, text_at),
                    after=0,
                )
            )
        self._kolom = []

    def _need_no_table(self, lineno: int, line: str) -> None:
        if self._table is not None:
            raise self.problem(
                lineno, f"di dalam tabel hanya '.kepala', '.sel' dan '.akhir': {line!r}"
            )

    def _directive(self, name: str, rest: str, lineno: int) -> None:
        if name in ("kepala", "sel", "akhir"):
            if self._table is None:
                raise self.problem(lineno, f"'.{name}' di luar tabel")
            if name == "akhir":
                self._close_table()
            else:
                self._table.append(
                    self._row([c.strip() for c in rest.split("|")], name == "kepala")
                )
            return
        self._need_no_table(lineno, f".{name} {rest}")
        if name != "kolom":
            self._flush_kolom()
        add = self.chunks.append
        if name == "polos":
            add(_para(_runs(rest), jc="both", after=120))
        elif name == "judul":
            add(_para(_runs(rest, bold=True), jc="center", after=0, keep_next=True))
        elif name == "bab":
            add(_para(_runs(rest, bold=True), jc="center", after=240, keep_next=True))
        elif name == "subjudul":
            add(_para(_runs(rest, bold=True), after=120, keep_next=True))
        elif name == "tengah":
            add(_para(_runs(rest), jc="center", after=0))
        elif name == "kanan":
            add(_para(_runs(rest), left=RIGHT_COLUMN_TWIPS, after=0))
        elif name == "ttd":
            add(_para(_runs(rest), left=RIGHT_COLUMN_TWIPS, jc="center", after=0, keep_next=True))
        elif name == "ttd-nama":
            add(
                _para(
                    _runs(rest, bold=True, underline=True),
                    left=RIGHT_COLUMN_TWIPS,
                    jc="center",
                    after=0,
                    keep_next=True,
                )
            )
        elif name == "kolom":
            label, _, text = rest.partition("|")
            self._kolom.append((label.strip(), text.strip()))
            return  # laid out with its neighbours (one label width per group)
        elif name == "pasal":
            parts = [p.strip() for p in rest.split("|", 2)]
            while len(parts) < 3:
                parts.append("")
            label, sub, text = parts
            colon = ":" if label else ""  # continuation lines carry no colon
            if sub:
                add(
                    _para(
                        _runs(f"{label}\t{colon}\t{sub}\t{text}"),
                        left=2552,
                        hanging=2552,
                        tabs=(1985, 2155, 2552),
                        jc="both",
                        after=60,
                    )
                )
            else:
                add(
                    _para(
                        _runs(f"{label}\t{colon}\t{text}"),
                        left=2155,
                        hanging=2155,
                        tabs=(1985, 2155),
                        jc="both",
                        after=60,
                    )
                )
        elif name == "butir":
            sub, _, text = rest.partition("|")
            add(
                _para(
                    _runs(f"{sub.strip()}\t{text.strip()}"),
                    left=1134,
                    hanging=425,
                    tabs=(1134,),
                    jc="both",
                    after=60,
                )
            )
        elif name == "spasi":
            # An empty line inside a signature block must not be where the page breaks.
            keep = bool(self.chunks) and self.chunks[-1].startswith(KEEP_START)
            add(_para("", after=0, keep_next=keep))
        elif name == "utuh":
            if self._whole_from is not None:
                raise self.problem(lineno, "blok '.utuh' tidak boleh bersarang")
            self._whole_from = len(self.chunks)
        elif name == "akhir-utuh":
            if self._whole_from is None:
                raise self.problem(lineno, "'.akhir-utuh' tanpa '.utuh'")
            self._keep_whole(self._whole_from)
            self._whole_from = None
        elif name == "halaman":
            add(_para("", page_break=True, after=0))
        elif name == "gambar":
            key, _, width = rest.partition("|")
            self._image(key.strip(), width.strip(), lineno)
        elif name == "tabel":
            self._open_table(rest, lineno)
        elif name == "kop-pemerintah":
            add(_para(_runs(rest, bold=True, size=28), jc="center", after=0))
        elif name == "kop-instansi":
            add(_para(_runs(rest, bold=True, size=32), jc="center", after=0))
        elif name == "kop-alamat":
            add(_para(_runs(rest, size=18), jc="center", after=0))
        else:
            raise self.problem(lineno, f"perintah tidak dikenal '.{name}'")

    def _image(self, key: str, width: str, lineno: int) -> None:
        if key not in self.images:
            raise self.problem(lineno, f"gambar '{key}' tidak tersedia")
        data = self.images[key]
        px_w, px_h = png_size(data)
        try:
            width_cm = float(width.replace(",", ".")) if width else TEXT_WIDTH_CM
        except ValueError:
            raise self.problem(lineno, f"lebar gambar '{width}' bukan angka") from None
        n = len(self.media) + 1
        rel_id = f"rId{self.first_rel + n}"
        self.media.append(Media(f"word/media/gambar{n}.png", rel_id, data))
        cx = int(width_cm * 360000)
        cy = int(cx * px_h / px_w)
        doc_id = 1000 + n
        drawing = (
            '<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{doc_id}" name="Gambar {n}"/>'
            "<wp:cNvGraphicFramePr>"
            '<a:graphicFrameLocks xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" noChangeAspect="1"/>'
            "</wp:cNvGraphicFramePr>"
            '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f'<pic:nvPicPr><pic:cNvPr id="{doc_id}" name="gambar{n}.png"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rel_id}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>'
            "</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"
        )
        self.chunks.append(_para(drawing, jc="center", after=120))

    def _open_table(self, rest: str, lineno: int) -> None:
        opts: dict = {"borders": True, "center": False, "size": 20, "widths": None}
        for word in rest.split():
            if word == "polos":
                opts["borders"] = False
            elif word == "tengah":
                opts["center"] = True
            elif word == "kecil":
                opts["size"] = 18
            elif word.startswith("lebar="):
                try:
                    opts["widths"] = [float(x) for x in word[6:].split(",")]
                except ValueError:
                    raise self.problem(lineno, f"lebar kolom tidak sah: {word}") from None
            else:
                raise self.problem(lineno, f"pilihan tabel tidak dikenal: {word}")
        self._table = []
        self._table_opts = opts
        self._table_cols = 0

    def _row(self, cells: list[str], header: bool) -> str:
        self._table_cols = max(self._table_cols, len(cells))
        # Widths are filled in when the table closes (the column count is known then).
        return ("H" if header else "R") + "\x00".join(cells)

    def _close_table(self) -> None:
        rows, opts = self._table or [], self._table_opts
        self._table = None
        ncols = max(self._table_cols, 1)
        weights = opts["widths"] or [1.0] * ncols
        weights = (weights + [weights[-1]] * ncols)[:ncols]
        total = sum(weights) or 1.0
        widths = [int(TEXT_WIDTH_CM * TWIPS_PER_CM * w / total) for w in weights]
        border = "single" if opts["borders"] else "nil"
        borders = "".join(
            f'<w:{side} w:val="{border}" w:sz="4" w:space="0" w:color="000000"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        out = [
            "<w:tbl><w:tblPr>"
            f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
            f"<w:tblBorders>{borders}</w:tblBorders>"
            '<w:tblLayout w:type="fixed"/>'
            '<w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
            '<w:tblLook w:val="0000"/></w:tblPr><w:tblGrid>'
            + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
            + "</w:tblGrid>"
        ]
        jc = "center" if opts["center"] else None
        for row in rows:
            header = row[0] == "H"
            cells = row[1:].split("\x00")
            cells += [""] * (ncols - len(cells))
            out.append(
                "<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if header else "") + "</w:trPr>"
            )
            for width, cell in zip(widths, cells, strict=False):
                shade = '<w:shd w:val="clear" w:color="auto" w:fill="D9D9D9"/>' if header else ""
                paras = "".join(
                    _para(
                        _runs(line.strip(), bold=header, size=opts["size"]),
                        jc="center" if header else jc,
                        after=0,
                    )
                    for line in cell.split("~~")
                )
                out.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shade}</w:tcPr>{paras}</w:tc>'
                )
            out.append("</w:tr>")
        out.append("</w:tbl>")
        self.chunks.append("".join(out))

    def xml(self) -> str:
        return "".join(self.chunks)


@dataclass(frozen=True)
class CoreInfo:
    """Core properties; fixed values (derived from the snapshot) keep the file reproducible."""

    title: str
    subject: str
    creator: str
    identifier: str
    created: date


def _core_xml(core: CoreInfo) -> bytes:
    stamp = f"{core.created.isoformat()}T00:00:00Z"
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_esc(core.title)}</dc:title><dc:subject>{_esc(core.subject)}</dc:subject>"
        f"<dc:creator>{_esc(core.creator)}</dc:creator><dc:identifier>{_esc(core.identifier)}</dc:identifier>"
        f"<cp:lastModifiedBy>{_esc(core.creator)}</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    ).encode()


@dataclass(frozen=True)
class _Entry:
    name: bytes
    crc: int
    size: int
    data: bytes  # raw deflate stream


def _deflate(name: str, data: bytes) -> _Entry:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return _Entry(
        name.encode(), zlib.crc32(data), len(data), packer.compress(data) + packer.flush()
    )


# DOS date of 1980-01-01, time 00:00: every entry carries the same stamp (reproducible files).
_DOS_DATE, _DOS_TIME = (0 << 9) | (1 << 5) | 1, 0


def _zip(entries: list[_Entry]) -> bytes:
    """A plain deflate zip with fixed stamps, from entries compressed beforehand."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            0,
            8,
            _DOS_TIME,
            _DOS_DATE,
            e.crc,
            len(e.data),
            e.size,
            len(e.name),
            0,
        )
        out += e.name
        out += e.data
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            _DOS_TIME,
            _DOS_DATE,
            e.crc,
            len(e.data),
            e.size,
            len(e.name),
            0,
            0,
            0,
            0,
            0o644 << 16,
            offset,
        )
        central += e.name
    start = len(out)
    out += central
    out += struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), start, 0
    )
    return bytes(out)


class Master:
    """A parsed master document: every zip part kept in memory, the body split at the kop's end."""

    def __init__(self, docx_bytes: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
            self.parts: list[tuple[str, bytes]] = [
                (name, zf.read(name))
                for name in zf.namelist()
                if name != "docProps/thumbnail.jpeg"  # python-docx's default template's picture
            ]
        parts = dict(self.parts)
        document = parts["word/document.xml"].decode()
        cut = document.rindex("<w:sectPr")
        self.doc_head, self.doc_tail = document[:cut], document[cut:]
        self.rels = parts["word/_rels/document.xml.rels"].decode()
        self.content_types = parts["[Content_Types].xml"].decode()
        if 'Extension="png"' not in self.content_types:
            self.content_types = self.content_types.replace(
                "<Default ", '<Default Extension="png" ContentType="image/png"/><Default ', 1
            )
        root_rels = parts["_rels/.rels"].decode()
        root_rels = re.sub(r'<Relationship [^>]*Target="docProps/thumbnail.jpeg"/>', "", root_rels)
        self.static = {
            name: data
            for name, data in self.parts
            if name
            not in (
                "word/document.xml",
                "word/_rels/document.xml.rels",
                "[Content_Types].xml",
                "_rels/.rels",
                "docProps/core.xml",
            )
        }
        self.root_rels = root_rels.encode()
        # The unchanged parts are compressed once; each document only deflates its own XML.
        self._root_rels_entry = _deflate("_rels/.rels", self.root_rels)
        self._static_entries = [_deflate(name, data) for name, data in self.static.items()]
        used = [int(n) for n in re.findall(r'Id="rId(\d+)"', self.rels)]
        self.first_free_rel = max(used, default=0) + 1

    def writer(self, source: str, images: dict[str, bytes] | None = None) -> BodyWriter:
        return BodyWriter(source=source, images=images or {}, first_rel=self.first_free_rel)

    def package(self, body_xml: str, media: list[Media], core: CoreInfo) -> bytes:
        """The .docx bytes: the master's parts with this body, its images and core properties."""
        rels = self.rels
        if media:
            extra = "".join(
                f'<Relationship Id="{m.rel_id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="{m.name[5:]}"/>'
                for m in media
            )
            rels = rels.replace("</Relationships>", extra + "</Relationships>")
        entries = [
            _deflate("[Content_Types].xml", self.content_types.encode()),
            self._root_rels_entry,
            _deflate("docProps/core.xml", _core_xml(core)),
            _deflate("word/document.xml", (self.doc_head + body_xml + self.doc_tail).encode()),
            _deflate("word/_rels/document.xml.rels", rels.encode()),
            *self._static_entries,
            *(_deflate(m.name, m.data) for m in media),
        ]
        return _zip(entries)


def _field(code: str, shown: str) -> str:
    """A simple field (PAGE, NUMPAGES) as runs; Word and LibreOffice update ``shown``."""
    run = '<w:r><w:rPr><w:sz w:val="18"/></w:rPr>{}</w:r>'
    return (
        run.format('<w:fldChar w:fldCharType="begin"/>')
        + run.format(f'<w:instrText xml:space="preserve"> {code} </w:instrText>')
        + run.format('<w:fldChar w:fldCharType="separate"/>')
        + run.format(f"<w:t>{shown}</w:t>")
        + run.format('<w:fldChar w:fldCharType="end"/>')
    )


def add_page_numbers(section) -> None:  # noqa: ANN001 - a python-docx Section
    """'Halaman 2 dari 3' centred in the footer from page 2 on; the first page (the kop) has
    none, so a one-page letter shows no number and every multi-page document is numbered."""
    section.different_first_page_header_footer = True
    footer = section.footer
    footer.is_linked_to_previous = False
    para = footer.paragraphs[0]._p
    for child in list(para):
        para.remove(child)
    label = '<w:r><w:rPr><w:sz w:val="18"/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r>'
    xml = (
        '<w:pPr><w:jc w:val="center"/></w:pPr>'
        + label.format("Halaman ")
        + _field("PAGE", "2")
        + label.format(" dari ")
        + _field("NUMPAGES", "2")
    )
    for element in parse_xml(f"<w:p {W_NS}>{xml}</w:p>"):
        para.append(element)


def add_example_mark(doc: Document, lines: tuple[str, ...]) -> None:
    """Put the example mark in the page header of every page (shown in Word and in the PDF):
    the first line large, bold and red, the others small below it."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import RGBColor

    section = doc.sections[0]
    # Both headers: the first page has its own (page numbers start on page 2).
    for header in (section.header, section.first_page_header):
        header.is_linked_to_previous = False
        for i, text in enumerate(lines):
            para = header.paragraphs[0] if i == 0 else header.add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = para.add_run(text)
            run.bold = True
            run.font.size = Pt(26 if i == 0 else 8)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def build_master(
    kop_markup: str,
    logo: Path | None,
    source: str = "_kop.j2",
    mark: tuple[str, ...] = (),
) -> Master:
    """Build the master with python-docx: A4, margins, Arial 11 pt, and the kop; ``mark``
    (the demo's CONTOH lines) goes in the page header."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    section.header_distance = section.footer_distance = Cm(1.25)
    add_page_numbers(section)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    rpr = normal.element.get_or_add_rPr()
    rfonts = rpr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        rfonts.set(
            f"{{http://schemas.openxmlformats.org/wordprocessingml/2006/main}}{attr}", "Arial"
        )
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.15

    writer = BodyWriter(source=source).feed(kop_markup)
    kop = parse_xml(f"<w:body {W_NS}>{writer.xml()}</w:body>")
    body = doc.element.body
    sect = body[-1]
    if logo is not None:
        table = doc.add_table(rows=1, cols=2)
        table.autofit = False
        logo_cell, text_cell = table.rows[0].cells
        logo_cell.width, text_cell.width = Cm(2.8), Cm(13.2)
        logo_cell.paragraphs[0].add_run().add_picture(str(logo), height=Cm(2.4))
        text_cell._tc.remove(text_cell.paragraphs[0]._p)
        for element in list(kop):
            text_cell._tc.append(element)
    else:
        for element in list(kop):
            sect.addprevious(element)
    rule = parse_xml(f"<w:body {W_NS}>{_para('', border_bottom=True, after=240)}</w:body>")[0]
    sect.addprevious(rule)
    if mark:
        add_example_mark(doc, mark)
    buf = io.BytesIO()
    doc.save(buf)
    return Master(buf.getvalue())
