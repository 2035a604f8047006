"""The wrapper that turns a step function into a Prefect task named after the SOP step and
records the step in the audit trail, so no step can forget to record itself."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE

from models import clock
from models.audit import record_step
from models.db import session_scope
from models.sop import step as sop_step
from services.progress import set_progress

F = TypeVar("F", bound=Callable[..., Any])


def _summary(result: Any) -> tuple[str, int | None, dict | None]:
    if isinstance(result, dict):
        outcome = str(result.get("outcome") or result.get("number") or "")
        document_id = result.get("letter_id") if isinstance(result.get("letter_id"), int) else None
        return outcome, document_id, _jsonable(result)
    return (str(result) if result is not None else ""), None, None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _letter_ids(result: Any) -> list[int]:
    """Letter ids a step result names, at any depth (``letter_id`` keys)."""
    found: list[int] = []
    if isinstance(result, dict):
        for key, value in result.items():
            if key == "letter_id" and isinstance(value, int):
                found.append(value)
            else:
                found.extend(_letter_ids(value))
    elif isinstance(result, list):
        for value in result:
            found.extend(_letter_ids(value))
    return found


def letter_key(kind: str, number: str) -> str:
    """An artifact key a person can read: the letter's kind and number, e.g.
    ``undangan-005-12-diskominfo-2026`` (keys allow lowercase letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", f"{kind}-{number}".lower()).strip("-")


def _link_letters(result: Any) -> None:
    """A link artifact per letter the step issued, next to the run in the UI."""
    ids = _letter_ids(result)
    if not ids:
        return
    from pathlib import Path

    from prefect.artifacts import create_link_artifact

    from models.tables import Letter

    with session_scope() as session:
        letters = [session.get(Letter, i) for i in ids]
    for letter in letters:
        if letter is None:
            continue
        path = Path(letter.pdf_path or letter.file_path).resolve()
        create_link_artifact(
            link=path.as_uri(),
            link_text=f"{letter.subject} — {letter.number}",
            key=letter_key(letter.kind, letter.number),
            description=f"Surat nomor {letter.number} ({letter.kind}), sha256 {letter.sha256[:12]}…",
        )


def sop_task(
    step_no: int,
    suffix: str = "",
    *,
    record: bool = True,
    cache: bool = True,
    progress: bool = False,
    retries: int = 0,
) -> Callable[[F], F]:
    """Decorate ``fn(cycle_id, region_code, ...)`` as the Prefect task of SOP step ``step_no``.

    Results are persisted (a resumed run finds them and does not repeat the step); ``cache``
    False makes a task that must look at the database afresh on every execution; ``progress``
    marks the region as working on this step before it starts (the status grid shows it).
    """
    name = sop_step(step_no).task_name + (f" — {suffix}" if suffix else "")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(cycle_id: int, region_code: str | None, *args: Any, **kwargs: Any) -> Any:
            started = clock.now()
            if progress and region_code is not None:
                with session_scope() as session:
                    set_progress(session, cycle_id, region_code, step_no=step_no)
            result = fn(cycle_id, region_code, *args, **kwargs)
            _link_letters(result)
            if record:
                outcome, document_id, detail = _summary(result)
                with session_scope() as session:
                    record_step(
                        session,
                        cycle_id=cycle_id,
                        region_code=region_code,
                        step_no=step_no,
                        event="done",
                        started_at=started,
                        outcome=outcome[:500],
                        document_id=document_id,
                        detail=detail,
                    )
            return result

        options: dict[str, Any] = {
            "name": name,
            "persist_result": True,
            "retries": retries,
            "retry_delay_seconds": 5,
        }
        if not cache:
            options["cache_policy"] = NO_CACHE
        return task(**options)(wrapper)  # type: ignore[return-value]

    return decorate
