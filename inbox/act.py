"""Acting on one stored message: match it, check its sender, hand it to the right door.

Every outcome leaves the row in a final state with a short ``action`` text (Indonesian):

* ``processed`` — handed to a wait (``services.waits.submit``), refused with an automatic
  reply listing the errors, answered "nothing is awaited now", or recorded as an
  acknowledgement of receipt (``Acknowledgement``, steps 2 and 7);
* ``quarantined`` — the sender is not the region's PIC nor an assigned assessor: not acted on;
  the writer is told to send from the registered address or have the admin register a new one
  (unless the message is forged or not in a PeManTIK thread), the admin gets the message
  attached and may :func:`release` it, after which it is handled as if the PIC (or the
  assessor the thread was addressed to) had sent it, with who released it recorded;
* ``unreadable`` — from a known person but nothing the reader understands: the admin gets the
  message attached, the sender gets the reply format;
* ``error`` — an unexpected failure: ``attempts`` counts the tries, the next run tries again,
  and after ``PEMANTIK_INBOX_MAX_ATTEMPTS`` the admin is told. The raw message is never lost.

Exactly once
    A run claims a row first (``attempts`` + 1, fenced on the old count, committed), so two
    readers never act on one message. Outbox messages are keyed by the Message-ID (a retry
    queues nothing twice), acknowledgements are written in the same transaction as the final
    state, and a refused input stores nothing. The one step that commits on its own is the
    door (``submit``): the row is marked ``menyerahkan <jenis>`` (committed) just before it, so
    when a run dies after the door stored the input but before the row was finished, the retry
    finds the door's step record (same stage, same sender, after that mark) and does not hand
    the input over a second time; it only resumes the flow when the stage is complete.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from inbox.match import (
    TOKEN,
    Match,
    current_cycle,
    match_message,
    match_region,
    match_workbook,
)
from inbox.parse import Attachment, ParsedMessage, parse_message
from inbox.replies import (
    EXAMPLES,
    SCORE_SUFFIXES,
    ReplyContent,
    ScoresFileError,
    parse_scores,
    read_reply,
)
from inbox.settings import InboxSettings, load_inbox_settings, raw_dir
from inbox.store import admin_copy, store_attachment
from mail.outbox import (
    NOTICE_KIND,
    OutboxError,
    enqueue,
    find_by_message_id,
    reference_token,
)
from models import clock
from models.db import session_scope
from models.lookups import assessor_by_email, letter_kinds_sent
from models.settings import Settings, get_settings
from models.sop import receipt_step
from models.tables import (
    Acknowledgement,
    Cycle,
    InboundMessage,
    Region,
    StepRecord,
)

log = logging.getLogger("pemantik.inbox")

RECEIVED, PROCESSED, QUARANTINED, UNREADABLE, ERROR = (
    "received",
    "processed",
    "quarantined",
    "unreadable",
    "error",
)
RETRYABLE = (RECEIVED, ERROR)
STATE_LABELS = {
    RECEIVED: "diterima",
    PROCESSED: "diproses",
    QUARANTINED: "dikarantina",
    UNREADABLE: "tidak terbaca",
    ERROR: "galat",
}
REPLY_KIND = "balasan_otomatis"
RELEASE_FORM = "lepas-karantina"  # the admin's Prefect form (flows/inbox_admin.py)
HANDING = "menyerahkan "
# Files a region might send instead of the .xlsx questionnaire: answered, not guessed.
UNREAD_FILES = (
    (
        (".xls", ".ods", ".xlsm", ".csv", ".numbers"),
        ": format ini tidak dapat dibaca; simpan Lembar Kuesioner sebagai Excel Workbook "
        "(.xlsx) lalu kirim kembali",
    ),
    (
        (".zip", ".rar", ".7z"),
        " berupa arsip terkompresi yang tidak dibuka otomatis; lampirkan Lembar Kuesioner "
        "(.xlsx) langsung, tanpa dikompres, lalu kirim kembali",
    ),
)
KIND_LABELS = {
    "jawaban": "jawaban kuesioner",
    "konfirmasi": "konfirmasi",
    "nilai": "nilai asesor",
}


@dataclass
class Outcome:
    row_id: int
    message_id: str
    state: str
    action: str
    keys: list[str] = field(default_factory=list)  # outbox keys queued


@dataclass
class Decision:
    """What handling one message comes to: its state, the acknowledgement and the replies."""

    state: str = PROCESSED
    action: str = ""
    ack: Acknowledgement | None = None
    # balasan_otomatis contexts: the wording lives in the template, chosen by "jenis"
    replies: list[dict[str, Any]] = field(default_factory=list)
    admin: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, judul, alasan)
    reply_cycle_id: int | None = None  # the cycle under way: its token goes on the replies


def pending_ids(session: Session, max_attempts: int) -> list[int]:
    return list(
        session.exec(
            select(InboundMessage.id)
            .where(
                InboundMessage.state.in_(RETRYABLE),  # type: ignore[attr-defined]
                InboundMessage.attempts < max_attempts,
            )
            .order_by(InboundMessage.id)
        )
    )


def _auto_submitted(parsed: ParsedMessage) -> bool:
    """An autoresponder's message (out of office, bounce): never answered (no mail loops)."""
    msg = parsed.message
    if msg is None:
        return False
    auto = str(msg.get("Auto-Submitted", "") or "").strip().lower()
    precedence = str(msg.get("Precedence", "") or "").strip().lower()
    return (
        (auto not in ("", "no"))
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or msg.get("X-Autoreply") is not None
        or parsed.sender.startswith(("mailer-daemon@", "postmaster@"))
    )


