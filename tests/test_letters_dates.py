"""Indonesian dates and numbers in words (letters.dates) and the template filters."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from letters.dates import (
    date_in_words_id,
    day_name_id,
    format_date_id,
    month_name_id,
    number_to_words_id,
)
from letters.render import FILTERS


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
    assert number_to_words_id(n) == words


def test_dates_in_indonesian():
    d = date(2026, 11, 25)
    assert format_date_id(d) == "25 November 2026"
    assert format_date_id(d, with_day=True) == "Rabu, 25 November 2026"
    assert format_date_id(date(2026, 2, 1)) == "1 Februari 2026"
    assert [day_name_id(date(2026, 11, 23 + i)) for i in range(7)] == [
        "Senin",
        "Selasa",
        "Rabu",
        "Kamis",
        "Jumat",
        "Sabtu",
        "Minggu",
    ]
    assert month_name_id(date(2026, 8, 1)) == "Agustus"
    assert date_in_words_id(d) == (
        "hari Rabu tanggal dua puluh lima bulan November tahun dua ribu dua puluh enam"
    )
    assert date_in_words_id(date(2027, 1, 1), with_hari=False) == (
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
