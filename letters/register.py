"""The letter-number register: one counter per (unit, klasifikasi, year) in ``LetterCounter``.

A number is taken with one atomic upsert that returns the new value
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and on SQLite ≥ 3.35). The row
stays locked until the caller's transaction ends, so concurrent writers queue on it: none gets
the same number, and a rolled-back letter gives its number back (no gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlmodel import Session

from letters.formats import roman
from models.settings import get_settings

_UPSERT = text(
    "INSERT INTO lettercounter (unit, klasifikasi, year, last_seq) "
    "VALUES (:unit, :klasifikasi, :year, 1) "
    "ON CONFLICT (unit, klasifikasi, year) "
    "DO UPDATE SET last_seq = lettercounter.last_seq + 1 "
    "RETURNING last_seq"
)
_GIVE_BACK = text(
    "UPDATE lettercounter SET last_seq = last_seq - 1 "
    "WHERE unit = :unit AND klasifikasi = :klasifikasi AND year = :year AND last_seq = :seq"
)


@dataclass(frozen=True)
class TakenNumber:
    number: str
    seq: int
    unit: str
    klasifikasi: str
    year: int


def format_number(number_format: str, *, klasifikasi: str, seq: int, unit: str, on: date) -> str:
    """Fill the settings' format: {klasifikasi} {urut} {unit} {tahun} {bulan} (Roman month)."""
    return number_format.format(
        klasifikasi=klasifikasi, urut=seq, unit=unit, tahun=on.year, bulan=roman(on.month)
    )


def take_number(
    session: Session,
    *,
    on: date,
    klasifikasi: str | None = None,
    unit: str | None = None,
    number_format: str | None = None,
) -> TakenNumber:
    """Take the next number of the register, inside the session's transaction.

    The number is final only when the caller commits; a rollback returns it.
    """
    settings = get_settings().letters
    unit = unit or settings.unit
    klasifikasi = klasifikasi or settings.klasifikasi
    seq = session.execute(
        _UPSERT, {"unit": unit, "klasifikasi": klasifikasi, "year": on.year}
    ).scalar_one()
    number = format_number(
        number_format or settings.number_format, klasifikasi=klasifikasi, seq=seq, unit=unit, on=on
    )
    return TakenNumber(number=number, seq=seq, unit=unit, klasifikasi=klasifikasi, year=on.year)


def give_back(session: Session, taken: TakenNumber) -> None:
    """Undo ``take_number`` in the same transaction (the row is still locked by us)."""
    session.execute(
        _GIVE_BACK,
        {
            "unit": taken.unit,
            "klasifikasi": taken.klasifikasi,
            "year": taken.year,
            "seq": taken.seq,
        },
    )


def last_number(
    session: Session, *, year: int, klasifikasi: str | None = None, unit: str | None = None
) -> int:
    """The last sequence taken (0 when the register has none)."""
    settings = get_settings().letters
    value = session.execute(
        text(
            "SELECT last_seq FROM lettercounter WHERE unit = :unit AND klasifikasi = :k AND year = :y"
        ),
        {"unit": unit or settings.unit, "k": klasifikasi or settings.klasifikasi, "y": year},
    ).scalar_one_or_none()
    return int(value or 0)