def _our_own(parsed: ParsedMessage, settings: Settings) -> bool:
    if parsed.sender and parsed.sender == str(settings.sender).lower():
        return True
    with session_scope() as session:
        return find_by_message_id(session, parsed.message_id) is not None


def _dmarc_failed(parsed: ParsedMessage) -> bool:
    """The receiving server found the From domain forged (``Authentication-Results``).

    Only a failure counts: a sender can add a header claiming a pass, but a failure verdict
    added by our own server is never good news, so it is enough to quarantine.
    """
    msg = parsed.message
    if msg is None:
        return False
    return any(
        re.search(r"\bdmarc\s*=\s*fail\b", str(value), re.I)
        for value in msg.get_all("Authentication-Results") or []
    )


def _reply_subject(subject: str, token: str) -> str:
    """``Re: <subject>`` with ``token`` (the cycle under way's) in place of any other token."""
    seen: list[bool] = []

    def swap(_: re.Match) -> str:
        seen.append(True)
        return token if len(seen) == 1 else ""

    text = " ".join(TOKEN.sub(swap, subject).split()) or "(tanpa subjek)"
    return text if text.lower().startswith(("re:", "balas:")) else f"Re: {text}"


def _received_date(parsed: ParsedMessage, settings: Settings) -> date:
    msg = parsed.message
    try:
        sent = msg["Date"].datetime if msg is not None and msg["Date"] else None
    except Exception:  # noqa: BLE001 - an unreadable Date header
        sent = None
    if isinstance(sent, datetime) and sent.tzinfo is not None:
        return clock.local_date(sent)
    return clock.today()


def _ack_step(session: Session, match: Match) -> int:
    kind = match.dispatch.kind if match.dispatch is not None else ""
    if match.party == "asesor":
        sent = letter_kinds_sent(session, match.cycle_id, assessor_id=match.assessor_id)
    else:
        sent = letter_kinds_sent(session, match.cycle_id, region_code=match.region_code)
    return receipt_step(kind, sent)


def _acknowledgement(
    session: Session, match: Match, reply: ReplyContent, parsed: ParsedMessage, settings: Settings
) -> Acknowledgement:
    return Acknowledgement(
        cycle_id=match.cycle_id,
        region_code=match.region_code if match.party == "wilayah" else None,
        assessor_id=match.assessor_id if match.party == "asesor" else None,
        step_no=_ack_step(session, match),
        received_by=reply.received_by or parsed.sender_name or parsed.sender,
        agenda_number=reply.agenda_number,
        received_date=reply.received_date or _received_date(parsed, settings),
        source="email",
    )


