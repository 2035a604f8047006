"""Foundation: settings, migrations on both databases, models, calendar, regions, plan, CLI."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect
from sqlmodel import select
from typer.testing import CliRunner

from models.db import get_engine
from models.plan import plan_cycle
from models.registry import (
    DEFAULT_REGIONS_FILE,
    RegistryImportError,
    ensure_reference_data,
    import_regions,
    parse_regions,
)
from models.settings import SettingsError, load_settings
from models.sop import sop_steps
from models.tables import Cycle, Dispatch, Region, StepRecord, Wait
from models.workdays import WorkCalendar

HEADER = "kode,nama,jenis,pic_nama,pic_email\n"


# --- settings -------------------------------------------------------------------------------


def test_settings_defaults_and_the_embedded_database(isolated_settings, monkeypatch):
    monkeypatch.delenv("PEMANTIK_DATABASE_URL")
    settings = load_settings()
    assert settings.timezone == "Asia/Makassar"
    assert settings.database_url == "" and settings.prefect_database_url == ""
    # The default database is the embedded cluster under the data folder; not running, it is
    # named with what to do, in Indonesian.
    with pytest.raises(SettingsError, match="pemantik server") as err:
        _ = settings.db_url
    assert str(isolated_settings / "postgres") in str(err.value)
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", "sqlite:///coba.db")
    assert load_settings().db_url == "sqlite:///coba.db"


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("PEMANTIK_SMTP__PORT", "70000", "PEMANTIK_SMTP__PORT"),
        ("PEMANTIK_TIMEZONE", "Mars/Olympus", "PEMANTIK_TIMEZONE"),
        ("PEMANTIK_SIGNATORY__NIP", "12345", "PEMANTIK_SIGNATORY__NIP"),
        ("PEMANTIK_SENDER", "bukan-email", "PEMANTIK_SENDER"),
        (
            "PEMANTIK_LETTERS__REGISTERS_FILE",
            "/tidak/ada/registers.yaml",
            "PEMANTIK_LETTERS__REGISTERS_FILE",
        ),
        ("PEMANTIK_SMTP__SECURITY", "ssl3", "PEMANTIK_SMTP__SECURITY"),
        ("PEMANTIK_TEMPLATES_DIR", "/tidak/ada", "PEMANTIK_TEMPLATES_DIR"),
    ],
)
def test_wrong_setting_is_named(monkeypatch, env, value, named):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert named in str(err.value)
    assert "Pengaturan tidak valid" in str(err.value)


def test_secret_never_printed(monkeypatch):
    monkeypatch.setenv("PEMANTIK_SMTP__PASSWORD", "rahasia-sekali")
    settings = load_settings()
    assert settings.smtp.password.get_secret_value() == "rahasia-sekali"
    assert "rahasia-sekali" not in repr(settings)
    assert "rahasia-sekali" not in str(settings.model_dump())


def test_cli_stops_on_wrong_setting(monkeypatch):
    from deployments.cli import app
    from models.settings import reset_settings

    monkeypatch.setenv("PEMANTIK_SMTP__PORT", "nol")
    reset_settings()
    result = CliRunner().invoke(app, ["rencana", "--mulai", "2026-07-01"])
    assert result.exit_code == 2
    assert "PEMANTIK_SMTP__PORT" in result.output


# --- database -------------------------------------------------------------------------------


def test_migration_creates_every_table(db_url):
    tables = set(inspect(get_engine(db_url)).get_table_names())
    expected = {
        "region",
        "assessor",
        "cycle",
        "regionprocess",
        "steprecord",
        "letter",
        "registercounter",
        "dispatch",
        "answerset",
        "assignment",
        "confirmation",
        "score",
        "result",
        "wait",
        "extension",
        "acknowledgement",
        "attendance",
        "document",
        "nonworkingday",
        "inboundmessage",
        "alembic_version",
    }
    assert expected <= tables


def test_models_round_trip(session):
    ensure_reference_data(session)
    cycle = Cycle(
        year=2026,
        instrument_code="spbe-2020",
        start_date=date(2026, 7, 1),
        params={"regions": ["64.72"]},
    )
    session.add(cycle)
    session.flush()
    session.add(
        StepRecord(
            cycle_id=cycle.id,
            region_code="64.72",
            step_no=1,
            actor="Bidang Aptika",
            outcome="terkirim",
            detail={"resi": "<abc@x>"},
        )
    )
    session.add(
        Dispatch(
            idempotency_key="k1",
            cycle_id=cycle.id,
            recipient="a@contoh.example",
            subject="Uji",
            message_id="<k1@x>",
            attachments=[{"sha256": "00"}],
        )
    )
    session.add(
        Wait(
            cycle_id=cycle.id,
            region_code="64.72",
            step_no=4,
            kind="jawaban",
            started_on=date(2026, 7, 3),
            due_date=date(2026, 7, 13),
        )
    )
    session.commit()
    session.expunge_all()
    got = session.get(Cycle, cycle.id)
    assert got.params == {"regions": ["64.72"]}
    rec = session.exec(select(StepRecord)).one()
    assert rec.detail == {"resi": "<abc@x>"} and rec.recorded_at is not None
    assert session.exec(select(Dispatch)).one().attachments == [{"sha256": "00"}]
    assert session.exec(select(Wait)).one().due_date == date(2026, 7, 13)
    assert len(session.exec(select(Region)).all()) == 10


# --- calendar -------------------------------------------------------------------------------


CAL = WorkCalendar()


def test_independence_day_is_not_a_working_day():
    assert not CAL.is_working_day(date(2026, 8, 17))
    assert CAL.holiday_name(date(2026, 8, 17))


def test_idul_fitri_2026_and_cuti_bersama_are_skipped():
    # 20 and 23–24 March 2026 are cuti bersama around Idul Fitri (21–22 March), 18–19 Nyepi.
    for day in (18, 19, 20, 23, 24):
        assert not CAL.is_working_day(date(2026, 3, day)), day
    # A 3-working-day step starting Tuesday 17 March ends Thursday 26 March.
    assert CAL.add_working_days(date(2026, 3, 17), 3) == date(2026, 3, 26)
    assert CAL.working_days_between(date(2026, 3, 17), date(2026, 3, 26)) == 2


def test_due_date_across_a_long_weekend():
    # Friday 14 Aug 2026, then weekend and Monday 17 Aug (Independence Day): 2 days → Tue 18 Aug.
    assert CAL.add_working_days(date(2026, 8, 14), 2) == date(2026, 8, 18)
    assert CAL.next_working_day(date(2026, 8, 15)) == date(2026, 8, 18)


def test_extra_days_off_from_data():
    cal = WorkCalendar(extra_days_off={date(2026, 7, 2)})
    assert not cal.is_working_day(date(2026, 7, 2))
    assert cal.add_working_days(date(2026, 7, 1), 2) == date(2026, 7, 3)


def test_plan_uses_sop_durations_and_override():
    plan = plan_cycle(date(2026, 7, 1), CAL)
    assert [p.step.number for p in plan] == list(range(1, 15))
    assert plan[2].start == date(2026, 7, 3) and plan[2].due == date(2026, 7, 13)
    assert plan[-1].due == date(2026, 7, 29)
    longer = plan_cycle(date(2026, 7, 1), CAL, {"3": 10})
    assert longer[2].due == date(2026, 7, 16)


def test_sop_table_has_14_steps():
    steps = sop_steps()
    assert len(steps) == 14 and steps[2].sla_days == 7 and steps[13].sla_days == 2
    assert steps[0].task_name.startswith("01 ")


# --- regions --------------------------------------------------------------------------------


def test_shipped_regions_are_the_ten_of_kaltim():
    regions = parse_regions(DEFAULT_REGIONS_FILE.read_text())
    assert [r.code for r in regions] == [
        "64.01",
        "64.02",
        "64.03",
        "64.07",
        "64.08",
        "64.09",
        "64.11",
        "64.71",
        "64.72",
        "64.74",
    ]
    assert all(r.pic_email.endswith(".example") for r in regions)


def test_bad_region_file_lists_every_error_with_line():
    text = HEADER + (
        "64.01,Kabupaten A,Kabupaten,PIC A,a@contoh.example\n"
        "64.01,Kabupaten B,Kabupaten,PIC B,b@contoh.example\n"
        "64.03,Kabupaten C,Kabupaten,PIC C,bukan-email\n"
        "6403,Kota D,Kota,,d@contoh.example\n"
    )
    with pytest.raises(RegistryImportError) as err:
        parse_regions(text)
    message = str(err.value)
    assert "baris 3: kode wilayah 64.01 ganda" in message
    assert "baris 4: pic_email 'bukan-email'" in message
    assert "baris 5: kode wilayah '6403'" in message
    assert "baris 5: kolom pic_nama kosong" in message


def test_missing_column_is_refused():
    with pytest.raises(RegistryImportError, match="kolom wajib tidak ada: pic_email"):
        parse_regions("kode,nama,jenis,pic_nama\n64.01,A,Kabupaten,B\n")


def test_bad_file_imports_nothing(session, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "65.01,Kabupaten Bulungan,Kabupaten,PIC,pic@contoh.example\n"
        "65.02,Kabupaten Malinau,Kabupaten,PIC,salah@\n"
    )
    with pytest.raises(RegistryImportError):
        import_regions(session, bad)
    session.rollback()
    assert session.exec(select(Region)).all() == []


def test_cli_imports_another_province(tmp_path, monkeypatch):
    from deployments.cli import app

    good = tmp_path / "kaltara.csv"
    good.write_text(HEADER + "65.01,Kabupaten Bulungan,Kabupaten,PIC Bulungan,pic@contoh.example\n")
    runner = CliRunner()
    result = runner.invoke(app, ["wilayah", "impor", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 wilayah diimpor" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "65.02,X,Provinsi,PIC,pic@contoh.example\n")
    result = runner.invoke(app, ["wilayah", "impor", str(bad)])
    assert result.exit_code == 1
    assert "baris 2: jenis harus" in result.output


def test_cli_rencana_prints_due_dates(monkeypatch):
    from deployments.cli import app
    from deployments.cli_common import console

    # One table row per line, whatever width an earlier test or the worker's terminal left.
    monkeypatch.setattr(console, "_width", 250)
    result = CliRunner().invoke(app, ["rencana", "--mulai", "2026-07-01"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Senin, 13 Juli 2026" in result.output  # step 3 due
    assert "Rabu, 29 Juli 2026" in result.output  # step 14 due
    bad = CliRunner().invoke(app, ["rencana", "--mulai", "1 Juli"])
    assert bad.exit_code == 1 and "--mulai" in bad.output


def test_help_screens_are_indonesian():
    from deployments.cli import app

    result = CliRunner().invoke(app, ["rencana", "--help"], env={"COLUMNS": "150"})
    assert result.exit_code == 0
    assert "Opsi" in result.output and "Tampilkan bantuan ini lalu keluar." in result.output
    assert "[wajib]" in result.output and "Show this message" not in result.output


def test_the_step_that_records_a_letters_receipt_is_read_from_the_sop() -> None:
    from models.sop import receipt_step

    assert receipt_step("pemberitahuan", set()) == 2
    assert receipt_step("undangan", {"pemberitahuan"}) == 7
    assert receipt_step("permohonan", set()) == 7  # an assessor's letter
    # Another letter belongs to the latest receiving step the person has reached.
    assert receipt_step("pengingat", {"pemberitahuan"}) == 2
    assert receipt_step("pengingat", {"pemberitahuan", "undangan"}) == 7
    assert receipt_step("hasil", set()) == 2
