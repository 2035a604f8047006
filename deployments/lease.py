"""Which ``pemantik serve`` process owns which flow runs: a lease per process in our database.

Several serving processes may run against one Prefect server (on one machine or several). Each
one holds a lease (a :class:`models.tables.ServingProcess` row) that it renews every few seconds
and that lists the flow runs it executes; a run is written into the list *before* the process
claims it from Prefect. A run of our deployments that Prefect shows Running, Pending or
Cancelling is an orphan — its process died — only when

- the lease that lists it has expired, was released, or belongs to a dead process on this same
  host; or
- no lease lists it and its state is older than one lease period (a run started by something
  other than a serving process is left alone that long).

Why our own lease and not Prefect's flow-run heartbeats: heartbeats are events, one per run
per interval, written to the Prefect server (the busiest part of the system at scale), and
reading "the last heartbeat of run X" is an events query per run; a lease is one small row per
process in the app's database. Prefect's ``infrastructure_pid`` names a single process per run,
but deciding that the process is dead still needs a liveness record — which is this lease.

Leases use the real clock (``models.clock.real_now``), never the demo's simulated calendar.
Orphans are re-scheduled under a database lock (:func:`reclaim_lock`), so two processes never
re-schedule the same run twice — the second would undo the first one's new claim.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from models.clock import real_now
from models.db import session_scope
from models.tables import ServingProcess

RECLAIM_LOCK_KEY = 727_364_801  # pg_advisory_xact_lock key: "reclaiming orphaned runs"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@dataclass
class Owners:
    """A snapshot of every lease: who is alive and which runs each one lists."""

    live: dict[str, set[str]]  # lease id → runs it owns
    dead: dict[str, set[str]]  # expired, released or a dead process on this host

    def owner_of(self, run_id: str) -> str | None:
        return next((lease for lease, runs in self.live.items() if run_id in runs), None)

    def listed_by_dead(self, run_id: str) -> bool:
        return any(run_id in runs for runs in self.dead.values())

    def orphaned(self, run_id: str, state_since: datetime | None, grace_seconds: float) -> bool:
        """Whether a Running/Pending/Cancelling run has lost the process that executed it."""
        if self.owner_of(run_id) is not None:
            return False
        if self.listed_by_dead(run_id):
            return True
        return state_since is None or state_since < real_now() - timedelta(seconds=grace_seconds)


class Lease:
    """This process's lease; :meth:`renew` it more often than ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.id = uuid.uuid4().hex
        self.seconds = seconds
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.runs: set[str] = set()

    def acquire(self) -> Lease:
        now = real_now()
        with session_scope() as session:
            session.add(
                ServingProcess(
                    id=self.id,
                    host=self.host,
                    pid=self.pid,
                    started_at=now,
                    renewed_at=now,
                    expires_at=now + timedelta(seconds=self.seconds),
                    runs=[],
                )
            )
            # Leases released more than a day ago are of no further use.
            cutoff = now - timedelta(days=1)
            for old in session.exec(
                select(ServingProcess).where(ServingProcess.expires_at < cutoff)
            ):
                session.delete(old)
        return self

    def renew(self, runs: Iterable[str] | None = None) -> None:
        """Extend the lease and publish the runs this process owns (before claiming them)."""
        if runs is not None:
            self.runs = set(runs)
        now = real_now()
        with session_scope() as session:
            row = session.get(ServingProcess, self.id)
            if row is None:  # pruned or lost: write it again
                row = ServingProcess(id=self.id, host=self.host, pid=self.pid, started_at=now)
            row.renewed_at = now
            row.expires_at = now + timedelta(seconds=self.seconds)
            row.runs = sorted(self.runs)
            row.stopped_at = None
            session.add(row)

    def release(self, unfinished: Iterable[str] = ()) -> None:
        """End the lease. Runs still listed (``unfinished``: the process stops without having
        drained them) become orphans at once."""
        now = real_now()
        with session_scope() as session:
            row = session.get(ServingProcess, self.id)
            if row is not None:
                row.stopped_at = now
                row.expires_at = now
                row.runs = sorted(unfinished)
                session.add(row)


def owners(session: Session | None = None, now: datetime | None = None) -> Owners:
    """Every lease, split into live and dead (see the module's docstring)."""
    now = now or real_now()
    host = socket.gethostname()
    live: dict[str, set[str]] = {}
    dead: dict[str, set[str]] = {}

    def split(rows: Iterable[ServingProcess]) -> None:
        for row in rows:
            runs = set(row.runs or [])
            alive = (
                row.stopped_at is None
                and row.expires_at > now
                and not (row.host == host and not _pid_alive(row.pid))
            )
            (live if alive else dead)[row.id] = runs

    if session is not None:
        split(session.exec(select(ServingProcess)))
    else:
        with session_scope() as own:
            split(own.exec(select(ServingProcess)))
    return Owners(live=live, dead=dead)


@contextmanager
def reclaim_lock(lease_id: str) -> Iterator[Session]:
    """A transaction that at most one serving process holds at a time.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database's write lock, taken by
    writing this process's own lease row (SQLite has one writer at a time)."""
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECLAIM_LOCK_KEY})
        else:
            session.execute(
                text("UPDATE servingprocess SET host = host WHERE id = :id"), {"id": lease_id}
            )
        yield session