def _handed_over_before(row: InboundMessage, kind: str, match: Match, sender: str) -> bool:
    """Did an earlier attempt's door store this input (see "Exactly once")?"""
    from services.waits import stage

    if not row.action.startswith(HANDING) or row.processed_at is None:
        return False
    with session_scope() as session:
        found = session.exec(
            select(StepRecord.id).where(
                StepRecord.cycle_id == match.cycle_id,
                StepRecord.region_code == match.region_code,
                StepRecord.step_no == stage(kind).step_no,
                StepRecord.event == "received",
                StepRecord.who == sender,
                StepRecord.recorded_at >= row.processed_at,
            )
        ).first()
    return found is not None


def _resume_if_complete(kind: str, cycle_id: int, region: str, timeout: float) -> bool:
    from services.waits import check, current_wait, resume_when_suspended

    status = check(kind, cycle_id, region)
    if not status.complete:
        return False
    with session_scope() as session:
        wait = current_wait(session, cycle_id, region, kind)
        run_id = wait.flow_run_id if wait is not None else ""
    return bool(run_id) and resume_when_suspended(run_id, {"melalui": "email"}, timeout)


def _files(parsed: ParsedMessage) -> list[Attachment]:
    """The named files, the writer's own before those of a forwarded message."""
    named = [a for a in parsed.attachments if a.filename]
    return sorted(named, key=lambda a: a.forwarded)


def _winmail(files: list[Attachment]) -> list[str]:
    return [
        f"Lampiran '{a.filename}' dikirim dalam format khusus Outlook (Rich Text) sehingga "
        "berkas di dalamnya tidak terbaca; ubah format surel menjadi HTML atau Teks Biasa "
        "(Outlook: Format Teks > HTML), lampirkan kembali berkasnya, lalu kirim ulang"
        for a in files
        if a.filename.lower() == "winmail.dat" or a.content_type == "application/ms-tnef"
    ]


def _submission(
    parsed: ParsedMessage, match: Match, reply: ReplyContent, directory: Path, acting: str
) -> tuple[str, dict[str, Any]] | list[str] | None:
    """What to hand to a door: (kind, payload), a list of errors to answer, or None."""
    files = _files(parsed)
    if match.party == "wilayah":
        workbooks = [a for a in files if a.filename.lower().endswith(".xlsx")]
        if not workbooks:
            unread = [
                f"Lampiran '{a.filename}'{why}"
                for suffixes, why in UNREAD_FILES
                for a in files
                if a.filename.lower().endswith(suffixes)
            ]
            if unread:
                return unread
        if workbooks:
            path = store_attachment(
                directory, parsed.message_id, workbooks[0].filename, workbooks[0].data
            )
            return "jawaban", {"berkas": str(path)}
        if _winmail(files):
            return _winmail(files)
        if reply.confirmation in ("bersedia", "tidak bersedia"):
            return [
                f"'{reply.confirmation.upper()}' adalah jawaban asesor; Kab/Kota menjawab "
                "undangan dengan HADIR atau TIDAK HADIR"
            ]
        if reply.confirmation:
            if reply.problems:
                return reply.problems
            return "konfirmasi", {
                "pihak": "wilayah",
                "jawaban": "ya" if reply.confirmation == "hadir" else "tidak",
                "delegasi": reply.delegates,
                "alasan": reply.reason,
            }
        return reply.problems or None
    scores = [a for a in files if a.filename.lower().endswith(SCORE_SUFFIXES)]
    if scores and len(match.regions) > 1:
        # One Surat Permohonan for several regions: the file's name says which (the scoring
        # template attached to the letter is named with the region's code).
        named = [c for c in match.regions if _names_region(scores[0].filename, c)]
        if len(named) != 1:
            return [
                f"Lampiran '{scores[0].filename}': nama berkas nilai harus memuat kode satu "
                f"Kab/Kota yang Anda nilai ({', '.join(match.regions)}); gunakan templat nilai "
                "yang dilampirkan pada Surat Permohonan untuk Kab/Kota tersebut"
            ]
        match.region_code = named[0]
    if scores:
        try:
            data = parse_scores(scores[0].filename, scores[0].data)
        except ScoresFileError as exc:
            return exc.errors
        return "nilai", {"asesor": acting, "data": data}
    if _winmail(files):
        return _winmail(files)
    if reply.confirmation in ("hadir", "tidak hadir"):
        return [
            f"'{reply.confirmation.upper()}' adalah jawaban Kab/Kota; asesor menjawab "
            "permohonan dengan BERSEDIA atau TIDAK BERSEDIA"
        ]
    if reply.confirmation:
        if reply.problems:
            return reply.problems
        return "konfirmasi", {
            "pihak": acting,
            "jawaban": "ya" if reply.confirmation == "bersedia" else "tidak",
            "pernyataan_benturan_kepentingan": reply.statement,
            "alasan": reply.reason,
        }
    return reply.problems or None


