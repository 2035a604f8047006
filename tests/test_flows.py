"""The PeManTIK flows on a real Prefect server, a real SMTP sink and the app's database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from models.db import session_scope
from models.tables import (
    Assessor,
    Assignment,
    Dispatch,
    Letter,
    RegisterCounter,
    Result,
    StepRecord,
    Wait,
    WaitState,
)
from tests.flow_helpers import ServedProduct, flow_state, open_wait, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def product(prefect_server, isolated_settings, monkeypatch, tmp_path):
    from mail.sink import start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(tmp_path / "mail", port=0)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.2")
    reset_settings()
    migrate()
    with ServedProduct() as served:
        yield {"sink": sink, "served": served}
    sink.stop()


def _all_levels(level: int = 3) -> dict:
    from assessment.instruments import load_instrument

    inst = load_instrument("spbe-2020")
    return {
        i.code: {"level": level, "evidence": f"https://contoh.example/bukti/{i.code}"}
        for i in inst.indicators
    }


def _scores(level: int) -> dict:
    from assessment.instruments import load_instrument

    inst = load_instrument("spbe-2020")
    return {i.code: {"level": level, "note": "sesuai bukti"} for i in inst.indicators}


def test_one_region_through_every_wait(product):
    from prefect.deployments import run_deployment

    from services import waits

    region = "64.72"
    run = run_deployment(
        "siklus-pemantik/siklus",
        parameters={
            "year": 2026,
            "regions": [region],
            "start_date": "2026-07-01",
            "session_date": "2026-07-22",
        },
        timeout=0,
    )
    wait_until(lambda: open_wait(region, "jawaban"), 180)
    # A CLI-style answer for a stage the region is not waiting for is refused clearly.
    with pytest.raises(waits.NotWaiting, match="tidak sedang menunggu"):
        waits.submit("nilai", year=2026, region=region, payload={}, via="cli", who="uji")
    # An invalid answer is refused with the reasons, nothing stored, the run keeps waiting.
    bad = _all_levels()
    bad[next(iter(bad))]["level"] = 9
    with pytest.raises(waits.InputRefused) as refused:
        waits.submit(
            "jawaban", year=2026, region=region, payload={"data": bad}, via="api", who="uji"
        )
    assert any("9" in e for e in refused.value.errors)
    # An invalid answer through the UI form (resume with input) is re-asked, not failed.
    from prefect.flow_runs import resume_flow_run

    w = open_wait(region, "jawaban")
    wait_until(lambda: flow_state(w.flow_run_id) == "Suspended", 60)
    resume_flow_run(w.flow_run_id, run_input={"tautan_berkas": "jawaban.xlsx"})
    wait_until(lambda: (x := open_wait(region, "jawaban")) and x.input_key != w.input_key, 120)
    assert flow_state(w.flow_run_id) in ("Suspended", "Paused", "Running", "Scheduled")
    # The admin's slip is named in the form asked again (not emailed to the region).
    wait_until(lambda: flow_state(w.flow_run_id) == "Suspended", 60)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        keyset = client.read_flow_run(w.flow_run_id).state.state_details.run_input_keyset
        asked = client.read_flow_run_input(w.flow_run_id, keyset["description"])
    assert "belum dapat diterima" in asked and "http://" in asked
    out = waits.submit(
        "jawaban", year=2026, region=region, payload={"data": _all_levels()}, via="api", who="PIC"
    )
    assert out.complete and out.resumed

    wait_until(lambda: open_wait(region, "konfirmasi"), 180)
    with session_scope() as s:
        assigned = s.exec(select(Assignment).where(Assignment.region_code == region)).all()
        emails = [s.get(Assessor, a.assessor_id).email for a in assigned]
        homes = [s.get(Assessor, a.assessor_id).home_region_code for a in assigned]
    assert len(emails) == 2 and region not in homes
    # The first assessor declines: a replacement gets a new request letter.
    waits.submit(
        "konfirmasi",
        year=2026,
        region=region,
        via="api",
        who="asesor",
        payload={"pihak": emails[0], "jawaban": "tidak", "alasan": "berhalangan"},
    )
    waits.submit(
        "konfirmasi",
        year=2026,
        region=region,
        via="api",
        who="asesor",
        payload={
            "pihak": emails[1],
            "jawaban": "ya",
            "pernyataan_benturan_kepentingan": "Tidak ada",
        },
    )
    out = waits.submit(
        "konfirmasi",
        year=2026,
        region=region,
        via="api",
        who="PIC",
        payload={
            "pihak": "wilayah",
            "jawaban": "ya",
            "delegasi": [{"nama": "Budi", "jabatan": "Kabid"}],
        },
    )
    assert out.complete

    def replacement():
        with session_scope() as s:
            rows = s.exec(
                select(Assignment).where(
                    Assignment.region_code == region, Assignment.state == "requested"
                )
            ).all()
            return [s.get(Assessor, r.assessor_id).email for r in rows]

    new = wait_until(replacement, 120)
    assert new[0] not in emails
    wait_until(
        lambda: (x := open_wait(region, "konfirmasi")) and x.input_key.startswith("konfirmasi-r2"),
        120,
    )
    waits.submit(
        "konfirmasi",
        year=2026,
        region=region,
        via="api",
        who="asesor",
        payload={"pihak": new[0], "jawaban": "ya", "pernyataan_benturan_kepentingan": "Tidak ada"},
    )

    wait_until(lambda: open_wait(region, "kehadiran"), 120)
    waits.submit(
        "kehadiran",
        year=2026,
        region=region,
        via="api",
        who="admin",
        payload={"peserta": [{"nama": "Budi", "jabatan": "Kabid", "instansi": "Diskominfo"}]},
    )

    wait_until(lambda: open_wait(region, "nilai"), 120)
    first = waits.submit(
        "nilai",
        year=2026,
        region=region,
        via="api",
        who="asesor",
        payload={"asesor": emails[1], "data": _scores(3)},
    )
    assert not first.complete and not first.resumed  # one of two: no resume yet
    last = waits.submit(
        "nilai",
        year=2026,
        region=region,
        via="api",
        who="asesor",
        payload={"asesor": new[0], "data": _scores(4)},
    )
    assert last.complete

    wait_until(lambda: open_wait(region, "penerimaan"), 120)
    waits.submit(
        "penerimaan",
        year=2026,
        region=region,
        via="api",
        who="admin",
        payload={"keputusan": "terima"},
    )
    wait_until(lambda: flow_state(str(run.id)) == "Completed", 240)

    with session_scope() as s:
        result = s.exec(select(Result).where(Result.region_code == region)).one()
        assert result.locked and result.total == pytest.approx(4.0)  # mean 3.5 rounds half up to 4
        letters = s.exec(select(Letter)).all()
        kinds = sorted(lt.kind for lt in letters)
        assert kinds.count("pemberitahuan") == 1 and kinds.count("permohonan") == 3
        assert "berita_acara" in kinds and "sk_penetapan" in kinds
        counter = s.exec(select(func.sum(RegisterCounter.last_seq))).one()
        assert counter == len(letters)  # no number taken twice or lost
        keys = s.exec(select(Dispatch.idempotency_key)).all()
        assert len(keys) == len(set(keys))
        steps_done = {
            r.step_no for r in s.exec(select(StepRecord).where(StepRecord.event == "done"))
        }
        assert set(range(1, 15)) <= steps_done
        open_left = s.exec(select(Wait).where(Wait.state == WaitState.OPEN)).all()
        assert open_left == []  # every wait of a finished run is closed
    # Every message went out once: the sink holds exactly one copy per dispatch sent.
    ids = [m["Message-ID"] for m in product["sink"].messages()]
    assert len(ids) == len(set(ids))
    assert date(2026, 7, 1)


def _serve_process(tmp_path, name: str):
    from deployments.serve import ServeProcess

    return ServeProcess(tmp_path / f"{name}.log").start(wait_for="siklus-pemantik/siklus")


@pytest.fixture
def product_without_runner(prefect_server, isolated_settings, monkeypatch, tmp_path):
    from mail.sink import start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(tmp_path / "mail", port=0)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", f"sqlite:///{tmp_path / 'kill.db'}")
    reset_settings()
    migrate()
    yield sink
    sink.stop()


def test_serving_process_killed_while_waiting_and_restarted(product_without_runner, tmp_path):
    """kill -9 the serving process while a region waits (and again right after an answer):
    started again, the run resumes and finishes its stage with no duplicate email or number."""
    import signal

    from prefect.deployments import run_deployment

    from services import waits

    sink = product_without_runner
    region = "64.01"
    server = _serve_process(tmp_path, "serve-1")
    try:
        run_deployment(
            "siklus-pemantik/siklus",
            timeout=0,
            parameters={"year": 2026, "regions": [region], "start_date": "2026-07-01"},
        )
        w = wait_until(lambda: open_wait(region, "jawaban"), 180)
        wait_until(lambda: flow_state(w.flow_run_id) == "Suspended", 60)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        # The answer arrives while nothing serves: stored, the run is resumed (Scheduled).
        out = waits.submit(
            "jawaban",
            year=2026,
            region=region,
            payload={"data": _all_levels()},
            via="api",
            who="PIC",
        )
        assert out.complete and out.resumed
        server = _serve_process(tmp_path, "serve-2")
        # Kill it again while the resumed run is busy (sending the Tanda Terima and letters).
        wait_until(lambda: flow_state(w.flow_run_id) in ("Running", "Completed"), 120, every=0.1)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        server = _serve_process(tmp_path, "serve-3")
        wait_until(lambda: open_wait(region, "konfirmasi"), 240)
    finally:
        server.stop()
    with session_scope() as s:
        letters = s.exec(select(Letter)).all()
        kinds = sorted(lt.kind for lt in letters)
        assert kinds.count("pemberitahuan") == 1 and kinds.count("tanda_terima") == 1
        assert kinds.count("undangan") == 1
        counter = s.exec(select(func.sum(RegisterCounter.last_seq))).one()
        assert counter == len(letters)  # no number taken twice or lost
        sent = s.exec(select(Dispatch).where(Dispatch.state == "sent")).all()
    ids = [m["Message-ID"] for m in sink.messages()]
    assert len(ids) == len(set(ids)) == len(sent)


def test_cycle_closed_with_one_region_unfinished(product):
    """Two regions: one finishes, one never answers; the admin closes the cycle; step 14 names
    the unfinished region and ranks only the finished one."""
    from prefect.deployments import run_deployment

    from models.tables import ProcessState, RegionProcess
    from services import admin, waits

    done, late = "64.74", "64.09"
    run = run_deployment(
        "siklus-pemantik/siklus",
        timeout=0,
        parameters={"year": 2026, "regions": [done, late], "start_date": "2026-07-01"},
    )
    wait_until(lambda: open_wait(done, "jawaban"), 180)
    waits.submit(
        "jawaban", year=2026, region=done, payload={"data": _all_levels(4)}, via="api", who="PIC"
    )
    wait_until(lambda: open_wait(done, "konfirmasi"), 180)
    with session_scope() as s:
        assigned = s.exec(select(Assignment).where(Assignment.region_code == done)).all()
        emails = [s.get(Assessor, a.assessor_id).email for a in assigned]
    for email in emails:
        waits.submit(
            "konfirmasi",
            year=2026,
            region=done,
            via="api",
            who=email,
            payload={
                "pihak": email,
                "jawaban": "ya",
                "pernyataan_benturan_kepentingan": "Tidak ada",
            },
        )
    waits.submit(
        "konfirmasi",
        year=2026,
        region=done,
        via="api",
        who="PIC",
        payload={
            "pihak": "wilayah",
            "jawaban": "ya",
            "delegasi": [{"nama": "Sari", "jabatan": "Kabid"}],
        },
    )
    wait_until(lambda: open_wait(done, "kehadiran"), 120)
    waits.submit(
        "kehadiran",
        year=2026,
        region=done,
        via="api",
        who="admin",
        payload={"peserta": [{"nama": "Sari", "jabatan": "Kabid"}]},
    )
    wait_until(lambda: open_wait(done, "nilai"), 120)
    for email in emails:
        waits.submit(
            "nilai",
            year=2026,
            region=done,
            via="api",
            who=email,
            payload={"asesor": email, "data": _scores(4)},
        )
    wait_until(lambda: open_wait(done, "penerimaan"), 120)
    waits.submit(
        "penerimaan",
        year=2026,
        region=done,
        via="api",
        who="admin",
        payload={"keputusan": "terima"},
    )
    wait_until(lambda: _process_state(done) == ProcessState.DONE, 120)
    with pytest.raises(admin.AdminRefused, match="alasan"):
        admin.close_cycle(2026, "  ")
    admin.close_cycle(2026, "batas waktu kegiatan tahun anggaran")
    wait_until(lambda: flow_state(str(run.id)) == "Completed", 240)
    with session_scope() as s:
        assert (
            s.exec(select(RegionProcess).where(RegionProcess.region_code == late)).one().state
            == "unfinished"
        )
        sk = s.exec(select(Letter).where(Letter.kind == "sk_penetapan")).one()
        assert [r["region_code"] for r in sk.snapshot["ranking"]] == [done]
        ba = s.exec(select(Letter).where(Letter.kind == "berita_acara")).all()
        assert [b.region_code for b in ba] == [done]
        closed = s.exec(select(StepRecord).where(StepRecord.event == "closed")).one()
        assert closed.detail["belum_selesai"] == [late]
    from docx import Document as Docx

    from models.tables import Document

    with session_scope() as s:
        laporan = s.exec(select(Document).where(Document.kind == "laporan")).one()
    text = "\n".join(p.text for p in Docx(laporan.file_path).paragraphs)
    tables = " ".join(
        c.text for t in Docx(laporan.file_path).tables for row in t.rows for c in row.cells
    )
    assert "belum selesai" in (text + tables).lower()


def _process_state(region: str) -> str:
    from models.tables import RegionProcess

    with session_scope() as s:
        return s.exec(select(RegionProcess).where(RegionProcess.region_code == region)).one().state


def test_a_failed_region_shows_as_failed_and_a_retry_goes_on(product, isolated_settings):
    """A region run that stops on an error is shown as failed (not as working on its step for
    ever); once the cause is fixed, the UI's Retry runs it on from where it stopped."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.deployments import run_deployment
    from prefect.states import AwaitingRetry

    from models.tables import ProcessState, RegionProcess
    from models.tokens import KEY_FILE
    from reminders.status import CellStatus

    region = "64.72"
    isolated_settings.mkdir(parents=True, exist_ok=True)
    damaged = isolated_settings / KEY_FILE
    damaged.write_bytes(b"rusak")  # every email's personal link needs the key
    run_deployment(
        "siklus-pemantik/siklus",
        timeout=0,
        parameters={"year": 2026, "regions": [region], "start_date": "2026-07-01"},
    )

    def process() -> RegionProcess | None:
        with session_scope() as s:
            return s.exec(select(RegionProcess).where(RegionProcess.region_code == region)).first()

    wait_until(lambda: (row := process()) is not None and row.state == ProcessState.FAILED, 180)
    row = process()
    assert row.current_step == 1
    assert _step_one_cell() == CellStatus.FAILED  # the grid, the board and the xlsx show it
    run_id = row.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state.is_failed() and "rusak" in run.state.message
        own = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
        told = wait_until(
            lambda: [
                x.message
                for x in client.read_logs(log_filter=own, limit=200)
                if "jalankan ulang" in x.message
            ],
            60,
        )
        assert "rusak (kurang dari 32 bita). Hapus berkas itu" in told[0]
        assert "encountered" not in told[0] and ".." not in told[0]
        damaged.unlink()  # the fix the message names
        client.set_flow_run_state(run_id, AwaitingRetry(message="Retry from the UI"))
    assert wait_until(lambda: open_wait(region, "jawaban"), 180)
    assert _process_state(region) == ProcessState.WAITING
    assert len(product["sink"].messages()) == 1  # the Surat Pemberitahuan, once
    assert _step_one_cell() == CellStatus.DONE


def _step_one_cell() -> str:
    from reminders.status import status_grid

    with session_scope() as s:
        return status_grid(s, 2026).rows[0].cells[0].status
