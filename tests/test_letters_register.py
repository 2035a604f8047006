"""The number register under concurrency, on SQLite and PostgreSQL (real databases)."""

from __future__ import annotations

import re
import threading
from datetime import date

import docx
import pytest
from sqlmodel import Session, select

from letters.errors import LetterError
from letters.examples import example_inputs
from letters.register import (
    format_number,
    give_back,
    last_date,
    last_number,
    register_of,
    take_number,
)
from letters.service import issue_letter
from models.db import get_engine
from models.settings import reset_settings
from models.tables import Letter

WRITERS = 20


def _run_concurrently(target, n: int = WRITERS) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_format_number_with_roman_month():
    fmt = "{klasifikasi}/{urut}/{bulan}/{unit}/{tahun}"
    assert (
        format_number(fmt, klasifikasi="005", seq=7, unit="Diskominfo", on=date(2026, 11, 25))
        == "005/7/XI/Diskominfo/2026"
    )
    assert (
        format_number(fmt, klasifikasi="800", seq=12, unit="Aptika", on=date(2026, 4, 1))
        == "800/12/IV/Aptika/2026"
    )


def test_twenty_concurrent_writers_get_distinct_numbers_without_gaps(db_url):
    engine = get_engine(db_url)

    def take(i: int) -> int:
        with Session(engine) as session:
            taken = take_number(session, on=date(2026, 11, 25))
            # Every third writer gives up: its number must come back, leaving no gap.
            if i % 3 == 0:
                session.rollback()
                return -1
            session.commit()
            return taken.seq

    seqs = [s for s in _run_concurrently(take) if s != -1]
    assert len(seqs) == len(set(seqs))
    assert sorted(seqs) == list(range(1, len(seqs) + 1))
    with Session(engine) as session:
        assert last_number(session, year=2026) == len(seqs)


def test_registers_are_separate_per_family_unit_and_year(session):
    a = take_number(session, on=date(2026, 1, 5))
    b = take_number(session, on=date(2026, 1, 5), klasifikasi="800")  # same Surat register
    c = take_number(session, on=date(2027, 1, 5))
    d = take_number(session, on=date(2026, 1, 5), unit="Aptika")
    e = take_number(session, on=date(2026, 1, 5), register="keputusan")
    f = take_number(session, on=date(2026, 1, 5), register="berita_acara")
    assert (a.seq, b.seq, c.seq, d.seq, e.seq, f.seq) == (1, 2, 1, 1, 1, 1)
    assert b.number == "800/2/Diskominfo/2026" and d.number == "005/1/Aptika/2026"
    assert e.number == "005/K.1/Diskominfo/2026" and f.number == "005/BA.1/Diskominfo/2026"


def test_each_kind_has_its_family_and_dotted_code_from_the_data_file(
    session, tmp_path, monkeypatch
):
    shipped = {k: register_of(k) for k in ("pemberitahuan", "berita_acara", "sk_penetapan")}
    assert shipped["pemberitahuan"].family == "surat"
    assert shipped["berita_acara"].family == "berita_acara"
    assert shipped["sk_penetapan"].family == "keputusan"
    assert all(re.fullmatch(r"\d{3}(\.\d+)+", e.klasifikasi) for e in shipped.values())
    own = tmp_path / "registers.yaml"
    own.write_text(
        "families:\n"
        "  surat: {name: Surat, number_format: '{klasifikasi}/{urut}/{bulan}/{unit}/{tahun}'}\n"
        "  keputusan: {name: Keputusan, number_format: 'KEP-{urut}/{tahun}'}\n"
        "kinds:\n"
        "  sk_penetapan: {family: keputusan, klasifikasi: '100.3.3'}\n"
        "  undangan: {family: surat, klasifikasi: '000.1.2.3'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PEMANTIK_LETTERS__REGISTERS_FILE", str(own))
    reset_settings()
    sk = issue_letter(
        session,
        "sk_penetapan",
        example_inputs(0)["sk_penetapan"],
        idempotency_key="sk",
        letter_date=date(2026, 12, 1),
        pdf=False,
    )
    und = issue_letter(
        session,
        "undangan",
        example_inputs(0)["undangan"],
        idempotency_key="und",
        letter_date=date(2026, 12, 1),
        pdf=False,
    )
    assert (sk.number, sk.family, sk.klasifikasi) == ("KEP-1/2026", "keputusan", "100.3.3")
    assert und.number == "000.1.2.3/1/XII/Diskominfo/2026"
    own.write_text("families:\n  keputusan: {name: K, number_format: 'K/{nomor}'}\n")
    reset_settings()
    with pytest.raises(LetterError) as err:
        register_of("undangan")
    assert "register 'surat' wajib ada" in str(err.value) and "{urut}" in str(err.value)


