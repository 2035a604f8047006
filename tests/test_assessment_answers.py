"""The Lembar Kuesioner round trip and every bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from assessment.answers import (
    AnswerValidationError,
    parse_answers_json,
    parse_workbook,
    validate_and_store,
)
from assessment.instruments import load_instrument
from assessment.workbook import META_SHEET, build_questionnaire
from models.tables import AnswerSet, Cycle, Region

MINI = Path(__file__).parent / "data" / "assessment-mini.yaml"


@pytest.fixture
def spbe():
    return load_instrument("spbe-2020")


@pytest.fixture
def mini():
    return load_instrument(MINI)


@pytest.fixture
def cycle(session) -> Cycle:
    for code, name in (("64.72", "Kota Samarinda"), ("64.71", "Kota Balikpapan")):
        session.add(Region(code=code, name=name, pic_name="PIC", pic_email=f"pic{code}@x.id"))
    row = Cycle(year=2026, instrument_code="spbe-2020", start_date=date(2026, 7, 1))
    session.add(row)
    session.flush()
    return row


def make(inst, path: Path, *, cycle_id: int = 1, region: str = "64.72") -> Path:
    return build_questionnaire(
        inst,
        cycle_year=2026,
        cycle_id=cycle_id,
        region_code=region,
        region_name="Kota Samarinda",
        out_path=path,
    )


def layout_of(wb) -> dict[str, list]:
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    return json.loads(meta["layout"])


def fill(src: Path, dst: Path, level=lambda i, code: i % 5 + 1, **cells) -> Path:
    """Fill the workbook as a region would: a level and an evidence link per indicator.

    ``cells`` overrides single answers: ``I03=("D", None)`` empties I03's level cell.
    """
    wb = openpyxl.load_workbook(src)
    from assessment.workbook import fill_identity

    fill_identity(wb)
    for i, (code, (sheet, row)) in enumerate(layout_of(wb).items()):
        ws = wb[sheet]
        ws.cell(row=row, column=4, value=level(i, code))
        ws.cell(row=row, column=5, value=f"https://bukti.example/{code}")
        ws.cell(row=row, column=6, value="")
    for code, (column, value) in cells.items():
        sheet, row = layout_of(wb)[code]
        wb[sheet][f"{column}{row}"] = value
    wb.save(dst)
    return dst


def test_workbook_structure(spbe, tmp_path: Path) -> None:
    path = make(spbe, tmp_path / "kuesioner.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "Petunjuk",
        "Identitas",
        "Kebijakan Internal SPBE",
        "Tata Kelola SPBE",
        "Manajemen SPBE",
        "Layanan SPBE",
        META_SHEET,
    ]
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert "Petunjuk pengisian:" in [c.value for c in wb["Petunjuk"]["A"]]
    layout = layout_of(wb)
    assert list(layout) == spbe.indicator_codes
    sheet, row = layout["I01"]
    ws = wb[sheet]
    assert ws.protection.sheet is True
    assert ws.cell(row, 1).value == "I01"
    assert ws.cell(row, 2).value == "Tingkat Kematangan Kebijakan Internal Arsitektur SPBE"
    assert ws.cell(row, 8).value == spbe.levels[0].description  # level 1 description
    # only the answer cells are unlocked
    assert [ws.cell(row, c).protection.locked for c in range(1, 8)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        True,
    ]
    dv = ws.data_validations.dataValidation[0]
    assert dv.type == "list" and dv.formula1 == '"1,2,3,4,5"'
    assert f"D{row}" in str(dv.sqref)
    assert dv.showInputMessage and dv.prompt.startswith("Pilih tingkat")  # a visible prompt
    # The input column (D) is inside the frozen part: it stays in view as the criteria scroll.
    assert ws.freeze_panes == "E5"
    assert sum(ws.column_dimensions[c].width for c in "ABCD") <= 90
    assert ws.row_dimensions[row].height > 15  # rows tall enough for the wrapped criteria
    setup = ws.page_setup
    assert setup.orientation == "landscape" and setup.fitToWidth == 1 and setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$4:$4"
    # One term (the instrument's "Domain") and decimal commas.
    titles = [wb[t]["A1"].value for t in wb.sheetnames[2:-1]]
    assert all(t.startswith("Domain ") for t in titles)
    assert "Domain Manajemen SPBE (bobot 16,5%)" in titles
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    assert (meta["cycle_id"], meta["region_code"], meta["instrument_version"]) == (
        1,
        "64.72",
        spbe.version,
    )
    assert len(meta["checksum"]) == 64


def test_round_trip_and_versions(session, cycle, spbe, tmp_path: Path) -> None:
    blank = make(spbe, tmp_path / "kuesioner.xlsx", cycle_id=cycle.id)
    filled = fill(blank, tmp_path / "jawaban.xlsx", I05=("F", "catatan wilayah"))
    first = validate_and_store(
        session,
        spbe,
        cycle_id=cycle.id,
        region_code="64.72",
        source="xlsx",
        submitted_by="pic@samarinda.go.id",
        path=filled,
    )
    assert first.version == 1 and first.instrument_version == spbe.version
    assert len(first.sha256) == 64 and first.source == "xlsx"
    assert first.answers["I01"] == {
        "level": 1,
        "evidence": "https://bukti.example/I01",
        "note": "",
    }
    assert first.answers["I05"]["note"] == "catatan wilayah"
    assert [a["level"] for a in first.answers.values()] == [i % 5 + 1 for i in range(47)]
    again = fill(blank, tmp_path / "jawaban2.xlsx", level=lambda i, c: 3)
    second = validate_and_store(
        session,
        spbe,
        cycle_id=cycle.id,
        region_code="64.72",
        source="xlsx",
        submitted_by="pic",
        path=again,
    )
    assert second.version == 2
    rows = session.exec(select(AnswerSet).order_by(AnswerSet.version)).all()
    assert [r.version for r in rows] == [1, 2]
    assert rows[0].answers["I01"]["level"] == 1  # version 1 kept as it was
    assert {a["level"] for a in rows[1].answers.values()} == {3}


def test_levels_typed_as_text_digits_and_float(spbe, tmp_path: Path) -> None:
    blank = make(spbe, tmp_path / "k.xlsx")
    filled = fill(blank, tmp_path / "j.xlsx", I01=("D", "4"), I02=("D", 2.0))
    payload = parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")
    assert (payload.answers["I01"].level, payload.answers["I02"].level) == (4, 2)


def test_every_cell_error_named(spbe, tmp_path: Path) -> None:
    blank = make(spbe, tmp_path / "k.xlsx")
    filled = fill(
        blank,
        tmp_path / "j.xlsx",
        I01=("D", 7),
        I02=("D", "tiga"),
        I03=("D", None),
        I04=("E", None),
        I12=("D", 2.5),
    )
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")
    layout = layout_of(openpyxl.load_workbook(filled))
    k = "Lembar 'Kebijakan Internal SPBE' sel"
    r = {code: layout[code][1] for code in ("I01", "I02", "I03", "I04", "I12")}
    assert exc.value.errors == [
        f"{k} D{r['I01']} (I01): tingkat 7 di luar skala 1–5",
        f"{k} D{r['I02']} (I02): berisi teks 'tiga', seharusnya angka tingkat 1–5",
        f"{k} D{r['I03']} (I03): tingkat belum diisi (pilih 1–5)",
        f"{k} E{r['I04']} (I04): bukti dukung wajib diisi",
        f"Lembar 'Tata Kelola SPBE' sel D{r['I12']} (I12): tingkat 2,5 harus bilangan bulat 1–5, tanpa desimal",
    ]


def test_evidence_optional_where_instrument_says(mini, tmp_path: Path) -> None:
    blank = make(mini, tmp_path / "k.xlsx")
    filled = fill(blank, tmp_path / "j.xlsx", X2=("E", None))
    assert (
        parse_workbook(filled, mini, cycle_id=1, region_code="64.72").answers["X2"].evidence == ""
    )
    filled = fill(blank, tmp_path / "j2.xlsx", X1=("E", "  "))
    with pytest.raises(AnswerValidationError, match=r"sel E\d+ \(X1\): bukti dukung wajib"):
        parse_workbook(filled, mini, cycle_id=1, region_code="64.72")


def test_other_region_or_cycle(spbe, tmp_path: Path) -> None:
    filled = fill(make(spbe, tmp_path / "k.xlsx", cycle_id=1), tmp_path / "j.xlsx")
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.71")
    assert exc.value.errors == [
        "Berkas 'j.xlsx' adalah Lembar Kuesioner untuk wilayah 64.72 (Kota Samarinda), "
        "bukan untuk wilayah 64.71"
    ]
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=2, region_code="64.72", cycle_year=2027)
    assert "tahun 2026, bukan tahun 2027" in str(exc.value) and "id" not in str(exc.value)
    with pytest.raises(AnswerValidationError, match="tahun 2026 yang sudah tidak berlaku"):
        parse_workbook(filled, spbe, cycle_id=2, region_code="64.72")
    with pytest.raises(AnswerValidationError, match="memakai instrumen spbe-2020"):
        parse_workbook(filled, load_instrument("pegi"), cycle_id=1, region_code="64.72")


@pytest.mark.parametrize("change", ["region", "layout", "checksum", "delete"])
def test_tampered_metadata(spbe, tmp_path: Path, change: str) -> None:
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    wb = openpyxl.load_workbook(filled)
    ms = wb[META_SHEET]
    if change == "region":
        ms["B4"] = "64.71"  # a region re-labelling another region's workbook
    elif change == "layout":
        layout = layout_of(wb)
        layout["I01"][1] += 1
        ms["B8"] = json.dumps(layout)
    elif change == "checksum":
        ms["B9"] = "0" * 64
    else:
        del wb[META_SHEET]
    wb.save(filled)
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.71")
    text = str(exc.value)
    if change == "delete":
        assert "bukan Lembar Kuesioner PeManTIK" in text
    else:
        assert "telah diubah (checksum tidak cocok)" in text


def test_moved_rows_detected(spbe, tmp_path: Path) -> None:
    """One message per sheet naming the row, not one per indicator below it."""
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    wb = openpyxl.load_workbook(filled)
    sheet, row = layout_of(wb)["I02"]
    wb[sheet].insert_rows(row)
    wb.save(filled)
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")
    [message] = exc.value.errors
    assert f"1 baris disisipkan pada baris {row}" in message and "I02" in message

    removed = fill(make(spbe, tmp_path / "k2.xlsx"), tmp_path / "j2.xlsx")
    wb = openpyxl.load_workbook(removed)
    sheet, row = layout_of(wb)["I03"]
    wb[sheet].delete_rows(row)
    wb.save(removed)
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(removed, spbe, cycle_id=1, region_code="64.72")
    [message] = exc.value.errors
    assert f"baris indikator I03 (baris {row}) dihapus" in message


def test_merged_cells_named_with_unmerge(spbe, tmp_path: Path) -> None:
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    wb = openpyxl.load_workbook(filled)
    sheet, row = layout_of(wb)["I04"]
    wb[sheet].protection.sheet = False
    wb[sheet].merge_cells(f"D{row}:D{row + 2}")  # the person sees one "3" over three rows
    wb.save(filled)
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")
    [message] = exc.value.errors
    assert f"sel D{row}:D{row + 2} digabung" in message and "Unmerge" in message
    assert "belum diisi" not in message


def test_password_protected_and_old_format_workbooks(spbe, tmp_path: Path) -> None:
    import io

    import msoffcrypto.format.ooxml

    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    locked = tmp_path / "terkunci.xlsx"
    with open(filled, "rb") as fh:
        out = io.BytesIO()
        msoffcrypto.format.ooxml.OOXMLFile(fh).encrypt("rahasia", out)
    locked.write_bytes(out.getvalue())
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(locked, spbe, cycle_id=1, region_code="64.72")
    assert "dilindungi kata sandi" in str(exc.value) and "hapus kata sandinya" in str(exc.value)
    legacy = tmp_path / "lama.xlsx"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with pytest.raises(AnswerValidationError, match="Excel 97-2003"):
        parse_workbook(legacy, spbe, cycle_id=1, region_code="64.72")


def test_not_a_workbook(spbe, tmp_path: Path) -> None:
    text = tmp_path / "jawaban.xlsx"
    text.write_text("ini bukan berkas excel")
    with pytest.raises(AnswerValidationError, match="bukan berkas Excel"):
        parse_workbook(text, spbe, cycle_id=1, region_code="64.72")
    other_zip = tmp_path / "arsip.xlsx"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("a.txt", "halo")
    with pytest.raises(AnswerValidationError, match="bukan berkas Excel"):
        parse_workbook(other_zip, spbe, cycle_id=1, region_code="64.72")
    plain = tmp_path / "lain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "bukan kuesioner"
    wb.save(plain)
    with pytest.raises(AnswerValidationError, match="bukan Lembar Kuesioner PeManTIK"):
        parse_workbook(plain, spbe, cycle_id=1, region_code="64.72")
    with pytest.raises(AnswerValidationError, match="tidak ditemukan"):
        parse_workbook(tmp_path / "tidak-ada.xlsx", spbe, cycle_id=1, region_code="64.72")


def test_huge_file_refused(spbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "besar.xlsx"
    with open(big, "wb") as fh:
        fh.truncate(6 * 1024 * 1024)  # sparse: 6 MB without writing 6 MB
    with pytest.raises(AnswerValidationError, match="6.0 MB, melebihi batas 5 MB"):
        parse_workbook(big, spbe, cycle_id=1, region_code="64.72")


def test_zip_bomb_refused_before_loading(spbe, tmp_path: Path) -> None:
    bomb = tmp_path / "bom.xlsx"
    src = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/media/padding.bin", b"\0" * (60 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024  # small on disk, 60 MB unpacked
    with pytest.raises(AnswerValidationError, match="setelah diurai, melebihi batas 50 MB"):
        parse_workbook(bomb, spbe, cycle_id=1, region_code="64.72")


def test_row_limit(spbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    wb = openpyxl.load_workbook(filled)
    wb["Layanan SPBE"]["A5000"] = "x"
    wb.save(filled)
    with pytest.raises(AnswerValidationError, match="'Layanan SPBE' memuat lebih dari 2000 baris"):
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")


def test_bad_inputs_store_nothing(session, cycle, spbe, tmp_path: Path) -> None:
    filled = fill(make(spbe, tmp_path / "k.xlsx", cycle_id=cycle.id), tmp_path / "j.xlsx")
    bad = fill(make(spbe, tmp_path / "k2.xlsx", cycle_id=cycle.id), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(bad)
    sheet, row = layout_of(wb)["I47"]
    wb[sheet][f"D{row}"] = 9
    wb.save(bad)
    for kwargs in (
        {"path": bad, "region_code": "64.72"},
        {"path": filled, "region_code": "64.71"},
        {"data": {"I01": {"level": 3}}, "region_code": "64.72"},
    ):
        with pytest.raises(AnswerValidationError):
            validate_and_store(
                session, spbe, cycle_id=cycle.id, source="xlsx", submitted_by="x", **kwargs
            )
    assert session.exec(select(AnswerSet)).all() == []


def test_json_door_same_rules(session, cycle, mini) -> None:
    good = {
        "X1": {"level": 4, "evidence": "https://bukti/x1"},
        "X2": {"level": "2", "evidence": ""},
        "Y1": {"level": 5},
        "Y2": {"level": 1, "note": "baru mulai"},
    }
    row = validate_and_store(
        session,
        mini,
        cycle_id=cycle.id,
        region_code="64.72",
        source="form",
        submitted_by="pic",
        data=good,
    )
    assert row.version == 1 and row.answers["X2"]["level"] == 2
    assert row.answers["Y2"]["note"] == "baru mulai"
    bad = {
        "X1": {"level": 4},
        "X2": {"level": "dua"},
        "Y1": {"level": 0},
        "Z9": {"level": 1},
    }
    with pytest.raises(AnswerValidationError) as exc:
        parse_answers_json(bad, mini, cycle_id=cycle.id, region_code="64.72")
    assert exc.value.errors == [
        "Indikator 'Z9': tidak ada dalam instrumen mini",
        "Indikator X1 kolom evidence: bukti dukung wajib diisi",
        "Indikator X2 kolom level: berisi teks 'dua', seharusnya angka tingkat 1–5",
        "Indikator Y1 kolom level: tingkat 0 di luar skala 1–5",
        "Indikator Y2 kolom level: tingkat belum diisi (pilih 1–5)",
    ]
    with pytest.raises(AnswerValidationError, match="kolom level: berisi 'True'"):
        parse_answers_json(
            {**good, "Y1": {"level": True}}, mini, cycle_id=cycle.id, region_code="64.72"
        )


def test_other_installation_secret_refused(
    spbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEMANTIK_WORKBOOK_SECRET", "rahasia-instalasi-lain")
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "j.xlsx")
    assert parse_workbook(filled, spbe, cycle_id=1, region_code="64.72").answers
    monkeypatch.setenv("PEMANTIK_WORKBOOK_SECRET", "rahasia-kami")
    with pytest.raises(AnswerValidationError, match="checksum tidak cocok"):
        parse_workbook(filled, spbe, cycle_id=1, region_code="64.72")


def test_pegi_scale_is_one_to_four(tmp_path: Path) -> None:
    pegi = load_instrument("pegi")
    blank = make(pegi, tmp_path / "k.xlsx")
    filled = fill(blank, tmp_path / "j.xlsx", level=lambda i, c: i % 4 + 1, P20=("D", 5))
    with pytest.raises(AnswerValidationError) as exc:
        parse_workbook(filled, pegi, cycle_id=1, region_code="64.72")
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].startswith("Lembar 'Perencanaan' sel D")
    assert exc.value.errors[0].endswith("(P20): tingkat 5 di luar skala 1–4")


def test_bad_setting_named(spbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.settings import SettingsError

    monkeypatch.setenv("PEMANTIK_WORKBOOK_MAX_MB", "banyak")
    with pytest.raises(SettingsError, match="PEMANTIK_WORKBOOK_MAX_MB"):
        make(spbe, tmp_path / "k.xlsx")


def test_concurrent_imports_get_consecutive_versions(db_url: str, mini) -> None:
    """Two doors storing at the same moment: both kept, as versions 1 and 2."""
    import threading

    from models.db import session_scope

    with session_scope(db_url) as s:
        s.add(Region(code="64.72", name="Kota Samarinda", pic_name="PIC", pic_email="p@x.id"))
        cycle = Cycle(year=2026, instrument_code="mini", start_date=date(2026, 7, 1))
        s.add(cycle)
        s.flush()
        cycle_id = cycle.id
    data = {c: {"level": 2, "evidence": "b"} for c in mini.indicator_codes}
    errors: list[BaseException] = []

    def store(who: str) -> None:
        try:
            with session_scope(db_url) as s:
                validate_and_store(
                    s,
                    mini,
                    cycle_id=cycle_id,
                    region_code="64.72",
                    source="json",
                    submitted_by=who,
                    data=data,
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(f"pintu-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with session_scope(db_url) as s:
        versions = sorted(r.version for r in s.exec(select(AnswerSet)))
    assert versions == [1, 2]
