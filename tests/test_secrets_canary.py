"""Canary: a region goes through every wait with known secret values set, and none of them
appears in a run parameter, an artifact, a log (Prefect's, through the API, and our log files),
a letter, an email in the sink, or the app's database."""

from __future__ import annotations

import io
import os
import zipfile
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from tests.flow_helpers import flow_state, open_wait, wait_until

pytestmark = pytest.mark.slow

SMTP_USER = "pemantik-kanari"
SMTP_CANARY = "kanari-smtp-Zq81XwPe"
WORKBOOK_CANARY = "kanari-buku-kerja-7Hd2Lm"


def _texts(name: str, data: bytes) -> list[bytes]:
    """The bytes to search in one file: the members of an Office file, else the file itself."""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return [zf.read(member) for member in zf.namelist()]
        except zipfile.BadZipFile:
            pass
    return [data]


def _email_texts(raw: bytes) -> list[bytes]:
    message = message_from_bytes(raw, policy=email_policy.default)
    found = [raw]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        found.extend(_texts(part.get_filename() or "", payload))
    return found


def _every(read, page: int = 200) -> list:
    """Every item of a Prefect list endpoint, page by page (the server caps one page)."""
    items: list = []
    while True:
        batch = read(limit=page, offset=len(items))
        items.extend(batch)
        if len(batch) < page:
            return items


def _all_levels(level: int) -> dict:
    from assessment.instruments import load_instrument

    return {
        i.code: {"level": level, "evidence": f"https://contoh.example/bukti/{i.code}"}
        for i in load_instrument("spbe-2020").indicators
    }


@pytest.fixture
def canary_product(prefect_engine, isolated_settings, monkeypatch, tmp_path):
    from deployments.serve import ServeProcess
    from mail.sink import password_authenticator, start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(
        tmp_path / "mail",
        port=0,
        authenticator=password_authenticator({SMTP_USER: SMTP_CANARY}),
        auth_required=True,
    )
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_SMTP__USER", SMTP_USER)
    monkeypatch.setenv("PEMANTIK_SMTP__PASSWORD", SMTP_CANARY)
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("PEMANTIK_WORKBOOK_SECRET", WORKBOOK_CANARY)
    # `pemantik serve` as a child at DEBUG: everything Prefect would log, it logs.
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    reset_settings()
    migrate()
    serve_log = tmp_path / "serve.log"
    served = ServeProcess(serve_log).start(wait_for="siklus-pemantik/siklus")
    try:
        yield {"sink": sink, "serve_log": serve_log, "engine": prefect_engine}
    finally:
        served.stop()
        sink.stop()


def test_no_secret_leaks_through_a_region_cycle(canary_product, isolated_settings) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from sqlmodel import select

    from models.db import session_scope
    from models.settings import get_settings
    from models.tables import Assessor, Assignment
    from services import waits

    engine = canary_product["engine"]
    region = "64.72"
    run = run_deployment(
        "siklus-pemantik/siklus",
        parameters={"year": 2026, "regions": [region], "start_date": "2026-07-01"},
        timeout=0,
    )

    def submit(kind: str, payload: dict) -> None:
        wait_until(lambda: open_wait(region, kind), 180)
        waits.submit(kind, year=2026, region=region, payload=payload, via="api", who="uji")

    submit("jawaban", {"data": _all_levels(3)})
    wait_until(lambda: open_wait(region, "konfirmasi"), 180)
    with session_scope() as s:
        assigned = s.exec(select(Assignment).where(Assignment.region_code == region)).all()
        emails = [s.get(Assessor, a.assessor_id).email for a in assigned]
    for email in emails:
        submit(
            "konfirmasi", {"pihak": email, "jawaban": "ya", "pernyataan_benturan_kepentingan": "-"}
        )
    submit("konfirmasi", {"pihak": "wilayah", "jawaban": "ya", "delegasi": [{"nama": "Budi"}]})
    submit("kehadiran", {"peserta": [{"nama": "Budi", "jabatan": "Kabid", "instansi": "X"}]})
    for email in emails:
        submit(
            "nilai",
            {"asesor": email, "data": {c: {"level": 3, "note": "-"} for c in _all_levels(3)}},
        )
    submit("penerimaan", {"keputusan": "terima"})
    wait_until(lambda: flow_state(str(run.id)) == "Completed", 300)

    secrets = [*engine.credentials.secrets(), SMTP_CANARY, WORKBOOK_CANARY]
    assert len(set(secrets)) == len(secrets)

    def assert_clean(where: str, blobs: list[bytes]) -> None:
        for blob in blobs:
            for secret in secrets:
                assert secret.encode() not in blob, f"{where} memuat rahasia"

    # Prefect: run parameters, the runs' form inputs, artifacts, every log line sent to the API
    # (of every test of the session so far).
    with get_client(sync_client=True) as client:
        runs = _every(client.read_flow_runs)
        assert len(runs) >= 2
        for flow_run in runs:
            inputs = client.filter_flow_run_input(
                flow_run.id, key_prefix="", limit=1000, exclude_keys=set()
            )
            blobs = [repr(flow_run.parameters).encode(), repr(inputs).encode()]
            assert_clean(f"parameter dan masukan run {flow_run.name}", blobs)
        artifacts = _every(client.read_artifacts)
        assert any(a.type == "table" for a in artifacts)  # the status grid at least
        for artifact in artifacts:
            blobs = [repr(artifact.data).encode(), repr(artifact.description).encode()]
            assert_clean(f"artefak {artifact.key}", blobs)
        logs = _every(client.read_logs)
        assert any(log.level < 20 for log in logs)  # DEBUG reached the API
        assert_clean("log Prefect", [log.message.encode() for log in logs])
    # Persisted task results (Prefect's result storage).
    results = [p for p in Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"]).rglob("*") if p.is_file()]
    assert results
    assert_clean("hasil tugas tersimpan", [p.read_bytes() for p in results])
    # Our log files: the serving process, the Prefect server, the embedded cluster.
    assert_clean("serve.log", [canary_product["serve_log"].read_bytes()])
    assert_clean("log server Prefect", [engine.log_path.read_bytes()])
    assert_clean("log PostgreSQL", [(engine.data_dir / "postgres.log").read_bytes()])
    # Letters and every other document; every email in the sink with its attachments.
    documents = [p for p in get_settings().docs_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".docx" for p in documents)
    for path in documents:
        assert_clean(f"dokumen {path.name}", _texts(path.name, path.read_bytes()))
    mail = [p for p in (Path(isolated_settings).parent / "mail").rglob("*") if p.is_file()]
    assert len(mail) >= 5
    for path in mail:
        assert_clean(f"surel {path.name}", _email_texts(path.read_bytes()))
    # The app's database file.
    db_file = Path(get_settings().db_url.removeprefix("sqlite:///"))
    assert_clean("basis data aplikasi", [db_file.read_bytes()])