def test_dates_in_a_register_never_go_backwards(session):
    """A number issued after one dated 16 Desember is dated 16 Desember, not 1 Desember."""
    data = example_inputs(0)["pemberitahuan"]
    first = issue_letter(
        session,
        "pemberitahuan",
        data,
        idempotency_key="a",
        letter_date=date(2026, 12, 16),
        pdf=False,
    )
    later = issue_letter(
        session,
        "pemberitahuan",
        data,
        idempotency_key="b",
        letter_date=date(2026, 12, 1),
        pdf=False,
    )
    assert (first.seq, later.seq) == (1, 2)
    assert later.letter_date == date(2026, 12, 16)
    text = "\n".join(p.text for p in docx.Document(later.file_path).paragraphs)
    assert "Samarinda, 16 Desember 2026" in text and "1 Desember 2026" not in text
    # Another family keeps its own date.
    ba = issue_letter(
        session,
        "berita_acara",
        example_inputs(0)["berita_acara"],
        idempotency_key="ba",
        letter_date=date(2026, 12, 2),
        pdf=False,
    )
    assert ba.letter_date == date(2026, 12, 2) and ba.seq == 1
    # A rolled-back number gives its date back too.
    session.commit()
    taken = take_number(session, on=date(2026, 12, 20))
    give_back(session, taken)
    assert last_date(session, year=2026) == date(2026, 12, 16)


@pytest.mark.timeout(180)
def test_concurrent_writers_keep_numbers_and_dates_in_order(db_url):
    """20 threads, each asking a different date: numbers in order of taking carry dates that
    never go back, on SQLite and PostgreSQL."""
    engine = get_engine(db_url)

    def take(i: int) -> tuple[int, date]:
        with Session(engine) as session:
            taken = take_number(session, on=date(2026, 12, 1 + (i * 7) % 20), register="keputusan")
            session.commit()
            return taken.seq, taken.on

    pairs = sorted(_run_concurrently(take))
    assert [seq for seq, _ in pairs] == list(range(1, WRITERS + 1))
    dates = [on for _, on in pairs]
    assert dates == sorted(dates)


@pytest.mark.timeout(180)
def test_twenty_concurrent_letters(db_url):
    """20 threads issue letters at once, each in its own session; a few fail after rendering."""
    engine = get_engine(db_url)
    data = example_inputs(0)["pemberitahuan"]

    def issue(i: int) -> str | None:
        with Session(engine) as session:
            letter = issue_letter(
                session,
                "pemberitahuan",
                data,
                idempotency_key=f"conc-{i}",
                letter_date=date(2026, 11, 25),
                pdf=False,
            )
            if i % 5 == 4:
                session.rollback()  # e.g. the flow failed right after: the number returns
                return None
            session.commit()
            return letter.number

    numbers = [n for n in _run_concurrently(issue) if n]
    assert len(numbers) == len(set(numbers)) == 16
    with Session(engine) as session:
        seqs = sorted(letter.seq for letter in session.exec(select(Letter)))
    assert seqs == list(range(1, 17))


def test_same_idempotency_key_concurrently_gives_one_letter(db_url):
    engine = get_engine(db_url)
    data = example_inputs(0)["undangan"]

    def issue(_i: int) -> str:
        with Session(engine) as session:
            letter = issue_letter(
                session,
                "undangan",
                data,
                idempotency_key="same",
                letter_date=date(2026, 11, 25),
                pdf=False,
            )
            session.commit()
            return letter.number

    numbers = _run_concurrently(issue, 8)
    assert set(numbers) == {f"{register_of('undangan').klasifikasi}/1/Diskominfo/2026"}
    with Session(engine) as session:
        assert len(session.exec(select(Letter)).all()) == 1
        assert last_number(session, year=2026) == 1


def _take_in_process(day: int) -> tuple[int, date]:
    """One writer process: its own engine and transaction, as a second serving process has."""
    from models.db import get_engine as engine_of
    from models.settings import get_settings

    with Session(engine_of(get_settings().db_url)) as session:
        taken = take_number(session, on=date(2026, 12, day), register="berita_acara")
        session.commit()
        return taken.seq, taken.on


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_writer_processes_on_postgresql_keep_numbers_and_dates_in_order(db_url):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    days = [1 + (i * 7) % 20 for i in range(8)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pairs = sorted(pool.map(_take_in_process, days))
    assert [seq for seq, _ in pairs] == list(range(1, len(days) + 1))
    assert [on for _, on in pairs] == sorted(on for _, on in pairs)
    engine = get_engine(db_url)
    with Session(engine) as session:
        assert last_number(session, year=2026, register="berita_acara") == len(days)
