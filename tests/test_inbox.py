"""The inbound mailbox against real parts: the embedded SMTP sink (outgoing letters and the
automatic replies), a Maildir inbox, and the database on SQLite and PostgreSQL.

The flows are not started: the Wait rows are created directly with an empty ``flow_run_id``, so
``submit`` validates and stores but resumes nothing (``resumed`` stays False).
"""

from __future__ import annotations

import json
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from assessment.workbook import META_SHEET, build_questionnaire
from inbox import act as inbox_act
from inbox.compose import drop_into_maildir, reply_to
from inbox.parse import parse_message, strip_quoted
from inbox.reader import read_once
from inbox.replies import ScoresFileError, parse_scores, read_reply
from inbox.settings import inbox_maildir
from inbox.sources import MaildirSource
from mail.outbox import deliver_pending_sync, enqueue
from mail.sink import read_maildir, start_sink
from models.db import session_scope
from models.settings import reset_settings
from models.tables import (
    Acknowledgement,
    AnswerSet,
    Assessor,
    Assignment,
    AssignmentState,
    Confirmation,
    Cycle,
    Dispatch,
    InboundMessage,
    Region,
    Score,
    StepRecord,
)

PIC = "pic.samarinda@samarindakota.go.id"
PIC2 = "pic.balikpapan@balikpapan.go.id"
ASSESSOR = "dosen@unmul.ac.id"
STRANGER = "orang.asing@contoh.com"
YEAR = 2026


# --------------------------------------------------------------------------- the world


@pytest.fixture
def sink(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch):
    """A real SMTP sink; the settings point the outbox at it."""
    handle = start_sink(isolated_settings.parent / "sink")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0")
    reset_settings()
    yield handle
    handle.stop()


@pytest.fixture
def world(db_url: str, sink) -> dict:
    """Two regions, one assessor assigned to 64.72, a 2026 cycle on SPBE 2020."""
    with session_scope() as s:
        s.add(
            Region(code="64.72", name="Kota Samarinda", kind="Kota", pic_name="Sari", pic_email=PIC)
        )
        s.add(
            Region(
                code="64.71", name="Kota Balikpapan", kind="Kota", pic_name="Budi", pic_email=PIC2
            )
        )
        s.flush()
        s.add(Assessor(name="Dr. Rahmat", email=ASSESSOR, institution="Universitas Mulawarman"))
        cycle = Cycle(
            year=YEAR,
            instrument_code="spbe-2020",
            start_date=date(2026, 7, 1),
            params={"year": YEAR, "start_date": "2026-07-01", "regions": ["64.72", "64.71"]},
            state="running",
        )
        s.add(cycle)
        s.flush()
        assessor = s.exec(select(Assessor)).one()
        return {"cycle_id": cycle.id, "assessor_id": assessor.id, "url": db_url}


def open_wait(world: dict, region: str, kind: str, step_no: int) -> None:
    """The region's wait on ``kind``, opened as the flow opens it (no run to resume here)."""
    from services import waits

    assert waits.stage(kind).step_no == step_no
    waits.open_wait(
        kind=kind, cycle_id=world["cycle_id"], region=region, flow_run_id="", key=f"{kind}-1"
    )


def assign(world: dict, region: str, state: str) -> None:
    with session_scope() as s:
        s.add(
            Assignment(
                cycle_id=world["cycle_id"],
                region_code=region,
                assessor_id=world["assessor_id"],
                state=state,
            )
        )


def send_letter(
    world: dict, sink, region: str | None, kind: str, to: str, *, assessor: bool = False
) -> EmailMessage:
    """Send a PeManTIK email through the outbox to the sink; return it as the person sees it."""
    key = f"uji/{region}/{kind}/{to}"
    with session_scope() as s:
        enqueue(
            s,
            key=key,
            recipient=to,
            subject=f"Surat {kind} PeManTIK {YEAR}",
            template="umum",
            context={"paragraf": [f"Isi surat {kind}."]},
            kind=kind,
            cycle_id=world["cycle_id"],
            region_code=region,
            assessor_id=world["assessor_id"] if assessor else None,
        )
    report = deliver_pending_sync(keys=[key])
    assert report.sent, report
    with session_scope() as s:
        mid = s.exec(select(Dispatch.message_id).where(Dispatch.idempotency_key == key)).one()
    for msg in read_maildir(sink.maildir):
        if msg["Message-ID"] == mid:
            return msg
    raise AssertionError(f"{mid} tidak sampai di sink")


def filled_workbook(world: dict, tmp: Path, region: str = "64.72", level: int = 3) -> Path:
    from assessment.instruments import load_instrument

    src = build_questionnaire(
        load_instrument("spbe-2020"),
        cycle_year=YEAR,
        cycle_id=world["cycle_id"],
        region_code=region,
        region_name="Kota Samarinda",
        out_path=tmp / f"kosong-{region}.xlsx",
    )
    wb = openpyxl.load_workbook(src)
    from assessment.workbook import fill_identity

    fill_identity(wb)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    for code, (sheet, row) in json.loads(meta["layout"]).items():
        wb[sheet].cell(row=row, column=4, value=level)
        wb[sheet].cell(row=row, column=5, value=f"https://bukti.example/{code}")
    out = tmp / f"jawaban-{region}.xlsx"
    wb.save(out)
    return out


