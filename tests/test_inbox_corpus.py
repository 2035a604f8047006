"""The reply corpus (tests/reply_corpus.py) through the real inbox reader.

One world for the whole corpus: a region (and, for assessor cases, an assessor) per case, a
2025 and a 2026 cycle, each case's wait open, the real PeManTIK email sent through the outbox
to a real SMTP sink, the client's reply dropped into the inbox Maildir; then one reading pass
(replies delivered to the sink) and every case checked against the answer it must get. SQLite;
the database-specific paths of the reader are covered in tests/test_inbox.py on both databases.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlmodel import select

from tests.reply_corpus import (
    ASSESSOR_TEXT,
    Case,
    File,
    Original,
    Person,
    cases,
    own_text,
    write_corpus,
)

CASES = cases()
GAPS = [c for c in CASES if c.gap]
READ = [c for c in CASES if not c.gap]
PLACE_WORDS = (
    "baris",
    "sel ",
    "Lampiran",
    "Berkas",
    "Lembar",
    "Konfirmasi",
    "nilai.csv",
    "Delegasi",
)


def _filled(tmp: Path, cycle, region: str, name: str, level: int = 3) -> Path:
    from assessment.instruments import load_instrument
    from assessment.workbook import META_SHEET, build_questionnaire

    src = build_questionnaire(
        load_instrument("spbe-2020"),
        cycle_year=cycle.year,
        cycle_id=cycle.id,
        region_code=region,
        region_name=f"Kota Uji {region}",
        out_path=tmp / f"kosong-{name}.xlsx",
    )
    wb = openpyxl.load_workbook(src)
    from assessment.workbook import fill_identity

    fill_identity(wb)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    for code, (sheet, row) in json.loads(meta["layout"]).items():
        wb[sheet].cell(row=row, column=4, value=level)
        wb[sheet].cell(row=row, column=5, value=f"https://bukti.example/{code}")
    out = tmp / f"{name}.xlsx"
    wb.save(out)
    return out


def _layout(path: Path) -> dict[str, list]:
    from assessment.workbook import META_SHEET

    wb = openpyxl.load_workbook(path)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    return json.loads(meta["layout"])


def _files(tmp: Path, cycles: dict[int, Any], region: str, codes: list[str]) -> dict[str, File]:
    """Every file a case may attach, made for its own region."""
    import msoffcrypto.format.ooxml

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    good = _filled(tmp, cycles[2026], region, f"jawaban-{region}")
    old = _filled(tmp, cycles[2025], region, f"lama-{region}")
    merged = _filled(tmp, cycles[2026], region, f"gabung-{region}")
    wb = openpyxl.load_workbook(merged)
    sheet, row = _layout(merged)["I04"]
    wb[sheet].protection.sheet = False
    wb[sheet].merge_cells(f"D{row}:D{row + 2}")
    wb.save(merged)
    inserted = _filled(tmp, cycles[2026], region, f"sisip-{region}")
    wb = openpyxl.load_workbook(inserted)
    sheet, row = _layout(inserted)["I02"]
    wb[sheet].insert_rows(row)
    wb.save(inserted)
    locked = io.BytesIO()
    with open(good, "rb") as fh:
        msoffcrypto.format.ooxml.OOXMLFile(fh).encrypt("rahasia", locked)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good, "Jawaban Kuesioner.xlsx")
    csv_id = "kode;tingkat;catatan\r\n" + "".join(
        f"{c};3;Sudah sesuai, bukti dukung lengkap (dokumen é)\r\n" for c in codes
    )
    decimal = csv_id.replace(f"{codes[1]};3;", f"{codes[1]};3,5;")
    utf16 = "kode\ttingkat\tcatatan\r\n" + "".join(f"{c}\t4\tterverifikasi\r\n" for c in codes)
    scores_json = json.dumps({c: {"level": 2, "note": "cukup"} for c in codes})
    return {
        "jawaban": File("Jawaban Kuesioner PeManTIK 2026.xlsx", good.read_bytes(), xlsx),
        "lama": File("Jawaban Kuesioner.xlsx", old.read_bytes(), xlsx),
        "gabung": File("jawaban.xlsx", merged.read_bytes(), xlsx),
        "sisip": File("jawaban.xlsx", inserted.read_bytes(), xlsx),
        "terkunci": File("jawaban.xlsx", locked.getvalue(), xlsx),
        "xls": File(
            "jawaban.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
            "application/vnd.ms-excel",
        ),
        "winmail": File("winmail.dat", b"\x78\x9f\x3e\x22" + b"\0" * 60, "application/ms-tnef"),
        "csv-id": File("nilai.csv", csv_id.encode("windows-1252"), "text/csv"),
        "csv-desimal": File("nilai.csv", decimal.encode("windows-1252"), "text/csv"),
        "csv-utf16": File("nilai.csv", utf16.encode("utf-16"), "text/csv"),
        "json": File("nilai.json", scores_json.encode(), "application/json"),
        "zip": File("jawaban.zip", archive.getvalue(), "application/zip"),
        "pdf": File("surat-balasan.pdf", b"%PDF-1.4\n% pindaian\n", "application/pdf"),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run the whole corpus once; per case: the row, what was stored, the replies sent."""
    from assessment.instruments import load_instrument
    from inbox.compose import drop_into_maildir
    from inbox.reader import read_once
    from inbox.settings import inbox_maildir
    from mail.outbox import deliver_pending_sync, enqueue
    from mail.sink import read_maildir, start_sink
    from models.db import dispose_engines, migrate, session_scope
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
    )
    from services import waits

    root = tmp_path_factory.mktemp("korpus")
    results: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in __import__("os").environ if k.startswith("PEMANTIK_")]:
            if key not in ("PEMANTIK_REQUIRE_POSTGRES", "PEMANTIK_TEST_PG_ADMIN"):
                mp.delenv(key)
        mp.setenv("PEMANTIK_DATA_DIR", str(root / "data"))
        url = f"sqlite:///{root / 'korpus.db'}"
        mp.setenv("PEMANTIK_DATABASE_URL", url)
        sink = start_sink(root / "sink")
        mp.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
        mp.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0")
        mp.chdir(root)
        reset_settings()
        try:
            migrate(url)
            codes = load_instrument("spbe-2020").indicator_codes
            people: dict[str, tuple[str, Person, int | None]] = {}
            waits_to_open: list[tuple[str, str]] = []
            with session_scope() as s:
                cycles = {}
                for year, state in ((2025, "reported"), (2026, "running")):
                    cycle = Cycle(
                        year=year,
                        instrument_code="spbe-2020",
                        start_date=date(year, 7, 1),
                        state=state,
                    )
                    s.add(cycle)
                    s.flush()
                    cycles[year] = cycle
                for n, case in enumerate(CASES, start=1):
                    region = f"99.{n:02d}"
                    pic = Person(f"pic{n}@kota{n}.go.id", f"PIC Kota Uji {n}")
                    s.add(
                        Region(
                            code=region,
                            name=f"Kota Uji {n}",
                            kind="Kota",
                            pic_name=pic.name,
                            pic_email=pic.email,
                        )
                    )
                    s.flush()
                    assessor_id = None
                    who = pic
                    if case.party == "asesor":
                        who = Person(f"asesor{n}@univ{n}.ac.id", f"Dr. Asesor {n}")
                        row = Assessor(name=who.name, email=who.email)
                        s.add(row)
                        s.flush()
                        assessor_id = row.id
                        state = (
                            AssignmentState.ACCEPTED
                            if case.wait == "nilai"
                            else AssignmentState.REQUESTED
                        )
                        for year in (2025, 2026):
                            s.add(
                                Assignment(
                                    cycle_id=cycles[year].id,
                                    region_code=region,
                                    assessor_id=row.id,
                                    state=state,
                                )
                            )
                    elif case.party == "asing":
                        who = Person(f"pribadi{n}@gmail.com", "Sari (pribadi)")
                    if case.wait:
                        waits_to_open.append((case.wait, region))
                    people[case.name] = (region, who, assessor_id)
                cycles = {y: s.get(Cycle, c.id) for y, c in cycles.items()}
                for c in cycles.values():
                    s.expunge(c)
            for kind, region in waits_to_open:  # as the region flow opens them (no run here)
                waits.open_wait(
                    kind=kind,
                    cycle_id=cycles[2026].id,
                    region=region,
                    flow_run_id="",
                    key=f"{kind}-{region}",
                )
            # The real PeManTIK email each case answers, through the outbox to the sink.
            keys = {}
            with session_scope() as s:
                for case in CASES:
                    region, who, assessor_id = people[case.name]
                    # A stranger answers the PIC's email (forwarded to a personal mailbox).
                    number = int(region[3:])
                    addressee = (
                        who.email if case.party != "asing" else f"pic{number}@kota{number}.go.id"
                    )
                    key = f"korpus/{case.name}"
                    kind = case.letter
                    if kind == "balasan":
                        template, context = (
                            "balasan_otomatis",
                            {
                                "jenis": "tidak-terbaca",
                                "petunjuk": True,
                                "pihak": "asesor" if case.party == "asesor" else "wilayah",
                                "contoh": __import__(
                                    "inbox.replies", fromlist=["EXAMPLES"]
                                ).EXAMPLES,
                            },
                        )
                    else:
                        template, context = (
                            "umum",
                            {
                                "paragraf": [
                                    f"Surat {kind} PeManTIK {case.year}.",
                                    "Mohon balas surel ini dengan HADIR atau TIDAK HADIR; untuk asesor "
                                    "BERSEDIA atau TIDAK BERSEDIA.",
                                    "Delegasi: Nama Lengkap | Jabatan",
                                ]
                            },
                        )
                    enqueue(
                        s,
                        key=key,
                        recipient=addressee,
                        subject=f"Surat {kind} PeManTIK {case.year}",
                        template=template,
                        context=context,
                        kind=kind,
                        cycle_id=cycles[case.year].id,
                        region_code=region,
                        assessor_id=assessor_id if case.party == "asesor" else None,
                    )
                    keys[case.name] = key
            sent = deliver_pending_sync(keys=list(keys.values()))
            assert len(sent.sent) == len(CASES), sent.failed
            with session_scope() as s:
                mids = {
                    name: s.exec(
                        select(Dispatch.message_id).where(Dispatch.idempotency_key == key)
                    ).one()
                    for name, key in keys.items()
                }
            by_id = {str(m["Message-ID"]): m for m in read_maildir(sink.maildir)}
            reply_ids = {}
            own = {}
            for n, case in enumerate(CASES, start=1):
                region, who, _ = people[case.name]
                ctx = {
                    "files": _files(root, cycles, region, codes) if case.files else {},
                    "wilayah": f"Kota Uji {n}",
                }
                mid = f"<korpus-{n}-{case.name}@{who.email.split('@')[1]}>"
                raw = case.write(Original.of(by_id[mids[case.name]]), who, mid, ctx)
                drop_into_maildir(inbox_maildir(), raw)
                reply_ids[case.name] = mid
                own[case.name] = own_text(case, ctx)
            report = read_once()
            assert not report.errors, report.errors
            mail = read_maildir(sink.maildir)
            with session_scope() as s:
                for case in CASES:
                    region, who, assessor_id = people[case.name]
                    row = s.exec(
                        select(InboundMessage).where(
                            InboundMessage.message_id == reply_ids[case.name]
                        )
                    ).one()
                    confs = s.exec(
                        select(Confirmation).where(Confirmation.region_code == region)
                    ).all()
                    assignment = (
                        s.exec(
                            select(Assignment).where(
                                Assignment.region_code == region,
                                Assignment.cycle_id == cycles[2026].id,
                            )
                        ).one()
                        if assessor_id
                        else None
                    )
                    acks = (
                        s.exec(
                            select(Acknowledgement).where(
                                (Acknowledgement.region_code == region)
                                | (Acknowledgement.assessor_id == assessor_id)
                            )
                        ).all()
                        if assessor_id
                        else s.exec(
                            select(Acknowledgement).where(Acknowledgement.region_code == region)
                        ).all()
                    )
                    replies = [
                        m for m in mail if str(m.get("In-Reply-To", "")) == reply_ids[case.name]
                    ]
                    results[case.name] = {
                        "state": row.state,
                        "action": row.action,
                        "confirmations": [
                            {"attend": c.attend, "delegates": c.delegates, "note": c.note}
                            for c in confs
                        ],
                        "assignment": (
                            {
                                "state": assignment.state,
                                "coi_statement": assignment.coi_statement,
                                "reason": assignment.reason,
                            }
                            if assignment
                            else None
                        ),
                        "answers": len(
                            s.exec(
                                select(AnswerSet).where(
                                    AnswerSet.region_code == region,
                                    AnswerSet.cycle_id == cycles[2026].id,
                                )
                            ).all()
                        ),
                        "answers_2025": len(
                            s.exec(
                                select(AnswerSet).where(
                                    AnswerSet.region_code == region,
                                    AnswerSet.cycle_id == cycles[2025].id,
                                )
                            ).all()
                        ),
                        "scores": len(
                            s.exec(select(Score).where(Score.region_code == region)).all()
                        ),
                        "acks": [
                            {
                                "received_by": a.received_by,
                                "agenda_number": a.agenda_number,
                                "received_date": a.received_date.isoformat(),
                            }
                            for a in acks
                        ],
                        "replies": [
                            {
                                "subject": str(m["Subject"]),
                                "to": str(m["To"]),
                                "text": m.get_body(("plain",)).get_content(),
                            }
                            for m in replies
                        ],
                        "own": own[case.name],
                        "writer": who.email,
                        "writer_name": who.name,
                        "wilayah": f"Kota Uji {int(region[3:])}",
                        "codes": len(codes),
                    }
        finally:
            sink.stop()
            dispose_engines()
            reset_settings()
    return results


