"""Indonesian formats: dates, times, numbers in words, Roman numerals, the decimal comma.

The one place these are written; letters, emails, reminders, the CLI and the charts call it.

    >>> long_date(date(2026, 11, 25), with_day=True)
    'Rabu, 25 November 2026'
    >>> date_in_words(date(2026, 11, 25))
    'hari Rabu tanggal dua puluh lima bulan November tahun dua ribu dua puluh enam'
    >>> number_in_words(2026), roman(11), dictum(2)
    ('dua ribu dua puluh enam', 'XI', 'KEDUA')
    >>> decimal_comma(3.425), decimal_comma(1234.5, 1)
    ('3,43', '1.234,5')

An instant (a ``datetime``) is shown in the configured zone through :func:`models.clock.local`
(naive values are UTC, as stored); a ``date`` is a calendar date and shown as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date

from models import clock

_UNITS = [
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
]

_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)

# Words kept lower case inside a title ("Dinas Komunikasi dan Informatika").
_SMALL_WORDS = frozenset(
    {"dan", "atau", "di", "ke", "dari", "yang", "untuk", "pada", "dengan", "se"}
)


def _calendar_day(value: date | datetime) -> date:
    return clock.local(value).date() if isinstance(value, datetime) else value


# ---------------------------------------------------------------- dates and times


def long_date(value: date | datetime, with_day: bool = False) -> str:
    """'25 November 2026' or, with the day, 'Rabu, 25 November 2026'."""
    pattern = "EEEE, d MMMM y" if with_day else "d MMMM y"
    return format_date(_calendar_day(value), pattern, locale="id")


def numeric_date(value: date | datetime) -> str:
    """'25-11-2026' (the date in figures, as written after a date in words)."""
    return f"{_calendar_day(value):%d-%m-%Y}"


def day_name(value: date | datetime) -> str:
    """'Senin' … 'Minggu'."""
    return format_date(_calendar_day(value), "EEEE", locale="id")


def month_name(value: date | datetime) -> str:
    """'Januari' … 'Desember'."""
    return format_date(_calendar_day(value), "MMMM", locale="id")


def date_in_words(value: date | datetime, with_hari: bool = True) -> str:
    """'hari Rabu tanggal dua puluh lima bulan November tahun dua ribu dua puluh enam'.

    ``with_hari=False`` drops the leading 'hari ' for "Pada hari ini, Rabu tanggal …".
    """
    day = _calendar_day(value)
    words = (
        f"{day_name(day)} tanggal {number_in_words(day.day)} "
        f"bulan {month_name(day)} tahun {number_in_words(day.year)}"
    )
    return f"hari {words}" if with_hari else words


def date_time(value: datetime) -> str:
    """'10 Juli 2026 pukul 14.05 WITA': an instant in the configured zone, for a letter."""
    moment = clock.local(value)
    return f"{long_date(moment.date())} pukul {moment:%H.%M} {clock.zone_label()}"


def timestamp(value: datetime | None, seconds: bool = False) -> str:
    """'2026-07-10 14:05 WITA': an instant in the configured zone, for tables; '' for None."""
    if value is None:
        return ""
    moment = clock.local(value)
    shown = f"{moment:%Y-%m-%d %H:%M:%S}" if seconds else f"{moment:%Y-%m-%d %H:%M}"
    return f"{shown} {clock.zone_label()}"


# ---------------------------------------------------------------- numbers


def number_in_words(n: int) -> str:
    """Terbilang: Indonesian words for an integer, 25 → 'dua puluh lima', 1000 → 'seribu'."""
    if n < 0:
        return "minus " + number_in_words(-n)
    if n < 12:
        return _UNITS[n]
    if n < 20:
        return f"{_UNITS[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{_UNITS[tens]} puluh" + (f" {_UNITS[rest]}" if rest else "")
    for size, word in (
        (10**12, "triliun"),
        (10**9, "miliar"),
        (10**6, "juta"),
        (1000, "ribu"),
        (100, "ratus"),
    ):
        if n >= size:
            head, rest = divmod(n, size)
            if size == 100:
                prefix = "seratus" if head == 1 else f"{_UNITS[head]} ratus"
            elif size == 1000 and head == 1:
                prefix = "seribu"
            else:
                prefix = f"{number_in_words(head)} {word}"
            return prefix + (f" {number_in_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def roman(n: int) -> str:
    """Roman numerals, 11 → 'XI' (the month in an older letter number)."""
    if n <= 0:
        raise ValueError(f"angka Romawi hanya untuk bilangan bulat positif, bukan {n}")
    out = []
    for value, numeral in _ROMAN:
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)


def dictum(n: int) -> str:
    """The dictum labels of a Keputusan: 1 → 'KESATU', 2 → 'KEDUA', 11 → 'KESEBELAS'."""
    return "KESATU" if n == 1 else "KE" + number_in_words(n).upper()


def alphabetic(n: int) -> str:
    """List letters from 0: 0 → 'a', 1 → 'b', … 25 → 'z', 26 → 'aa'."""
    letters = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(97 + rem) + letters
    return letters


def as_decimal(value: float | int | str | Decimal) -> Decimal:
    """The exact decimal a figure is written as: a float by its shortest repr (3.425, stored as
    3.42499…, is 3.425), an int or a numeric string as it is. The one way a float becomes a
    Decimal, so every score is rounded from the number a person would write."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("nilai logika bukan angka")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value.strip())
    return Decimal(repr(float(value)))


def half_up(value: float | int | str | Decimal, digits: int = 2) -> Decimal:
    """Rounded half up (away from zero at .5) to ``digits`` decimals: 3.425 → 3.43, 3.135 → 3.14."""
    return as_decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def decimal_comma(value: float | int | Decimal | None, digits: int = 2) -> str:
    """3.425 → '3,43', 1234.5 → '1.234,50': rounded half up, comma decimals, dot thousands.

    Rounding works on the decimal the value is written as (:func:`as_decimal`), not on the
    binary float, so 3.425 (stored as 3.42499…) still rounds up. None → '-'.
    """
    if value is None:
        return "-"
    rounded = half_up(value, digits)
    if rounded.is_zero():
        rounded = abs(rounded)  # no '-0,00'
    text = f"{rounded:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def file_size(size: float) -> str:
    """A file's size as a person reads it: '820 KB' under a megabyte, else '2,5 MB'."""
    if size < 1048576:
        return f"{max(1, round(size / 1024))} KB"
    return f"{decimal_comma(size / 1048576, 1)} MB"


# ---------------------------------------------------------------- words


def title_case(text: str) -> str:
    """Title case the Indonesian way: 'DINAS KOMUNIKASI DAN INFORMATIKA' → 'Dinas Komunikasi dan
    Informatika' (conjunctions and prepositions stay lower case, except the first word)."""
    words = text.split()
    return " ".join(
        w.lower() if i and w.lower() in _SMALL_WORDS else w[:1].upper() + w[1:].lower()
        for i, w in enumerate(words)
    )