def rows() -> list[InboundMessage]:
    with session_scope() as s:
        return list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))


def outgoing(sink, to: str) -> list[EmailMessage]:
    return [m for m in read_maildir(sink.maildir) if to in str(m["To"])]


def count(model, **where) -> int:
    with session_scope() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return len(s.exec(query).all())


# --------------------------------------------------------------------------- pure parts


def test_reply_text_and_keywords() -> None:
    body = strip_quoted(
        "HADIR\nDelegasi: Sari Dewi | Kepala Bidang\nDelegasi: Andi|Staf\n"
        "Diterima oleh: Sari, Nomor agenda: 005/12/2026, Tanggal diterima: 2 Juli 2026\n"
        "--\nSari\n\nPada Rab, 1 Jul 2026, PeManTIK menulis:\n> TIDAK HADIR\n"
    )
    reply = read_reply(body)
    assert reply.confirmation == "hadir"
    assert reply.delegates == [
        {"nama": "Sari Dewi", "jabatan": "Kepala Bidang"},
        {"nama": "Andi", "jabatan": "Staf"},
    ]
    assert reply.acknowledged and reply.received_by == "Sari"
    assert reply.agenda_number == "005/12/2026" and reply.received_date == date(2026, 7, 2)
    assert not reply.problems
    # Quoted lines never count, free text mentioning the word does not either.
    assert read_reply(strip_quoted("> HADIR\nKami akan hadir bila sempat.")).confirmation == ""
    both = read_reply("HADIR\nTIDAK HADIR")
    assert both.problems and "bertentangan" in both.problems[0]
    bad_date = read_reply("Tanggal diterima: kemarin")
    assert bad_date.problems and "kemarin" in bad_date.problems[0]
    assert read_reply("diterima.").acknowledged
    assert read_reply("Konfirmasi: tidak bersedia\nAlasan: cuti").reason == "cuti"


def test_scores_files() -> None:
    csv_data = b"kode,tingkat,catatan\nI01,3,baik\nI02,4,\n"
    assert parse_scores("nilai.csv", csv_data) == {
        "I01": {"level": 3, "note": "baik"},
        "I02": {"level": 4, "note": ""},
    }
    semi = b"\xef\xbb\xbfkode;tingkat;catatan\nI01;2;x\n"  # Excel's CSV: BOM and semicolons
    assert parse_scores("nilai.csv", semi) == {"I01": {"level": 2, "note": "x"}}
    assert parse_scores("n.json", b'{"I01": {"level": 2, "note": ""}}')["I01"]["level"] == 2
    for name, data, words in (
        ("n.csv", b"kode,catatan\nI01,x\n", "tingkat"),
        ("n.json", b"{bukan json", "JSON"),
        ("n.json", b"[1, 2]", "objek"),
        ("n.csv", b"kode,tingkat\nI01,3\nI01,4\n", "lebih dari sekali"),
        ("n.txt", b"x", ".csv"),
    ):
        with pytest.raises(ScoresFileError) as err:
            parse_scores(name, data)
        assert words in str(err.value) and name in str(err.value)


def test_html_only_reply_without_the_quoted_original() -> None:
    msg = EmailMessage()
    msg["From"] = "Sari <PIC.Samarinda@SamarindaKota.go.id>"
    msg["Subject"] = "Re: [PEMANTIK-2026-64.72] Undangan"
    msg["Message-ID"] = "<html-1@samarindakota.go.id>"
    msg["In-Reply-To"] = "<asal@pemantik>"
    msg.set_content(
        "<div>HADIR</div><div>Delegasi: Sari &amp; Tim | Kabid</div>"
        '<div class="gmail_quote">Pada Rabu ... menulis:<blockquote><p>TIDAK HADIR</p>'
        "</blockquote></div>",
        subtype="html",
    )
    parsed = parse_message(msg.as_bytes())
    assert parsed.sender == PIC and parsed.in_reply_to == ["<asal@pemantik>"]
    reply = read_reply(parsed.body)
    assert reply.confirmation == "hadir" and not reply.problems
    assert reply.delegates == [{"nama": "Sari & Tim", "jabatan": "Kabid"}]


def test_message_without_message_id_gets_a_stable_one() -> None:
    raw = b"From: a@b.id\r\nSubject: x\r\n\r\nhalo\r\n"
    first, second = parse_message(raw), parse_message(raw)
    assert first.message_id == second.message_id
    assert first.message_id.startswith("<sha256-")
    assert parse_message(raw + b"lagi").message_id != first.message_id