def _check(case: Case, got: dict[str, Any]) -> None:
    exp = case.expect
    assert got["state"] == exp.state, (got["state"], got["action"])
    stored = exp.stored
    conf = stored.get("confirmation")
    if conf is None:
        assert got["confirmations"] == [], got["confirmations"]
    else:
        [row] = got["confirmations"]
        assert row["attend"] == conf["attend"]
        assert row["delegates"] == conf["delegates"]
        assert row["note"] == conf.get("note", "")
    assignment = stored.get("assignment")
    if got["assignment"] is not None:
        if assignment is None:
            assert got["assignment"]["state"] in ("requested", "accepted"), got["assignment"]
            assert got["assignment"]["coi_statement"] == ""
        else:
            for key, value in assignment.items():
                value = value.format(wilayah=got["wilayah"])
                assert got["assignment"][key] == value, (key, got["assignment"])
    assert got["answers"] == stored.get("answers", 0), got["action"]
    assert got["answers_2025"] == 0
    assert got["scores"] == (got["codes"] if stored.get("scores") == "all" else 0), got["action"]
    ack = stored.get("ack")
    if ack is None:
        assert got["acks"] == []
    else:
        [row] = got["acks"]
        for key, value in ack.items():
            assert row[key] == value, (key, row)
    texts = [r["text"] for r in got["replies"]]
    if exp.no_reply:
        assert got["replies"] == []
    for words in exp.reply:
        assert any(words in t for t in texts), (words, texts)
    for reply in got["replies"]:
        assert reply["to"].endswith(got["writer"] + ">") or got["writer"] in reply["to"]
        # Automatic replies carry the token of the cycle under way, whatever the thread.
        assert "[PEMANTIK-2026-" in reply["subject"] and "2025-" not in reply["subject"]


