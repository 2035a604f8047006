"""The Prefect layer of reminders: the daily flow, its artifact and deployment, the extension form."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from models.db import session_scope
from models.settings import reset_settings
from models.tables import Dispatch, Wait
from tests.cycles import new_cycle, open_stage


def test_deployment_uses_the_configured_cron_and_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEMANTIK_REMINDER_CRON", "30 7 * * 1-5")
    reset_settings()
    from flows.reminder_flow import extension_deployment, reminder_deployment

    deployment = reminder_deployment()
    assert deployment.name == "pengingat-harian"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 7 * * 1-5"
    assert schedule.schedule.timezone == "Asia/Makassar"
    assert extension_deployment().name == "perpanjang-tenggat"


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
def test_flow_sends_and_publishes_the_grid(
    prefect_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_clock
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.reminder_flow import extension_flow, reminder_flow
    from mail.sink import start_sink
    from models.db import migrate

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    sink = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", url)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    reset_settings()
    try:
        migrate(url)
        cycle = new_cycle(2026, date(2026, 3, 2))
        open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))  # due 25 March
        result = reminder_flow(tanggal=date(2026, 3, 26))
        assert result["diantrekan"] == 2  # h+1 to the PIC and the admin's digest
        assert result["artefak"] == ["status-siklus-2026"]
        assert len(sink.messages()) == 2
        again = reminder_flow(tanggal=date(2026, 3, 26))
        assert again["diantrekan"] == 0 and len(sink.messages()) == 2

        with get_client(sync_client=True) as client:
            (artifact,) = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["status-siklus-2026"])),
                limit=1,
            )
        assert "lewat 1 hk" in str(artifact.data) and "Kota Samarinda" in str(artifact.data)

        moved = extension_flow(
            siklus=2026, wilayah="64.72", langkah=3, alasan="Gangguan jaringan",
            tambahan_hari_kerja=3,
        )  # fmt: skip
        assert (moved["lama"], moved["baru"]) == ("2026-03-25", "2026-03-30")
        assert moved["pemberitahuan"].startswith("1 terkirim")
        with session_scope(url) as s:
            assert s.exec(select(Wait)).one().due_date == date(2026, 3, 30)
            assert len(s.exec(select(Dispatch)).all()) == 3
        assert "Perpanjangan tenggat" in sink.messages()[-1]["Subject"]
    finally:
        sink.stop()
