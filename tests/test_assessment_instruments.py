"""Instruments: the shipped files match DOMAIN.md; a bad file is refused naming file, field, line."""

from __future__ import annotations

from pathlib import Path

import pytest

from assessment.instruments import (
    BUILTIN_DIR,
    InstrumentError,
    list_instruments,
    load_instrument,
    parse_instrument,
)

DATA = Path(__file__).parent / "data"
MINI = DATA / "assessment-mini.yaml"

# (aspect code, aspect weight, first indicator, last indicator, indicator weight) per DOMAIN.md
SPBE_ASPECTS = [
    ("A1", 13, 1, 10, 1.30),
    ("A2", 10, 11, 14, 2.50),
    ("A3", 10, 15, 18, 2.50),
    ("A4", 5, 19, 20, 2.50),
    ("A5", 12, 21, 28, 1.50),
    ("A6", 4.5, 29, 31, 1.50),
    ("A7", 27.5, 32, 41, 2.75),
    ("A8", 18, 42, 47, 3.00),
]


def test_spbe_2020_structure_and_weights() -> None:
    inst = load_instrument("spbe-2020")
    assert inst.code == "spbe-2020" and inst.version
    assert [d.name for d in inst.dimensions] == [
        "Kebijakan Internal SPBE",
        "Tata Kelola SPBE",
        "Manajemen SPBE",
        "Layanan SPBE",
    ]
    assert [d.weight for d in inst.dimensions] == [13, 25, 16.5, 45.5]
    aspects = [a for d in inst.dimensions for a in d.aspects]
    assert len(aspects) == 8 and len(inst.indicators) == 47
    for (code, weight, first, last, each), aspect in zip(SPBE_ASPECTS, aspects, strict=True):
        assert aspect.code == code and aspect.weight == weight
        assert [i.code for i in aspect.indicators] == [f"I{n:02d}" for n in range(first, last + 1)]
        assert all(i.weight == pytest.approx(each) for i in aspect.indicators)
    assert all(i.name.startswith("Tingkat Kematangan ") for i in inst.indicators)
    assert inst.indicator("I01").name == "Tingkat Kematangan Kebijakan Internal Arsitektur SPBE"
    assert inst.indicator("I44").name == "Tingkat Kematangan Layanan JDIH"
    # per-indicator criteria are left empty for the admin: no invented official wording
    assert all(i.levels == {} for i in inst.indicators)
    assert [(lv.level, lv.name) for lv in inst.levels] == [
        (1, "Rintisan"),
        (2, "Terkelola"),
        (3, "Terdefinisi"),
        (4, "Terpadu dan Terukur"),
        (5, "Optimum"),
    ]
    assert sum(i.weight for i in inst.indicators) == pytest.approx(100)


@pytest.mark.parametrize(
    ("score", "predicate"),
    [
        (5.0, "Memuaskan"),
        (4.2, "Memuaskan"),
        (4.19, "Sangat Baik"),
        (3.5, "Sangat Baik"),
        (3.4999999999, "Sangat Baik"),  # float noise of an exact 3.5
        (3.49, "Baik"),
        (2.6, "Baik"),
        (2.59, "Cukup"),
        (1.8, "Cukup"),
        (1.79, "Kurang"),
        (1.0, "Kurang"),
    ],
)
def test_spbe_predicates(score: float, predicate: str) -> None:
    assert load_instrument("spbe-2020").predicate_for(score) == predicate


def test_pegi_is_marked_example() -> None:
    inst = load_instrument("pegi")
    assert inst.example is True
    assert [d.name for d in inst.dimensions] == [
        "Kebijakan",
        "Kelembagaan",
        "Infrastruktur",
        "Aplikasi",
        "Perencanaan",
    ]
    assert (inst.scale.min, inst.scale.max) == (1, 4)
    weights = {i.weight for i in inst.indicators}
    assert len(weights) == 1  # equal weights
    text = (BUILTIN_DIR / "pegi.yaml").read_text()
    assert "CONTOH" in text
    assert inst.predicate_for(3.37) == "Baik"


