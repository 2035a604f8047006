"""The Prefect server the product starts: on PostgreSQL, behind basic auth, with a UI that works.

:class:`LocalEngine` is what ``pemantik server``, the demo and the tests start: the embedded
PostgreSQL cluster (unless both databases are external), then ``prefect server start`` on its
``prefect`` database with the installation's basic-auth credential, listening where the UI's
``/ui-settings`` says it does. Its clients (``pemantik serve``, the CLI, the mailbox reader)
get the API address and the credential from :func:`client_environment`, read before Prefect
is imported.

:func:`scan_server_log` counts what must never be in the server's log: ``database is locked``
and 5xx answers (``python -m deployments.prefect_server LOG…`` prints the counts).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.embedded_db import free_port

# Server services the product does not use, switched off (names checked against Prefect 3.9's
# prefect/settings/models/server/services.py). Kept on: the scheduler (the cron and interval
# deployments), the foreman (deployment and work-pool readiness), late runs (the UI shows runs
# no runner took), cancellation cleanup and the cleanup reconciler (Cancel from the UI, workers),
# the repossessor (concurrency leases), the task-run recorder (task runs in the UI), the event
# persister and the database vacuum (the UI's event feed and its retention).
SERVICES_OFF = {
    # Every suspend in the product has timeout=None, so no pause ever expires; the service
    # otherwise loads every paused run every 5 s.
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    # Automations (reactive and proactive triggers, and their actions): the product uses none,
    # and the reactive side reads every event. The admin is told of problems by email.
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    # Telemetry to Prefect's analytics.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
STATE_FILE = "server.json"  # in the Prefect folder: where a running `pemantik server` listens


def client_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def server_environment(
    host: str,
    port: int,
    home: Path,
    *,
    database_url: str | None = None,
    auth_string: str | None = None,
    ui: bool = False,
    ui_api_url: str | None = None,
    access_log: bool = False,
) -> dict[str, str]:
    """The environment of ``prefect server start`` (its own settings, not a client's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    env.pop("PREFECT_API_AUTH_STRING", None)
    env.update(SERVICES_OFF)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_UI_ENABLED="true" if ui else "false",
        # The UI asks /ui-settings where the API is; that answer is built from these settings,
        # not from --port, so they must name where the server really listens.
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=ui_api_url
        or os.environ.get("PREFECT_UI_API_URL")
        or f"http://{client_host(host)}:{port}/api",
        # Retryable database errors (a lock, a dropped connection) are logged, not hidden.
        PREFECT_SERVER_LOG_RETRYABLE_ERRORS="true",
        # No upgrade banners in the admin's console.
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
    )
    if access_log:  # one line per request, so 5xx answers can be counted
        env["PREFECT_SERVER_LOGGING_LEVEL"] = "INFO"
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
        if database_url.startswith("postgresql"):
            # Prefect keeps 5 connections and opens up to 10 more for a burst, closing each
            # when it is handed back: under a cycle's load that was a new PostgreSQL backend
            # (fork, authentication, asyncpg's type introspection) several times a second.
            # Keeping 15 open costs a few MB of the database's memory. The admin's own
            # setting, when given, wins.
            env.setdefault("PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE", "15")
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    return env


