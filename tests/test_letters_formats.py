"""Indonesian formats (letters.formats) and the template filters built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from letters import formats
from letters.formats import (
    date_in_words,
    date_time,
    day_name,
    decimal_comma,
    long_date,
    month_name,
    number_in_words,
    numeric_date,
    roman,
    timestamp,
)
from letters.render import FILTERS
from mail.render import environment as mail_environment


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (25, "dua puluh lima"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (111, "seratus sebelas"),
        (250, "dua ratus lima puluh"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (1945, "seribu sembilan ratus empat puluh lima"),
        (2026, "dua ribu dua puluh enam"),
        (11000, "sebelas ribu"),
        (100000, "seratus ribu"),
        (1_000_000, "satu juta"),
        (2_500_000, "dua juta lima ratus ribu"),
        (3_000_000_000, "tiga miliar"),
        (-7, "minus tujuh"),
    ],
)
def test_number_to_words(n, words):
    assert number_in_words(n) == words


def test_dates_in_indonesian():
    d = date(2026, 11, 25)
    assert long_date(d) == "25 November 2026"
    assert long_date(d, with_day=True) == "Rabu, 25 November 2026"
    assert long_date(date(2026, 2, 1)) == "1 Februari 2026"
    assert [day_name(date(2026, 11, 23 + i)) for i in range(7)] == [
        "Senin",
        "Selasa",
        "Rabu",
        "Kamis",
        "Jumat",
        "Sabtu",
        "Minggu",
    ]
    assert month_name(date(2026, 8, 1)) == "Agustus"
    assert date_in_words(d) == (
        "hari Rabu tanggal dua puluh lima bulan November tahun dua ribu dua puluh enam"
    )
    assert date_in_words(date(2027, 1, 1), with_hari=False) == (
        "Jumat tanggal satu bulan Januari tahun dua ribu dua puluh tujuh"
    )


def test_template_filters():
    assert FILTERS["angka"](3.372) == "3,37"
    assert FILTERS["angka"](1234.5, 1) == "1.234,5"
    assert FILTERS["angka"](None) == "-"
    assert [FILTERS["romawi"](m) for m in (1, 4, 9, 11, 12)] == ["I", "IV", "IX", "XI", "XII"]
    assert [FILTERS["diktum"](n) for n in (1, 2, 3, 10, 11)] == [
        "KESATU",
        "KEDUA",
        "KETIGA",
        "KESEPULUH",
        "KESEBELAS",
    ]
    assert [FILTERS["abjad"](n) for n in (0, 1, 25, 26)] == ["a", "b", "z", "aa"]
    assert (
        FILTERS["waktu"](datetime.fromisoformat("2026-07-10T06:05:00+00:00"))
        == "10 Juli 2026 pukul 14.05 WITA"
    )


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        # Half up on the written decimal, not on the binary float (3.425 is 3.42499… in binary).
        (3.425, 2, "3,43"),
        (3.135, 2, "3,14"),
        (3.025, 2, "3,03"),
        (2.675, 2, "2,68"),
        (1.005, 2, "1,01"),
        (0.125, 2, "0,13"),
        (3.372, 2, "3,37"),
        (3.0, 2, "3,00"),
        (3, 2, "3,00"),
        (4.35, 1, "4,4"),
        (2.5, 0, "3"),
        (-3.425, 2, "-3,43"),
        (-0.001, 2, "0,00"),
        (1234.5, 1, "1.234,5"),
        (1234567.891, 2, "1.234.567,89"),
        (Decimal("3.445"), 2, "3,45"),
        (None, 2, "-"),
    ],
)
def test_decimal_comma_rounds_half_up_exactly(value, digits, text):
    assert decimal_comma(value, digits) == text


def test_decimal_comma_is_the_same_in_letters_and_emails():
    env = mail_environment()
    for value in (3.425, 3.135, 3.025):
        rendered = env.from_string("{{ v|angka }}").render(v=value)
        assert rendered == FILTERS["angka"](value) == decimal_comma(value)


def test_roman_numerals():
    assert [roman(n) for n in (1, 3, 4, 9, 14, 40, 90, 400, 1994, 2026)] == [
        "I",
        "III",
        "IV",
        "IX",
        "XIV",
        "XL",
        "XC",
        "CD",
        "MCMXCIV",
        "MMXXVI",
    ]
    with pytest.raises(ValueError, match="Romawi"):
        roman(0)


def test_instants_are_shown_in_the_configured_zone():
    late_utc = datetime(2026, 7, 1, 17, 30, tzinfo=UTC)  # 01.30 on 2 July in WITA
    assert long_date(late_utc) == "2 Juli 2026"
    assert numeric_date(late_utc) == "02-07-2026"
    assert numeric_date(date(2026, 11, 25)) == "25-11-2026"
    assert day_name(late_utc) == "Kamis" and month_name(late_utc) == "Juli"
    assert date_time(late_utc) == "2 Juli 2026 pukul 01.30 WITA"
    # Stored values are UTC; a naive one is read as UTC too.
    assert date_time(late_utc.replace(tzinfo=None)) == "2 Juli 2026 pukul 01.30 WITA"
    assert timestamp(late_utc) == "2026-07-02 01:30 WITA"
    assert timestamp(late_utc, seconds=True) == "2026-07-02 01:30:00 WITA"
    assert timestamp(None) == ""


def test_title_case_and_list_letters():
    assert formats.title_case("DINAS KOMUNIKASI DAN INFORMATIKA") == (
        "Dinas Komunikasi dan Informatika"
    )
    assert formats.title_case("di atas") == "Di Atas"
    assert [formats.alphabetic(n) for n in (0, 25, 26, 27, 701, 702)] == [
        "a",
        "z",
        "aa",
        "ab",
        "zz",
        "aaa",
    ]
