"""What a reply says: confirmation keywords and sentences, delegates, statements,
acknowledgements, and an assessor's scores file. Pure functions; the reply format is the one the
automatic replies (template ``balasan_otomatis``, shown with :data:`EXAMPLES`) and :mod:`inbox`
describe.

Only the writer's own lines are read (:mod:`inbox.quotes` has split off the quote). On them:

* a line wrapped by the writer's client (hard-wrapped at 72–78 columns, or broken by an HTML
  ``<br>``) is joined to the line it continues; a line right below a delegate line that is not
  a wrap and not a new item is refused (it may be the rest of a name or jabatan), never dropped;
* a confirmation is a keyword line (``HADIR``) or a sentence ("Kami akan hadir, terima kasih.",
  "Insya Allah saya bersedia"); a negation before the word wins ("tidak dapat hadir",
  "berhalangan hadir", "tidak bersedia"), and the words after "karena" are the reason;
  a question, a condition or a hedge ("bila sempat", "mungkin", "diusahakan") is not an answer:
  it is quoted back to the writer;
* a line that is still the example from the instructions (``Delegasi: Nama Lengkap |
  Jabatan``) is refused, naming the line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from inbox.text import detect_text

# The examples the instructions show (template balasan_otomatis); never an answer.
EXAMPLES = {
    "delegasi": "Nama Lengkap | Jabatan",
    "pernyataan": "(pernyataan bebas benturan kepentingan, wajib bila bersedia)",
    "alasan": "...",
    "tanda_terima": "Diterima oleh: Nama, Nomor agenda: 123/ABC/2026, Tanggal diterima: 2026-07-02",
}
_PLACEHOLDER_VALUES = {
    "nama lengkap | jabatan",
    "nama | jabatan",
    "nama lengkap",
    "nama",
    "jabatan",
    "...",
    "…",
    "..",
    "123/abc/2026",
    "isi di sini",
}

_KEYWORD = re.compile(
    r"^\s*[*\-•]?\s*(?:konfirmasi\s*(?:kehadiran|kesediaan)?\s*:\s*)?"
    r"(tidak\s+hadir|hadir|tidak\s+bersedia|bersedia)\s*[.!]?\s*$",
    re.I,
)
_FIELD = re.compile(r"^\s*[*\-•]?\s*(delegasi(?:\s*\d+)?|pernyataan|alasan)\s*:\s*(.*)$", re.I)
_ACK_WORD = re.compile(r"^\s*(?:surat\s+)?(?:sudah\s+|telah\s+)?diterima\s*[.!]?\s*$", re.I)
_ACK_LABELS = r"diterima\s+oleh|nomor\s+agenda|no\.?\s*agenda|tanggal\s+diterima|tanggal\s+terima"
_ACK_FIELD = re.compile(
    rf"(?P<label>{_ACK_LABELS})\s*:\s*(?P<value>.*?)(?=\s*[,;]\s*(?:{_ACK_LABELS})\s*:|\s*$)",
    re.I,
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+(.+)$")
# The head of a delegates table (an HTML table or typed columns): "Nama | Jabatan".
_TABLE_HEAD = re.compile(r"^\s*(?:no\.?\s*\|\s*)?nama(?:\s+lengkap)?\s*\|\s*jabatan\s*$", re.I)
_TABLE_ROW = re.compile(r"^\s*(?:\d{1,2}\.?\s*\|\s*)?([^|]+\|[^|]+)$")
_NEW_ITEM = re.compile(r"^\s*(?:[-*•>]|\d{1,2}[.)]\s|[A-Za-z][\w .]{0,30}:)")
_CLOSING = re.compile(
    r"^\s*(?:terima\s*kasih|terimakasih|salam|hormat\s+(?:kami|saya)|wassalam|regards|best|"
    r"thanks|thank\s+you|tabik|matur\s+nuwun|demikian|atas\s+perhatian|tertanda|ttd\b)",
    re.I,
)
# Wrapped lines: the writer's client broke a line at 72–78 columns (or an HTML <br> did).
WRAP_MIN, WRAP_MAX = 72, 78

# Confirmation words, negations before them, and what makes a sentence no answer.
_ATTEND = r"(?:hadir|menghadiri|attend(?:ing)?)"
_WILLING = r"(?:bersedia|willing)"
_NEGATION = re.compile(
    r"(?:\b(?:tidak|tak|belum|enggak|nggak|gak|bukan|not|cannot|unable\s+to|won't|can't)"
    r"(?:\s+(?:dapat|bisa|akan|sempat|mampu|berkenan|jadi|pasti|untuk|be|to|able\s+to)){0,3}"
    r"|\bberhalangan(?:\s+untuk)?)\s+$",
    re.I,
)
_HEDGE = re.compile(
    r"\b(?:mungkin|kemungkinan|belum\s+pasti|usahakan|diusahakan|mengusahakan|dikabari|"
    r"dikabarkan|menyusul|belum\s+tahu|ragu|bila|jika|kalau|apabila|seandainya|maybe|"
    r"perhaps|if)\b",
    re.I,
)
_REASON = re.compile(
    r"\b(?:karena|dikarenakan|disebabkan|sebab|because)\b\s*(?:oleh\s+)?(.+)$", re.I
)
_COI = re.compile(
    r"\b(?:tidak\s+(?:memiliki|mempunyai|ada|terdapat)|tanpa|bebas(?:\s+dari)?)\s+"
    r"(?:\w+\s+){0,2}(?:benturan|konflik)\s+kepentingan\b"
    r"|\bno\s+conflict\s+of\s+interest\b",
    re.I,
)
MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "januari",
            "februari",
            "maret",
            "april",
            "mei",
            "juni",
            "juli",
            "agustus",
            "september",
            "oktober",
            "november",
            "desember",
        ],
        start=1,
    )
}


@dataclass
class ReplyContent:
    """The parts of a reply the reader understands (empty when absent)."""

    confirmation: str = ""  # "hadir" / "tidak hadir" / "bersedia" / "tidak bersedia"
    delegates: list[dict[str, str]] = field(default_factory=list)
    statement: str = ""
    reason: str = ""
    acknowledged: bool = False
    received_by: str = ""
    agenda_number: str = ""
    received_date: date | None = None
    problems: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)  # sentences that sound like an answer
    other: list[str] = field(default_factory=list)  # the writer's lines not understood


def parse_date_id(value: str) -> date | None:
    """ISO (2026-07-02), 02-07-2026, 02/07/2026 or '2 Juli 2026'; None when unreadable."""
    text = value.strip().rstrip(".")
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = re.fullmatch(r"(?:\w+,\s*)?(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})", text)
        if m and m.group(2).lower() in MONTHS:
            return date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
    except ValueError:
        return None
    return None


def shown(text: str, limit: int = 80) -> str:
    """A line as quoted back to its writer."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _place(number: int, text: str) -> str:
    return f"baris {number} ('{shown(text)}')"


