"""A stage: one wait on people, and everything about it in one class.

A region flow waits five times: for the questionnaire's answers, the confirmations, the
attendance list, the assessors' scores and the admin's acceptance. Each wait is a *stage*, and
the stage owns every rule about it:

- ``accept`` — validate one input and store it, all or nothing (every door hands input here);
- ``owes`` — who still has to answer (the region, named assessors, the admin);
- ``check`` — complete or not, and what is missing, in words a person reads;
- ``due`` — its deadline, worked out once from the records (a re-ask keeps it);
- its wording: ``title`` (forms, the status grid, the Laporan) and ``request_for`` (what a
  reminder asks a party for).

The phase modules (``services/questionnaire.py``, ``invitation.py``, ``scoring.py``) define the
stages; ``services/waits.py`` holds the registry, the Wait rows and the doors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Session

from models.lookups import open_waits
from services.context import CycleContext

Place = tuple[int, str]  # (cycle id, region code)

YES = {"ya", "hadir", "bersedia", "yes", "true", "1"}
NO = {"tidak", "tidak hadir", "tidak bersedia", "no", "false", "0"}


class InputRefused(ValueError):
    """A payload refused with every reason (Indonesian), nothing stored."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class NotWaiting(LookupError):
    """The region (or assessor) is not waiting for this input."""


@dataclass(frozen=True)
class Party:
    """Someone a stage waits on: the region (its PIC), one assessor, or the admin."""

    role: str  # "wilayah" / "asesor" / "admin"
    assessor_id: int | None = None
    name: str = ""
    email: str = ""


@dataclass
class StageStatus:
    complete: bool
    missing: list[str] = field(default_factory=list)
    owes: list[Party] = field(default_factory=list)


class Stage:
    """The base of every stage; a subclass sets the class attributes and implements
    :meth:`accept`, :meth:`owes_many` and :meth:`due`."""

    kind: ClassVar[str]
    step_no: ClassVar[int]  # the SOP step the wait sits on (input records, grid column)
    done_steps: ClassVar[tuple[int, ...]] = ()  # SOP steps completed when the stage is
    roles: ClassVar[tuple[str, ...]]  # who may owe an answer
    title: ClassVar[str]  # e.g. "Jawaban kuesioner"

    # --- input --------------------------------------------------------------------------

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        """Validate and store ``payload``; return a summary ("" when nothing was handed over).

        Raises :class:`InputRefused` with every reason; the caller rolls back.
        """
        raise NotImplementedError

    def step_of(self, session: Session, ctx: CycleContext, region: str, payload: dict) -> int:
        """The SOP step an accepted input is recorded on (the stage's own step by default)."""
        return self.step_no

    # --- who still owes -------------------------------------------------------------------

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        """Who still owes the answer, for many regions at once (the reminders ask for
        thousands); every place is in the result, with an empty list when nobody owes."""
        raise NotImplementedError

    def owes(self, session: Session, cycle_id: int, region: str) -> list[Party]:
        return self.owes_many(session, [(cycle_id, region)])[(cycle_id, region)]

    def check(self, session: Session, ctx: CycleContext, region: str) -> StageStatus:
        """Complete when nobody owes anything (stages with other rules override this)."""
        owing = self.owes(session, ctx.id, region)
        return StageStatus(not owing, [self.missing_text(p) for p in owing], owing)

    # --- time -----------------------------------------------------------------------------

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        """The stage's deadline, from the records alone (never from "today")."""
        raise NotImplementedError

    def current_due(self, session: Session, ctx: CycleContext, region: str) -> date:
        """The deadline as people were told it: the open wait's (extensions included), or
        :meth:`due` when nothing is open."""
        rows = open_waits(session, ctx.id, region, kind=self.kind)
        return rows[-1].due_date if rows else self.due(session, ctx, region)

    # --- wording --------------------------------------------------------------------------

    def request_for(self, party: Party) -> str:
        """What a reminder asks ``party`` for, e.g. "pengembalian Jawaban Kuesioner"."""
        return self.title

    def missing_text(self, party: Party) -> str:
        """One line of "what is still awaited", e.g. "konfirmasi kesediaan asesor Budi"."""
        return self.request_for(party)

    def form_facts(self, session: Session, ctx: CycleContext, region: str) -> list[str]:
        """What the person answering the form should see before deciding (markdown lines);
        stages that decide on a result override this."""
        return []

    def form_description(
        self,
        region_name: str,
        due: date,
        missing: list[str],
        errors: list[str],
        facts: list[str] | None = None,
    ) -> str:
        """The markdown on top of the Prefect UI's resume form. Its button reads "Submit" in
        the V1 UI and "Resume" in V2, so the text names neither ("kirimkan")."""
        from letters.formats import long_date

        due_text = long_date(due, with_day=True)
        lines = [f"**{self.title} — {region_name}**", "", f"Batas waktu: **{due_text}**", ""]
        if facts:
            lines += [*facts, ""]
        if missing:
            lines += ["Yang masih ditunggu:", *[f"- {m}" for m in missing], ""]
        if errors:
            lines += [
                "**Isian sebelumnya belum dapat diterima.** Perbaiki hal berikut lalu kirim lagi:",
                *[f"- {e}" for e in errors],
                "",
            ]
        lines.append(
            "Isi formulir di bawah ini, lalu kirimkan. Jawaban yang dikirim melalui surel "
            "juga diterima tanpa formulir ini."
        )
        return "\n".join(lines)