@pytest.mark.parametrize("case", READ, ids=[c.name for c in READ])
def test_corpus_case(corpus: dict[str, dict[str, Any]], case: Case) -> None:
    _check(case, corpus[case.name])


@pytest.mark.parametrize("case", GAPS, ids=[c.name for c in GAPS])
def test_known_gap_still_answered_as_documented(
    corpus: dict[str, dict[str, Any]], case: Case
) -> None:
    """A case the product cannot read yet: nothing is stored and the writer is asked for the
    documented format. When the product learns to read it, this fails: move the case out of
    the gaps with the answer it now gets."""
    _check(case, corpus[case.name])


def test_corpus_size_and_clients() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    clients = " ".join(c.client for c in CASES)
    for name in ("Outlook", "Gmail", "Thunderbird", "Apple Mail", "iPhone", "Samsung", "Yahoo"):
        assert name in clients
    assert {c.lang for c in CASES} == {"id", "en"}


def _values(got: dict[str, Any]) -> list[str]:
    out = []
    for conf in got["confirmations"]:
        out.append(conf["note"])
        for d in conf["delegates"]:
            out.extend([d["nama"], d["jabatan"]])
    if got["assignment"]:
        out.extend([got["assignment"]["coi_statement"], got["assignment"]["reason"]])
    for ack in got["acks"]:
        out.extend([ack["received_by"], ack["agenda_number"]])
    return [v for v in out if v]