def _names_region(filename: str, code: str) -> bool:
    """Does the file name carry the region code (not as part of a longer number)?"""
    return re.search(rf"(?<![\d.]){re.escape(code)}(?![\d])", filename) is not None


def _rematch_by_workbook(parsed: ParsedMessage, match: Match, acting: str) -> Match:
    """A filled Lembar Kuesioner decides its own cycle and region (see inbox.match)."""
    workbooks = [a for a in _files(parsed) if a.filename.lower().endswith(".xlsx")]
    if not workbooks:
        return match
    from assessment.answers import workbook_identity

    path = store_attachment(raw_dir(), parsed.message_id, workbooks[0].filename, workbooks[0].data)
    meta = workbook_identity(path)
    if meta is None:
        return match
    with session_scope() as session:
        if session.get(Cycle, meta.cycle_id) is None:
            return match
        found = match_workbook(session, acting, meta.cycle_id, meta.region_code, match)
    return found or match


def _mark(row_id: int, **values: Any) -> None:
    with session_scope() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == row_id).values(**values))


def _missing_answer(party: str) -> str:
    if party == "asesor":
        return (
            "jawaban yang tegas: BERSEDIA (dengan Pernyataan bebas benturan kepentingan) atau "
            "TIDAK BERSEDIA, atau lampiran nilai (.csv/.json)"
        )
    if party == "wilayah":
        return (
            "jawaban yang tegas: lampiran Lembar Kuesioner (.xlsx), HADIR (dengan nama dan "
            "jabatan delegasi) atau TIDAK HADIR, atau tanda terima surat"
        )
    return "lampiran jawaban atau nilai, konfirmasi, atau tanda terima surat"


def _refuse_stranger(
    out: Decision, match: Match, parsed: ParsedMessage, forged: bool, settings: Settings
) -> Decision:
    out.state, out.action = QUARANTINED, f"dikarantina: {match.problem}"
    out.admin.append(
        ("karantina", "Surel masuk dikarantina (pengirim tidak berwenang)", match.problem)
    )
    if match.referenced and not forged and parsed.sender:
        # Someone answered a PeManTIK email from an address we do not know (a personal
        # mailbox, a colleague): tell them how to get the answer through.
        with session_scope() as session:
            region = session.get(Region, match.region_code or "")
        out.replies.append(
            {
                "jenis": "tidak-terdaftar",
                "wilayah": region.name if region is not None else "",
                "admin": str(settings.admin_email),
            }
        )
    return out


