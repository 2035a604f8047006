"""issue_letter / store_document / regenerate against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import docx
import pytest
from sqlmodel import select

from letters.errors import LetterError, LetterInputError, TemplateProblem
from letters.examples import example_inputs
from letters.inputs import PemberitahuanInput
from letters.register import last_number, register_of
from letters.service import issue_letter, regenerate, store_document
from models.tables import Document, Letter

DAY = date(2026, 11, 25)


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_issue_letter_numbers_stores_and_renders(session, isolated_settings):
    data = example_inputs(0)["pemberitahuan"]
    letter = issue_letter(
        session, "pemberitahuan", data, idempotency_key="c1-64.72-1", letter_date=DAY, pdf=False
    )
    code = register_of("pemberitahuan").klasifikasi
    assert letter.number == f"{code}/1/Diskominfo/2026"
    assert letter.seq == 1 and letter.kind == "pemberitahuan"
    assert letter.subject == "Pemberitahuan Pengisian Kuesioner PeManTIK Tahun 2026"
    assert letter.addressee.startswith("Kepala Dinas Komunikasi dan Informatika Kota Samarinda")
    assert letter.template_version.startswith("2026.1+")
    assert Path(letter.file_path).is_file()
    assert (
        Path(letter.file_path).parent
        == (isolated_settings / "documents" / "2026" / "pemberitahuan").resolve()
    )
    assert _sha(letter.file_path) == letter.sha256
    assert letter.snapshot["region_name"] == "Kota Samarinda"
    assert letter.snapshot["signatory"]["nip"] == "198001012005011002"  # frozen from settings
    text = "\n".join(p.text for p in docx.Document(letter.file_path).paragraphs)
    assert f"Nomor\t:\t{code}/1/Diskominfo/2026" in text

    second = issue_letter(
        session,
        "undangan",
        example_inputs(0)["undangan"],
        idempotency_key="c1-64.72-6",
        letter_date=DAY,
        pdf=False,
    )
    assert second.number == f"{register_of('undangan').klasifikasi}/2/Diskominfo/2026"


def test_idempotency_key_returns_the_same_letter(session, isolated_settings):
    data = PemberitahuanInput.model_validate(example_inputs(1)["pemberitahuan"])
    first = issue_letter(
        session, "pemberitahuan", data, idempotency_key="k", letter_date=DAY, pdf=False
    )
    files_before = _files(isolated_settings / "documents")
    again = issue_letter(
        session, "pemberitahuan", data, idempotency_key="k", letter_date=DAY, pdf=False
    )
    assert again.id == first.id and again.number == first.number
    assert _files(isolated_settings / "documents") == files_before
    assert last_number(session, year=2026) == 1
    assert len(session.exec(select(Letter)).all()) == 1


def test_regenerate_gives_same_bytes_even_after_settings_and_wording_change(
    session, isolated_settings, monkeypatch, tmp_path
):
    from models.settings import reset_settings

    letter = issue_letter(
        session,
        "sk_penetapan",
        example_inputs(0)["sk_penetapan"],
        idempotency_key="sk",
        letter_date=DAY,
        pdf=False,
    )
    original = docx.Document(letter.file_path)
    # Change the signatory, the kop and the wording: the regenerated letter must not change.
    override = tmp_path / "wording"
    override.mkdir()
    (override / "report").mkdir(exist_ok=True)
    (override / "report" / "sk_penetapan.j2").write_text(
        "{# version: 9 #}\n.judul LAIN\n", encoding="utf-8"
    )
    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(override))
    monkeypatch.setenv("PEMANTIK_SIGNATORY__NAME", "Pejabat Baru")
    monkeypatch.setenv("PEMANTIK_ORGANISATION__ADDRESS", "Alamat Baru")
    reset_settings()
    out = regenerate(session, letter.number, tmp_path / "ulang.docx")
    assert _sha(out) == letter.sha256
    again = docx.Document(out)
    assert [p.text for p in again.paragraphs] == [p.text for p in original.paragraphs]
    # Without out_path the stored file itself is rewritten, with the recorded hash.
    Path(letter.file_path).unlink()
    assert _sha(regenerate(session, letter.number)) == letter.sha256


def test_regenerate_unknown_number(session):
    with pytest.raises(LetterError, match="tidak ditemukan"):
        regenerate(session, "005/999/Diskominfo/2026")


def test_store_document_records_formulir_once(session, isolated_settings):
    data = example_inputs(2)["formulir"]
    doc = store_document(
        session, "formulir", data, cycle_id=None, region_code=None, letter_date=DAY
    )
    assert Path(doc.file_path).is_file() and _sha(doc.file_path) == doc.sha256
    same = store_document(
        session, "formulir", data, cycle_id=None, region_code=None, letter_date=DAY
    )
    assert same.id == doc.id
    assert len(session.exec(select(Document)).all()) == 1


def test_unnumbered_kind_is_refused_by_issue_letter(session):
    with pytest.raises(LetterError, match="bukan surat bernomor"):
        issue_letter(
            session, "formulir", example_inputs(0)["formulir"], idempotency_key="f", pdf=False
        )


# ---------------------------------------------------------------- bad input: nothing taken


def _assert_nothing_happened(session, isolated_settings):
    assert last_number(session, year=2026) == 0
    assert session.exec(select(Letter)).all() == []
    assert _files(isolated_settings / "documents") == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda d: d.update(signatory={"name": "X", "jabatan": "Kepala", "nip": ""}),
            "signatory.nip",
            "wajib",
        ),
        (
            lambda d: d.update(
                signatory={"name": "X", "jabatan": "Kepala", "nip": "1970010119900310"}
            ),
            "signatory.nip",
            "18 digit",
        ),
        (lambda d: d.update(addressee={"name": ""}), "addressee.name", "tidak boleh kosong"),
        (lambda d: d.pop("addressee"), "addressee", "wajib diisi"),
        (lambda d: d.update(deadline="kemarin"), "deadline", "bukan tanggal"),
    ],
    ids=["nip-missing", "nip-16-digits", "addressee-empty", "addressee-missing", "bad-date"],
)
def test_bad_input_takes_no_number(session, isolated_settings, change, field, words):
    data = example_inputs(0)["pemberitahuan"]
    change(data)
    with pytest.raises(LetterInputError) as info:
        issue_letter(
            session, "pemberitahuan", data, idempotency_key="bad", letter_date=DAY, pdf=False
        )
    message = str(info.value)
    assert "Surat Pemberitahuan" in message and f"'{field}'" in message and words in message
    assert info.value.field == field
    _assert_nothing_happened(session, isolated_settings)


def test_signatory_nip_from_settings_is_checked(session, isolated_settings, monkeypatch):
    # The settings validator refuses a bad NIP at start-up; a settings object built around it
    # (model_construct) must still be refused by the letter.
    from models.settings import Signatory, get_settings

    settings = get_settings()
    monkeypatch.setattr(
        settings,
        "signatory",
        Signatory.model_construct(name="A", nip="123", pangkat="", jabatan="Kepala"),
    )
    with pytest.raises(
        LetterInputError, match=r"(?s)Surat Undangan.*'PEMANTIK_SIGNATORY__nip'.*18 digit"
    ):
        issue_letter(
            session,
            "undangan",
            example_inputs(0)["undangan"],
            idempotency_key="u",
            letter_date=DAY,
            pdf=False,
        )
    _assert_nothing_happened(session, isolated_settings)


def test_template_with_unknown_field_takes_no_number(
    session, isolated_settings, monkeypatch, tmp_path
):
    from models.settings import reset_settings

    override = tmp_path / "wording"
    override.mkdir()
    (override / "questionnaire").mkdir(exist_ok=True)
    (override / "questionnaire" / "pemberitahuan.j2").write_text(
        '{% extends "_surat.j2" %}\n{% block isi %}\nKepada {{ data.nama_pejabat }}.\n{% endblock %}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(override))
    reset_settings()
    with pytest.raises(TemplateProblem) as info:
        issue_letter(
            session,
            "pemberitahuan",
            example_inputs(0)["pemberitahuan"],
            idempotency_key="t",
            letter_date=DAY,
            pdf=False,
        )
    message = str(info.value)
    assert (
        "Surat Pemberitahuan" in message
        and "nama_pejabat" in message
        and "pemberitahuan.j2 baris 3" in message
    )
    assert info.value.field == "nama_pejabat"
    _assert_nothing_happened(session, isolated_settings)


def test_template_override_changes_wording_and_version(
    session, isolated_settings, monkeypatch, tmp_path
):
    from models.settings import reset_settings

    shipped = issue_letter(
        session,
        "pengingat",
        example_inputs(0)["pengingat"],
        idempotency_key="p1",
        letter_date=DAY,
        pdf=False,
    )
    override = tmp_path / "wording"
    override.mkdir()
    (override / "pengingat.j2").write_text(
        '{# version: 2027.1 #}\n{% extends "_surat.j2" %}\n{% block hal %}Pengingat Khusus{% endblock %}\n'
        "{% block isi %}\nMohon segera dikirim, {{ data.region_name }}.\n{% endblock %}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(override))
    reset_settings()
    custom = issue_letter(
        session,
        "pengingat",
        example_inputs(0)["pengingat"],
        idempotency_key="p2",
        letter_date=DAY,
        pdf=False,
    )
    assert custom.subject == "Pengingat Khusus"
    assert custom.template_version.startswith("2027.1+") and shipped.template_version.startswith(
        "2026.1+"
    )
    texts = [p.text for p in docx.Document(custom.file_path).paragraphs]
    assert "Mohon segera dikirim, Kota Samarinda." in texts


def test_missing_template_folder_is_refused(session, isolated_settings, monkeypatch, tmp_path):
    from models.settings import SettingsError, get_settings, reset_settings

    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(tmp_path / "tidak-ada"))
    reset_settings()
    with pytest.raises(SettingsError, match="PEMANTIK_TEMPLATES_DIR.*folder templat tidak ada"):
        get_settings()
    # A folder removed after start-up is caught by the letters package itself.
    monkeypatch.delenv("PEMANTIK_TEMPLATES_DIR")
    reset_settings()
    gone = tmp_path / "hilang"
    gone.mkdir()
    settings = get_settings()
    monkeypatch.setattr(settings, "templates_dir", gone)
    gone.rmdir()
    with pytest.raises(TemplateProblem, match="folder templat tidak ada"):
        issue_letter(
            session,
            "pemberitahuan",
            example_inputs(0)["pemberitahuan"],
            idempotency_key="x",
            letter_date=DAY,
            pdf=False,
        )
    _assert_nothing_happened(session, isolated_settings)


def test_failure_after_number_leaves_no_file_and_rollback_returns_the_number(
    session, isolated_settings, monkeypatch
):
    import letters.service as service

    def broken_insert(*_a, **_k):
        raise RuntimeError("disk penuh")

    monkeypatch.setattr(service, "sha256_bytes", broken_insert)  # fails after the file is written
    with pytest.raises(RuntimeError, match="disk penuh"):
        issue_letter(
            session,
            "pemberitahuan",
            example_inputs(0)["pemberitahuan"],
            idempotency_key="f1",
            letter_date=DAY,
            pdf=False,
        )
    session.rollback()
    _assert_nothing_happened(session, isolated_settings)
    monkeypatch.undo()
    letter = issue_letter(
        session,
        "pemberitahuan",
        example_inputs(0)["pemberitahuan"],
        idempotency_key="f1",
        letter_date=DAY,
        pdf=False,
    )
    assert letter.seq == 1


def test_logo_in_the_kop_and_reproducible(session, isolated_settings, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.settings import reset_settings

    logo = tmp_path / "logo.png"
    fig = plt.figure(figsize=(1, 1))
    fig.savefig(logo, metadata={"Software": None})
    plt.close(fig)
    monkeypatch.setenv("PEMANTIK_ORGANISATION__LOGO", str(logo))
    monkeypatch.setenv("PEMANTIK_ORGANISATION__INSTANSI", "DINAS KOMINFO CONTOH")
    reset_settings()
    letter = issue_letter(
        session,
        "undangan",
        example_inputs(0)["undangan"],
        idempotency_key="logo",
        letter_date=DAY,
        pdf=False,
    )
    d = docx.Document(letter.file_path)
    kop = d.tables[0]
    assert len(kop.rows[0].cells[0]._tc.xpath(".//pic:pic")) == 1
    assert "DINAS KOMINFO CONTOH" in kop.rows[0].cells[1].text
    assert _sha(regenerate(session, letter.number, tmp_path / "ulang.docx")) == letter.sha256
