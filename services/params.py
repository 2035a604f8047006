"""The cycle's parameters: one pydantic model, shown by the Prefect UI's Custom run as a form."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator

from models import clock


class CycleParams(BaseModel):
    """Parameter siklus PeManTIK (formulir "Custom run" di Prefect UI)."""

    year: int = Field(2026, ge=2000, le=2100, title="Tahun siklus")
    regions: list[str] = Field(
        default_factory=list,
        title="Kode wilayah",
        description="Kode Kemendagri Kab/Kota yang dinilai; kosongkan untuk semua wilayah aktif.",
    )
    instrument: str = Field(
        "spbe-2020",
        title="Instrumen penilaian",
        description="Kode instrumen, mis. spbe-2020 atau pegi.",
    )
    assessor_pool: list[str] = Field(
        default_factory=list,
        title="Kumpulan asesor",
        description="Email asesor yang boleh ditugaskan; kosongkan untuk semua asesor aktif.",
    )
    assessors_per_region: int = Field(2, ge=1, le=5, title="Asesor per wilayah")
    start_date: date = Field(default_factory=clock.today, title="Tanggal mulai")
    session_date: date | None = Field(
        None,
        title="Tanggal penilaian",
        description="Tanggal pelaksanaan penilaian; kosongkan untuk dihitung dari rencana SOP.",
    )
    session_time: str = Field("09.00", title="Waktu mulai (WITA)")
    venue: str = Field("Ruang Rapat Diskominfo Prov. Kaltim, Samarinda", title="Tempat pelaksanaan")
    online_link: str = Field("", title="Tautan daring (jika ada)")
    agenda: str = Field(
        "Penilaian Penguatan Manajemen Tata Kelola TIK (PeManTIK) Kabupaten/Kota",
        title="Acara",
    )
    reschedule_working_days: int = Field(
        5,
        ge=1,
        le=30,
        title="Penjadwalan ulang (hari kerja)",
        description="Jika Kab/Kota tidak dapat hadir, tanggal baru = tanggal semula + N hari kerja.",
    )
    step_overrides: dict[str, int] = Field(
        default_factory=dict,
        title="Lama langkah (hari kerja)",
        description='Mengganti lama langkah SOP, mis. {"3": 10} untuk kuesioner 10 hari kerja.',
    )

    @field_validator("regions", "assessor_pool")
    @classmethod
    def _strip(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v.strip()]

    @field_validator("step_overrides")
    @classmethod
    def _known_steps(cls, value: dict[str, int]) -> dict[str, int]:
        for key, days in value.items():
            if not key.isdigit() or not 1 <= int(key) <= 14:
                raise ValueError(f"langkah '{key}' tidak ada (1–14)")
            if days < 1:
                raise ValueError(f"lama langkah {key} harus minimal 1 hari kerja")
        return value
