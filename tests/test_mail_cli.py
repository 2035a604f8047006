"""``pemantik resi`` and ``pemantik kirim-surel`` on a real database and a real sink."""

from __future__ import annotations

import csv
from datetime import UTC, date
from pathlib import Path

from typer.testing import CliRunner

from deployments.cli import app
from mail.outbox import deliver_pending_sync, dispatch_key, enqueue
from mail.sink import start_sink
from models.db import session_scope
from models.registry import ensure_reference_data
from models.settings import load_settings
from models.tables import Cycle, Dispatch


def test_resi_lists_the_cycle_dispatches(db_url: str, tmp_path: Path, monkeypatch) -> None:
    with start_sink(tmp_path / "md", reject={"tolak@bontang.go.id"}) as sink:
        monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
        monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0")
        settings = load_settings()
        with session_scope(db_url) as s:
            ensure_reference_data(s)
            s.add(Cycle(id=1, year=2026, instrument_code="spbe2020", start_date=date(2026, 7, 1)))
            s.add(Cycle(id=2, year=2025, instrument_code="spbe2020", start_date=date(2025, 7, 1)))
            s.flush()
            for cycle_id, region, recipient in [
                (1, "64.72", "pic@samarinda.go.id"),
                (1, "64.74", "tolak@bontang.go.id"),
                (2, "64.72", "lama@samarinda.go.id"),
            ]:
                enqueue(
                    s,
                    key=dispatch_key(cycle_id, region, "pemberitahuan", recipient),
                    recipient=recipient,
                    subject="Surat Pemberitahuan",
                    template="umum",
                    context={"paragraf": ["Isi."]},
                    kind="pemberitahuan",
                    cycle_id=cycle_id,
                    region_code=region,
                    settings=settings,
                )
        deliver_pending_sync(
            db_url,
            keys=[dispatch_key(1, "64.72", "pemberitahuan", "pic@samarinda.go.id")],
            settings=settings,
        )
        runner = CliRunner()
        result = runner.invoke(app, ["kirim-surel"])  # the rest, through the CLI
        assert result.exit_code == 0, result.output
        assert "gagal" in result.output.lower()

        out = tmp_path / "resi.csv"
        result = runner.invoke(app, ["resi", "--siklus", "2026", "--csv", str(out)])
        assert result.exit_code == 0, result.output
        assert "Resi Surel Siklus 2026" in result.output

    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_recipient = {r["penerima"]: r for r in rows}
    # 2026 only: the two region letters and the admin notice about the refused one.
    assert set(by_recipient) == {
        "pic@samarinda.go.id",
        "tolak@bontang.go.id",
        str(settings.admin_email),
    }
    ok = by_recipient["pic@samarinda.go.id"]
    assert ok["status"] == "terkirim" and ok["kode_smtp"] == "250" and ok["percobaan"] == "1"
    assert ok["waktu"].endswith(" WITA") and ok["dokumen"] == "pemberitahuan"
    with session_scope(db_url) as s:
        row = s.get(Dispatch, 1)
        assert ok["message_id"] == row.message_id
        local = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=UTC)
        assert ok["waktu"] == local.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S WITA")
    bad = by_recipient["tolak@bontang.go.id"]
    assert bad["status"] == "gagal" and bad["kode_smtp"] == "550" and "ditolak" in bad["galat"]


def test_resi_unknown_year_and_bad_csv(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["resi", "--siklus", "2030"])
    assert result.exit_code == 1 and "tidak ada siklus tahun 2030" in result.output
    result = runner.invoke(app, ["resi", "--siklus", "2030", "--csv", "x.txt"])
    assert result.exit_code == 1 and "berakhiran .csv" in result.output
