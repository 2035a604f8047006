"""``pemantik demo``: a whole cycle for a list of Kab/Kota on embedded defaults.

The regions and the assessor pool are files (``--wilayah``, ``--asesor``; the shipped Kaltim
files by default), so the same demo runs for one province or for all 514 Kab/Kota.

The parent process starts the embedded PostgreSQL cluster and a local Prefect server on it
(with the UI and the installation's credentials, see ``deployments/prefect_server.py``), then
runs this module as a child process with the environment pointing at it (Prefect reads its
settings at import time, so the child gets them cleanly). The child starts the SMTP sink, runs
``pemantik serve`` as its own child process, starts the cycle deployment and plays the people:
officers and assessors read their mail and answer by replying to it (the mailbox reader takes
the replies); the admin's own inputs go through the same door a person's answer takes
(``services.waits.submit``; one invalid answer goes through the Prefect resume form instead).
Some answers are invalid at first, one assessor declines, one region is late and gets the
reminder ladder. Every simulated action costs O(1): mail is indexed as the sink stores it and the
suspended runs are read once per pass.

The cycle runs on simulated working days (:class:`DemoCalendar`): the one clock
(``models/clock.py``) is moved through ``PEMANTIK_CLOCK_FILE``, which the serving process reads
too. Each person acts on a day of their own (:meth:`Simulation.action_day`: answers by their due
dates, the late region three working days after its due date, attendance and scores on the
session day, the admin's acceptance the working day after); when every region waits on a person
whose day has not come, the calendar moves to the next working day and the daily reminder job
runs for it, as its schedule would. So every date in the letters, emails, records and the
Laporan tells one story.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as day_time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from models import clock

LATE_REGION_INDEX = 6  # which region (in code order) is late; chosen by position, not code
INVALID_VIA_EMAIL = 1  # region positions whose first answer is invalid
INVALID_VIA_FORM = 3
VIA_PORTAL = 2  # positions % 3 == this answer through the portal over HTTP, as a browser
DECLINING_REGION_INDEX = 2  # the first assessor asked for this region declines once
OUTPUTS = ("mail", "documents", "data", "prefect", "results.json", "audit.csv", "simulasi")
OUTPUTS += ("jam-simulasi.json",)
LATE_BY_WORKING_DAYS = 3  # the late region answers at H+3, after the reminders up to then
EARLY_BY_WORKING_DAYS = (0, 1, 2)  # the others answer on their due date or up to 2 days before
REMINDER_RUN_AT = day_time(8, 0)  # the daily reminder job's schedule (local time)
OFFICE_AT = day_time(9, 0)  # when the simulated people start acting on a day


# --- the parent: server, environment, child ------------------------------------------------


def check_reference_files(regions_file: Path, assessors_file: Path) -> list[str]:
    """Every error in the two files (all or nothing, as ``pemantik wilayah impor`` reads them)."""
    from models.registry import RegistryImportError, parse_assessors, parse_regions

    errors: list[str] = []
    known: set[str] = set()
    for path in (regions_file, assessors_file):
        if not path.is_file():
            errors.append(f"berkas {path} tidak ditemukan")
    if errors:
        return errors
    try:
        known = {
            r.code
            for r in parse_regions(regions_file.read_text(encoding="utf-8"), str(regions_file))
        }
    except RegistryImportError as exc:
        errors.append(str(exc))
    try:
        parse_assessors(
            assessors_file.read_text(encoding="utf-8"), known or _all_codes(), str(assessors_file)
        )
    except RegistryImportError as exc:
        errors.append(str(exc))
    return errors


def _all_codes() -> set[str]:
    """Region codes an assessor's home may name when the region file itself was refused."""
    from models.registry import DEFAULT_REGIONS_FILE

    with DEFAULT_REGIONS_FILE.open(encoding="utf-8") as fh:
        return {row["kode"] for row in csv.DictReader(fh)}