def _decide(
    row: InboundMessage,
    parsed: ParsedMessage,
    match: Match,
    settings: Settings,
    inbox_settings: InboxSettings,
    acting: str,
) -> Decision:
    """Everything except the final transaction: may call a door (which commits itself).

    ``acting`` is whom the message is handled as: its sender, or for a message the admin
    released from quarantine, the PIC or assessor the thread was addressed to.
    """
    from services.waits import InputRefused, NotWaiting, submit

    out = Decision()
    with session_scope() as session:
        under_way = current_cycle(session)
        under_way_year = under_way.year if under_way is not None else None
    out.reply_cycle_id = under_way.id if under_way is not None else match.cycle_id
    if _our_own(parsed, settings):
        # Our own message (a copy, a loop through a shared mailbox): never answered or
        # forwarded, or every notice to the admin would come back as a new message.
        out.action = "diabaikan: surel yang dikirim PeManTIK sendiri"
        return out
    forged = not row.released_as and _dmarc_failed(parsed)
    if forged and match.authorised:
        match.problem = (
            f"pemeriksaan DMARC server surel gagal untuk {parsed.sender}: alamat pengirim "
            "kemungkinan dipalsukan"
        )
        match.party = ""
    if not forged and match.party != "asesor":
        rematched = _rematch_by_workbook(parsed, match, acting)
        if rematched is not match:
            match.__dict__.update(rematched.__dict__)
    if not match.referenced or not match.authorised:
        with session_scope() as session:
            known = parsed.sender and (
                session.exec(
                    select(Region.code).where(func.lower(Region.pic_email) == parsed.sender)
                ).first()
                or assessor_by_email(session, parsed.sender)
            )
        if match.referenced or not known or row.released_as:
            return _refuse_stranger(out, match, parsed, forged, settings)
        out.state, out.action = UNREADABLE, f"tidak terbaca: {match.problem}"
        out.admin.append(("tidak-terbaca", "Surel masuk tidak dapat dibaca", match.problem))
        out.replies.append({"jenis": "tidak-terkait", "petunjuk": True, "pihak": ""})
        return out

    reply = read_reply(parsed.split, party=match.party)
    what = _submission(parsed, match, reply, raw_dir(), acting)
    if isinstance(what, list):
        out.action = f"ditolak: {len(what)} kesalahan"
        out.replies.append(
            {"jenis": "ditolak", "galat": what, "petunjuk": True, "pihak": match.party}
        )
    elif what is not None:
        kind, payload = what
        label = KIND_LABELS[kind]
        if _handed_over_before(row, kind, match, acting):
            resumed = _resume_if_complete(
                kind, match.cycle_id, match.region_code, inbox_settings.resume_timeout_seconds
            )
            out.action = f"{label} sudah diterima pada percobaan sebelumnya" + (
                "; alur dilanjutkan" if resumed else ""
            )
        else:
            _mark(row.id, action=f"{HANDING}{kind}", processed_at=clock.now())
            try:
                result = submit(
                    kind,
                    cycle_id=match.cycle_id,
                    region=match.region_code,
                    payload=payload,
                    via="email",
                    who=acting,
                    resume_timeout=inbox_settings.resume_timeout_seconds,
                )
            except InputRefused as exc:
                out.action = f"{label} ditolak: {len(exc.errors)} kesalahan"
                out.replies.append(
                    {
                        "jenis": "ditolak",
                        "label": label,
                        "galat": exc.errors,
                        "petunjuk": kind != "jawaban",
                        "pihak": match.party,
                    }
                )
            except NotWaiting as exc:
                out.action = f"{label}: tidak ada yang ditunggu ({exc})"
                earlier = (
                    under_way_year is not None
                    and match.year is not None
                    and match.year < under_way_year
                )
                if earlier:
                    out.action += f"; utas surel PeManTIK tahun {match.year}"
                    out.replies.append(
                        {
                            "jenis": "siklus-lama",
                            "label": label,
                            "tahun": match.year,
                            "tahun_kini": under_way_year,
                        }
                    )
                else:
                    out.replies.append({"jenis": "tidak-ditunggu", "label": label})
                out.admin.append(
                    ("tidak-ditunggu", f"Balasan masuk saat tidak ada penantian: {label}", str(exc))
                )
            else:
                out.action = result.summary or f"{label} diterima"
                if result.complete:
                    out.action += "; tahap lengkap" + (
                        "; alur dilanjutkan" if result.resumed else ""
                    )
                if kind == "konfirmasi" and match.party == "asesor":
                    # The one answer settled the assessor's other regions too: resume those
                    # now complete (a run not yet suspended is left to the stage sweep).
                    for other in match.regions:
                        if other != match.region_code and _resume_if_complete(
                            kind, match.cycle_id, other, 2.0
                        ):
                            out.action += f"; alur {other} dilanjutkan"
                if kind != "jawaban":  # the flow sends the tanda terima for answers itself
                    out.replies.append(
                        {"jenis": "diterima", "label": label, "ringkasan": result.summary}
                    )
    if reply.acknowledged and not reply.problems:
        with session_scope() as session:
            out.ack = _acknowledgement(session, match, reply, parsed, settings)
        note = f"tanda terima langkah {out.ack.step_no} dicatat"
        out.action = f"{out.action}; {note}" if out.action else note
    if not out.action:
        quoted = (reply.unclear or reply.other)[:3]
        out.state, out.action = UNREADABLE, "tidak terbaca: isi balasan tidak dikenali"
        out.admin.append(
            (
                "tidak-terbaca",
                "Surel masuk tidak dapat dibaca",
                "isi balasan tidak dikenali (tidak ada lampiran jawaban/nilai, konfirmasi, "
                "atau tanda terima)",
            )
        )
        out.replies.append(
            {
                "jenis": "tidak-terbaca",
                "petunjuk": True,
                "pihak": match.party,
                "dikutip": quoted,
                "kurang": _missing_answer(match.party),
            }
        )
    return out