def _is_placeholder(value: str) -> bool:
    text = " ".join(value.lower().split()).strip(" .,;")
    if not text:
        return False
    return (
        text in _PLACEHOLDER_VALUES
        or text + "." in _PLACEHOLDER_VALUES
        or bool(re.fullmatch(r"\(?\s*pernyataan\b.*wajib bila bersedia\s*\)?", text))
        or bool(re.fullmatch(r"[.…\s]+", value.strip()))
    )


def _wrapped(previous: str, line: str) -> bool:
    """Was ``line`` put on its own line by the client's wrapping (72–78 columns)?"""
    if not previous.strip() or not line.strip() or _NEW_ITEM.match(line) or _CLOSING.match(line):
        return False
    if _KEYWORD.match(line):
        return False
    first = line.split()[0]
    return len(previous) <= WRAP_MAX and len(previous.rstrip()) + 1 + len(first) > WRAP_MIN


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str, list[str]]]:
    """(number, text, raw lines) with wrapped continuation lines joined."""
    out: list[tuple[int, str, list[str]]] = []
    previous_raw = ""
    for number, text in lines:
        if not text.strip():
            previous_raw = ""
            continue
        if out and previous_raw and _wrapped(previous_raw, text):
            n, joined, raw = out[-1]
            out[-1] = (n, f"{joined.rstrip()} {text.strip()}", [*raw, text])
        else:
            out.append((number, text.strip(), [text]))
        previous_raw = text
    return out


def _numbered(body: Any) -> list[tuple[int, str]]:
    """The writer's lines (blank lines kept, numbered among the non-blank ones)."""
    raw = body.own if hasattr(body, "own") else str(body or "").splitlines()
    out, number = [], 0
    for line in raw:
        if line.strip():
            number += 1
            out.append((number, line.rstrip()))
        else:
            out.append((0, ""))
    return out


def _split_delegate(value: str) -> tuple[str, str]:
    """'Nama | Jabatan', 'Nama - Jabatan' or 'Nama (Jabatan)'; commas belong to titles."""
    for sep in ("|", " – ", " — ", " - "):
        if sep in value:
            name, _, title = value.partition(sep)
            return name.strip(), title.strip()
    found = re.fullmatch(r"(.+?)\s*\(([^()]+)\)\s*", value)
    if found:
        return found.group(1).strip(), found.group(2).strip()
    return value.strip(), ""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+", text) if s.strip()]


