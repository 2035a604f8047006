"""The number registers: one sequence per document family (Surat, Keputusan, Berita Acara), per
unit and year, in ``RegisterCounter``; and the classification code of each document kind.

Which family a kind belongs to, its classification code and each family's number format are
data (``letters/data/registers.yaml``, or the file named by ``PEMANTIK_LETTERS__REGISTERS_FILE``),
read by :func:`register_of`.

A number is taken with one atomic upsert that returns the new value and the register's date
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and on SQLite ≥ 3.35). The row
stays locked until the caller's transaction ends, so concurrent writers queue on it: none gets
the same number, and a rolled-back letter gives its number back (no gap). The register keeps the
date of its last number and never goes back: a number asked for an earlier date is dated the
register's date (:attr:`TakenNumber.on`), so a number issued later never carries an earlier date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlmodel import Session

from letters.errors import LetterError
from letters.formats import roman
from models.settings import NUMBER_FIELDS, get_settings

SHIPPED_REGISTERS = Path(__file__).parent / "data" / "registers.yaml"
DEFAULT_FAMILY = "surat"

_UPSERT = text(
    "INSERT INTO registercounter (family, unit, year, last_seq, last_date) "
    "VALUES (:register, :unit, :year, 1, :on) "
    "ON CONFLICT (family, unit, year) "
    "DO UPDATE SET last_seq = registercounter.last_seq + 1, "
    "last_date = CASE WHEN registercounter.last_date IS NULL "
    "OR registercounter.last_date < excluded.last_date "
    "THEN excluded.last_date ELSE registercounter.last_date END "
    "RETURNING last_seq, last_date"
)
_GIVE_BACK = text(
    "UPDATE registercounter SET last_seq = last_seq - 1, last_date = :previous "
    "WHERE family = :register AND unit = :unit AND year = :year AND last_seq = :seq"
)
_READ = text(
    "SELECT last_seq, last_date FROM registercounter "
    "WHERE family = :register AND unit = :unit AND year = :year"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Family(_Strict):
    name: str = Field(min_length=1)
    number_format: str = Field(min_length=1)


class KindEntry(_Strict):
    family: str = Field(min_length=1)
    klasifikasi: str = Field(min_length=1)


class RegistersFile(_Strict):
    example: bool = False
    families: dict[str, Family] = Field(min_length=1)
    kinds: dict[str, KindEntry] = Field(default_factory=dict)


@dataclass(frozen=True)
class RegisterEntry:
    """Where a kind takes its number: the ``family`` register, its ``klasifikasi`` code and
    the family's ``number_format``."""

    kind: str
    family: str
    family_name: str
    klasifikasi: str
    number_format: str


@dataclass(frozen=True)
class TakenNumber:
    number: str
    seq: int
    register: str
    unit: str
    klasifikasi: str
    year: int
    on: date  # the number's date: the asked date, or the register's later date
    previous_date: date | None  # the register's date before this number (for give_back)


def format_number(number_format: str, *, klasifikasi: str, seq: int, unit: str, on: date) -> str:
    """Fill the format: {klasifikasi} {urut} {unit} {tahun} {bulan} (Roman month)."""
    return number_format.format(
        klasifikasi=klasifikasi, urut=seq, unit=unit, tahun=on.year, bulan=roman(on.month)
    )