def _token(session: Session, cycle_id: int | None, match: Match) -> str:
    cycle = session.get(Cycle, cycle_id) if cycle_id is not None else None
    year = cycle.year if cycle is not None else clock.today().year
    return reference_token(year, match.region_code or match.assessor_id)


def _enqueue_reply(
    session: Session,
    row: InboundMessage,
    parsed: ParsedMessage,
    match: Match,
    context: dict[str, Any],
    settings: Settings,
    cycle_id: int | None,
) -> str | None:
    key = f"inbox:{row.message_id}:balasan:{context['jenis']}"
    try:
        enqueue(
            session,
            key=key,
            recipient=parsed.sender,
            recipient_name=parsed.sender_name,
            subject=_reply_subject(parsed.subject, _token(session, cycle_id, match)),
            template=REPLY_KIND,
            context={**context, "contoh": EXAMPLES},
            kind=REPLY_KIND,
            cycle_id=cycle_id,
            region_code=match.region_code,
            assessor_id=match.assessor_id,
            in_reply_to=row.message_id,
            references=[*parsed.references[-9:], row.message_id],
            settings=settings,
        )
    except OutboxError as exc:
        log.warning("balasan otomatis untuk %s tidak dapat diantrekan: %s", row.message_id, exc)
        return None
    return key


def _enqueue_admin(
    session: Session,
    row: InboundMessage,
    tag: str,
    title: str,
    reason: str,
    settings: Settings,
    cycle_id: int | None = None,
    region_code: str | None = None,
) -> str | None:
    key = f"inbox:{row.message_id}:admin:{tag}"
    paragraphs = [
        "Surel aslinya terlampir (berkas .eml.txt; ubah akhiran menjadi .eml untuk "
        "membukanya di aplikasi surel). Surel ini tidak ditindaklanjuti secara otomatis.",
    ]
    if tag == "karantina":
        paragraphs.append(
            f"Bila setelah diperiksa surel ini memang dikirim atas nama Kab/Kota atau asesor "
            f"yang bersangkutan, lepaskan dari karantina dengan formulir '{RELEASE_FORM}' di "
            f"Prefect (nomor surel masuk: {row.id}). Surel itu lalu diproses seolah-olah "
            "dikirim oleh petugas penghubung atau asesor yang terdaftar, dan nama Anda dicatat."
        )
    context = {
        "judul": title,
        "paragraf": paragraphs,
        "rincian": {
            "Nomor surel masuk": str(row.id),
            "Pengirim": row.sender or "(tidak ada)",
            "Subjek": row.subject or "(tanpa subjek)",
            "Message-ID": row.message_id,
            "Diterima": row.received_at.isoformat(timespec="seconds") if row.received_at else "",
            "Alasan": reason,
            "Status": STATE_LABELS.get(row.state, row.state),
            "Berkas asli": row.raw_path,
        },
    }
    common = {
        "key": key,
        "recipient": str(settings.admin_email),
        "recipient_name": "Admin PeManTIK",
        "subject": f"Kotak masuk PeManTIK: {title}",
        "template": "notifikasi_admin",
        "context": context,
        "kind": NOTICE_KIND,
        "cycle_id": cycle_id,
        "region_code": region_code,
        "settings": settings,
    }
    try:
        enqueue(session, attachments=[admin_copy(Path(row.raw_path))], **common)
    except OutboxError as exc:  # e.g. larger than the attachment limit: send the path only
        context["paragraf"] = [f"Surel asli tidak dapat dilampirkan ({exc}); lihat berkas asli."]
        try:
            enqueue(session, **common)
        except OutboxError as again:
            log.error("notifikasi admin untuk %s gagal diantrekan: %s", row.message_id, again)
            return None
    return key