MAX_LINKED_FILE = 20 * 1024 * 1024  # a filled workbook is well under 1 MB


def fetch_linked_file(url: str, what: str) -> tuple[str, bytes]:
    """The file behind a link given in a form (the UI has no upload): ``(file name, bytes)``.

    Refused, naming ``what`` ("Tautan berkas jawaban"), when the link is not http(s), cannot be
    opened, is empty or is larger than ``MAX_LINKED_FILE``.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    link = url.strip()
    parsed = urllib.parse.urlparse(link)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputRefused([f"{what}: isi tautan yang diawali http:// atau https://"])
    try:
        with urllib.request.urlopen(link, timeout=30) as response:  # noqa: S310 - http(s) only
            data = response.read(MAX_LINKED_FILE + 1)
            name = response.headers.get_filename() or ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputRefused([f"{what}: tautan tidak dapat dibuka ({reason})"]) from None
    if not data:
        raise InputRefused([f"{what}: berkas pada tautan itu kosong"])
    if len(data) > MAX_LINKED_FILE:
        raise InputRefused([f"{what}: berkas lebih dari {MAX_LINKED_FILE // 2**20} MB"])
    name = name or urllib.parse.unquote(parsed.path.rsplit("/", 1)[-1]) or "berkas"
    return name, data


def yes_no(value: Any, place: str) -> bool:
    """'ya'/'tidak' (and their synonyms) as a bool; anything else is refused naming ``place``."""
    text = str(value or "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise InputRefused([f"{place}: isi 'ya' atau 'tidak', bukan '{value}'"])


def levels_from_form(items: list[dict], evidence: bool = False) -> dict[str, dict[str, Any]]:
    """Form rows ``[{kode, tingkat, catatan[, bukti]}]`` as ``{code: {level, note[, evidence]}}``
    (the shape the assessment checks take); rows without a code are ignored."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        code = str(item.get("kode", "")).strip()
        if code:
            result[code] = {"level": item.get("tingkat"), "note": item.get("catatan", "")}
            if evidence:
                result[code]["evidence"] = item.get("bukti", "")
    return result


def places_having(session: Session, places: Iterable[Place], model: Any, *where: Any) -> set[Place]:
    """The places among ``places`` with a row of ``model`` (a table with ``cycle_id`` and
    ``region_code``) that matches ``where``: one query per cycle."""
    from sqlmodel import select

    found: set[Place] = set()
    for cycle_id, regions in group_by_cycle(places).items():
        rows = session.exec(
            select(model.region_code)
            .where(model.cycle_id == cycle_id, model.region_code.in_(regions), *where)
            .distinct()
        )
        found.update((cycle_id, code) for code in rows)
    return found


def group_by_cycle(places: Iterable[Place]) -> dict[int, list[str]]:
    """``{cycle id: [region codes]}`` for bulk queries."""
    grouped: dict[int, list[str]] = {}
    for cycle_id, region in places:
        grouped.setdefault(cycle_id, []).append(region)
    return grouped