def _answer_in(sentence: str, party: str) -> tuple[str, str] | None:
    """('hadir'/'tidak hadir'/…, reason) for one sentence; ('?', '') when it mentions an
    answer without giving one; None when it mentions none."""
    # The party's own word first: "saya bersedia hadir" from an assessor is a "bersedia".
    families = [("hadir", _ATTEND), ("bersedia", _WILLING)]
    if party == "asesor":
        families.reverse()
    found: list[str] = []
    for word, pattern in families:
        for m in re.finditer(rf"\b{pattern}\b", sentence, re.I):
            negated = _NEGATION.search(sentence[: m.start()]) is not None
            found.append(f"tidak {word}" if negated else word)
        if found:
            break
    if not found and party != "asesor" and re.search(r"\bberhalangan\b", sentence, re.I):
        found.append("tidak hadir")
    if not found:
        return None
    if len(set(found)) > 1 or sentence.rstrip().endswith("?") or _HEDGE.search(sentence):
        return "?", ""
    reason = _REASON.search(sentence)
    return found[0], (reason.group(1).strip().rstrip(".!;") if reason else "")


def read_reply(body: Any, party: str = "") -> ReplyContent:
    """Read the writer's own lines (a :class:`inbox.quotes.SplitReply`, or text already without
    the quoted original). ``party`` ("wilayah" / "asesor") says whose words to look for."""
    out = ReplyContent()
    said: list[tuple[str, int, str]] = []  # (answer, line number, line)
    in_delegates = False
    after_delegate = False
    for number, line, raw in _logical_lines(_numbered(body)):
        place = _place(number, line)
        if after_delegate and not (
            _NEW_ITEM.match(line)
            or _CLOSING.match(line)
            or _KEYWORD.match(line)
            or (in_delegates and _TABLE_ROW.match(line))  # the next row of a table
        ):
            out.problems.append(
                f"{place} tidak dikenali. Bila baris ini lanjutan nama atau jabatan delegasi di "
                "atasnya, tulis satu delegasi pada satu baris (Delegasi: Nama | Jabatan); bila "
                "bukan, pisahkan dengan satu baris kosong"
            )
            after_delegate = False
            continue
        after_delegate = False
        keyword = _KEYWORD.match(line)
        if keyword:
            said.append((" ".join(keyword.group(1).lower().split()), number, line))
            in_delegates = False
            continue
        fld = _FIELD.match(line)
        if fld:
            label, value = fld.group(1).lower(), fld.group(2).strip()
            in_delegates = False
            if _is_placeholder(value):
                out.problems.append(
                    f"{place} masih berupa contoh dari petunjuk; ganti dengan isian yang sebenarnya"
                )
                continue
            if label.startswith("delegasi"):
                if not value:
                    in_delegates = True  # the delegates follow as a list
                    continue
                name, title = _split_delegate(value)
                if not name:
                    out.problems.append(
                        f"{place}: nama delegasi kosong (format: Delegasi: Nama | Jabatan)"
                    )
                else:
                    out.delegates.append({"nama": name, "jabatan": title})
                    after_delegate = len(raw) == 1
            elif label == "pernyataan":
                out.statement = value
            else:
                out.reason = value
            continue
        if _TABLE_HEAD.match(line):
            in_delegates = True  # the rows below are the delegates
            continue
        row = _TABLE_ROW.match(line) if in_delegates else None
        item = row or _LIST_ITEM.match(line)
        if in_delegates and item:
            value = item.group(1).strip()
            if _is_placeholder(value):
                out.problems.append(
                    f"{place} masih berupa contoh dari petunjuk; ganti dengan isian yang sebenarnya"
                )
                continue
            name, title = _split_delegate(value)
            out.delegates.append({"nama": name, "jabatan": title})
            after_delegate = len(raw) == 1
            continue
        in_delegates = False
        if _ACK_WORD.match(line):
            out.acknowledged = True
            continue
        if " ".join(line.lower().split()) == EXAMPLES["tanda_terima"].lower():
            out.problems.append(
                f"{place} masih berupa contoh dari petunjuk; tulis nama penerima, nomor agenda "
                "dan tanggal diterima yang sebenarnya"
            )
            continue
        acked = False
        for m in _ACK_FIELD.finditer(line):
            label = " ".join(m.group("label").lower().split())
            value = m.group("value").strip()
            if not value:
                continue
            acked = True
            if _is_placeholder(value):
                out.problems.append(
                    f"{place}: '{shown(value, 40)}' masih berupa contoh dari petunjuk; ganti "
                    "dengan isian yang sebenarnya"
                )
                continue
            out.acknowledged = True
            if label == "diterima oleh":
                out.received_by = value
            elif "agenda" in label:
                out.agenda_number = value
            else:
                day = parse_date_id(value)
                if day is None:
                    out.problems.append(
                        f"{place}: tanggal diterima '{value}' tidak dapat dibaca "
                        "(gunakan mis. 2026-07-02 atau 2 Juli 2026)"
                    )
                out.received_date = day
        if acked:
            continue
        understood = False
        for sentence in _sentences(line):
            answer = _answer_in(sentence, party)
            if answer is None:
                continue
            understood = True
            word, reason = answer
            if word == "?":
                out.unclear.append(shown(sentence, 160))
                continue
            said.append((word, number, line))
            if reason and not out.reason:
                out.reason = reason
        if not out.statement:
            for sentence in _sentences(line):
                if _COI.search(sentence):
                    out.statement, understood = sentence, True
                    break
        if not understood:
            out.other.append(shown(line, 160))
    words = list(dict.fromkeys(word for word, _, _ in said))
    if len(words) > 1:
        first = next(s for s in said if s[0] == words[0])
        other = next(s for s in said if s[0] == words[1])
        if first[1] == other[1]:
            out.problems.append(
                f"{_place(other[1], other[2])} memuat dua jawaban yang bertentangan "
                f"('{first[0].upper()}' dan '{other[0].upper()}'); tulis satu jawaban saja"
            )
        else:
            out.problems.append(
                f"{_place(other[1], other[2])}: jawaban '{other[0].upper()}' bertentangan "
                f"dengan '{first[0].upper()}' pada {_place(first[1], first[2])}; tulis satu "
                "jawaban saja"
            )
    if words:
        out.confirmation = words[0]
    return out


