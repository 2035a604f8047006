"""Shared fixtures: isolated settings, and a migrated database on SQLite and PostgreSQL.

PostgreSQL tests use a throwaway database on 127.0.0.1:5432 (trust auth, user postgres) made
for the run and dropped after it. When the server cannot be reached they are skipped, unless
``PEMANTIK_REQUIRE_POSTGRES=1`` (set by .ci/run), in which case they fail.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.prefect_server import free_port, start_server

# Point Prefect at a test server before anything imports Prefect; the server itself starts
# only when a test asks for the ``prefect_server`` fixture.
_PREFECT_DIR = Path(tempfile.mkdtemp(prefix="pemantik-prefect-"))
_PREFECT_PORT = free_port()
os.environ.update(
    PREFECT_API_URL=f"http://127.0.0.1:{_PREFECT_PORT}/api",
    PREFECT_HOME=str(_PREFECT_DIR / "home"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
    PREFECT_LOCAL_STORAGE_PATH=str(_PREFECT_DIR / "results"),
    PREFECT_LOGGING_LEVEL="WARNING",
)

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
def prefect_server() -> Iterator[str]:
    """A real ``prefect server start`` (SQLite) for this test session."""
    proc = start_server(_PREFECT_PORT, _PREFECT_DIR / "home", _PREFECT_DIR / "server.log")
    yield os.environ["PREFECT_API_URL"]
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except Exception:
        proc.kill()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    if not _pg_available():
        if os.environ.get("PEMANTIK_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL di 127.0.0.1:5432 tidak dapat dihubungi")
        pytest.skip("PostgreSQL tidak tersedia")
    import psycopg

    name = f"pemantik_test_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
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
    monkeypatch.chdir(tmp_path)
    reset_settings()
    yield tmp_path / "data"
    reset_settings()


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
