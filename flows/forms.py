"""The typed forms the admin fills in the Prefect UI's Resume dialog (labels in Indonesian).

What a form shows is only what the admin decides or hands over. The door that resumed a run
(``melalui``: ui, email, portal, otomatis) is carried in the run input but hidden from the
form. Fields are ``str = ""`` rather than ``str | None`` and dates carry a plain date schema:
the UI shows an awkward type switch for optional types. The UI has no file upload, so a file
comes as a link (the portal and email take the file itself); scores come as a file, never as
one field per indicator.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from prefect.input import RunInput
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema


class YaTidak(StrEnum):
    KOSONG = ""
    YA = "ya"
    TIDAK = "tidak"


class Keputusan(StrEnum):
    KOSONG = ""
    TERIMA = "terima"
    KEMBALIKAN = "kembalikan"


class Orang(BaseModel):
    nama: str = Field("", title="Nama")
    jabatan: str = Field("", title="Jabatan")
    instansi: str = Field("", title="Instansi")


class NilaiIndikator(BaseModel):
    kode: str = Field("", title="Kode indikator")
    tingkat: int = Field(0, title="Tingkat konsensus")
    catatan: str = Field("", title="Catatan")


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


class _Form(RunInput):
    # RunInput forbids extra keys; "ignore" lets the schema accept the hidden ``melalui``.
    model_config = ConfigDict(extra="ignore")

    # The door that resumed the run; not part of the form the admin sees.
    melalui: SkipJsonSchema[str] = "ui"


class JawabanForm(_Form):
    tautan_berkas: str = Field(
        "",
        title="Tautan berkas Lembar Kuesioner (.xlsx)",
        description="Tautan (http/https) ke berkas jawaban yang diterima dari Kab/Kota.",
    )


class KonfirmasiForm(_Form):
    pihak: str = Field(
        "",
        title="Yang menjawab",
        description="Tulis «wilayah» untuk Kab/Kota, atau alamat surel asesor.",
    )
    jawaban: YaTidak = Field(YaTidak.KOSONG, title="Hadir / bersedia?")
    delegasi: list[Orang] = Field(default_factory=list, title="Delegasi (Kab/Kota)")
    pernyataan_benturan_kepentingan: str = Field(
        "", title="Pernyataan benturan kepentingan (asesor)"
    )
    alasan: str = Field("", title="Alasan (jika tidak)")


class KehadiranForm(_Form):
    tanggal: Annotated[
        date | None,
        WithJsonSchema({"type": "string", "format": "date", "title": "Tanggal pelaksanaan"}),
    ] = Field(None, description="Kosongkan bila sesuai jadwal.", json_schema_extra=_no_default)
    peserta: list[Orang] = Field(default_factory=list, title="Daftar hadir")


class NilaiForm(_Form):
    asesor: str = Field("", title="Alamat surel asesor")
    tautan_berkas: str = Field(
        "",
        title="Tautan berkas nilai (.csv atau .json)",
        description="Kolom kode, tingkat, catatan; satu baris per indikator.",
    )
    lanjut_tanpa_lengkap: bool = Field(False, title="Lanjutkan tanpa nilai lengkap")
    alasan: str = Field("", title="Alasan melanjutkan")


class PenerimaanForm(_Form):
    keputusan: Keputusan = Field(Keputusan.KOSONG, title="Keputusan")
    catatan: str = Field("", title="Catatan")
    konsensus: list[NilaiIndikator] = Field(
        default_factory=list,
        title="Tingkat konsensus",
        description="Satu baris untuk setiap indikator yang perlu konsensus (lihat di atas).",
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
