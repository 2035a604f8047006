"""Indonesian dates (babel) and numbers in words, for letters and the Berita Acara."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date

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


def format_date_id(value: date | datetime, with_day: bool = False) -> str:
    """'25 November 2026' or, with the day, 'Rabu, 25 November 2026'."""
    pattern = "EEEE, d MMMM y" if with_day else "d MMMM y"
    return format_date(value, pattern, locale="id")


def day_name_id(value: date) -> str:
    return format_date(value, "EEEE", locale="id")


def month_name_id(value: date) -> str:
    return format_date(value, "MMMM", locale="id")


def number_to_words_id(n: int) -> str:
    """Indonesian words for a non-negative integer: 25 → 'dua puluh lima'."""
    if n < 0:
        return "minus " + number_to_words_id(-n)
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
                prefix = f"{number_to_words_id(head)} {word}"
            return prefix + (f" {number_to_words_id(rest)}" if rest else "")
    raise AssertionError("unreachable")


def date_in_words_id(value: date, with_hari: bool = True) -> str:
    """'hari Rabu tanggal dua puluh lima bulan November tahun dua ribu dua puluh enam'.

    ``with_hari=False`` drops the leading 'hari ' for "Pada hari ini, Rabu tanggal …".
    """
    words = (
        f"{day_name_id(value)} tanggal {number_to_words_id(value.day)} "
        f"bulan {month_name_id(value)} tahun {number_to_words_id(value.year)}"
    )
    return f"hari {words}" if with_hari else words