class ScoresFileError(ValueError):
    """A scores attachment that cannot be read; ``errors`` name the file and the place."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


SCORE_SUFFIXES = (".csv", ".json")


def _level(raw: str) -> Any:
    """A CSV level as written: '3' → 3, '3,0' or '3.0' → 3, '3,5' → 3.5 (refused later as
    not a whole number); anything else is left as text for the scores check to name."""
    text = raw.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+[.,]\d+", text):
        value = float(text.replace(",", "."))
        return int(value) if value.is_integer() else value
    return text


def parse_scores(filename: str, data: bytes) -> dict[str, dict[str, Any]]:
    """Scores from JSON ({kode: {level, note}}) or CSV (kode,tingkat,catatan), as
    ``pemantik nilai`` reads them; the level is validated by the scores door.

    A CSV may come from Excel in any locale: comma, semicolon or tab separated, UTF-8 (with or
    without BOM), UTF-16 or a legacy code page such as windows-1252 (detected); a decimal
    level ("3,5") is refused here, naming the line, as not a whole number.
    """
    name = filename or "lampiran"
    text = detect_text(data)
    if text is None:
        raise ScoresFileError(
            [
                f"{name}: isi berkas tidak dapat dibaca sebagai teks; simpan ulang sebagai "
                "CSV UTF-8 (Excel: Simpan Sebagai, pilih CSV UTF-8)"
            ]
        )
    if name.lower().endswith(".json"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScoresFileError(
                [f"{name}: bukan JSON yang sah (baris {exc.lineno}: {exc.msg})"]
            ) from None
        if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
            raise ScoresFileError([f"{name}: harus berupa objek {{kode: {{level, note}}}}"])
        return {str(k).strip(): v for k, v in parsed.items()}
    if name.lower().endswith(".csv"):
        sample = text[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
        reader.fieldnames = fields
        missing = {"kode", "tingkat"} - set(fields)
        if missing:
            raise ScoresFileError(
                [
                    f"{name} baris 1: kolom wajib tidak ada: {', '.join(sorted(missing))} "
                    "(baris pertama harus berisi judul kolom kode, tingkat, catatan)"
                ]
            )
        scores: dict[str, dict[str, Any]] = {}
        errors = []
        for line_no, row in enumerate(reader, start=2):
            code = (row.get("kode") or "").strip()
            if not code:
                continue
            raw = (row.get("tingkat") or "").strip()
            level = _level(raw)
            if isinstance(level, float):
                errors.append(
                    f"{name} baris {line_no} (kode {code}): tingkat '{raw}' harus bilangan "
                    "bulat, tanpa desimal"
                )
            if code in scores:
                errors.append(f"{name} baris {line_no}: kode {code} muncul lebih dari sekali")
            scores[code] = {"level": level, "note": (row.get("catatan") or "").strip()}
        if errors:
            raise ScoresFileError(errors)
        if not scores:
            raise ScoresFileError([f"{name}: tidak ada baris nilai"])
        return scores
    raise ScoresFileError([f"{name}: gunakan berkas .csv atau .json"])
