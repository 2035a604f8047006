"""The workbook's Identitas sheet: who filled it in is read back on import and checked, each
problem naming its cell; a valid identity is stored with the answers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

from assessment.answers import AnswerValidationError, validate_and_store
from models import clock
from tests.test_assessment_answers import cycle, fill, make, spbe  # noqa: F401 - fixtures


def _with_identity(src: Path, dst: Path, **cells: object) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb["Identitas"]
    for ref, value in cells.items():
        ws[ref] = value
    wb.save(dst)
    return dst


def test_the_identity_is_checked_and_stored(session, cycle, spbe, tmp_path: Path) -> None:  # noqa: F811
    filled = fill(make(spbe, tmp_path / "k.xlsx"), tmp_path / "isi.xlsx")
    bad = _with_identity(
        filled,
        tmp_path / "salah.xlsx",
        B4="",
        B6="1990 0101",
        B7="telepon kantor",
        B8=clock.today() + timedelta(days=3),
    )
    with pytest.raises(AnswerValidationError) as err:
        validate_and_store(
            session, spbe, cycle_id=cycle.id, region_code="64.72", source="xlsx",
            submitted_by="uji", path=bad,
        )  # fmt: skip
    assert err.value.errors == [
        "Lembar 'Identitas' sel B4 (Nama pengisi): wajib diisi",
        "Lembar 'Identitas' sel B6 (NIP): NIP harus 18 digit angka (atau kosong bila bukan ASN)",
        "Lembar 'Identitas' sel B7 (Nomor telepon/HP): 'telepon kantor' bukan nomor telepon; "
        "tulis mis. 0812-3456-7890",
        f"Lembar 'Identitas' sel B8 (Tanggal pengisian): tanggal "
        f"{clock.today() + timedelta(days=3):%d-%m-%Y} belum tiba",
    ]
    good = _with_identity(filled, tmp_path / "benar.xlsx", B6="", B8="02-03-2026")
    stored = validate_and_store(
        session, spbe, cycle_id=cycle.id, region_code="64.72", source="xlsx",
        submitted_by="uji", path=good,
    )  # fmt: skip
    assert stored.identity == {
        "nama": "Rina Pengisi",
        "jabatan": "Pranata Komputer Ahli Muda",
        "nip": "",
        "telepon": "0812-3456-7890",
        "tanggal": date(2026, 3, 2).isoformat(),
    }
