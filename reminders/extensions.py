"""More time for a wait: the admin moves its due date, with a reason, on the record."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlmodel import Session, select

from letters.formats import long_date
from models.audit import record_step
from models.lookups import open_waits
from models.sop import step
from models.tables import (
    Assessor,
    Cycle,
    Extension,
    Region,
    RegionProcess,
    Wait,
)
from models.workdays import WorkCalendar, calendar_from_settings
from services.waits import Party, refresh_form_text, stage


class ExtensionError(ValueError):
    """An extension refused; the Indonesian message names the field. Nothing was written."""


log = logging.getLogger("pemantik.extensions")


def grant_extension(
    session: Session,
    *,
    cycle_id: int,
    region_code: str,
    step_no: int,
    new_due: date | None = None,
    extra_days: int | None = None,
    reason: str,
    granted_by: str,
    assessor_id: int | None = None,
    calendar: WorkCalendar | None = None,
) -> Extension:
    """Move the open wait(s) of a region (or of one assessor) on a step to a later due date.

    Give either ``new_due`` (a working day after the current due date) or ``extra_days``
    (working days added after the current due date). Records an Extension and a StepRecord
    (event "extended"); reminders follow the new date from the next run.
    """
    if (new_due is None) == (extra_days is None):
        raise ExtensionError(
            "isi salah satu saja: jumlah hari kerja tambahan atau tanggal tenggat baru"
        )
    if not (reason or "").strip():
        raise ExtensionError("alasan perpanjangan wajib diisi")
    if not (granted_by or "").strip():
        raise ExtensionError("pemberi perpanjangan wajib diisi")
    if extra_days is not None and extra_days < 1:
        raise ExtensionError(f"jumlah hari tambahan harus minimal 1, bukan {extra_days}")
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ExtensionError(f"siklus dengan id {cycle_id} tidak ditemukan")
    if session.get(Region, region_code) is None:
        raise ExtensionError(f"wilayah {region_code} tidak dikenal")
    if assessor_id is not None and session.get(Assessor, assessor_id) is None:
        raise ExtensionError("asesor yang disebut tidak terdaftar")

    # The region's wait on the step is shared by all of its parties (the region and its
    # assessors): extending it for one assessor moves it for the wait as a whole.
    # A step is covered by the stage that waits on it (the answers' wait covers steps 3–4).
    waits = [
        w
        for w in open_waits(session, cycle_id, region_code, for_update=True)
        if step_no == stage(w.kind).step_no or step_no in stage(w.kind).done_steps
    ]
    if not waits:
        who = "asesor tersebut untuk " if assessor_id is not None else ""
        raise ExtensionError(
            f"tidak ada penantian terbuka pada tahap «{step(step_no).activity}» untuk {who}"
            f"wilayah {region_code} dalam siklus {cycle.year}"
        )
    calendar = calendar or calendar_from_settings(session)
    old_due = max(w.due_date for w in waits)
    if extra_days is not None:
        new_due = calendar.add_working_days(old_due + timedelta(days=1), extra_days)
    assert new_due is not None
    if new_due <= old_due:
        raise ExtensionError(
            f"tanggal baru {long_date(new_due)} harus sesudah tenggat sekarang {long_date(old_due)}"
        )
    if not calendar.is_working_day(new_due):
        why = calendar.holiday_name(new_due) or "akhir pekan"
        raise ExtensionError(
            f"tanggal baru {long_date(new_due, with_day=True)} bukan hari kerja ({why})"
        )

    for wait in waits:
        wait.due_date = new_due
        wait.extended = True
        session.add(wait)
    process = session.exec(
        select(RegionProcess).where(
            RegionProcess.cycle_id == cycle_id,
            RegionProcess.region_code == region_code,
            RegionProcess.current_step.in_({w.step_no for w in waits}),
        )
    ).first()
    if process is not None:
        process.due_date = new_due
        session.add(process)
    extension = Extension(
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        step_no=step_no,
        old_due=old_due,
        new_due=new_due,
        reason=reason.strip(),
        granted_by=granted_by.strip(),
    )
    session.add(extension)
    session.flush()
    record_step(
        session,
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        step_no=step_no,
        event="extended",
        due_date=new_due,
        outcome=f"tenggat diperpanjang dari {long_date(old_due)} menjadi {long_date(new_due)}",
        who=granted_by.strip(),
        detail={
            "extension_id": extension.id,
            "old_due": old_due.isoformat(),
            "new_due": new_due.isoformat(),
            "reason": reason.strip(),
            "wait_ids": [w.id for w in waits],
        },
    )
    session.flush()
    for wait in waits:  # the open Resume form shows the new deadline
        try:
            refresh_form_text(wait, new_due)
        except Exception as exc:  # noqa: BLE001 - the engine away: the extension still holds
            log.warning("Formulir %s tidak diperbarui: %s", wait.flow_run_id, exc)
    return extension


def notify_extension(session: Session, extension: Extension) -> str:
    """Queue an email telling the waited-on party (PIC or assessor) its new due date, admin in
    Cc. Returns the outbox key (idempotent per extension); send it with the outbox."""
    from mail.outbox import enqueue
    from models.settings import get_settings

    settings = get_settings()
    cycle = session.get(Cycle, extension.cycle_id)
    region = session.get(Region, extension.region_code)
    query = select(Wait).where(
        Wait.cycle_id == extension.cycle_id, Wait.region_code == extension.region_code
    )
    # The wait the extension moved: its stage waits on the step or covers it (answers: 3–4).
    wait = next(
        (
            w
            for w in session.exec(query.order_by(Wait.id.desc()))
            if extension.step_no == stage(w.kind).step_no
            or extension.step_no in stage(w.kind).done_steps
        ),
        None,
    )
    if extension.assessor_id is not None:
        assessor = session.get(Assessor, extension.assessor_id)
        recipient, name = assessor.email, assessor.name
        party = Party("asesor", assessor.id, assessor.name, assessor.email)
    else:
        recipient, name = region.pic_email, region.pic_name
        party = Party("wilayah")
    what = stage(wait.kind).request_for(party) if wait else step(extension.step_no).activity
    key = f"perpanjangan/{extension.id}"
    enqueue(
        session,
        key=key,
        recipient=recipient,
        recipient_name=name,
        cc=[str(settings.admin_email)],
        subject=f"Perpanjangan tenggat PeManTIK Tahun {cycle.year}: {what}",
        template="umum",
        context={
            "paragraf": [
                f"Dengan hormat, bersama ini kami sampaikan bahwa tenggat {what} untuk "
                f"PeManTIK Tahun {cycle.year} {region.name} diperpanjang dari "
                f"{long_date(extension.old_due, with_day=True)} menjadi "
                f"{long_date(extension.new_due, with_day=True)}.",
                f"Alasan perpanjangan: {extension.reason}",
                "Atas perhatian dan kerja samanya kami ucapkan terima kasih.",
            ]
        },
        kind="perpanjangan",
        step_no=extension.step_no,
        cycle_id=extension.cycle_id,
        region_code=extension.region_code,
        assessor_id=extension.assessor_id,
        settings=settings,
    )
    return key
