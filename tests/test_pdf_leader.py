"""The shared PDF batch survives its leader's thread being interrupted (a run cancelled in the
middle of its step): the callers it held are told, and the next caller leads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from letters import pdf


class Interrupted(BaseException):
    """What the serving process raises in a run's thread when the admin cancels it."""


def test_an_interrupted_leader_leaves_nobody_waiting(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[Path]] = []

    def convert(paths, timeout, profile_dir):  # noqa: ANN001, ANN202
        calls.append(list(paths))
        if len(calls) == 1:
            time.sleep(0.3)  # the follower joins the queue meanwhile
            raise Interrupted
        return {p: p.with_suffix(".pdf") for p in paths}

    monkeypatch.setattr(pdf, "convert_to_pdf", convert)
    monkeypatch.setattr(pdf, "GATHER_SECONDS", 0.2)
    outcomes: dict[str, object] = {}

    def call(name: str) -> None:
        try:
            outcomes[name] = pdf.convert_shared([tmp_path / f"{name}.docx"], timeout=5)
        except BaseException as exc:  # noqa: BLE001 - the test reads what each caller got
            outcomes[name] = exc

    leader = threading.Thread(target=call, args=("pemimpin",))
    leader.start()
    time.sleep(0.1)
    follower = threading.Thread(target=call, args=("pengikut",))
    follower.start()
    leader.join(10)
    follower.join(10)
    assert isinstance(outcomes["pemimpin"], Interrupted)
    assert isinstance(outcomes["pengikut"], pdf.PdfError)  # told, not left waiting
    later = threading.Thread(target=call, args=("berikutnya",))
    later.start()
    later.join(10)
    assert not later.is_alive(), "the next caller waited for a leader that was gone"
    assert outcomes["berikutnya"] == {
        (tmp_path / "berikutnya.docx").resolve(): (tmp_path / "berikutnya.pdf").resolve()
    }


@pytest.fixture(autouse=True)
def _fresh_batch(monkeypatch) -> None:
    monkeypatch.setattr(pdf, "_queue", [])
    monkeypatch.setattr(pdf, "_leader_busy", False)