# --------------------------------------------------------------------------- end to end


def test_answers_reply_reaches_the_region_wait(world, sink, tmp_path: Path) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    open_wait(world, "64.71", "jawaban", 4)
    letter = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    workbook = filled_workbook(world, tmp_path)
    raw = reply_to(letter, PIC, "Terlampir jawaban kami.\nDITERIMA", [workbook], sender_name="Sari")
    drop_into_maildir(inbox_maildir(), raw)

    report = read_once()

    assert report.new == 1 and report.counts() == {"processed": 1}
    [row] = rows()
    assert row.state == "processed" and row.region_code == "64.72"
    assert row.cycle_id == world["cycle_id"] and "jawaban kuesioner diterima" in row.action
    assert Path(row.raw_path).read_bytes() == raw  # the raw message is kept as received
    with session_scope() as s:
        answers = s.exec(select(AnswerSet)).all()
        ack = s.exec(select(Acknowledgement)).one()
    assert [(a.region_code, a.source, a.submitted_by) for a in answers] == [("64.72", "email", PIC)]
    assert (ack.step_no, ack.region_code, ack.source) == (2, "64.72", "email")
    # Handled messages leave new/ for cur/ with the Seen flag; nothing is left to read.
    assert not list((inbox_maildir() / "new").iterdir())
    assert [p.name.endswith(":2,S") for p in (inbox_maildir() / "cur").iterdir()] == [True]
    assert read_once().fetched == 0


def test_stranger_is_quarantined_answered_and_released_by_the_admin(world, sink) -> None:
    open_wait(world, "64.72", "konfirmasi", 8)
    letter = send_letter(world, sink, "64.72", "undangan", PIC)
    raw = reply_to(letter, STRANGER, "HADIR\nDelegasi: Sari Dewi | Kepala Bidang")
    drop_into_maildir(inbox_maildir(), raw)
    # A stranger writing with only the subject token is quarantined as well.
    raw2 = reply_to(letter, STRANGER, "DITERIMA", message_id="<asing-2@contoh.com>")
    raw2 = raw2.replace(b"In-Reply-To:", b"X-Old-In-Reply-To:").replace(
        b"References:", b"X-Old-References:"
    )
    drop_into_maildir(inbox_maildir(), raw2)

    report = read_once()

    assert report.counts() == {"quarantined": 2}
    assert all(r.region_code is None and r.state == "quarantined" for r in rows())
    assert count(Confirmation) == 0 and count(Acknowledgement) == 0
    # The writer is told how to get the answer through (registered address, or the admin).
    answers = outgoing(sink, STRANGER)
    assert len(answers) == 2
    for m in answers:
        text = m.get_body(("plain",)).get_content()
        assert "belum terdaftar untuk Kota Samarinda" in text
        assert "admin.pemantik@kaltimprov.go.id" in text and PIC not in text
    notices = outgoing(sink, "admin.pemantik@kaltimprov.go.id")
    assert len(notices) == 2
    attached = sorted(a.get_payload(decode=True) for n in notices for a in n.iter_attachments())
    assert attached == sorted([raw, raw2])  # byte for byte
    assert all("lepas-karantina" in n.get_body(("plain",)).get_content() for n in notices)

    # The admin checks and releases both: the same door as the PIC's, who released recorded.
    first, second = rows()
    outcome = inbox_act.release(first.id, "Rina (admin)")
    assert outcome.state == "processed" and "dilepas oleh Rina (admin)" in outcome.action
    assert inbox_act.release(second.id, "Rina (admin)").state == "processed"
    with session_scope() as s:
        conf = s.exec(select(Confirmation)).one()
        released = s.get(InboundMessage, first.id)
        record = s.exec(select(StepRecord).where(StepRecord.step_no == 8)).one()
    assert conf.attend and conf.delegates == [{"nama": "Sari Dewi", "jabatan": "Kepala Bidang"}]
    assert (released.released_by, released.released_as) == ("Rina (admin)", PIC)
    assert released.released_at is not None and record.who == PIC
    assert count(Acknowledgement) == 1
    with pytest.raises(inbox_act.ReleaseRefused, match="bukan dikarantina"):
        inbox_act.release(first.id, "Rina (admin)")


def test_same_message_twice_is_acted_on_once(world, sink, tmp_path: Path) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    letter = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    raw = reply_to(letter, PIC, "Jawaban terlampir.", [filled_workbook(world, tmp_path)])
    drop_into_maildir(inbox_maildir(), raw)
    drop_into_maildir(inbox_maildir(), raw)  # delivered twice (a retrying server)

    first = read_once()
    drop_into_maildir(inbox_maildir(), raw)  # and once more, after the first pass
    second = read_once()

    assert (first.fetched, first.new, first.duplicates) == (2, 1, 1)
    assert (second.fetched, second.new, second.duplicates) == (1, 0, 1)
    assert len(rows()) == 1 and second.outcomes == []
    assert count(AnswerSet) == 1


