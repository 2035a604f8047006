"""A cycle's life, enforced in the services for every door (issue 15): one cycle per year and
instrument, a closed or cancelled cycle accepts nothing from any door and sends nothing, and
``status --siklus`` shows the cycle that counts. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from models.db import session_scope
from models.tables import (
    AnswerSet,
    Cycle,
    CycleState,
    Dispatch,
    RegionProcess,
    StepRecord,
    Wait,
    WaitState,
)
from services import cycle as cycles
from services import waits
from tests.cycles import new_cycle, open_stage


def _levels(level: int = 3) -> dict:
    from assessment.instruments import load_instrument

    return {
        i.code: {"level": level, "evidence": f"https://contoh.example/bukti/{i.code}"}
        for i in load_instrument("spbe-2020").indicators
    }


def _counts() -> tuple[int, int, int]:
    with session_scope() as s:
        return (
            s.exec(select(func.count()).select_from(AnswerSet)).one(),
            s.exec(select(func.count()).select_from(Dispatch)).one(),
            s.exec(
                select(func.count()).where(StepRecord.event == "received").select_from(StepRecord)
            ).one(),
        )


def test_a_second_cycle_for_the_year_and_instrument_is_refused(db_url) -> None:
    first = new_cycle(2026, regions=["64.72"])
    with pytest.raises(cycles.CycleRefused) as refused:
        cycles.create_cycle(
            {"year": 2026, "regions": ["64.72"], "start_date": "2026-03-02"}, "run-kedua"
        )
    message = str(refused.value)
    assert "Siklus PeManTIK 2026" in message and "sudah ada" in message
    assert "tidak ada surat yang dikirim" in message
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Cycle)).one() == 1
        assert s.exec(select(func.count()).select_from(Dispatch)).one() == 0
    # The same run asking again (a resume, a retry) gets its own cycle back, not a refusal.
    again = cycles.create_cycle({"year": 2026, "start_date": "2026-03-02"}, "run-siklus-2026")
    assert again["cycle_id"] == first
    # Another instrument in the same year is another cycle.
    other = cycles.create_cycle(
        {"year": 2026, "instrument": "pegi", "regions": ["64.72"], "start_date": "2026-03-02"},
        "run-pegi",
    )
    assert other["cycle_id"] != first


def test_a_cancelled_cycle_frees_the_year_and_status_shows_the_new_one(db_url) -> None:
    from reminders.status import status_grid
    from services.context import cycle_by_year

    first = new_cycle(2026, regions=["64.72"])
    assert cycles.cancel_cycle(first, who="admin") == ["64.72"]
    assert cycles.cancel_cycle(first, who="admin") == []  # once
    second = cycles.create_cycle(
        {"year": 2026, "regions": ["64.72"], "start_date": "2026-03-02"}, "run-baru"
    )["cycle_id"]
    with session_scope() as s:
        assert cycle_by_year(s, 2026).id == second
        assert status_grid(s, 2026, today=date(2026, 3, 2)).cycle_id == second
        assert s.get(Cycle, first).state == CycleState.CANCELLED


@pytest.mark.parametrize("ending", ["close", "cancel"])
def test_an_ended_cycle_accepts_nothing_from_any_door(db_url, sim_clock, ending) -> None:
    cycle_id = new_cycle(2026, regions=["64.72", "64.74"])
    wait = open_stage(sim_clock, cycle_id, "64.72", "jawaban", date(2026, 3, 6))
    if ending == "close":
        assert cycles.close(cycle_id, "batas waktu tahun anggaran", "admin") == ["64.72", "64.74"]
        assert cycles.close(cycle_id, "lagi", "admin") == ["64.72", "64.74"]  # once
        word = "sudah ditutup"
    else:
        cycles.cancel_cycle(cycle_id, who="admin (Prefect UI)")
        word = "dibatalkan"
    with session_scope() as s:
        assert s.get(Wait, wait.id).state == WaitState.CANCELLED
        states = {r.region_code: r.state for r in s.exec(select(RegionProcess))}
        assert set(states.values()) == {"unfinished"}
    before = _counts()
    payload = {"data": _levels()}
    # Python / API / email (the inbox calls submit) and the portal (the same door).
    for via in ("api", "email"):
        with pytest.raises(waits.CycleClosed, match=word) as refused:
            waits.submit("jawaban", year=2026, region="64.72", payload=payload, via=via, who="PIC")
        assert "masukan tidak dapat diterima lagi" in str(refused.value)
        assert isinstance(refused.value, waits.NotWaiting)  # every door already answers these
    # The Prefect UI form goes through accept.
    with pytest.raises(waits.CycleClosed, match=word):
        waits.accept("jawaban", cycle_id, "64.72", payload, via="ui", who="admin")
    # The CLI.
    from deployments.cli import app

    out = CliRunner().invoke(
        app,
        ["konfirmasi", "--siklus", "2026", "--wilayah", "64.72", "--jawaban", "ya"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code != 0 and word in out.output, out.output
    assert "Traceback" not in out.output
    assert _counts() == before  # nothing stored, nothing queued or sent


def test_step_14_fills_its_column_for_every_region(db_url) -> None:
    from models.audit import record_step
    from reminders.status import CellStatus, status_grid

    cycle_id = new_cycle(2026, regions=["64.72", "64.74"])
    with session_scope() as s:
        record_step(s, cycle_id=cycle_id, step_no=14, event="done", outcome="Laporan")
    with session_scope() as s:
        grid = status_grid(s, 2026)
    assert [r.cells[13].status for r in grid.rows] == [CellStatus.DONE, CellStatus.DONE]
    assert all(r.cells[12].status != CellStatus.DONE for r in grid.rows)


def test_region_run_names_and_letter_keys_read_as_words(db_url) -> None:
    from tasks.sop import letter_key

    cycle_id = new_cycle(2026, regions=["64.72", "64.02"])
    with session_scope() as s:
        assert cycles.region_run_name(s, cycle_id, "64.72") == "wilayah-64.72-samarinda-2026"
        assert (
            cycles.region_run_name(s, cycle_id, "64.02") == "wilayah-64.02-kutai-kartanegara-2026"
        )
    assert letter_key("tanda_terima", "005/12/Diskominfo/2026") == (
        "tanda-terima-005-12-diskominfo-2026"
    )


def test_extension_email_subject_names_the_programme_once(db_url, sim_clock) -> None:
    from reminders.extensions import grant_extension, notify_extension

    cycle_id = new_cycle(2026, regions=["64.72"])
    open_stage(sim_clock, cycle_id, "64.72", "jawaban", date(2026, 3, 6))
    with session_scope() as s:
        ext = grant_extension(
            s,
            cycle_id=cycle_id,
            region_code="64.72",
            step_no=3,  # the questionnaire: the answers' wait covers steps 3–4
            extra_days=5,
            reason="gangguan jaringan",
            granted_by="admin",
        )
        notify_extension(s, ext)
    with session_scope() as s:
        (row,) = s.exec(select(Dispatch)).all()
    assert "PeManTIK PeManTIK" not in row.subject
    assert "PeManTIK Tahun 2026: pengembalian Jawaban Kuesioner" in row.subject


def test_admin_actions_are_named_and_refuse_in_one_sentence(prefect_server, isolated_settings):
    from deployments.serve import deployment_pairs
    from flows.admin import close_cycle_flow, move_date_flow
    from flows.reminder_flow import extension_flow
    from models.db import migrate

    names = [d.name for _, d in deployment_pairs()]
    assert "admin" not in names and len(names) == len(set(names))
    schema = move_date_flow.parameters.model_dump()["properties"]
    assert schema["tanggal_baru"]["title"] == "Tanggal penilaian baru"
    extension = extension_flow.parameters.model_dump()["properties"]
    assert extension["tambahan_hari_kerja"]["default"] >= 1
    assert extension["tambahan_hari_kerja"]["title"] == "Tambahan hari kerja"

    migrate()
    new_cycle(2026, regions=["64.72"])
    state = close_cycle_flow(alasan="  ", return_state=True)
    assert state.is_failed()
    assert state.message == "Penutupan siklus tidak dilakukan: alasan penutupan siklus wajib diisi."
    state = extension_flow(wilayah="64.72", langkah=3, alasan="gangguan", return_state=True)
    assert state.is_failed() and state.message.startswith("Perpanjangan tenggat tidak dilakukan")
    assert "--" not in state.message and "Traceback" not in state.message
