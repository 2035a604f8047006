"""The typed forms the admin fills in the Prefect UI's Resume dialog (labels in Indonesian).

Every field has a default, so a door that already stored the input resumes with only
``melalui`` set. Fields are ``str = ""`` rather than ``str | None`` (the UI shows an awkward
type switch for optional types).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from prefect.input import RunInput
from pydantic import BaseModel, Field


class YaTidak(StrEnum):
    KOSONG = ""
    YA = "ya"
    TIDAK = "tidak"


class Keputusan(StrEnum):
    KOSONG = ""
    TERIMA = "terima"
    KEMBALIKAN = "kembalikan"


class JawabanIndikator(BaseModel):
    kode: str = Field("", title="Kode indikator")
    tingkat: int = Field(0, title="Tingkat (level)")
    bukti: str = Field("", title="Bukti dukung (tautan/keterangan)")


class Orang(BaseModel):
    nama: str = Field("", title="Nama")
    jabatan: str = Field("", title="Jabatan")
    instansi: str = Field("", title="Instansi")


class NilaiIndikator(BaseModel):
    kode: str = Field("", title="Kode indikator")
    tingkat: int = Field(0, title="Tingkat terverifikasi")
    catatan: str = Field("", title="Catatan")


class _Form(RunInput):
    melalui: str = Field("ui", title="Dikirim melalui")


class JawabanForm(_Form):
    berkas: str = Field(
        "",
        title="Berkas Lembar Kuesioner (.xlsx) di server",
        description="Path berkas jawaban yang diterima; atau isi daftar di bawah.",
    )
    jawaban: list[JawabanIndikator] = Field(default_factory=list, title="Jawaban per indikator")


class KonfirmasiForm(_Form):
    pihak: str = Field("", title="Pihak", description="'wilayah' untuk Kab/Kota, atau email asesor")
    jawaban: YaTidak = Field(YaTidak.KOSONG, title="Hadir / bersedia?")
    delegasi: list[Orang] = Field(default_factory=list, title="Delegasi (Kab/Kota)")
    pernyataan_benturan_kepentingan: str = Field(
        "", title="Pernyataan benturan kepentingan (asesor)"
    )
    alasan: str = Field("", title="Alasan (jika tidak)")


class KehadiranForm(_Form):
    tanggal: date | None = Field(None, title="Tanggal pelaksanaan")
    peserta: list[Orang] = Field(default_factory=list, title="Daftar hadir")


class NilaiForm(_Form):
    asesor: str = Field("", title="Email asesor")
    nilai: list[NilaiIndikator] = Field(default_factory=list, title="Nilai per indikator")
    lanjut_tanpa_lengkap: bool = Field(False, title="Lanjutkan tanpa nilai lengkap (admin)")
    alasan: str = Field("", title="Alasan melanjutkan")


class PenerimaanForm(_Form):
    keputusan: Keputusan = Field(Keputusan.KOSONG, title="Keputusan")
    catatan: str = Field("", title="Catatan")
    konsensus: list[NilaiIndikator] = Field(
        default_factory=list, title="Tingkat konsensus (indikator yang ditandai)"
    )


class TutupSiklusForm(_Form):
    tutup: bool = Field(False, title="Tutup siklus sekarang")
    alasan: str = Field("", title="Alasan penutupan")


FORMS: dict[str, type[_Form]] = {
    "jawaban": JawabanForm,
    "konfirmasi": KonfirmasiForm,
    "kehadiran": KehadiranForm,
    "nilai": NilaiForm,
    "penerimaan": PenerimaanForm,
}