def test_broken_attachment_is_answered_with_the_errors(world, sink, tmp_path: Path) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    letter = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    workbook = filled_workbook(world, tmp_path)
    wb = openpyxl.load_workbook(workbook)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    sheet, row_no = json.loads(meta["layout"])["I05"]
    wb[sheet].cell(row=row_no, column=4, value="tujuh")  # not a level
    wb.save(workbook)
    raw = reply_to(letter, PIC, "Jawaban kami.", [workbook])
    drop_into_maildir(inbox_maildir(), raw)
    broken = reply_to(letter, PIC, "Yang ini rusak.", [("rusak.xlsx", b"bukan berkas excel")])
    drop_into_maildir(inbox_maildir(), broken)
    old_excel = reply_to(letter, PIC, "Format lama.", [("jawaban.xls", b"\xd0\xcf\x11\xe0")])
    drop_into_maildir(inbox_maildir(), old_excel)

    report = read_once()

    assert report.counts() == {"processed": 3}
    assert count(AnswerSet) == 0  # nothing stored
    replies = outgoing(sink, PIC)
    auto = [m for m in replies if m["Subject"].startswith("Re:")]
    assert len(auto) == 3
    incoming = {parse_message(m).message_id for m in (raw, broken, old_excel)}
    assert {m["In-Reply-To"] for m in auto} == incoming
    for m in auto:
        assert m["In-Reply-To"] in m["References"]
        assert "[PEMANTIK-2026-64.72]" in m["Subject"]
    texts = [m.get_body(("plain",)).get_content() for m in auto]
    assert any("I05" in t and "tujuh" in t for t in texts), texts
    assert any("jawaban.xls" in t and "(.xlsx)" in t for t in texts), texts
    assert all("belum dapat kami" in t and "Kesalahan yang ditemukan" in t for t in texts)


def test_confirmations_from_region_and_assessor(world, sink) -> None:
    open_wait(world, "64.72", "konfirmasi", 8)
    assign(world, "64.72", AssignmentState.REQUESTED)
    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    request = send_letter(world, sink, "64.72", "permohonan", ASSESSOR, assessor=True)
    drop_into_maildir(
        inbox_maildir(),
        reply_to(
            invitation,
            PIC,
            "HADIR\nDelegasi: Sari Dewi | Kepala Bidang E-Government\nDelegasi: Andi | Staf",
        ),
    )
    drop_into_maildir(
        inbox_maildir(),
        reply_to(
            request,
            ASSESSOR,
            "Bersedia\nPernyataan: Saya tidak memiliki benturan kepentingan dengan Kota Samarinda.",
        ),
    )

    report = read_once()

    assert report.counts() == {"processed": 2}, [o.action for o in report.outcomes]
    with session_scope() as s:
        conf = s.exec(select(Confirmation)).one()
        assignment = s.exec(select(Assignment)).one()
    assert conf.attend and [d["nama"] for d in conf.delegates] == ["Sari Dewi", "Andi"]
    assert assignment.state == AssignmentState.ACCEPTED
    assert "benturan" in assignment.coi_statement
    assert "tahap lengkap" in rows()[-1].action
    thanks = outgoing(sink, ASSESSOR)
    assert any("telah kami terima" in m.get_body(("plain",)).get_content() for m in thanks)


def test_assessor_scores_and_wrong_keyword(world, sink) -> None:
    open_wait(world, "64.72", "nilai", 11)
    assign(world, "64.72", AssignmentState.ACCEPTED)
    request = send_letter(world, sink, "64.72", "permohonan", ASSESSOR, assessor=True)
    from assessment.instruments import load_instrument

    codes = load_instrument("spbe-2020").indicator_codes
    lines = "kode,tingkat,catatan\n" + "".join(f"{c},3,terverifikasi\n" for c in codes)
    drop_into_maildir(
        inbox_maildir(),
        reply_to(request, ASSESSOR, "Nilai terlampir.", [("nilai.csv", lines.encode())]),
    )
    drop_into_maildir(inbox_maildir(), reply_to(request, ASSESSOR, "HADIR"))

    report = read_once()

    assert count(Score) == len(codes)
    actions = [o.action for o in report.outcomes]
    assert "nilai asesor Dr. Rahmat diterima" in actions[0]
    assert actions[1].startswith("ditolak")
    texts = [m.get_body(("plain",)).get_content() for m in outgoing(sink, ASSESSOR)]
    assert any("BERSEDIA atau TIDAK BERSEDIA" in t for t in texts)


def test_acknowledgement_of_the_invitation(world, sink) -> None:
    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(
        inbox_maildir(),
        reply_to(invitation, PIC, "Diterima oleh: Rina, Nomor agenda: 005/77/Diskominfo/2026"),
    )
    read_once()
    with session_scope() as s:
        ack = s.exec(select(Acknowledgement)).one()
    assert (ack.step_no, ack.received_by, ack.agenda_number) == (
        7,
        "Rina",
        "005/77/Diskominfo/2026",
    )
    assert rows()[0].state == "processed"


