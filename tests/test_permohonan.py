"""One Surat Permohonan per assessor: it lists all their regions, with what they receive, the
scores' due dates and how to send them, a scoring template per region attached; one answer
settles every region the assessor is asked about; the conflict-of-interest rule still holds."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import docx
import pytest
from sqlmodel import select

from assessment.assignment import conflict_of_interest
from letters.formats import long_date
from mail.sink import start_sink
from models.db import session_scope
from models.settings import reset_settings
from models.tables import Assessor, Assignment, AssignmentState, Dispatch, Letter, Region
from services import invitation, waits
from services.context import load_cycle
from tests.cycles import new_cycle


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handle = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0")
    reset_settings()
    yield handle
    handle.stop()


def _text(path: str) -> str:
    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_one_permohonan_per_assessor_for_all_regions(db_url, sink, sim_clock) -> None:
    regions = ["64.01", "64.02", "64.03", "64.07", "64.71", "64.72"]
    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-21", regions=regions)
    plan = invitation.assign_for_cycle(cycle, regions)
    sim_clock(date(2026, 7, 13))
    for code in regions:  # every region reaches step 6, one after the other
        invitation.send_letters(cycle, code, 1, region_too=False)
    with session_scope() as s:
        letters = s.exec(select(Letter).where(Letter.kind == "permohonan")).all()
        rows = s.exec(select(Assignment).where(Assignment.cycle_id == cycle)).all()
        people = {a.id: a for a in s.exec(select(Assessor))}
        mails = s.exec(select(Dispatch).where(Dispatch.kind == "permohonan")).all()
    assessors = {a for ids in plan.values() for a in ids}
    # One letter per assessor (not one per assessor per region), one email each.
    assert Counter(lt.assessor_id for lt in letters) == dict.fromkeys(assessors, 1)
    assert len(mails) == len(assessors) and all(m.region_code is None for m in mails)
    assert all(r.letter_id is not None for r in rows)
    # The conflict-of-interest rule held when assigning.
    assert not any(conflict_of_interest(people[r.assessor_id], r.region_code) for r in rows)
    busiest = max(assessors, key=lambda a: sum(a in ids for ids in plan.values()))
    theirs = sorted(code for code, ids in plan.items() if busiest in ids)
    assert len(theirs) > 1
    letter = next(lt for lt in letters if lt.assessor_id == busiest)
    text = _text(letter.file_path)
    with session_scope() as s:
        names = {code: s.get(Region, code).name for code in theirs}
    for code in theirs:
        assert names[code] in text
        assert f"Nilai-PeManTIK-2026-{code}.csv" in text
    assert "akan menerima" in text and f"{len(theirs)} (" in text
    assert "berkas templat nilai" in text  # the Lampiran line counts the templates
    # The scores' due date is the scoring stage's own rule, asked of the stage.
    with session_scope() as s:
        due = waits.stage("nilai").due(s, load_cycle(s, cycle), theirs[0])
    assert due > date(2026, 7, 21) and long_date(due, with_day=True) in text
    assert "membalas surat elektronik ini" in text
    mail = next(m for m in mails if m.assessor_id == busiest)
    attached = [a["filename"] for a in mail.attachments or [] if a.get("filename")]
    assert sorted(n for n in attached if n.endswith(".csv")) == [
        f"Nilai-PeManTIK-2026-{c}.csv" for c in theirs
    ]
    # Sending again (a retried step) makes nothing new.
    invitation.send_letters(cycle, theirs[0], 1, region_too=False)
    with session_scope() as s:
        assert len(s.exec(select(Letter).where(Letter.kind == "permohonan")).all()) == len(letters)

    # One answer settles all the assessor's regions; the replacement gets one new letter.
    assessor = people[busiest]
    said = waits.accept(
        "konfirmasi",
        cycle,
        theirs[0],
        {"pihak": assessor.email, "jawaban": "tidak", "alasan": "bertugas di luar kota"},
        via="cli",
        who=assessor.email,
    )
    assert f"berlaku juga untuk {len(theirs) - 1} wilayah lain" in said
    with session_scope() as s:
        states = {
            r.region_code: r.state
            for r in s.exec(select(Assignment).where(Assignment.assessor_id == busiest))
        }
    assert states == dict.fromkeys(theirs, AssignmentState.DECLINED)
    settled = invitation.settle_confirmations(cycle, theirs[0], 1)
    new_id = settled["replaced"][0]["replacement"]
    assert new_id != busiest and not conflict_of_interest(people[new_id], theirs[0])
    sent = invitation.send_letters(cycle, theirs[0], 2, region_too=False)
    assert [p["regions"] for p in sent["permohonan"]["letters"]] == [[theirs[0]]]


def test_regions_reaching_the_requests_at_once_send_each_assessor_one_letter(
    db_url, sink, sim_clock
) -> None:
    """Two regions' step 6 at the same moment (the demo found it: one region's run failed on
    an assessor the other had just written to). Each assessor still gets exactly one letter,
    and neither region fails."""
    from concurrent.futures import ThreadPoolExecutor

    regions = ["64.01", "64.02", "64.03", "64.07", "64.71", "64.72"]
    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-21", regions=regions)
    plan = invitation.assign_for_cycle(cycle, regions)
    sim_clock(date(2026, 7, 13))
    with ThreadPoolExecutor(len(regions)) as pool:
        done = list(pool.map(lambda code: invitation.send_requests(cycle, code), regions))
    assert len(done) == len(regions)
    with session_scope() as s:
        letters = s.exec(select(Letter).where(Letter.kind == "permohonan")).all()
        rows = s.exec(select(Assignment).where(Assignment.cycle_id == cycle)).all()
    assessors = {a for ids in plan.values() for a in ids}
    assert Counter(lt.assessor_id for lt in letters) == dict.fromkeys(assessors, 1)
    assert all(r.letter_id is not None for r in rows)
    assert len(sink.messages()) == len(assessors)
