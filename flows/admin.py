"""Admin actions as deployments: the UI's Custom run shows each one's parameters as a form."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from services import admin


class KirimUlang(BaseModel):
    nomor_surat: str = Field(..., title="Nomor surat", description="mis. 005/12/Diskominfo/2026")
    alasan: str = Field(..., title="Alasan pengiriman ulang")


class PindahJadwal(BaseModel):
    siklus: int = Field(2026, title="Tahun siklus")
    wilayah: str = Field(..., title="Kode wilayah")
    tanggal_baru: date = Field(..., title="Tanggal penilaian baru")
    alasan: str = Field(..., title="Alasan")


class GantiAsesor(BaseModel):
    siklus: int = Field(2026, title="Tahun siklus")
    wilayah: str = Field(..., title="Kode wilayah")
    asesor_lama: str = Field(..., title="Email asesor yang diganti")
    asesor_baru: str = Field(..., title="Email asesor pengganti")
    pernyataan_benturan_kepentingan: str = Field(..., title="Pernyataan asesor pengganti")
    alasan: str = Field(..., title="Alasan penggantian")


class SahkanSurat(BaseModel):
    nomor_surat: str = Field(..., title="Nomor surat", description="mis. 005/12/Diskominfo/2026")
    berkas_pdf: str = Field(
        "",
        title="PDF bertanda tangan elektronik (opsional)",
        description="Lokasi berkas PDF yang telah ditandatangani dengan sertifikat elektronik, "
        "di server PeManTIK; berkas inilah yang dikirim. Kosongkan untuk menyetujui surat "
        "dengan PDF buatan sistem.",
    )
    disahkan_oleh: str = Field("admin (Prefect UI)", title="Disahkan oleh")


class TutupSiklus(BaseModel):
    siklus: int = Field(2026, title="Tahun siklus")
    alasan: str = Field(..., title="Alasan penutupan")


@flow(name="kirim-ulang-surat")
def resend_flow(masukan: KirimUlang) -> dict[str, Any]:
    """Kirim ulang sebuah surat kepada penerimanya (dalam utas surel yang sama)."""
    return admin.resend_letter(masukan.nomor_surat, masukan.alasan, who="admin (Prefect UI)")


@flow(name="pindah-jadwal-penilaian")
def move_date_flow(masukan: PindahJadwal) -> dict[str, Any]:
    """Pindahkan tanggal penilaian sebuah Kab/Kota; Surat Undangan baru dikirim."""
    return admin.move_session_date(
        masukan.siklus,
        masukan.wilayah,
        masukan.tanggal_baru,
        masukan.alasan,
        who="admin (Prefect UI)",
    )


@flow(name="ganti-asesor")
def replace_assessor_flow(masukan: GantiAsesor) -> dict[str, Any]:
    """Ganti asesor sebuah Kab/Kota; asesor pengganti menerima Surat Permohonan."""
    return admin.replace_assessor(
        masukan.siklus,
        masukan.wilayah,
        masukan.asesor_lama,
        masukan.asesor_baru,
        masukan.pernyataan_benturan_kepentingan,
        masukan.alasan,
        who="admin (Prefect UI)",
    )


@flow(name="tutup-siklus")
def close_cycle_flow(masukan: TutupSiklus) -> dict[str, Any]:
    """Tutup siklus sekarang: langkah 14 dibuat dengan wilayah yang belum selesai disebutkan."""
    return admin.close_cycle(masukan.siklus, masukan.alasan, who="admin (Prefect UI)")


@flow(name="sahkan-surat")
def sign_off_flow(masukan: SahkanSurat) -> dict[str, Any]:
    """Sahkan surat yang menunggu pengesahan (setujui, atau kirim PDF bertanda tangan
    elektronik), lalu kirim surat itu."""
    from pathlib import Path

    from services.signoff import sign_off

    pdf = Path(masukan.berkas_pdf.strip()) if masukan.berkas_pdf.strip() else None
    return sign_off(masukan.nomor_surat, signed_pdf=pdf, via="ui", who=masukan.disahkan_oleh)


def admin_pairs() -> list:
    flows = [resend_flow, move_date_flow, replace_assessor_flow, close_cycle_flow, sign_off_flow]
    return [(f, f.to_deployment(name="admin", tags=["pemantik", "admin"])) for f in flows]