def run_demo(
    out: Path,
    seed: int,
    keep: bool,
    echo: Any = print,
    regions_file: Path | None = None,
    assessors_file: Path | None = None,
) -> int:
    from deployments.cli_engine import login_hint
    from deployments.prefect_server import LocalEngine, scan_server_log
    from models.embedded_db import stop_cluster
    from models.registry import DEFAULT_ASSESSORS_FILE, DEFAULT_REGIONS_FILE

    regions_file = (regions_file or DEFAULT_REGIONS_FILE).resolve()
    assessors_file = (assessors_file or DEFAULT_ASSESSORS_FILE).resolve()
    errors = check_reference_files(regions_file, assessors_file)
    if errors:
        echo("Demo tidak dijalankan; perbaiki berkas berikut lalu ulangi:")
        for error in errors:
            echo(f"  {error}")
        return 2
    out = out.resolve()
    if out.exists():
        stop_cluster(out / "data")  # a cluster still running on the folder about to be removed
        for name in OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    echo("Menyalakan basis data bawaan (PostgreSQL) dan server Prefect lokal ...")
    engine = LocalEngine(out / "data", out / "prefect", ui=True, access_log=True)
    child = None
    previous = signal.getsignal(signal.SIGTERM)
    try:
        engine.start()
        echo(
            f"Basis data bawaan siap dalam {engine.cluster.start_seconds:.1f} s, "
            f"server Prefect dalam {engine.server_start_seconds:.1f} s."
        )
        echo(f"Prefect UI: {engine.ui_url}")
        echo(login_hint(engine.credentials.prefect_user, f" {engine.credentials.path}"))
        echo(f"  (PEMANTIK_DATA_DIR={out / 'data'} pemantik kredensial)")
        env = dict(
            os.environ,
            **engine.client_env(),
            PREFECT_HOME=str(out / "prefect" / "home"),
            PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
            PREFECT_LOCAL_STORAGE_PATH=str(out / "prefect" / "results"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
            PEMANTIK_DATA_DIR=str(out / "data"),
            PEMANTIK_DOCUMENTS_DIR=str(out / "documents"),
            PEMANTIK_DATABASE_URL=engine.app_database_url,
            PEMANTIK_DEMO="true",  # example signer and lambang allowed; every page marked CONTOH
        )
        command = [
            sys.executable,
            "-m",
            "deployments.demo",
            "--keluar",
            str(out),
            "--seed",
            str(seed),
            "--wilayah",
            str(regions_file),
            "--asesor",
            str(assessors_file),
        ]
        if keep:
            command.append("--tetap")
        child = subprocess.Popen(command, env=env)
        signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                # Ctrl+C reaches the child (and its serving process) too: let them stop cleanly.
                continue
        findings = scan_server_log(engine.log_path)
        echo(
            f"Log server Prefect ({engine.log_path}): {findings.locked} 'database is locked', "
            f"{findings.server_errors} jawaban 5xx."
        )
        if code == 0 and not findings.clean:
            echo("Demo gagal: log server Prefect memuat galat basis data atau jawaban 5xx.")
            code = 1
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(60)
        engine.stop()


# --- the child: the product plus simulated people -------------------------------------------


class DemoCalendar:
    """The demo's simulated working days: the one clock, moved through the clock file.

    Only ever forward: the first day is the next working day after the real today, and each
    :meth:`advance` goes to the next working day (skipping weekends and holidays)."""

    def __init__(self, path: Path) -> None:
        from models.workdays import calendar_from_settings

        self.path = path
        self.calendar = calendar_from_settings()
        self.day = self.calendar.next_working_day(clock.today() + timedelta(days=1))
        self.set(self.day, OFFICE_AT)

    def set(self, day: date, at: day_time) -> None:
        target = datetime.combine(day, at, tzinfo=clock.local(clock.real_now()).tzinfo)
        clock.set_offset(self.path, (target - clock.real_now()).total_seconds())

    def working_days(self, day: date, count: int) -> date:
        """``count`` working days after (or, negative, before) ``day``."""
        step = 1 if count > 0 else -1
        for _ in range(abs(count)):
            day = day + timedelta(days=step)
            while not self.calendar.is_working_day(day):
                day = day + timedelta(days=step)
        return day

    def advance(self) -> date:
        """The next working day: the reminder job's hour first, then office hours."""
        self.day = self.working_days(self.day, 1)
        self.set(self.day, REMINDER_RUN_AT)
        return self.day


# How the demo's console words a region's run (what the admin reads: no step numbers, no states).
PROGRESS_WORDS = {
    "pending": "belum dimulai",
    "running": "sedang dikerjakan",
    "waiting": "menunggu",
    "done": "selesai",
    "unfinished": "tidak selesai",
    "failed": "gagal",
}


def progress_line(row: Any) -> str:
    """One line for the console about a ``RegionProcess`` row: the SOP activity under way and
    what the run waits for."""
    from models.sop import step

    activity = step(row.current_step).activity if row.current_step else "persiapan"
    if row.state == "waiting" and row.waiting_for:
        return f"{activity} — menunggu {row.waiting_for}"
    return f"{activity} ({PROGRESS_WORDS.get(str(row.state), str(row.state))})"


def portal_upload(letter: EmailMessage, workbook: Path) -> str:
    """Open the personal link of ``letter`` and upload the filled workbook, as a browser does."""
    import httpx

    from models.settings import get_settings
    from portal.server import csrf_in, personal_link_in

    link = personal_link_in(letter.get_body(("plain",)).get_content(), get_settings().portal_url)
    if link is None:  # a broken promise of the product, not a person's choice: stop loudly
        raise RuntimeError("surel tidak memuat tautan pribadi portal untuk petugas penghubung")
    with httpx.Client(timeout=60) as client:
        csrf = csrf_in(client.get(f"{link}/kuesioner").text)
        sent = client.post(
            f"{link}/kuesioner/berkas",
            data={"csrf": csrf},
            files={"berkas": (workbook.name, workbook.read_bytes())},
        )
    if sent.status_code >= 400:
        raise RuntimeError(f"portal menolak lembar kuesioner yang benar ({sent.status_code})")
    return "mengunggah lembar kuesioner terisi melalui portal"


class MailIndex:
    """What each simulated person has received: the sink's messages, indexed as it stores them.

    The sink lists every message it stores (``MaildirHandler.delivered``); each new one is
    matched once to its outbox row by Message-ID (one indexed query per batch), so a lookup is
    a dict access and a message is parsed only when a person opens it."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.read = 0  # how many of the sink's deliveries are indexed
        self.latest: dict[tuple[str, str, str], tuple[int, str]] = {}  # → (dispatch id, file)
        self.every: dict[tuple[str, str, str], list[str]] = {}  # → every file, oldest first
        self.opened: dict[str, EmailMessage] = {}

    def refresh(self) -> None:
        from sqlmodel import select

        from models.db import session_scope
        from models.tables import Dispatch

        delivered = self.sink.handler.delivered
        new = delivered[self.read : len(delivered)]
        self.read += len(new)
        files = {mid: name for name, mid in new if mid}
        ids = list(files)
        for i in range(0, len(ids), 500):
            with session_scope() as session:
                rows = session.exec(
                    select(
                        Dispatch.id,
                        Dispatch.message_id,
                        Dispatch.recipient,
                        Dispatch.cc,
                        Dispatch.kind,
                        Dispatch.region_code,
                    ).where(Dispatch.message_id.in_(ids[i : i + 500]))
                ).all()
            for dispatch_id, mid, recipient, cc, kind, region in rows:
                # Letters go to the Kepala Dinas with the officer in Cc: both have received it.
                for address in (recipient, *(cc or [])):
                    key = (address, kind, region or "")
                    self.every.setdefault(key, []).append(files[mid])
                    if key not in self.latest or self.latest[key][0] < dispatch_id:
                        self.latest[key] = (dispatch_id, files[mid])

    def received(self, address: str, kind: str, region: str) -> EmailMessage | None:
        """The newest message of ``kind`` about ``region`` that ``address`` has received."""

        found = self.latest.get((address, kind, region))
        return None if found is None else self.open(found[1])

    def every_received(self, address: str, kind: str, region: str) -> list[EmailMessage]:
        """Every message of ``kind`` about ``region`` that ``address`` has received."""
        return [self.open(name) for name in self.every.get((address, kind, region), [])]

    def open(self, name: str) -> EmailMessage:
        from email import message_from_bytes
        from email.policy import default

        if name not in self.opened:
            raw = (self.sink.maildir / "new" / name).read_bytes()
            self.opened[name] = message_from_bytes(raw, policy=default)
        return self.opened[name]


class Simulation:
    def __init__(self, out: Path, seed: int, sink: Any, year: int, days: DemoCalendar) -> None:
        self.out = out
        self.days = days
        self.seed = seed
        self.mail = MailIndex(sink)
        self.year = year
        self.done: set[tuple[str, str, int]] = set()  # (region, wait key, wait id) handled
        self.declined_once = False
        self.declining: str | None = None  # the assessor who declines once (all regions)
        self.replies_waiting = False
        self.replied: set[tuple] = set()
        self.answer_state: dict[str, str] = {}
        self.regions: list[str] = []
        self.position: dict[str, int] = {}
        self.self_levels: dict[str, dict[str, int]] = {}
        self.unfinished = 0  # regions not yet through step 13 (the demo's loop keeps it)
        self.people: dict[str, Any] = {}  # region code → Region (its PIC answers)

    def set_regions(self, codes: list[str]) -> None:
        if codes != self.regions:
            self.regions = codes
            self.position = {code: i for i, code in enumerate(codes)}

    def rng(self, *parts: str) -> random.Random:
        """One random stream per person and purpose: results do not depend on timing."""
        return random.Random(f"{self.seed}/" + "/".join(parts))

    # -- mail, as a person reads and answers it
    def received(self, address: str, kind: str, region: str) -> EmailMessage | None:
        return self.mail.received(address, kind, region)

    def reply(
        self, original: EmailMessage, sender: str, body: str, attachments: list | None = None
    ) -> None:
        """Answer by replying to the email, as a person would; the mailbox reader takes it."""
        from inbox.compose import drop_into_maildir, reply_to
        from inbox.settings import inbox_maildir

        drop_into_maildir(inbox_maildir(), reply_to(original, sender, body, attachments or []))
        self.replies_waiting = True

    def attachment_of(self, message: EmailMessage, suffix: str) -> bytes | None:
        for part in message.iter_attachments():
            if (part.get_filename() or "").endswith(suffix):
                return part.get_payload(decode=True)
        return None

    # -- the region officer
    def fill_workbook(self, code: str, raw: bytes, invalid: bool) -> Path:
        import openpyxl

        from assessment.workbook import META_SHEET

        folder = self.out / "simulasi" / code
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / "kuesioner-diterima.xlsx"
        source.write_bytes(raw)
        wb = openpyxl.load_workbook(source)
        from assessment.workbook import fill_identity

        fill_identity(wb)
        meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
        layout = json.loads(meta["layout"])
        levels = self.self_levels.setdefault(code, {})
        rng = self.rng(code, "jawaban")
        for i, (indicator, (sheet, row)) in enumerate(layout.items()):
            level = levels.setdefault(indicator, rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5]))
            cell_level = level
            if invalid and i == 0:
                cell_level = None  # a blank answer
            if invalid and i == 1:
                cell_level = 9  # off the scale
            wb[sheet].cell(row=row, column=4, value=cell_level)
            wb[sheet].cell(
                row=row,
                column=5,
                value=f"https://{code.replace('.', '')}.contoh.example/bukti/{indicator}",
            )
        target = folder / ("jawaban-salah.xlsx" if invalid else "jawaban.xlsx")
        wb.save(target)
        return target

    def answer_questionnaire(self, code: str, region: Any, wait: Any) -> str:
        from prefect.flow_runs import resume_flow_run

        position = self.position[code]
        letter = self.received(region.pic_email, "pemberitahuan", code)
        workbook = self.attachment_of(letter, ".xlsx") if letter is not None else None
        if workbook is None:
            return ""
        if position == INVALID_VIA_FORM and wait.input_key.endswith("-0"):
            # Through the Prefect resume form (the UI door): the admin's slip is refused and the
            # form asks again, naming it; the region, which sent nothing wrong, is not emailed.
            resume_flow_run(
                wait.flow_run_id,
                run_input={"melalui": "ui", "tautan_berkas": "jawaban.xlsx"},
            )
            return "formulir UI diisi keliru: ditolak, formulir meminta ulang dengan kesalahannya"
        state = self.answer_state.get(code)
        if state == "dikirim":
            return ""  # answered; the mailbox reader takes it from here
        if position == INVALID_VIA_EMAIL and state is None:
            path = self.fill_workbook(code, workbook, invalid=True)
            self.reply(
                letter,
                region.pic_email,
                "Terlampir jawaban kuesioner kami.",
                [(path.name, path.read_bytes())],
            )
            self.answer_state[code] = "keliru"
            return "membalas surel dengan lembar kuesioner yang keliru"
        if state == "keliru" and self.received(region.pic_email, "balasan_otomatis", code) is None:
            return ""  # waiting for the automatic reply that lists the errors
        path = self.fill_workbook(code, workbook, invalid=False)
        if position % 3 == VIA_PORTAL and state is None:
            done = portal_upload(letter, path)
            self.answer_state[code] = "dikirim"  # only once the upload was taken
            return done
        self.reply(
            letter,
            region.pic_email,
            "Terlampir jawaban kuesioner kami. DITERIMA",
            [(path.name, path.read_bytes())],
        )
        self.answer_state[code] = "dikirim"
        if state == "keliru":
            return (
                "membaca balasan otomatis berisi kesalahan, mengirim lembar yang sudah diperbaiki"
            )
        return "membalas surel pemberitahuan dengan lembar kuesioner terisi"

    def confirm(self, code: str, region: Any) -> str:
        from sqlmodel import select

        from models.db import session_scope
        from models.tables import Assessor, Assignment, AssignmentState, Confirmation

        said = []
        with session_scope() as session:
            pending = [
                session.get(Assessor, a.assessor_id)
                for a in session.exec(
                    select(Assignment).where(
                        Assignment.region_code == code,
                        Assignment.state == AssignmentState.REQUESTED,
                    )
                )
            ]
            confirmed = session.exec(
                select(Confirmation).where(Confirmation.region_code == code)
            ).first()
        for assessor in sorted(pending, key=lambda a: a.id):
            # One Surat Permohonan per assessor for all their regions, answered once.
            request = self.received(assessor.email, "permohonan", "")
            if request is None or request["Message-ID"] in self.replied:
                continue
            self.replied.add(request["Message-ID"])
            if self.declining is None and self.position[code] == DECLINING_REGION_INDEX:
                self.declining = assessor.email
            if assessor.email == self.declining and not self.declined_once:
                self.declined_once = True
                self.reply(request, assessor.email, "TIDAK BERSEDIA\nAlasan: bertugas di luar kota")
                said.append(f"{assessor.name} membalas TIDAK BERSEDIA (untuk semua wilayahnya)")
            else:
                self.reply(
                    request,
                    assessor.email,
                    "BERSEDIA\nPernyataan: Tidak memiliki benturan kepentingan dengan wilayah "
                    "yang dinilai.",
                )
                said.append(f"{assessor.name} membalas BERSEDIA")
        invitation = self.received(region.pic_email, "undangan", code)
        if confirmed is None and invitation is not None and (code, "wilayah") not in self.replied:
            self.replied.add((code, "wilayah"))
            self.reply(
                invitation,
                region.pic_email,
                f"HADIR\nDelegasi: {region.pic_name} | Pranata Komputer\n"
                f"Delegasi: Kepala Bidang Aptika {region.name} | Kepala Bidang",
            )
            said.append("Kab/Kota membalas HADIR")
        return ", ".join(said)

    def attendance(self, code: str, region: Any) -> str:
        from sqlmodel import select

        from models.db import session_scope
        from models.tables import Confirmation
        from services.waits import submit

        with session_scope() as session:
            conf = session.exec(
                select(Confirmation).where(
                    Confirmation.region_code == code, Confirmation.attend == True
                )  # noqa: E712
            ).first()
            people = [
                {"nama": d["nama"], "jabatan": d.get("jabatan", ""), "instansi": region.name}
                for d in (conf.delegates if conf else [])
            ]
        submit(
            "kehadiran",
            year=self.year,
            region=code,
            via="cli",
            who="admin",
            payload={"peserta": people},
            resume_timeout=5,
        )
        return f"daftar hadir {len(people)} orang dicatat"

    def scores(self, code: str) -> str:
        from assessment.results import missing_assessors
        from models.db import session_scope
        from models.lookups import active_assessor_ids
        from models.tables import Assessor
        from services.context import cycle_by_year

        with session_scope() as session:
            cycle_id = cycle_by_year(session, self.year).id
            ids = active_assessor_ids(session, cycle_id, code)
            missing = set(missing_assessors(session, cycle_id, code, ids))
            assessors = [session.get(Assessor, i) for i in ids if i in missing]
        sent = 0
        for assessor in assessors:
            if (code, assessor.email, "nilai") in self.replied:
                continue
            # The letter that asked about this region carries its scoring template.
            found = [
                (letter, part)
                for letter in self.mail.every_received(assessor.email, "permohonan", "")
                for part in letter.iter_attachments()
                if (part.get_filename() or "").endswith(f"-{code}.csv")
            ]
            if not found:
                continue
            request, template = found[-1]
            self.replied.add((code, assessor.email, "nilai"))
            rng = self.rng(code, assessor.email)
            filled = self.fill_scores(code, template.get_payload(decode=True), rng)
            self.reply(
                request,
                assessor.email,
                f"Terlampir nilai kami untuk wilayah {code}.",
                [(template.get_filename(), filled)],
            )
            sent += 1
        return f"{sent} asesor membalas dengan berkas nilai" if sent else ""

    def fill_scores(self, code: str, template: bytes, rng: random.Random) -> bytes:
        """The scoring template as an assessor fills it: a level (and a note) per row."""
        import io

        text = template.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(rows[0])
        for row in rows[1:]:
            own = self.self_levels[code].get(row[0])
            if own is None:
                continue
            verified = min(5, max(1, own + rng.choice([-1, -1, 0, 0, 0, 1])))
            writer.writerow([row[0], row[1], verified, "diverifikasi terhadap bukti dukung"])
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def accept_results(self, code: str) -> str:
        from assessment.instruments import load_instrument
        from assessment.results import assessor_levels, region_result
        from models.db import session_scope
        from services.context import cycle_by_year
        from services.waits import submit

        with session_scope() as session:
            cycle = cycle_by_year(session, self.year)
            rr = region_result(session, cycle.id, code, load_instrument(cycle.instrument_code))
            levels = assessor_levels(session, cycle.id, code)
        consensus = []
        for indicator in rr.needs_consensus:
            values = [lv[indicator] for lv in levels.values() if indicator in lv]
            consensus.append(
                {
                    "kode": indicator,
                    "tingkat": round(sum(values) / len(values)),
                    "catatan": "konsensus Tim Penilai dalam rapat penilaian",
                }
            )
        submit(
            "penerimaan",
            year=self.year,
            region=code,
            via="cli",
            who="admin",
            payload={"keputusan": "terima", "konsensus": consensus},
            resume_timeout=5,
        )
        return "hasil diterima" + (
            f" ({len(consensus)} indikator dengan konsensus)" if consensus else ""
        )

    # -- the calendar: who acts on which simulated day
    def action_day(self, wait: Any) -> date:
        """The simulated day on which the person owing ``wait`` answers it."""
        if wait.kind == "jawaban":
            if self.position.get(wait.region_code) == LATE_REGION_INDEX:
                return self.days.working_days(wait.due_date, LATE_BY_WORKING_DAYS)
            early = self.rng(wait.region_code, "hari-jawaban").choice(EARLY_BY_WORKING_DAYS)
            return self.days.working_days(wait.due_date, -early) if early else wait.due_date
        if wait.kind == "konfirmasi":
            return self.days.working_days(wait.due_date, -1)  # the day after the letters
        if wait.kind == "penerimaan":
            # The admin accepts the results on the working day after the session.
            return min(wait.due_date, self.days.working_days(self.session_day(wait), 1))
        return self.session_day(wait)  # attendance and scores: the session day

    def session_day(self, wait: Any) -> date:
        from models.db import session_scope
        from services.context import cycle_by_year, load_cycle

        with session_scope() as session:
            ctx = load_cycle(session, cycle_by_year(session, self.year).id)
            return ctx.session_date_for(session, wait.region_code)

    def new_day(self) -> list[tuple[str, str]]:
        """Move to the next working day and run the daily reminder job for it."""
        from reminders.service import run_reminders

        day = self.days.advance()
        report = run_reminders(None, day)
        self.days.set(day, OFFICE_AT)
        said = f"hari kerja baru: {day.isoformat()}"
        if report.queued:
            said += f"; pengingat harian: {len(report.queued)} surel"
            if report.letters:
                said += f", Surat Pengingat {', '.join(report.letters)}"
        return [("kalender", said)]

    def suspended_runs(self) -> set[str]:
        """Every suspended region run, read in pages (one pass, not one call per wait)."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        found: set[str] = set()
        with get_client(sync_client=True) as client:
            offset = 0
            while True:
                page = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["wilayah-pemantik"])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.PAUSED])
                        )
                    ),
                    limit=200,
                    offset=offset,
                )
                found |= {str(r.id) for r in page}
                if len(page) < 200:
                    return found
                offset += 200

    # -- one pass over every open wait
    def step(self) -> tuple[list[tuple[str, str]], bool]:
        """Act on every open wait whose day has come; also say whether the product is idle:
        every region waits on a person whose day is still to come (then the day may move)."""
        from sqlmodel import select

        from models.db import session_scope
        from models.tables import ProcessState, Region, RegionProcess, Wait, WaitState

        events = []
        self.mail.refresh()
        with session_scope() as session:
            open_waits = session.exec(
                select(Wait).where(Wait.state == WaitState.OPEN).order_by(Wait.id)
            ).all()
            if not self.people:
                self.people = {r.code: r for r in session.exec(select(Region))}
            busy = {
                p.region_code
                for p in session.exec(select(RegionProcess))
                if p.state != ProcessState.DONE
            }
        regions = self.people
        today = clock.today()
        suspended = self.suspended_runs() if open_waits else set()
        idle = bool(self.regions)
        waiting: set[str] = set()
        for wait in open_waits:
            if wait.region_code is None or wait.flow_run_id not in suspended:
                continue  # act once the run has really stopped to wait (no blocking resume)
            if self.action_day(wait) > today:
                waiting.add(wait.region_code)
                continue
            idle = False
            marker = (wait.region_code, wait.input_key, wait.id)
            if marker in self.done:
                continue
            code = wait.region_code
            region = regions[code]
            if wait.kind == "jawaban":
                if self.position.get(code) == LATE_REGION_INDEX and not self.answer_state.get(code):
                    events.append(
                        (
                            code,
                            f"terlambat: menjawab {LATE_BY_WORKING_DAYS} hari kerja "
                            f"setelah tenggat {wait.due_date.isoformat()}",
                        )
                    )
                said = self.answer_questionnaire(code, region, wait)
            elif wait.kind == "konfirmasi":
                said = self.confirm(code, region)
            elif wait.kind == "kehadiran":
                said = self.attendance(code, region)
            elif wait.kind == "nilai":
                said = self.scores(code)
            elif wait.kind == "penerimaan":
                said = self.accept_results(code)
            else:
                said = ""
            if said:
                if wait.kind in ("kehadiran", "penerimaan"):  # email answers guard themselves
                    self.done.add(marker)
                events.append((code, said))
        if self.replies_waiting:
            # The mailbox reader is a scheduled deployment (every 5 minutes); the demo runs
            # one pass as soon as someone has replied instead of waiting for the schedule.
            from inbox.reader import read_once

            self.replies_waiting = False
            idle = False
            report = read_once()
            for outcome in report.outcomes:
                events.append(("kotak masuk", f"{outcome.state}: {outcome.action}"))
        # Idle only when every unfinished region is suspended on a wait of a later day.
        idle = idle and bool(busy) and busy <= waiting
        return events, idle