def test_list_and_extra_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [i.code for i in list_instruments()] == ["pegi", "spbe-2020"]
    extra = tmp_path / "instrumen"
    extra.mkdir()
    (extra / "mini.yaml").write_text(MINI.read_text())
    monkeypatch.setenv("PEMANTIK_INSTRUMENTS_DIR", str(extra))
    assert [i.code for i in list_instruments()] == ["mini", "pegi", "spbe-2020"]
    assert load_instrument("mini").indicator_codes == ["X1", "X2", "Y1", "Y2"]
    with pytest.raises(InstrumentError, match="tidak dikenal"):
        load_instrument("tidak-ada")
    monkeypatch.setenv("PEMANTIK_INSTRUMENTS_DIR", str(tmp_path / "salah"))
    with pytest.raises(InstrumentError, match="PEMANTIK_INSTRUMENTS_DIR: folder .* tidak ada"):
        list_instruments()


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = text.splitlines()
    hits = [n for n, line in enumerate(lines, start=1) if needle in line]
    return hits[occurrence - 1]


def test_indicator_weights_not_adding_up_name_the_aspect() -> None:
    text = MINI.read_text().replace("weight: 20, evidence", "weight: 25, evidence")
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text, "rusak.yaml")
    line = _line_of(text, "weight: 60", 2)  # the aspect A1 weight line
    assert exc.value.errors == [
        f"rusak.yaml baris {line} (dimensions[0].aspects[0].weight): jumlah bobot indikator "
        "65 tidak sama dengan 60"
    ]


def test_dimension_weights_not_100() -> None:
    text = MINI.read_text().replace("weight: 40\n", "weight: 30\n")  # D2 and A2 both 30
    text = text.replace("weight: 10, evidence", "weight: 0.01, evidence").replace(
        "weight: 30, evidence", "weight: 29.99, evidence"
    )
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text, "rusak.yaml")
    assert len(exc.value.errors) == 1
    assert "(dimensions)" in exc.value.errors[0]
    assert "jumlah bobot dimensi 90 tidak sama dengan 100" in exc.value.errors[0]


def test_spbe_weight_changed_is_refused_with_line() -> None:
    text = (BUILTIN_DIR / "spbe-2020.yaml").read_text().replace("weight: 2.75", "weight: 2.7", 1)
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text, "spbe-2020.yaml")
    assert "dimensions[3].aspects[0].weight" in str(exc.value)
    assert f"baris {_line_of(text, 'weight: 27.5')}" in str(exc.value)


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("  min: 1\n", "  min: satu\n", "(scale.min)", "harus bilangan bulat"),
        ('version: "1"\n', "", "(version)", "wajib diisi"),
        ("code: X2,", "kode: X2,", "dimensions[0].aspects[0].indicators[1].kode", "tidak dikenal"),
        ("code: Y2,", "code: Y1,", "dimensions[1].aspects[0].indicators[1].code", "ganda"),
        ("{name: Sedang, min: 2.5}", "{name: Sedang, min: 3.9}", "(predicates)", "berurutan"),
        ("{1: Kriteria", "{7: Kriteria", "indicators[0].levels", "di luar skala"),
    ],
)
def test_schema_errors_name_field_and_line(old: str, new: str, path: str, message: str) -> None:
    text = MINI.read_text()
    assert old in text
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text.replace(old, new, 1), "uji.yaml")
    error = next(e for e in exc.value.errors if path in e)
    assert error.startswith("uji.yaml baris ")
    assert message in error


def test_not_yaml_mapping() -> None:
    with pytest.raises(InstrumentError, match="pemetaan"):
        parse_instrument("- a\n- b\n", "daftar.yaml")
    with pytest.raises(InstrumentError, match="baris 2"):
        parse_instrument("code: x\nname: [tidak ditutup\n", "rusak.yaml")
