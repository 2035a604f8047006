"""Working-day calendar: Mon–Fri in the configured zone (WITA), minus Indonesian public
holidays and cuti bersama (the ``holidays`` package, categories public + government) and the
extra days off an admin adds as data (``NonWorkingDay`` rows or a YAML/CSV file of dates).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import holidays
import yaml


class WorkCalendar:
    def __init__(
        self,
        country: str = "ID",
        extra_days_off: Iterable[date] = (),
        extra_names: dict[date, str] | None = None,
    ) -> None:
        self._holidays = holidays.country_holidays(
            country, categories=("public", "government"), language="id"
        )
        self._extra = set(extra_days_off)
        self._extra_names = extra_names or {}

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return self._extra_names.get(day, "Hari libur tambahan")
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._extra and day not in self._holidays

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start``.

        A step that starts on ``start`` and takes N working days is due at the end of the Nth
        working day counted from ``start`` itself (so a 1-day step starting on a working day is
        due the same day; a step starting on a holiday begins on the next working day).
        """
        if days < 0:
            raise ValueError("jumlah hari kerja tidak boleh negatif")
        day = self.next_working_day(start)
        counted = 1
        while counted < days:
            day = self.next_working_day(day + timedelta(days=1))
            counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open range (start, end]; negative when end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def load_extra_days_off(path: Path) -> dict[date, str]:
    """Read extra days off from YAML (``- {tanggal: 2026-07-10, keterangan: ...}`` or a map)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    result: dict[date, str] = {}
    items = (
        data.items()
        if isinstance(data, dict)
        else [(row.get("tanggal"), row.get("keterangan", "")) for row in data]
    )
    for raw_day, name in items:
        day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        result[day] = str(name or "Hari libur tambahan")
    return result


def calendar_from_settings(session=None) -> WorkCalendar:  # noqa: ANN001
    """The calendar with the configured extra days off, plus those stored in the database."""
    from models.settings import get_settings
    from models.tables import NonWorkingDay

    extra: dict[date, str] = {}
    settings = get_settings()
    if settings.extra_holidays_file:
        extra.update(load_extra_days_off(settings.extra_holidays_file))
    if session is not None:
        from sqlmodel import select

        for row in session.exec(select(NonWorkingDay)):
            extra[row.day] = row.description or "Hari libur tambahan"
    return WorkCalendar(extra_days_off=extra, extra_names=extra)