def finish(
    row_id: int,
    parsed: ParsedMessage,
    match: Match,
    decision: Decision,
    settings: Settings,
) -> Outcome:
    """The final transaction: row state, acknowledgement and every outgoing message."""
    keys: list[str] = []
    with session_scope() as session:
        row = session.get(InboundMessage, row_id)
        row.state = decision.state
        row.action = decision.action[:2000]
        row.error = ""
        row.processed_at = clock.now()
        if match.referenced and decision.state != QUARANTINED:
            row.cycle_id, row.region_code = match.cycle_id, match.region_code
            row.assessor_id = match.assessor_id
        session.add(row)
        if decision.ack is not None:
            session.add(decision.ack)
        if not _auto_submitted(parsed):
            for context in decision.replies:
                key = _enqueue_reply(
                    session, row, parsed, match, context, settings, decision.reply_cycle_id
                )
                if key:
                    keys.append(key)
        for tag, title, reason in decision.admin:
            key = _enqueue_admin(
                session,
                row,
                tag,
                title,
                reason,
                settings,
                cycle_id=match.cycle_id,
                region_code=match.region_code if match.authorised else None,
            )
            if key:
                keys.append(key)
        return Outcome(row_id, row.message_id, row.state, row.action, keys)


def _fail(
    row_id: int, exc: BaseException, settings: Settings, inbox_settings: InboxSettings
) -> Outcome:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    log.error("surel masuk %s gagal diproses: %s", row_id, text)
    keys: list[str] = []
    with session_scope() as session:
        row = session.get(InboundMessage, row_id)
        row.state = ERROR
        row.error = text
        session.add(row)
        if row.attempts >= inbox_settings.max_attempts:
            key = _enqueue_admin(
                session,
                row,
                "galat",
                f"Surel masuk gagal diproses {row.attempts} kali",
                f"{text}. Surel tidak dicoba lagi secara otomatis; periksa lalu jalankan "
                "'pemantik kotak-masuk ulang' bila sudah diperbaiki.",
                settings,
            )
            if key:
                keys.append(key)
        return Outcome(row_id, row.message_id, ERROR, text, keys)


