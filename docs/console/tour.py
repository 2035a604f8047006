"""The admin's path through the Prefect UI, in Debian's Chromium: a screenshot of each page.

    python docs/console/tour.py            # its own engine, serving process and mail sink
    python docs/console/tour.py --keluar /tmp/layar

Against a real Prefect server with basic auth, the admin logs in, starts a cycle from the
Custom run form, answers the region's first wait through the Resume form (a wrong entry first,
which the form asks again naming what is wrong, then the filled workbook by link), and closes
the cycle through the cycle run's form. The screenshots (PNG) are written to this folder; the
README shows them and ``tests/test_console_tour.py`` runs the tour in CI. Never downloads a
browser: Chromium is Debian's (``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REGION = "64.72"
CYCLE, REGION_RUNS = "siklus-pemantik/siklus", "wilayah-pemantik/wilayah"
YEAR = 2026
SHOTS = (
    "01-masuk",
    "02-formulir-siklus",
    "03-siklus-berjalan",
    "04-formulir-jawaban",
    "05-formulir-diminta-ulang",
    "06-formulir-tutup-siklus",
    "07-siklus-selesai",
)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"tidak tercapai dalam {timeout:.0f} detik: {what}")


# --- what the tour reads from the engine and the mail ----------------------------------------


def deployment_id(name: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.read_deployment_by_name(name).id)


def run_state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
        return state.name if state else ""


def pause_key(run_id: str) -> str:
    """The key of the run's current suspend ("" when it is not suspended)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
        if state is None or not state.is_paused():
            return ""
        return state.state_details.pause_key or ""


def runs_of(deployment: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))
        )
        return [str(r.id) for r in runs]


def notification_workbook(mail_dir: Path, region_code: str) -> bytes | None:
    """The Lembar Kuesioner the region received with its Surat Pemberitahuan."""
    files = [f for sub in ("new", "cur") for f in (mail_dir / sub).iterdir()]
    for path in sorted(files, key=lambda f: f.stat().st_mtime, reverse=True):  # newest first
        msg: EmailMessage = message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg.get("X-PeManTIK-Kind") != "pemberitahuan":
            continue
        for part in msg.iter_attachments():  # the region's workbook is named after its code
            name = part.get_filename() or ""
            if name.endswith(".xlsx") and region_code in name:
                return part.get_payload(decode=True)
    return None


def fill_workbook(raw: bytes, target: Path, level: int = 3) -> Path:
    """The region officer's part: every indicator at ``level``, with a link to its evidence."""
    import openpyxl

    from assessment.workbook import META_SHEET, fill_identity

    target.write_bytes(raw)
    wb = openpyxl.load_workbook(target)
    fill_identity(wb)  # who filled it in (the Identitas sheet is read back and checked)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    for indicator, (sheet, row) in json.loads(meta["layout"]).items():
        wb[sheet].cell(row=row, column=4, value=level)
        wb[sheet].cell(row=row, column=5, value=f"https://bukti.contoh.example/{indicator}")
    wb.save(target)
    return target