def test_nothing_stored_that_the_writer_did_not_write(corpus: dict[str, dict[str, Any]]) -> None:
    for case in CASES:
        got = corpus[case.name]
        for value in _values(got):
            if value in (got["writer"], got["writer_name"]):
                continue  # an acknowledgement without a name records the sender's name
            assert " ".join(value.split()) in got["own"], (case.name, value)
        assert ASSESSOR_TEXT.split("{")[0] not in "".join(_values(got)) or "benturan" in got["own"]


def test_every_refusal_names_the_place(corpus: dict[str, dict[str, Any]]) -> None:
    for case in CASES:
        for reply in corpus[case.name]["replies"]:
            found = re.search(r"Kesalahan yang ditemukan \(\d+\):\n(.*?)\n\n", reply["text"], re.S)
            if not found:
                continue
            for line in found.group(1).splitlines():
                assert any(word in line for word in PLACE_WORDS) or "'" in line, (case.name, line)


def test_generator_writes_the_corpus(tmp_path: Path) -> None:
    count = write_corpus(tmp_path / "korpus")
    expected = json.loads((tmp_path / "korpus" / "expected.json").read_text())
    assert count == len(CASES) == len(expected)
    for name in expected:
        msg = message_from_bytes((tmp_path / "korpus" / name).read_bytes(), policy=default)
        assert msg["From"] and msg["Message-ID"] and msg.get_body(("plain", "html")) is not None