def claim(row_id: int, max_attempts: int, lease_seconds: float) -> InboundMessage | None:
    """Take the row for this run; None when it is final, used up, or another run has it.

    The claim sets ``attempts`` + 1 (fenced on the old count), ``state`` back to received and
    ``processed_at`` to now, the start of a lease: a row received with a younger claim is being
    handled by another run; an older one was left by a run that died, and is taken again.
    The returned row holds the values from before the claim (the previous attempt's mark).
    """
    now = clock.now()
    with session_scope() as session:
        row = session.get(InboundMessage, row_id)
        if row is None or row.state not in RETRYABLE or row.attempts >= max_attempts:
            return None
        if row.state == RECEIVED and row.attempts > 0 and row.processed_at is not None:
            started = row.processed_at
            if (now - started).total_seconds() < lease_seconds:
                return None
        session.expunge(row)
        result = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == row_id,
                InboundMessage.attempts == row.attempts,
                InboundMessage.state == row.state,
            )
            .values(attempts=row.attempts + 1, state=RECEIVED, processed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        return row


def process_one(
    row_id: int,
    *,
    settings: Settings | None = None,
    inbox_settings: InboxSettings | None = None,
) -> Outcome | None:
    """Act on one stored message (claim, decide, finish); None when another run has it."""
    settings = settings or get_settings()
    inbox_settings = inbox_settings or load_inbox_settings()
    row = claim(row_id, inbox_settings.max_attempts, inbox_settings.lease_seconds)
    if row is None:
        return None
    try:
        raw = Path(row.raw_path).read_bytes()
        parsed = parse_message(raw)
        acting = row.released_as or parsed.sender
        with session_scope() as session:
            match = match_message(session, acting, parsed.subject, parsed.thread_ids)
            if row.released_as and not match.authorised and row.region_code:
                match = match_region(session, acting, row.region_code, row.cycle_id)
        decision = _decide(row, parsed, match, settings, inbox_settings, acting)
        return finish(row_id, parsed, match, decision, settings)
    except Exception as exc:  # noqa: BLE001 - kept, retried and reported, never lost
        return _fail(row_id, exc, settings, inbox_settings)


class ReleaseRefused(ValueError):
    """A message that cannot be released; the message (Indonesian) says why."""


def release(
    row_id: int,
    who: str,
    *,
    region: str = "",
    settings: Settings | None = None,
    inbox_settings: InboxSettings | None = None,
) -> Outcome:
    """Release a quarantined message the admin has checked, and handle it now.

    It goes through the same door as if the region's PIC (or the assessor the thread was
    addressed to) had sent it; ``who`` released it, and that is recorded on the row. A message
    without a PeManTIK thread needs ``region`` (it is then handled in the cycle under way).
    The writer gets the automatic reply; a refused input stores nothing, as always.
    """
    who = " ".join((who or "").split())
    if not who:
        raise ReleaseRefused("nama admin yang melepaskan surel wajib diisi")
    with session_scope() as session:
        row = session.get(InboundMessage, row_id)
        if row is None:
            raise ReleaseRefused(f"surel masuk nomor {row_id} tidak ada")
        if row.state != QUARANTINED:
            raise ReleaseRefused(
                f"surel masuk nomor {row_id} berstatus "
                f"'{STATE_LABELS.get(row.state, row.state)}', bukan dikarantina"
            )
        parsed = parse_message(Path(row.raw_path).read_bytes())
        match = match_message(session, parsed.sender, parsed.subject, parsed.thread_ids)
        region = region.strip()
        if region:
            region_row = session.get(Region, region)
            if region_row is None:
                raise ReleaseRefused(f"wilayah dengan kode {region} tidak terdaftar")
            acting = region_row.pic_email.strip().lower()
            if match.region_code != region:  # the admin decides the region, in this cycle
                under_way = current_cycle(session)
                row.region_code = region
                row.cycle_id = under_way.id if under_way is not None else None
        elif match.referenced and match.addressee:
            acting = match.addressee.strip().lower()
        else:
            raise ReleaseRefused(
                f"surel masuk nomor {row_id} tidak dapat dikaitkan dengan surat PeManTIK; "
                "sebutkan kode wilayahnya"
            )
        row.state, row.attempts, row.processed_at = RECEIVED, 0, None
        row.released_by, row.released_at, row.released_as = who, clock.now(), acting
        session.add(row)
    outcome = process_one(row_id, settings=settings, inbox_settings=inbox_settings)
    if outcome is None:  # another reader took it meanwhile: it is handled there
        return Outcome(row_id, row.message_id, RECEIVED, f"dilepas oleh {who}")
    with session_scope() as session:
        done = session.get(InboundMessage, row_id)
        done.action = f"dilepas oleh {who} (sebagai {acting}); {done.action}"[:2000]
        session.add(done)
        outcome.action = done.action
    return outcome