class FileServer:
    """A folder over HTTP: the link an admin pastes into a form (the UI has no upload)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *a: None  # type: ignore[attr-defined]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()


# --- the pages --------------------------------------------------------------------------------


def shoot(page: Any, out: Path, name: str) -> Path:
    page.wait_for_load_state("networkidle")
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, ui_url: str, auth: str) -> None:
    page.goto(ui_url, wait_until="networkidle")
    page.get_by_placeholder("admin:pass").fill(auth)
    page.get_by_role("button", name="Login").click()
    page.wait_for_url("**/dashboard**", timeout=60_000)


SEND = re.compile(r"^(Submit|Resume)$")  # the form's button: V1 says Submit, V2 Resume


def open_resume_form(page: Any, ui_url: str, run_id: str) -> Any:
    """The run's page, then Resume (a button in V1, the run's menu in V2): the dialog."""
    page.goto(f"{ui_url}/runs/flow-run/{run_id}", wait_until="networkidle")
    button = page.get_by_role("button", name="Resume")
    page.get_by_role("button", name="Resume").or_(
        page.get_by_role("button", name="Open menu")
    ).first.wait_for(timeout=60_000)
    if button.count():
        button.first.click()
    else:
        page.get_by_role("button", name="Open menu").first.click()
        page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=SEND).wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    return dialog


def pick(page: Any, field_label: str, option: str) -> None:
    """Choose ``option`` in the pick list labelled ``field_label`` (a multi-select stays open
    until something else is clicked)."""
    field = page.locator(".schema-form-property", has_text=field_label).last
    field.locator("button.p-select-button__control").first.click()
    page.keyboard.press("ArrowDown")  # opens the list
    page.get_by_role("option", name=option).first.click()
    page.get_by_text("Parameters", exact=True).first.click()  # closes it


def walk(ui_url: str, auth: str, out: Path, mail_dir: Path, files: Path) -> list[Path]:
    """The admin's path; returns the screenshots written to ``out``."""
    from playwright.sync_api import sync_playwright

    from models.db import session_scope
    from services.context import get_region

    out.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        region = get_region(session, REGION)
        region_label = f"{region.code} {region.name}"
    shots: list[Path] = []
    server = FileServer(files)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            login(page, ui_url, auth)
            shots.append(shoot(page, out, SHOTS[0]))

            # The Custom run form: fields at the top, pick lists, dates without a None switch.
            page.goto(
                f"{ui_url}/deployments/deployment/{deployment_id(CYCLE)}/run",
                wait_until="networkidle",
            )
            page.get_by_text("Kab/Kota yang dinilai").first.wait_for(timeout=30_000)
            pick(page, "Kab/Kota yang dinilai", region_label)
            page.set_viewport_size({"width": 1280, "height": 3000})  # the whole form
            shots.append(shoot(page, out, SHOTS[1]))
            page.set_viewport_size({"width": 1280, "height": 900})
            cycles, regions = set(runs_of(CYCLE)), set(runs_of(REGION_RUNS))
            page.get_by_role("button", name="Submit").click()
            cycle_run = wait_until(lambda: set(runs_of(CYCLE)) - cycles, 60, "run siklus").pop()
            region_run = wait_until(
                lambda: [r for r in set(runs_of(REGION_RUNS)) - regions if pause_key(r)],
                240,
                "run wilayah menunggu jawaban",
            )[0]
            page.goto(f"{ui_url}/runs/flow-run/{cycle_run}", wait_until="networkidle")
            shots.append(shoot(page, out, SHOTS[2]))

            # The region's wait: a wrong entry first (a path, not a link) ...
            first_key = pause_key(region_run)
            dialog = open_resume_form(page, ui_url, region_run)
            dialog.get_by_role("textbox").first.fill("jawaban.xlsx")
            shots.append(shoot(page, out, SHOTS[3]))
            dialog.get_by_role("button", name=SEND).click()
            wait_until(
                lambda: pause_key(region_run) not in ("", first_key), 180, "formulir diminta ulang"
            )
            # ... is named in the form asked again; then the filled workbook, by link.
            dialog = open_resume_form(page, ui_url, region_run)
            dialog.get_by_text("belum dapat diterima").wait_for(timeout=30_000)
            raw = wait_until(
                lambda: notification_workbook(mail_dir, REGION), 120, "Lembar Kuesioner"
            )
            fill_workbook(raw, files / "jawaban.xlsx")
            dialog.get_by_role("textbox").first.fill(f"{server.url}/jawaban.xlsx")
            shots.append(shoot(page, out, SHOTS[4]))
            dialog.get_by_role("button", name=SEND).click()
            wait_until(
                lambda: pause_key(region_run).startswith("konfirmasi"), 600, "jawaban diterima"
            )

            # Close the cycle through its own form.
            dialog = open_resume_form(page, ui_url, cycle_run)
            dialog.get_by_role("switch").first.click()  # "Tutup siklus sekarang"
            dialog.get_by_role("textbox").first.fill("Tur konsol admin selesai.")
            shots.append(shoot(page, out, SHOTS[5]))
            dialog.get_by_role("button", name=SEND).click()
            wait_until(lambda: run_state(cycle_run) == "Completed", 300, "siklus selesai")
            page.goto(f"{ui_url}/runs/flow-run/{cycle_run}", wait_until="networkidle")
            shots.append(shoot(page, out, SHOTS[6]))
        except Exception:
            page.screenshot(path=str(out / "gagal.png"), full_page=True)  # where it stopped
            (out / "gagal.html").write_text(page.content())
            raise
        finally:
            browser.close()
            server.close()
    return shots


# --- standalone: its own engine, mail sink and serving process ------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tur konsol admin (tangkapan layar).")
    parser.add_argument("--keluar", type=Path, default=HERE, help="folder tangkapan layar")
    parser.add_argument("--tetap", action="store_true", help="biarkan server menyala sesudahnya")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Chromium tidak ditemukan di {CHROMIUM} (paket Debian chromium).", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from deployments.prefect_server import LocalEngine
    from mail.sink import start_sink

    work = Path(tempfile.mkdtemp(prefix="pemantik-tur-"))
    engine = LocalEngine(work / "data", work / "prefect", ui=True).start()
    sink = start_sink(work / "mail")
    try:
        os.environ.update(
            engine.client_env(),
            PREFECT_HOME=str(work / "prefect" / "home"),
            PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
            PREFECT_LOCAL_STORAGE_PATH=str(work / "prefect" / "results"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PEMANTIK_DATA_DIR=str(work / "data"),
            PEMANTIK_DOCUMENTS_DIR=str(work / "documents"),
            PEMANTIK_DATABASE_URL=engine.app_database_url,
            PEMANTIK_SMTP__PORT=str(sink.port),
        )
        from deployments.serve import BackgroundServe
        from models.db import migrate

        migrate()
        (work / "files").mkdir()
        print(f"Prefect UI: {engine.ui_url}", flush=True)  # the password is never printed

        with BackgroundServe():
            if args.tetap:  # to look around, or to walk again from another process
                keys = [k for k in os.environ if k.startswith(("PEMANTIK_", "PREFECT_"))]
                env = {k: os.environ[k] for k in keys}
                (work / "env.json").touch(mode=0o600)  # it holds the credential
                (work / "env.json").write_text(json.dumps(env))
                print(f"Menunggu ({work / 'env.json'}); hentikan dengan Ctrl+C.", flush=True)
                threading.Event().wait()
            shots = walk(
                engine.ui_url,
                engine.credentials.auth_string,
                args.keluar,
                work / "mail",
                work / "files",
            )
        for shot in shots:
            print(shot)
        return 0
    finally:
        sink.stop()
        engine.stop()


if __name__ == "__main__":
    raise SystemExit(main())