def test_not_waiting_and_unreadable(world, sink, tmp_path: Path) -> None:
    letter = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    drop_into_maildir(
        inbox_maildir(), reply_to(letter, PIC, "Jawaban.", [filled_workbook(world, tmp_path)])
    )
    drop_into_maildir(inbox_maildir(), reply_to(letter, PIC, "Mohon info jadwalnya, Pak."))
    # A known PIC writing without any reference at all.
    drop_into_maildir(
        inbox_maildir(),
        reply_to(letter, PIC2, "Halo", subject="Pertanyaan", message_id="<tanpa-ref@bpn.go.id>")
        .replace(b"In-Reply-To:", b"X-In-Reply-To:")
        .replace(b"References:", b"X-References:"),
    )

    report = read_once()

    states = [o.state for o in report.outcomes]
    assert states == ["processed", "unreadable", "unreadable"], [o.action for o in report.outcomes]
    assert "tidak ada yang ditunggu" in report.outcomes[0].action
    assert count(AnswerSet) == 0
    texts = [m.get_body(("plain",)).get_content() for m in outgoing(sink, PIC)]
    assert any("tidak sedang menunggu jawaban kuesioner" in t for t in texts)
    assert any("Cara membalas surel PeManTIK" in t for t in texts)
    assert len(outgoing(sink, "admin.pemantik@kaltimprov.go.id")) == 3


class DyingMaildir(MaildirSource):
    """A reader killed right after committing the N-th message, before marking it handled."""

    def __init__(self, path: Path, die_at: int) -> None:
        super().__init__(path)
        self.die_at, self.marked = die_at, 0

    def mark_done(self, handle) -> None:  # noqa: ANN001
        if self.marked + 1 == self.die_at:
            raise KeyboardInterrupt("proses dihentikan")
        self.marked += 1
        super().mark_done(handle)


def _three_replies(world: dict, sink, tmp_path: Path) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    open_wait(world, "64.71", "konfirmasi", 8)
    first = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    second = send_letter(world, sink, "64.71", "undangan", PIC2)
    drop_into_maildir(
        inbox_maildir(), reply_to(first, PIC, "Jawaban.", [filled_workbook(world, tmp_path)])
    )
    drop_into_maildir(inbox_maildir(), reply_to(second, PIC2, "TIDAK HADIR\nAlasan: bentrok"))
    drop_into_maildir(inbox_maildir(), reply_to(first, PIC, "DITERIMA"))


