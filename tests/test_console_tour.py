"""The admin's console in a browser: docs/console/tour.py against a real Prefect server with
basic auth (start a cycle from the Custom run form, answer a wait through the Resume form,
close the cycle), a screenshot of each page."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from mail.sink import start_sink
from models.settings import reset_settings

pytestmark = pytest.mark.slow

TOUR = Path(__file__).parents[1] / "docs" / "console" / "tour.py"


def load_tour():  # noqa: ANN201 - the module docs/console/tour.py
    spec = importlib.util.spec_from_file_location("console_tour", TOUR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_admins_path_in_chromium(prefect_engine, tmp_path, monkeypatch) -> None:
    tour = load_tour()
    if not Path(tour.CHROMIUM).exists():
        if os.environ.get("PEMANTIK_REQUIRE_BROWSER"):
            pytest.fail(f"PEMANTIK_REQUIRE_BROWSER is set but {tour.CHROMIUM} is missing")
        pytest.skip("Debian chromium is not installed")
    from deployments.serve import BackgroundServe
    from models.db import migrate

    migrate()
    sink = start_sink(tmp_path / "mail")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    reset_settings()
    (tmp_path / "files").mkdir()
    try:
        with BackgroundServe():
            shots = tour.walk(
                prefect_engine.ui_url,
                prefect_engine.credentials.auth_string,
                tmp_path / "shots",
                tmp_path / "mail",
                tmp_path / "files",
            )
    finally:
        sink.stop()
    assert [s.stem for s in shots] == list(tour.SHOTS)
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
