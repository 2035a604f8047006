"""The one clock: UTC inside, the configured zone (WITA by default) for people.

Every timestamp the product stores or compares is a timezone-aware UTC ``datetime`` from
:func:`now`; every calendar date a person reads (a letter's date, a due date, "today" for the
reminders) is :func:`today`, the date in the configured zone. Display goes through
:func:`local`. Nothing else calls ``datetime.now`` or ``date.today``.

A simulated calendar (the demo runs a whole cycle on working days that pass in seconds) is a
small JSON file named by ``PEMANTIK_CLOCK_FILE``: ``{"offset_seconds": N}`` moves the clock N
seconds ahead of the real one. Every process of one installation (the serving process, the CLI,
the mailbox reader) reads the same file, so they all agree on the date; the file is re-read when
it changes. Without the setting the clock is the real one.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_cached: tuple[str, int, float] | None = None  # (path, mtime in ns, offset seconds)


def _zone() -> ZoneInfo:
    from models.settings import get_settings

    return get_settings().tz


def _offset() -> float:
    """Seconds the simulated clock runs ahead of the real one (0 without a clock file)."""
    global _cached
    path = os.environ.get("PEMANTIK_CLOCK_FILE", "")
    if not path:
        return 0.0
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return 0.0
    with _lock:
        if _cached is not None and _cached[0] == path and _cached[1] == mtime:
            return _cached[2]
        try:
            offset = float(json.loads(Path(path).read_text(encoding="utf-8"))["offset_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            offset = _cached[2] if _cached is not None and _cached[0] == path else 0.0
        _cached = (path, mtime, offset)
        return offset


def now() -> datetime:
    """The current instant, timezone-aware UTC (simulated when a clock file is set)."""
    current = datetime.now(UTC)
    offset = _offset()
    return current + timedelta(seconds=offset) if offset else current


def real_now() -> datetime:
    """The real instant, never simulated: for leases between processes (a serving process's
    ownership of its runs), which must not jump when the demo moves its calendar."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the configured zone (WITA by default)."""
    return now().astimezone(_zone()).date()


def as_utc(value: datetime) -> datetime:
    """A stored or given instant as aware UTC; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """An instant in the configured zone, for display (naive values are UTC)."""
    return as_utc(value).astimezone(_zone())


def local_date(value: date | datetime | None) -> date | None:
    """The calendar date (configured zone) of an instant; dates pass through unchanged."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return local(value).date()
    return value


def zone_label() -> str:
    """The zone's short name as written in letters: WIB, WITA or WIT (else the zone's own)."""
    names = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
    names["Asia/Jayapura"] = "WIT"
    key = str(_zone())
    return names.get(key, key)


def set_offset(path: Path, offset_seconds: float) -> None:
    """Write a simulated clock file (the demo moves its calendar with this), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"offset_seconds": offset_seconds}), encoding="utf-8")
    os.replace(tmp, path)