def write_outputs(out: Path, year: int) -> dict[str, Any]:
    from sqlmodel import select

    from assessment.results import assessor_levels
    from models.db import session_scope
    from models.tables import AnswerSet, Assessor, Region, Result, StepRecord
    from services.context import cycle_by_year

    with session_scope() as session:
        cycle = cycle_by_year(session, year)
        regions = {r.code: r for r in session.exec(select(Region))}
        results: dict[str, Any] = {}
        for res in session.exec(
            select(Result).where(Result.cycle_id == cycle.id).order_by(Result.region_code)
        ):
            answers = session.exec(
                select(AnswerSet)
                .where(AnswerSet.cycle_id == cycle.id, AnswerSet.region_code == res.region_code)
                .order_by(AnswerSet.version.desc())
            ).first()
            per_assessor = {
                session.get(Assessor, aid).email: lv
                for aid, lv in assessor_levels(session, cycle.id, res.region_code).items()
            }
            results[res.region_code] = {
                "region": regions[res.region_code].name,
                "self_levels": {c: a["level"] for c, a in (answers.answers or {}).items()}
                if answers
                else {},
                "assessor_levels": per_assessor,
                "final_levels": res.final_levels,
                "dimension_scores": res.dimension_scores,
                "total": res.total,
                "predicate": res.predicate,
                "rank": res.rank,
                "locked": res.locked,
            }
        (out / "results.json").write_text(
            json.dumps(
                {
                    "year": year,
                    "cycle_id": cycle.id,
                    "instrument": cycle.instrument_code,
                    "regions": results,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        with (out / "audit.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                [
                    "id",
                    "siklus",
                    "wilayah",
                    "asesor",
                    "langkah",
                    "pelaksana",
                    "peristiwa",
                    "mulai",
                    "tenggat",
                    "selesai",
                    "hasil",
                    "oleh",
                    "dokumen",
                    "dicatat",
                ]
            )
            for r in session.exec(
                select(StepRecord).where(StepRecord.cycle_id == cycle.id).order_by(StepRecord.id)
            ):
                writer.writerow(
                    [
                        r.id,
                        r.cycle_id,
                        r.region_code or "",
                        r.assessor_id or "",
                        r.step_no,
                        r.actor,
                        r.event,
                        r.started_at or "",
                        r.due_date or "",
                        r.completed_at or "",
                        r.outcome,
                        r.who,
                        r.document_id or "",
                        r.recorded_at,
                    ]
                )
        return results


def write_prefect_shape(out: Path, regions: int) -> dict[str, Any]:
    """``prefect-shape.json``: how much Prefect work the cycle was, per region (task runs,
    suspends) — the scale benchmark's baseline repeats exactly that much with Prefect alone."""
    from prefect.client.orchestration import get_client
    from sqlmodel import func, select

    from models.db import session_scope
    from models.tables import Wait

    with get_client(sync_client=True) as client:
        response = client.request(
            "POST", "/task_runs/count", json={"flows": {"name": {"any_": ["wilayah-pemantik"]}}}
        )
        task_runs = int(response.json())
    with session_scope() as session:
        suspends = session.exec(select(func.count()).select_from(Wait)).one()
    shape = {
        "regions": regions,
        "task_runs": task_runs,
        "suspends": suspends,
        "per_region": {
            "task_runs": round(task_runs / regions, 1),
            "suspends": round(suspends / regions, 1),
        },
    }
    (out / "prefect-shape.json").write_text(json.dumps(shape, indent=2), encoding="utf-8")
    return shape


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


def child_main(
    out: Path, seed: int, regions_file: Path, assessors_file: Path, keep: bool = False
) -> int:
    from deployments.prefect_server import free_port
    from mail.sink import start_sink

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sink = start_sink(out / "mail", port=free_port())
    os.environ["PEMANTIK_SMTP__PORT"] = str(sink.port)
    from portal.server import PortalThread

    portal = PortalThread().start()  # some officers answer through it over HTTP
    os.environ["PEMANTIK_PORTAL_URL"] = portal.url
    os.environ["PEMANTIK_SMTP__RETRY_BASE_SECONDS"] = "0.5"

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from deployments.serve import ServeProcess
    from letters.formats import decimal_comma
    from models.db import migrate, session_scope
    from models.registry import import_assessors, import_regions
    from models.settings import reset_settings
    from models.tables import ProcessState, RegionProcess

    os.environ["PEMANTIK_CLOCK_FILE"] = str(out / "jam-simulasi.json")
    reset_settings()
    migrate()
    days = DemoCalendar(out / "jam-simulasi.json")
    with session_scope() as session:
        codes = [r.code for r in import_regions(session, regions_file)]
    with session_scope() as session:
        import_assessors(session, assessors_file)
    year = days.day.year  # the cycle of the year its first simulated day falls in
    started = time.monotonic()
    # Seconds before the demo gives up: a hung cycle must end, a slow machine must not. At
    # 514 regions a cycle took about 45 minutes here (2 cores), so 10 s per region.
    limit = 900 + 10 * len(codes)
    sim = Simulation(out, seed, sink, year, days)
    serving = ServeProcess(out / "serve.log", poll_seconds=0.5)
    try:
        serving.start()
        start = days.day
        run = run_deployment(
            "siklus-pemantik/siklus",
            timeout=0,
            parameters={
                "year": year,
                "regions": codes,
                "start_date": start.isoformat(),
                "instrument": "spbe-2020",
                "venue": "Ruang Rapat Diskominfo Prov. Kaltim, Samarinda",
            },
        )
        print(
            f"Siklus {year} dimulai {start.isoformat()} untuk {len(codes)} wilayah (run {run.id}).",
            flush=True,
        )
        last: dict[str, tuple] = {}
        with get_client(sync_client=True) as client:
            while True:
                with session_scope() as session:
                    rows = session.exec(select_processes(RegionProcess)).all()
                sim.set_regions([r.region_code for r in rows])
                sim.unfinished = sum(1 for r in rows if r.state != ProcessState.DONE)
                for row in rows:
                    now = (row.current_step, row.state)
                    if last.get(row.region_code) != now:
                        last[row.region_code] = now
                        print(
                            f"  [{time.monotonic() - started:6.1f} s] {row.region_code}: "
                            f"{progress_line(row)}",
                            flush=True,
                        )
                failed = [r.region_code for r in rows if r.state == ProcessState.FAILED]
                if failed:  # nobody retries in the demo: say why and stop
                    print("Demo gagal: alur wilayah terhenti karena galat.", flush=True)
                    for r in rows:
                        if r.state == ProcessState.FAILED and r.flow_run_id:
                            why = client.read_flow_run(r.flow_run_id).state.message
                            print(f"  {r.region_code}: {why}", flush=True)
                    print(f"Log lengkap: {out / 'serve.log'}", flush=True)
                    return 1
                events, idle = sim.step()
                if idle:
                    events += sim.new_day()
                for code, said in events:
                    print(f"  [{time.monotonic() - started:6.1f} s] {code}: {said}", flush=True)
                state = client.read_flow_run(run.id).state
                if state.is_final():
                    break
                if time.monotonic() - started > limit:
                    print(f"Demo melebihi {limit // 60} menit; dihentikan.", flush=True)
                    return 1
                if not idle:  # a new day's people act at once
                    time.sleep(0.5)
        if not state.is_completed():
            print(f"Siklus berakhir dengan status {state.name}: {state.message}", flush=True)
            return 1
        results = write_outputs(out, year)
        write_prefect_shape(out, len(codes))
        elapsed = time.monotonic() - started
        print(f"Selesai dalam {elapsed:.1f} s: {len(results)} wilayah dinilai.", flush=True)
        ranked = sorted(results.items(), key=lambda kv: kv[1]["rank"] or 10**6)
        for code, r in ranked[:20]:
            print(
                f"  {r['rank']:>3}. {code} {r['region']}: {decimal_comma(r['total'])} "
                f"({r['predicate']})",
                flush=True,
            )
        if len(ranked) > 20:
            print(f"  ... dan {len(ranked) - 20} wilayah lain (lihat results.json)", flush=True)
        print(
            f"Keluaran: {out}/mail, {out}/documents, {out}/results.json, {out}/audit.csv",
            flush=True,
        )
        if keep:
            ui = os.environ.get("PREFECT_API_URL", "").removesuffix("/api")
            print(
                f"Server Prefect dan pemantik serve tetap menyala: buka {ui} untuk melihat run; "
                "jadwal berkala tetap dijalankan. Tekan Ctrl+C untuk berhenti.",
                flush=True,
            )
            while True:
                time.sleep(3600)
        return 0
    except KeyboardInterrupt:
        print("Dihentikan.", flush=True)
        return 0 if keep else 130
    finally:
        serving.stop()
        sink.stop()


def select_processes(model: Any) -> Any:
    from sqlmodel import select

    return select(model).order_by(model.region_code)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--keluar", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--wilayah", type=Path, required=True)
    parser.add_argument("--asesor", type=Path, required=True)
    parser.add_argument("--tetap", action="store_true")
    args = parser.parse_args()
    sys.exit(
        child_main(args.keluar.resolve(), args.seed, args.wilayah, args.asesor, keep=args.tetap)
    )
