"""Database engine, sessions and migrations (Alembic), for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from models.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # WAL lets readers run beside one writer; busy_timeout makes a writer wait instead of
    # failing at once with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().db_url
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            db_path = url.split("///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = Session(get_engine(url), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest schema (creates it from empty)."""
    engine = get_engine(url)  # also makes the SQLite file's folder
    with engine.begin() as connection:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def copy_rows(session: Session, table: str, columns: list[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` on the session's own connection.

    psycopg re-parses every multi-row ``INSERT … VALUES`` statement (thousands of parameters);
    COPY streams the rows instead, in the same transaction.
    """
    from psycopg.types.json import Json

    raw = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Json(v) if isinstance(v, dict | list) else v for v in row])
