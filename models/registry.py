"""Reference data loaded from files: regions (Kab/Kota) and the assessor pool.

An import is all-or-nothing: every row is checked first, every error is reported with its line
number, and nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from models.tables import Assessor, Region

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_REGIONS_FILE = DATA_DIR / "regions-kaltim.csv"
DEFAULT_ASSESSORS_FILE = DATA_DIR / "assessors-example.csv"

REGION_COLUMNS = ["kode", "nama", "jenis", "pic_nama", "pic_email"]
REGION_OPTIONAL = ["provinsi", "kepala_jabatan", "kepala_email", "kepala_daerah_email", "alamat"]
ASSESSOR_COLUMNS = ["nama", "email"]
ASSESSOR_OPTIONAL = ["instansi", "jabatan", "nip", "wilayah_asal"]
REGION_CODE = re.compile(r"^\d{2}\.\d{2}$")


class RegistryImportError(ValueError):
    """A file refused whole; ``errors`` lists every problem as 'baris N: ...'."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{source} ditolak ({len(errors)} kesalahan):\n  " + "\n  ".join(errors))


def check_email(value: str) -> str | None:
    """The normalised address, or None when it is not a valid email address."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@dataclass
class _Rows:
    rows: list[tuple[int, dict[str, str]]]
    errors: list[str]


def _read_csv(text: str, required: list[str]) -> _Rows:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        return _Rows([], [f"baris 1: kolom wajib tidak ada: {', '.join(missing)}"])
    rows = []
    for line_no, row in enumerate(reader, start=2):
        rows.append((line_no, {k.strip(): (v or "").strip() for k, v in row.items() if k}))
    return _Rows(rows, [])


def parse_regions(text: str, source: str = "berkas wilayah") -> list[Region]:
    parsed = _read_csv(text, REGION_COLUMNS)
    errors = parsed.errors
    regions: list[Region] = []
    seen: dict[str, int] = {}
    for line, row in parsed.rows:
        code = row.get("kode", "")
        if not REGION_CODE.match(code):
            errors.append(f"baris {line}: kode wilayah '{code}' tidak sesuai format NN.NN")
        elif code in seen:
            errors.append(
                f"baris {line}: kode wilayah {code} ganda (sudah ada di baris {seen[code]})"
            )
        else:
            seen[code] = line
        for col in ("nama", "pic_nama"):
            if not row.get(col):
                errors.append(f"baris {line}: kolom {col} kosong")
        if row.get("jenis") not in ("Kabupaten", "Kota"):
            errors.append(
                f"baris {line}: jenis harus 'Kabupaten' atau 'Kota', bukan '{row.get('jenis')}'"
            )
        email = check_email(row.get("pic_email", ""))
        if email is None:
            errors.append(
                f"baris {line}: pic_email '{row.get('pic_email', '')}' bukan alamat email yang sah"
            )
        head_email = row.get("kepala_email", "")
        if head_email and check_email(head_email) is None:
            errors.append(f"baris {line}: kepala_email '{head_email}' bukan alamat email yang sah")
        leader_email = row.get("kepala_daerah_email", "")
        if leader_email and check_email(leader_email) is None:
            errors.append(
                f"baris {line}: kepala_daerah_email '{leader_email}' bukan alamat email yang sah"
            )
        if not errors:
            regions.append(
                Region(
                    code=code,
                    name=row["nama"],
                    kind=row["jenis"],
                    province=row.get("provinsi", ""),
                    pic_name=row["pic_nama"],
                    pic_email=email or "",
                    head_title=row.get("kepala_jabatan", ""),
                    head_email=check_email(head_email) or "" if head_email else "",
                    leader_email=check_email(leader_email) or "" if leader_email else "",
                    address=row.get("alamat", ""),
                )
            )
    if not parsed.rows and not errors:
        errors.append("berkas tidak memuat satu baris data pun")
    if errors:
        raise RegistryImportError(source, errors)
    return regions


def parse_assessors(
    text: str, known_regions: set[str], source: str = "berkas asesor"
) -> list[Assessor]:
    parsed = _read_csv(text, ASSESSOR_COLUMNS)
    errors = parsed.errors
    result: list[Assessor] = []
    seen: dict[str, int] = {}
    for line, row in parsed.rows:
        if not row.get("nama"):
            errors.append(f"baris {line}: kolom nama kosong")
        email = check_email(row.get("email", ""))
        if email is None:
            errors.append(
                f"baris {line}: email '{row.get('email', '')}' bukan alamat email yang sah"
            )
        elif email in seen:
            errors.append(f"baris {line}: email {email} ganda (sudah ada di baris {seen[email]})")
        else:
            seen[email] = line
        home = row.get("wilayah_asal", "") or None
        if home and home not in known_regions:
            errors.append(f"baris {line}: wilayah_asal {home} tidak dikenal")
        nip = row.get("nip", "")
        if nip and not re.fullmatch(r"\d{18}", nip):
            errors.append(f"baris {line}: NIP '{nip}' harus 18 digit angka")
        if not errors:
            result.append(
                Assessor(
                    name=row["nama"],
                    email=email or "",
                    institution=row.get("instansi", ""),
                    jabatan=row.get("jabatan", ""),
                    nip=nip,
                    home_region_code=home,
                )
            )
    if not parsed.rows and not errors:
        errors.append("berkas tidak memuat satu baris data pun")
    if errors:
        raise RegistryImportError(source, errors)
    return result


def import_regions(session: Session, path: Path) -> list[Region]:
    """Upsert the regions of a file (all or nothing). Returns the imported regions."""
    regions = parse_regions(Path(path).read_text(encoding="utf-8"), source=str(path))
    for region in regions:
        session.merge(region)
    session.flush()
    return regions


def import_assessors(session: Session, path: Path) -> list[Assessor]:
    known = {code for code in session.exec(select(Region.code))}
    assessors = parse_assessors(Path(path).read_text(encoding="utf-8"), known, source=str(path))
    stored = []
    for assessor in assessors:
        existing = session.exec(select(Assessor).where(Assessor.email == assessor.email)).first()
        if existing:
            for field in ("name", "institution", "jabatan", "nip", "home_region_code"):
                setattr(existing, field, getattr(assessor, field))
            assessor = existing
        session.add(assessor)
        stored.append(assessor)
    session.flush()
    return stored


def ensure_reference_data(session: Session) -> None:
    """Load the shipped regions and example assessors into an empty database."""
    if session.exec(select(Region)).first() is None:
        import_regions(session, DEFAULT_REGIONS_FILE)
    if session.exec(select(Assessor)).first() is None:
        import_assessors(session, DEFAULT_ASSESSORS_FILE)
