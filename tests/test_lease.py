"""Leases of serving processes: which runs are orphans, and the reclaim lock (both databases)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from models.clock import real_now


def test_orphan_rules(db_url):
    """Owned by a live lease: never an orphan. Listed by a released or expired lease, or by a
    dead process on this host: an orphan at once. Listed by nobody: only after the grace."""
    from deployments.lease import Lease, owners
    from models.db import session_scope
    from models.tables import ServingProcess

    live, released, expired, dead = (Lease(30).acquire() for _ in range(4))
    live.renew(["run-live"])
    released.renew(["run-released", "run-drained"])
    released.release(["run-released"])  # stopped before this run reached a wait
    expired.renew(["run-expired"])
    dead.renew(["run-dead"])
    with session_scope() as session:
        row = session.get(ServingProcess, expired.id)
        row.expires_at = real_now() - timedelta(seconds=1)
        session.add(row)
        row = session.get(ServingProcess, dead.id)
        row.pid = 2**22 + 12345  # no such process on this host
        session.add(row)
    snapshot = owners()
    recent, old = real_now(), real_now() - timedelta(seconds=120)
    assert snapshot.owner_of("run-live") == live.id
    assert not snapshot.orphaned("run-live", old, 60)
    for run in ("run-released", "run-expired", "run-dead"):
        assert snapshot.orphaned(run, recent, 60), run
    assert not snapshot.orphaned("run-nobody", recent, 60)  # just claimed, maybe
    assert not snapshot.orphaned("run-drained", recent, 60)
    assert snapshot.orphaned("run-nobody", old, 60)


def test_renew_rewrites_a_lost_lease_row(db_url):
    from deployments.lease import Lease, owners
    from models.db import session_scope
    from models.tables import ServingProcess

    lease = Lease(30).acquire()
    with session_scope() as session:
        session.delete(session.get(ServingProcess, lease.id))
    lease.renew(["r1"])
    assert owners().owner_of("r1") == lease.id


def test_reclaim_lock_is_held_by_one_process_at_a_time(db_url) -> None:
    """Two leases take the reclaim lock in turn (PostgreSQL: advisory lock; SQLite: write lock)."""
    from deployments.lease import Lease, reclaim_lock

    first, second = Lease(30).acquire(), Lease(30).acquire()
    order: list[str] = []
    inside = threading.Event()

    def hold() -> None:
        with reclaim_lock(first.id):
            order.append("pertama masuk")
            inside.set()
            time.sleep(1.0)
            order.append("pertama keluar")

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with reclaim_lock(second.id):
        order.append("kedua masuk")
    thread.join()
    assert order == ["pertama masuk", "pertama keluar", "kedua masuk"]
