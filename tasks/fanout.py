"""Starting one region run per Kab/Kota: idempotent, in batches, and patient with the server.

Every region run is created with an idempotency key made of the cycle and the region, so the
server returns the same run however often its creation is retried — by this loop after a lost
answer, by a retried cycle run, or by a cycle run that was re-run from the top after its
serving process died. Runs are created in batches (``POST /deployments/{id}/create_flow_run/bulk``,
one transaction each). A server that answers 5xx or cannot be reached is retried with backoff
for ``PEMANTIK_RUNNER__FANOUT_RETRY_SECONDS`` — far past the Prefect client's own minute of
retries; a request the server refuses (4xx) is not retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import PrefectHTTPStatusError

log = logging.getLogger("pemantik.fanout")

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def region_run_key(cycle_flow_run_id: str, region_code: str) -> str:
    """The idempotency key of a region's run in a cycle (unique on the whole server)."""
    return f"pemantik-siklus-{cycle_flow_run_id}-wilayah-{region_code}"


@dataclass
class FanOut:
    """What a fan-out achieved: region → flow run id, and region → why it is not started."""

    started: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def retryable(exc: BaseException) -> bool:
    """Whether a failed call to the Prefect server is worth trying again (5xx, unreachable)."""
    if isinstance(exc, PrefectHTTPStatusError):
        return exc.response.status_code in RETRYABLE_STATUS
    return isinstance(exc, httpx.TransportError | OSError | TimeoutError)


PERMANENT = ("Parameter validation failed", "Invalid schema", "Cannot create flow run")


def _item_reason(error: str) -> str:
    """A refused item, in words for the admin (the server's own text goes to the log)."""
    if error.startswith(PERMANENT):
        return "server Prefect menolak parameter alur wilayah"
    return "server Prefect sedang sibuk dan belum dapat menyimpan alur baru"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PrefectHTTPStatusError):
        return f"server Prefect menjawab {exc.response.status_code} {exc.response.reason_phrase}"
    return f"server Prefect tidak dapat dihubungi ({type(exc).__name__})"


def patiently(call: Callable[[], Any], deadline: float, what: str) -> Any:
    """``call()`` until it succeeds, a non-retryable error, or ``deadline`` (monotonic)."""
    delay = 1.0
    while True:
        try:
            return call()
        except Exception as exc:
            if not retryable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s gagal (%s); dicoba lagi dalam %.0f detik", what, _reason(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def start_runs(
    deployment_name: str,
    runs: dict[str, tuple[dict[str, Any], str]],  # region → (parameters, idempotency key)
    batch: int,
    retry_seconds: float,
    on_started: Callable[[dict[str, str]], None],
    labels: dict[str, tuple[str, list[str]]] | None = None,  # region → (run name, extra tags)
) -> FanOut:
    """Create the runs in batches; ``on_started`` records each batch's run ids at once.

    ``labels`` names each run and adds tags to the deployment's (the UI filters by tag)."""
    labels = labels or {}
    result = FanOut()
    deadline = time.monotonic() + retry_seconds
    codes = list(runs)
    with get_client(sync_client=True) as client:
        try:
            deployment = patiently(
                lambda: client.read_deployment_by_name(deployment_name),
                deadline,
                "Membaca deployment wilayah",
            )
        except Exception as exc:
            result.failed = {code: _reason(exc) for code in codes}
            return result
        pending = list(codes)
        delay = 1.0
        while pending:
            retry: list[str] = []
            for i in range(0, len(pending), batch):
                chunk = pending[i : i + batch]
                body = []
                for code in chunk:
                    item: dict[str, Any] = {
                        "parameters": runs[code][0],
                        "idempotency_key": runs[code][1],
                    }
                    if code in labels:
                        name, tags = labels[code]
                        item["name"] = name
                        item["tags"] = sorted({*deployment.tags, *tags})
                    body.append(item)
                try:
                    response = patiently(
                        lambda body=body: client.request(
                            "POST",
                            "/deployments/{id}/create_flow_run/bulk",
                            path_params={"id": deployment.id},
                            json=body,
                        ),
                        deadline,
                        f"Memulai alur {len(chunk)} wilayah",
                    )
                except Exception as exc:
                    reason = _reason(exc)
                    result.failed.update({code: reason for code in pending[i:]})
                    log.error("Alur %d wilayah belum dapat dimulai: %s", len(pending[i:]), reason)
                    return result
                created: dict[str, str] = {}
                for code, outcome in zip(chunk, response.json()["results"], strict=True):
                    if outcome.get("status") == "CREATED" and outcome.get("flow_run_id"):
                        created[code] = str(outcome["flow_run_id"])
                        continue
                    error = outcome.get("error") or ""
                    log.warning("Alur wilayah %s belum dibuat: %s", code, error[:300])
                    if error.startswith(PERMANENT):
                        result.failed[code] = _item_reason(error)
                    else:  # e.g. the server's database was busy: the same key, again
                        retry.append(code)
                        result.failed[code] = _item_reason(error)
                on_started(created)
                result.started.update(created)
            if retry and time.monotonic() + delay > deadline:
                return result
            for code in retry:
                result.failed.pop(code, None)
            pending = retry
            if pending:
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
    return result