def read_data_file(path: Path, model: type[BaseModel], what: str) -> BaseModel:
    """A YAML data file validated by ``model``; a formal message naming the file and field."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return model.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise LetterError(f"berkas {what} {path} tidak dapat dibaca: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise LetterError(f"berkas {what} {path} tidak sah: {problems}") from None


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int) -> RegistersFile:
    data = read_data_file(Path(path), RegistersFile, "register")
    assert isinstance(data, RegistersFile)
    errors = [
        f"jenis '{kind}' menyebut register '{entry.family}' yang tidak ada"
        for kind, entry in data.kinds.items()
        if entry.family not in data.families
    ]
    for name, fam in data.families.items():
        fields = {f.split("}")[0] for f in fam.number_format.split("{")[1:]}
        if "urut" not in fields or not fields <= NUMBER_FIELDS:
            errors.append(
                f"format nomor register '{name}' harus memuat {{urut}} dan hanya "
                f"{', '.join('{' + f + '}' for f in sorted(NUMBER_FIELDS))}"
            )
    if DEFAULT_FAMILY not in data.families:
        errors.append(f"register '{DEFAULT_FAMILY}' wajib ada")
    if errors:
        raise LetterError(f"berkas register {path} tidak sah: " + "; ".join(errors))
    return data


def registers() -> RegistersFile:
    """The registers file in force (the installation's, else the shipped example)."""
    path = get_settings().letters.registers_file or SHIPPED_REGISTERS
    path = Path(path)
    if not path.is_file():
        raise LetterError(
            f"berkas register {path} tidak ditemukan; periksa pengaturan "
            "PEMANTIK_LETTERS__REGISTERS_FILE"
        )
    return _load(str(path.resolve()), path.stat().st_mtime_ns)


def register_of(kind: str) -> RegisterEntry:
    """The register, classification code and number format of a document kind.

    A kind the file does not list takes the Surat register and ``settings.letters.klasifikasi``.
    """
    data = registers()
    entry = data.kinds.get(kind)
    family = entry.family if entry else DEFAULT_FAMILY
    klasifikasi = entry.klasifikasi if entry else get_settings().letters.klasifikasi
    fam = data.families[family]
    return RegisterEntry(kind, family, fam.name, klasifikasi, fam.number_format)


def take_number(
    session: Session,
    *,
    on: date,
    klasifikasi: str | None = None,
    unit: str | None = None,
    number_format: str | None = None,
    register: str = DEFAULT_FAMILY,
) -> TakenNumber:
    """Take the next number of a register, inside the session's transaction.

    The number is final only when the caller commits; a rollback returns it. ``on`` is the date
    asked for; the number's date (``TakenNumber.on``) is the register's date when that is later.
    """
    settings = get_settings().letters
    families = registers().families
    if register not in families:
        raise LetterError(f"register '{register}' tidak dikenal; pilihan: {', '.join(families)}")
    unit = unit or settings.unit
    klasifikasi = klasifikasi or settings.klasifikasi
    key = {"register": register, "unit": unit, "year": on.year}
    before = session.execute(_READ, key).first()
    seq, last = session.execute(_UPSERT, {**key, "on": on}).one()
    dated = _as_date(last) or on
    number = format_number(
        number_format or families[register].number_format,
        klasifikasi=klasifikasi,
        seq=seq,
        unit=unit,
        on=dated,
    )
    previous = _as_date(before[1]) if before is not None else None
    return TakenNumber(number, seq, register, unit, klasifikasi, on.year, dated, previous)


def _as_date(value: object) -> date | None:
    """SQLite returns a DATE as text from a raw query; PostgreSQL as a date."""
    if value is None or isinstance(value, date):
        return value  # type: ignore[return-value]
    return date.fromisoformat(str(value)[:10])


def give_back(session: Session, taken: TakenNumber) -> None:
    """Undo ``take_number`` in the same transaction (the row is still locked by us)."""
    session.execute(
        _GIVE_BACK,
        {
            "register": taken.register,
            "unit": taken.unit,
            "year": taken.year,
            "seq": taken.seq,
            "previous": taken.previous_date,
        },
    )


def last_number(
    session: Session, *, year: int, register: str = DEFAULT_FAMILY, unit: str | None = None
) -> int:
    """The last sequence taken in a register (0 when it has none)."""
    row = session.execute(
        _READ, {"register": register, "unit": unit or get_settings().letters.unit, "year": year}
    ).first()
    return int(row[0]) if row else 0


def last_date(
    session: Session, *, year: int, register: str = DEFAULT_FAMILY, unit: str | None = None
) -> date | None:
    """The date of the register's last number (None when it has none)."""
    row = session.execute(
        _READ, {"register": register, "unit": unit or get_settings().letters.unit, "year": year}
    ).first()
    return _as_date(row[1]) if row else None
