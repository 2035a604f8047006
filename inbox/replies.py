"""What a reply says: confirmation keywords, delegates, statements, acknowledgements, and an
assessor's scores file. Pure functions; the reply format is the one the automatic replies
(template ``balasan_otomatis``) and :mod:`inbox` describe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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


def read_reply(body: str) -> ReplyContent:
    """Read the reply text (already without the quoted original)."""
    out = ReplyContent()
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            word = " ".join(keyword.group(1).lower().split())
            if out.confirmation and out.confirmation != word:
                out.problems.append(
                    f"baris {number}: jawaban '{word.upper()}' bertentangan dengan "
                    f"'{out.confirmation.upper()}' sebelumnya"
                )
            out.confirmation = word
            continue
        fld = _FIELD.match(line)
        if fld:
            label, value = fld.group(1).lower(), fld.group(2).strip()
            if label.startswith("delegasi"):
                name, _, title = value.partition("|")
                if not name.strip():
                    out.problems.append(
                        f"baris {number}: nama delegasi kosong (format: Delegasi: Nama | Jabatan)"
                    )
                else:
                    out.delegates.append({"nama": name.strip(), "jabatan": title.strip()})
            elif label == "pernyataan":
                out.statement = value
            else:
                out.reason = value
            continue
        if _ACK_WORD.match(line):
            out.acknowledged = True
            continue
        for m in _ACK_FIELD.finditer(line):
            label = " ".join(m.group("label").lower().split())
            value = m.group("value").strip()
            if not value:
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
                        f"baris {number}: tanggal diterima '{value}' tidak dapat dibaca "
                        "(gunakan mis. 2026-07-02 atau 2 Juli 2026)"
                    )
                out.received_date = day
    return out


class ScoresFileError(ValueError):
    """A scores attachment that cannot be read; ``errors`` name the file and the place."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


SCORE_SUFFIXES = (".csv", ".json")


def parse_scores(filename: str, data: bytes) -> dict[str, dict[str, Any]]:
    """Scores from JSON ({kode: {level, note}}) or CSV (kode,tingkat,catatan), as
    ``pemantik nilai`` reads them; the level is validated by the scores door."""
    name = filename or "lampiran"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScoresFileError([f"{name}: bukan teks UTF-8"]) from None
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
        sample = text[:2048]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        reader.fieldnames = fields
        missing = {"kode", "tingkat"} - set(fields)
        if missing:
            raise ScoresFileError([f"{name}: kolom wajib tidak ada: {', '.join(sorted(missing))}"])
        scores: dict[str, dict[str, Any]] = {}
        errors = []
        for line_no, row in enumerate(reader, start=2):
            code = (row.get("kode") or "").strip()
            if not code:
                continue
            raw = (row.get("tingkat") or "").strip()
            level: Any = int(raw) if raw.isdigit() else raw
            if code in scores:
                errors.append(f"{name} baris {line_no}: kode {code} muncul lebih dari sekali")
            scores[code] = {"level": level, "note": (row.get("catatan") or "").strip()}
        if errors:
            raise ScoresFileError(errors)
        if not scores:
            raise ScoresFileError([f"{name}: tidak ada baris nilai"])
        return scores
    raise ScoresFileError([f"{name}: gunakan berkas .csv atau .json"])
