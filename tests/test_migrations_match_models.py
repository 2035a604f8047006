"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL.

An empty database is upgraded to head (the ``db_url`` fixture), then Alembic's autogenerate
comparison runs against the models with type comparison on: any difference means a model was
changed without a migration (or the other way round). ``UTCDateTime`` is a TypeDecorator; it is
compared as the type it stores, ``DateTime(timezone=True)`` (``TIMESTAMP WITH TIME ZONE`` on
PostgreSQL), which is what the migrations create.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, DateTime, MetaData, String
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table)
from models.db import get_engine
from models.tables import UTCDateTime

COMPARE_OPTIONS = {"compare_type": True, "compare_server_default": True}


def _differences(url: str, metadata: MetaData) -> list[Any]:
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
        return compare_metadata(context, metadata)


def test_head_matches_the_models(db_url: str) -> None:
    differences = _differences(db_url, SQLModel.metadata)
    assert differences == [], "models and migrations differ:\n" + "\n".join(map(str, differences))


def test_the_comparison_sees_a_changed_model(db_url: str) -> None:
    """The check can fail: a column added, a type and a time zone changed are all reported."""
    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    dispatch = metadata.tables["dispatch"]
    assert isinstance(dispatch.c.created_at.type, UTCDateTime)
    dispatch.append_column(Column("extra_note", String(20), nullable=True))
    dispatch.c.created_at.type = DateTime(timezone=False)
    dispatch.c.attempts.type = String(20)

    found = _differences(db_url, metadata)

    added = {d[3].name for d in found if isinstance(d, tuple) and d[0] == "add_column"}
    assert added == {"extra_note"}
    changed = {
        d[0][3]
        for d in found
        if isinstance(d, list) and d and d[0][0] == "modify_type" and d[0][2] == "dispatch"
    }
    assert "attempts" in changed
    if db_url.startswith("postgresql"):
        # SQLite has no time zones; PostgreSQL's timestamptz is not a plain timestamp.
        assert "created_at" in changed