def start_server(
    port: int,
    home: Path,
    log_path: Path,
    timeout: float = 120.0,
    ui: bool = False,
    *,
    host: str = "127.0.0.1",
    database_url: str | None = None,
    auth_string: str | None = None,
    ui_api_url: str | None = None,
    access_log: bool = False,
) -> subprocess.Popen:
    """Start ``prefect server start`` and wait until /api/health answers; raise when it does not.

    Without ``database_url`` the server uses SQLite in ``home`` (benchmarks' baselines only:
    Prefect on SQLite locks under the product's load).
    """
    home.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = server_environment(
        host,
        port,
        home,
        database_url=database_url,
        auth_string=auth_string,
        ui=ui,
        ui_api_url=ui_api_url,
        access_log=access_log,
    )
    from models.embedded_db import die_with_parent

    log_path.touch(mode=0o600, exist_ok=True)
    with log_path.open("a") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                host,
                "--port",
                str(port),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),  # no server left behind by a killed demo or test
        )
    deadline = time.monotonic() + timeout
    url = f"http://{client_host(host)}:{port}/api/health"  # open without credentials
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server berhenti: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_process(proc)
    raise RuntimeError(f"prefect server tidak siap dalam {timeout:.0f} detik; lihat {log_path}")


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LocalEngine:
    """The embedded cluster (where needed) and a Prefect server with credentials, as one unit.

    ``data_dir`` holds the cluster and the credentials file; ``prefect_dir`` the server's home,
    its log and the state file clients read. An external database is used by passing its URL
    (``database_url`` for the app, ``prefect_database_url`` for Prefect); the cluster is started
    only for what is not external.
    """

    def __init__(
        self,
        data_dir: Path,
        prefect_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        database_url: str = "",
        prefect_database_url: str = "",
        embedded_db_port: int = 0,
        ui: bool = True,
        access_log: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.prefect_dir = Path(prefect_dir or self.data_dir / "prefect").resolve()
        self.host = host
        self.port = port
        self.external_app_db = database_url
        self.external_prefect_db = prefect_database_url
        self.embedded_db_port = embedded_db_port
        self.ui = ui
        self.access_log = access_log
        self.cluster: Any = None
        self.server: subprocess.Popen | None = None
        self.credentials: Any = None
        self.server_start_seconds: float | None = None

    @classmethod
    def from_settings(cls, host: str, port: int, **kwargs: Any) -> LocalEngine:
        from models.settings import get_settings

        settings = get_settings()
        return cls(
            settings.data_dir,
            host=host,
            port=port,
            database_url=settings.database_url,
            prefect_database_url=settings.prefect_database_url,
            embedded_db_port=settings.embedded_db_port,
            **kwargs,
        )

    @property
    def log_path(self) -> Path:
        return self.prefect_dir / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.port}"

    @property
    def app_database_url(self) -> str:
        if self.external_app_db:
            return self.external_app_db
        from models.embedded_db import APP_DATABASE

        return self.cluster.url(APP_DATABASE)

    def client_env(self) -> dict[str, str]:
        """What a client process of this engine needs (the API address and the credential)."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_API_AUTH_STRING": self.credentials.auth_string,
        }

    def start(self) -> LocalEngine:
        from models.credentials import load_credentials
        from models.embedded_db import PREFECT_DATABASE, PREFECT_DRIVER, EmbeddedCluster

        self.credentials = load_credentials(self.data_dir, create=True)
        prefect_db = self.external_prefect_db
        if not (self.external_app_db and prefect_db):
            self.cluster = EmbeddedCluster(self.data_dir, port=self.embedded_db_port).start()
            prefect_db = prefect_db or self.cluster.url(PREFECT_DATABASE, PREFECT_DRIVER)
        self.port = self.port or free_port()
        started = time.monotonic()
        try:
            self.server = start_server(
                self.port,
                self.prefect_dir / "home",
                self.log_path,
                ui=self.ui,
                host=self.host,
                database_url=prefect_db,
                auth_string=self.credentials.auth_string,
                access_log=self.access_log,
            )
        except BaseException:
            if self.cluster is not None:
                self.cluster.stop()
            raise
        self.server_start_seconds = time.monotonic() - started
        state = {"api_url": self.api_url, "ui_url": self.ui_url, "pid": self.server.pid}
        (self.prefect_dir / STATE_FILE).write_text(json.dumps(state))
        return self

    def wait(self) -> None:
        """Block until the server process ends (``pemantik server``, ``demo --tetap``)."""
        if self.server is not None:
            self.server.wait()

    def stop(self) -> None:
        if self.server is not None:
            stop_process(self.server)
            self.server = None
        (self.prefect_dir / STATE_FILE).unlink(missing_ok=True)
        if self.cluster is not None:
            self.cluster.stop()

    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_server_url(data_dir: Path) -> str | None:
    """The API address of a `pemantik server` running for this data folder, if any."""
    path = Path(data_dir).resolve() / "prefect" / STATE_FILE
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
        return str(state["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def client_environment(data_dir: Path) -> dict[str, str]:
    """Prefect client settings for this installation, for what the environment does not set.

    The credential comes from the credentials file when the caller may read it; the API address
    from a running ``pemantik server`` of the same data folder.
    """
    from models.credentials import CredentialsError, credentials_path, load_credentials

    env: dict[str, str] = {}
    if "PREFECT_API_AUTH_STRING" not in os.environ and credentials_path(data_dir).exists():
        try:
            env["PREFECT_API_AUTH_STRING"] = load_credentials(data_dir).auth_string
        except CredentialsError:
            pass  # the command goes on; the server will answer 401 and say so
    if "PREFECT_API_URL" not in os.environ:
        url = running_server_url(data_dir)
        if url:
            env["PREFECT_API_URL"] = url
    return env


@dataclass(frozen=True)
class LogFindings:
    locked: int
    server_errors: int

    @property
    def clean(self) -> bool:
        return self.locked == 0 and self.server_errors == 0


_STATUS_5XX = re.compile(r'HTTP/\d(?:\.\d)?" 5\d\d\b')


def scan_server_log(path: Path) -> LogFindings:
    """Count ``database is locked`` errors and 5xx answers in a Prefect server log."""
    locked = errors = 0
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "database is locked" in line.lower():
                locked += 1
            if _STATUS_5XX.search(line):
                errors += 1
    return LogFindings(locked=locked, server_errors=errors)


if __name__ == "__main__":
    worst = 0
    for name in sys.argv[1:]:
        found = scan_server_log(Path(name))
        print(f"{name}: database is locked {found.locked}, 5xx {found.server_errors}")
        worst = worst or int(not found.clean)
    sys.exit(worst)