@pytest.mark.parametrize("chunk", [1, 50])
def test_reader_killed_mid_intake_loses_nothing(
    world, sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import inbox.reader

    monkeypatch.setattr(inbox.reader, "INTAKE_CHUNK", chunk)
    _three_replies(world, sink, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        read_once(DyingMaildir(inbox_maildir(), die_at=2))
    # Chunk 1: the second row is committed, not marked, the third never read. Chunk 50: all
    # three committed, only the first marked.
    stored = 2 if chunk == 1 else 3
    assert len(rows()) == stored and all(r.state == "received" for r in rows())

    report = read_once()

    assert (report.fetched, report.new, report.duplicates) == (2, 3 - stored, stored - 1)
    assert sorted(o.state for o in report.outcomes) == ["processed"] * 3
    assert count(AnswerSet) == 1 and count(Confirmation) == 1 and count(Acknowledgement) == 1
    assert read_once().outcomes == []


def test_reader_killed_after_the_door_acts_once(
    world, sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after ``submit`` stored the answers but before the row was finished."""
    _three_replies(world, sink, tmp_path)
    real_finish = inbox_act.finish
    calls = {"n": 0}

    def dying_finish(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("proses dihentikan")
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(inbox_act, "finish", dying_finish)
    with pytest.raises(KeyboardInterrupt):
        read_once()
    assert count(AnswerSet) == 1
    first = rows()[0]
    assert first.state == "received" and first.attempts == 1
    # Within the lease the message counts as being handled by a live run: left alone.
    assert [o.row_id for o in read_once().outcomes] == [2, 3]
    monkeypatch.setenv("PEMANTIK_INBOX_LEASE_SECONDS", "0")  # the lease is over

    report = read_once()

    assert count(AnswerSet) == 1  # not handed over a second time
    assert "sudah diterima pada percobaan sebelumnya" in report.outcomes[0].action
    assert [o.state for o in report.outcomes] == ["processed"]
    assert count(Confirmation) == 1 and count(Acknowledgement) == 1


def test_failure_is_kept_retried_and_reported(world, sink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEMANTIK_INBOX_MAX_ATTEMPTS", "2")
    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(inbox_maildir(), reply_to(invitation, PIC, "DITERIMA"))
    real = inbox_act.match_message

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("basis data sedang pemeliharaan")

    monkeypatch.setattr(inbox_act, "match_message", broken)
    first = read_once()
    assert first.counts() == {"error": 1} and "pemeliharaan" in first.errors[0]
    second = read_once()
    [row] = rows()
    assert (row.state, row.attempts) == ("error", 2)
    assert second.counts() == {"error": 1}
    notices = outgoing(sink, "admin.pemantik@kaltimprov.go.id")
    assert len(notices) == 1 and "gagal diproses 2 kali" in str(notices[0]["Subject"])
    assert read_once().outcomes == []  # no more automatic tries
    assert count(Acknowledgement) == 0

    # The admin repairs and asks for one more try (what 'kotak-masuk ulang' does).
    monkeypatch.setattr(inbox_act, "match_message", real)
    with session_scope() as s:
        r = s.get(InboundMessage, row.id)
        r.state, r.attempts = "received", 0
        s.add(r)
    assert read_once().counts() == {"processed": 1}
    assert count(Acknowledgement) == 1


def test_cli_read_and_list(world, sink, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from deployments.cli import app
    from deployments.cli_common import console

    monkeypatch.setattr(console, "_width", 250)  # one table row per line (restored to auto)

    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(inbox_maildir(), reply_to(invitation, PIC, "DITERIMA"))
    drop_into_maildir(inbox_maildir(), reply_to(invitation, STRANGER, "HADIR"))
    runner = CliRunner()
    result = runner.invoke(app, ["kotak-masuk", "baca"])
    assert result.exit_code == 0, result.output
    assert "2 surel dibaca" in result.output and "dikarantina 1" in result.output
    listed = runner.invoke(app, ["kotak-masuk", "daftar", "--status", "quarantined"])
    assert listed.exit_code == 0
    [line] = [x for x in listed.output.splitlines() if "@" in x]
    assert STRANGER in line and "dikarantina" in line and PIC not in line
    wrong = runner.invoke(app, ["kotak-masuk", "daftar", "--status", "salah"])
    assert wrong.exit_code == 1 and "tidak dikenal" in wrong.output
    missing = runner.invoke(app, ["kotak-masuk", "baca", "--maildir", "/tidak/ada"])
    assert missing.exit_code == 1 and "Maildir" in missing.output


def test_deployment_interval_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from flows.inbox_flow import inbox_deployment

    monkeypatch.setenv("PEMANTIK_INBOX_INTERVAL_MINUTES", "7")
    deployment = inbox_deployment()
    assert deployment.name == "kotak-masuk"
    assert deployment.schedules[0].schedule.interval == timedelta(minutes=7)
    monkeypatch.setenv("PEMANTIK_INBOX_INTERVAL_MINUTES", "0")
    from models.settings import SettingsError

    with pytest.raises(SettingsError) as err:
        inbox_deployment()
    assert "PEMANTIK_INBOX_INTERVAL_MINUTES" in str(err.value)


@pytest.mark.slow
def test_flow_runs_one_pass(prefect_server: str, db_url: str, sink) -> None:
    from flows.inbox_flow import inbox_flow

    with session_scope() as s:
        s.add(Region(code="64.72", name="Kota Samarinda", pic_name="Sari", pic_email=PIC))
    raw = b"From: orang@contoh.com\r\nSubject: halo\r\nMessage-ID: <f1@contoh.com>\r\n\r\nhai\r\n"
    drop_into_maildir(inbox_maildir(), raw)
    result = inbox_flow()
    assert result["baru"] == 1 and result["status"] == {"quarantined": 1}
    assert "1 surel dibaca" in result["ringkasan"]


def test_two_readers_at_once_act_on_each_message_once(world, sink) -> None:
    import threading

    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    for n in range(30):
        drop_into_maildir(inbox_maildir(), reply_to(invitation, PIC, f"Diterima oleh: Petugas {n}"))
    reports, errors = [], []

    def reader() -> None:
        try:
            reports.append(read_once(MaildirSource(inbox_maildir()), deliver_replies=False))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    assert sum(len(r.outcomes) for r in reports) == 30
    assert count(Acknowledgement) == 30 and len(rows()) == 30
    assert sorted(r.state for r in rows()) == ["processed"] * 30
    assert not list((inbox_maildir() / "new").iterdir())


def test_forged_sender_quarantined_by_dmarc_verdict(world, sink) -> None:
    open_wait(world, "64.72", "konfirmasi", 8)
    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    raw = reply_to(invitation, PIC, "TIDAK HADIR\nAlasan: palsu")
    forged = b"Authentication-Results: mx.kaltimprov.go.id; dmarc=fail (p=none)\r\n" + raw
    drop_into_maildir(inbox_maildir(), forged)
    report = read_once()
    assert report.counts() == {"quarantined": 1}
    assert "DMARC" in report.outcomes[0].action
    assert count(Confirmation) == 0
    assert len([m for m in outgoing(sink, PIC) if m["Subject"].startswith("Re:")]) == 0


def test_unreachable_mailbox_still_handles_stored_messages(
    world, sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation = send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(inbox_maildir(), reply_to(invitation, PIC, "DITERIMA"))
    import inbox.reader

    # Stored by an earlier pass that died before acting.
    report = inbox.reader.ReadReport("maildir")
    inbox.reader.intake(MaildirSource(inbox_maildir()), report, 10)
    assert report.new == 1 and rows()[0].state == "received"
    for key, value in {"ENABLED": "1", "HOST": "127.0.0.1", "PORT": "1", "USER": "x"}.items():
        monkeypatch.setenv(f"PEMANTIK_IMAP_{key}", value)

    report = read_once()

    assert "tidak dapat dibuka" in report.source_error and report.errors
    assert report.counts() == {"processed": 1} and count(Acknowledgement) == 1


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (
            {"jenis": "ditolak", "label": "jawaban kuesioner", "galat": ["I05: x"]},
            "Jawaban kuesioner yang",
        ),
        (
            {"jenis": "ditolak", "galat": ["baris 2: y"], "petunjuk": True, "pihak": "wilayah"},
            "HADIR",
        ),
        ({"jenis": "tidak-ditunggu", "label": "konfirmasi"}, "tidak sedang menunggu konfirmasi"),
        ({"jenis": "tidak-terkait", "petunjuk": True, "pihak": ""}, "BERSEDIA"),
        ({"jenis": "tidak-terbaca", "petunjuk": True, "pihak": "asesor"}, "Nilai asesor"),
        (
            {"jenis": "diterima", "label": "nilai asesor", "ringkasan": "nilai diterima"},
            "Keterangan",
        ),
    ],
)
def test_auto_reply_template(context: dict, words: str) -> None:
    from inbox.replies import EXAMPLES
    from mail.render import render_bodies
    from models.settings import get_settings

    settings = get_settings()
    values = {
        **context,
        "contoh": EXAMPLES,
        "subject": "Re: x",
        "reference": "[PEMANTIK-2026-64.72]",
        "recipient_name": "Sari",
        "sender_name": settings.sender_name,
        "org": settings.organisation,
    }
    text, html = render_bodies("balasan_otomatis", values)
    assert words in text and words.split()[0] in html
    assert "Yth. Sari" in text and "[PEMANTIK-2026-64.72]" in text
    if context.get("pihak") == "asesor":
        assert "HADIR" not in text  # only the assessor's part of the format


def test_our_own_messages_in_the_inbox_cause_no_loop(world, sink) -> None:
    """The inbox pointed at the sink's own Maildir: our letters and notices come back."""
    send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(
        sink.maildir,
        reply_to(send_letter(world, sink, "64.72", "pemberitahuan", PIC), STRANGER, "x"),
    )
    for _ in range(3):
        read_once(MaildirSource(sink.maildir))
    states = sorted((r.sender, r.state) for r in rows())
    # The stranger's reply is quarantined once; the admin notice it caused, read back from
    # the sink, is ignored like our own letters, and nothing new is sent after that.
    assert ("orang.asing@contoh.com", "quarantined") in states
    assert all(st == "processed" for sender, st in states if sender != STRANGER)
    assert len(outgoing(sink, "admin.pemantik@kaltimprov.go.id")) == 1


def test_garbage_and_empty_messages_are_kept_and_quarantined(world, sink) -> None:
    garbage = bytes(range(256)) * 4
    drop_into_maildir(inbox_maildir(), garbage)
    drop_into_maildir(inbox_maildir(), b"")
    report = read_once()
    assert report.counts() == {"quarantined": 2}
    assert sorted(Path(r.raw_path).read_bytes() for r in rows()) == sorted([garbage, b""])
    assert len(outgoing(sink, "admin.pemantik@kaltimprov.go.id")) == 2


def test_cli_release_of_a_message_without_thread(world, sink) -> None:
    from typer.testing import CliRunner

    from deployments.cli import app

    open_wait(world, "64.71", "konfirmasi", 8)
    raw = (
        b"From: Budi <budi.pribadi@gmail.com>\r\nTo: pemantik@kaltimprov.go.id\r\n"
        b"Subject: konfirmasi\r\nMessage-ID: <tanpa-utas@gmail.com>\r\n\r\n"
        b"TIDAK HADIR karena ada rapat anggaran\r\n"
    )
    drop_into_maildir(inbox_maildir(), raw)
    assert read_once().counts() == {"quarantined": 1}
    [row] = rows()
    runner = CliRunner()
    again = runner.invoke(app, ["kotak-masuk", "ulang", str(row.id)])
    assert again.exit_code == 1 and "lepas" in again.output
    no_region = runner.invoke(app, ["kotak-masuk", "lepas", str(row.id), "--oleh", "Rina"])
    assert no_region.exit_code == 1 and "kode wilayahnya" in " ".join(no_region.output.split())
    done = runner.invoke(
        app, ["kotak-masuk", "lepas", str(row.id), "--wilayah", "64.71", "--oleh", "Rina"]
    )
    assert done.exit_code == 0, done.output
    assert "dilepas oleh Rina" in " ".join(done.output.split())
    with session_scope() as s:
        conf = s.exec(select(Confirmation)).one()
        row = s.get(InboundMessage, row.id)
    assert (conf.region_code, conf.attend, conf.note) == ("64.71", False, "ada rapat anggaran")
    assert (row.state, row.released_by, row.released_as) == ("processed", "Rina", PIC2)
    # The writer hears the result; the reply is in this cycle's thread.
    [answer] = [m for m in outgoing(sink, "budi.pribadi@gmail.com")]
    assert "[PEMANTIK-2026-64.71]" in answer["Subject"]
    assert "telah kami terima" in answer.get_body(("plain",)).get_content()


def test_reply_to_last_years_letter_is_answered_in_this_years_thread(world, sink) -> None:
    with session_scope() as s:
        old = Cycle(year=2025, instrument_code="spbe-2020", start_date=date(2025, 7, 1))
        old.state = "reported"
        s.add(old)
        s.flush()
        old_id = old.id
    open_wait(world, "64.72", "konfirmasi", 8)
    key = "uji/lama/undangan"
    with session_scope() as s:
        enqueue(
            s,
            key=key,
            recipient=PIC,
            subject="Surat Undangan PeManTIK 2025",
            template="umum",
            context={"paragraf": ["Undangan tahun lalu."]},
            kind="undangan",
            cycle_id=old_id,
            region_code="64.72",
        )
    deliver_pending_sync(keys=[key])
    [letter] = [m for m in outgoing(sink, PIC) if "2025" in str(m["Subject"])]
    drop_into_maildir(
        inbox_maildir(), reply_to(letter, PIC, "HADIR\nDelegasi: Sari Dewi | Kepala Bidang")
    )
    read_once()
    assert count(Confirmation) == 0
    [answer] = [m for m in outgoing(sink, PIC) if str(m["Subject"]).startswith("Re:")]
    assert "[PEMANTIK-2026-64.72]" in answer["Subject"] and "2025-" not in answer["Subject"]
    assert "surat PeManTIK tahun 2025" in answer.get_body(("plain",)).get_content()

    # Replying to that automatic reply, as it asks, reaches this year's wait.
    drop_into_maildir(
        inbox_maildir(), reply_to(answer, PIC, "HADIR\nDelegasi: Sari Dewi | Kepala Bidang")
    )
    read_once()
    with session_scope() as s:
        conf = s.exec(select(Confirmation)).one()
    assert conf.cycle_id == world["cycle_id"] and conf.delegates[0]["nama"] == "Sari Dewi"


def test_outgoing_messages_carry_the_markers(world, sink) -> None:
    from mail.message import PRODUCT_HEADER, REPLY_MARKER

    letter = send_letter(world, sink, "64.72", "undangan", PIC)
    assert letter[PRODUCT_HEADER] == "undangan"
    assert letter.get_body(("plain",)).get_content().startswith(REPLY_MARKER)
    assert REPLY_MARKER in letter.get_body(("html",)).get_content()


@pytest.mark.slow
def test_release_form_flow(prefect_server: str, world, sink) -> None:
    from flows.inbox_admin import LepasKarantina, release_flow

    open_wait(world, "64.72", "konfirmasi", 8)
    letter = send_letter(world, sink, "64.72", "undangan", PIC)
    drop_into_maildir(inbox_maildir(), reply_to(letter, STRANGER, "TIDAK HADIR\nAlasan: cuti"))
    read_once()
    [row] = rows()
    result = release_flow(LepasKarantina(nomor=row.id, oleh="Rina"))
    assert (
        result["status"] == "processed" and "dilepas oleh Rina (Prefect UI)" in result["tindakan"]
    )
    assert count(Confirmation) == 1


def test_mislabelled_charsets_are_decoded_as_clients_do() -> None:
    """windows-1252 bytes labelled iso-8859-1, in a header and in the body."""
    raw = (
        b"From: =?iso-8859-1?Q?Ni_Luh_Ayu=92s?= <pic@x.go.id>\r\nSubject: Re: undangan\r\n"
        b"Message-ID: <latin@x.go.id>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="iso-8859-1"\r\nContent-Transfer-Encoding: 8bit\r\n'
        b"\r\nHADIR\r\nDelegasi: Ni Luh Ayu\x92s | Kepala Seksi \x96 Persandian\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.sender_name == "Ni Luh Ayu\u2019s"
    reply = read_reply(parsed.split, party="wilayah")
    assert reply.delegates == [
        {"nama": "Ni Luh Ayu\u2019s", "jabatan": "Kepala Seksi \u2013 Persandian"}
    ]
