"""Typed inputs of every document, one pydantic model per kind.

The flows convert their own records into these models (or plain dicts of the same shape); the
letters package never reads the assessment tables itself. Field names are English; what they
hold is the Indonesian text that ends up in the document. Every model forbids unknown fields so a
typo in a flow is an error, not a silently empty line.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _nip(value: str) -> str:
    cleaned = value.replace(" ", "")
    if not cleaned:
        raise ValueError("NIP penandatangan wajib diisi")
    if not re.fullmatch(r"\d{18}", cleaned):
        raise ValueError(f"NIP harus 18 digit angka, bukan '{value}'")
    return cleaned


class SignatoryInput(_Model):
    """Who signs the document.

    - ``name``: full name with titles, e.g. "Dr. Ir. Nama Pejabat, M.Si."
    - ``nip``: Nomor Induk Pegawai, exactly 18 digits (spaces are removed).
    - ``pangkat``: rank and grade, e.g. "Pembina Utama Muda (IV/c)".
    - ``jabatan``: position, e.g. "Kepala Dinas Komunikasi dan Informatika Provinsi Kalimantan Timur".
    """

    name: str = Field(min_length=1)
    nip: str
    pangkat: str = ""
    jabatan: str = Field(min_length=1)

    @field_validator("nip")
    @classmethod
    def _check_nip(cls, value: str) -> str:
        return _nip(value)


class Addressee(_Model):
    """The addressee after "Yth.": ``name`` (position or person, required) and ``place``
    (rendered as "di <place>", default "Tempat")."""

    name: str = Field(min_length=1)
    place: str = "Tempat"


class Person(_Model):
    """A person in a list (parties, assessors, signers): ``name`` required; ``jabatan``,
    ``instansi`` and ``nip`` (18 digits when given) optional."""

    name: str = Field(min_length=1)
    jabatan: str = ""
    instansi: str = ""
    nip: str = ""

    @field_validator("nip")
    @classmethod
    def _nip_if_given(cls, value: str) -> str:
        return _nip(value) if value.strip() else ""


class LetterInput(_Model):
    """Fields shared by every surat dinas (numbered letter).

    - ``addressee``: the "Yth." block (required, needs a name).
    - ``subject``: the "Hal" line; when empty the template's ``hal`` block gives it.
    - ``sifat``: "Penting", "Biasa", …; default ``settings.letters.sifat``.
    - ``lampiran``: the "Lampiran" line, e.g. "1 (satu) berkas"; "-" when none.
    - ``klasifikasi``: classification code of the number; default ``settings.letters.klasifikasi``.
    - ``signatory``: who signs; default ``settings.signatory``.
    - ``cc``: the Tembusan list (may be empty).
    - ``year``: the year of the assessment cycle named in the text.
    """

    addressee: Addressee
    subject: str = ""
    sifat: str = ""
    lampiran: str = "-"
    klasifikasi: str = ""
    signatory: SignatoryInput | None = None
    cc: list[str] = Field(default_factory=list)
    year: int = Field(ge=2000, le=2100)


class PemberitahuanInput(LetterInput):
    """Surat Pemberitahuan pengisian kuesioner (step 1).

    - ``region_name``: the Kab/Kota, e.g. "Kota Samarinda".
    - ``deadline``: the date the answers are due.
    - ``instrument_name``: the instrument, e.g. "SPBE 2020 (PermenPANRB 59/2020)".
    - ``questionnaire_file``: the attached workbook's file name (Lembar Kuesioner).
    - ``contact``: the contact person line (name and phone/email), optional.
    """

    lampiran: str = "1 (satu) berkas"
    region_name: str = Field(min_length=1)
    deadline: date
    instrument_name: str = ""
    questionnaire_file: str = ""
    contact: str = ""


class TandaTerimaInput(LetterInput):
    """Tanda Terima jawaban kuesioner (step 5).

    - ``region_name``: the Kab/Kota that answered.
    - ``received_at``: when the answers arrived.
    - ``version``: the version number of the stored answers.
    - ``file_name``/``sha256``: the received file and its hash (optional).
    - ``indicator_count``: how many indicators were answered.
    - ``submitted_by``: who sent the answers.
    """

    region_name: str = Field(min_length=1)
    received_at: datetime
    version: int = Field(1, ge=1)
    file_name: str = ""
    sha256: str = ""
    indicator_count: int = Field(0, ge=0)
    submitted_by: str = ""


class EventMixin(_Model):
    """The event block (Undangan, Permohonan): ``event_date``, ``time_start`` ("09.00"),
    ``time_end`` ("selesai" when empty), ``venue`` and/or ``online_link`` (at least one),
    ``agenda`` (acara)."""

    event_date: date
    time_start: str = Field(min_length=1)
    time_end: str = ""
    venue: str = ""
    online_link: str = ""
    agenda: str = ""

    @model_validator(mode="after")
    def _place_given(self) -> EventMixin:
        if not self.venue and not self.online_link:
            raise ValueError("tempat (venue) atau tautan daring (online_link) wajib diisi")
        return self


class UndanganInput(LetterInput, EventMixin):
    """Surat Undangan pelaksanaan penilaian to a Kab/Kota (step 6).

    - ``region_name``: the invited Kab/Kota.
    - the event block of :class:`EventMixin`.
    - ``reply_by``: date to confirm attendance by (optional).
    - ``contact``: contact person line (optional).
    """

    region_name: str = Field(min_length=1)
    reply_by: date | None = None
    contact: str = ""


class PermohonanInput(LetterInput, EventMixin):
    """Surat Permohonan kesediaan menjadi Tim Penilai, to one assessor (step 6).

    - ``assessor_name``/``institution``: the assessor and their institution.
    - ``regions``: names of the Kab/Kota they are asked to assess.
    - the event block of :class:`EventMixin`.
    - ``reply_by``: date to answer by (optional).
    """

    assessor_name: str = Field(min_length=1)
    institution: str = ""
    regions: list[str] = Field(default_factory=list)
    reply_by: date | None = None


class PengingatInput(LetterInput):
    """Surat Pengingat (reminder, for escalation).

    - ``region_name``: who is reminded (Kab/Kota or assessor's name).
    - ``pending``: what is still awaited, e.g. "jawaban kuesioner PeManTIK".
    - ``reference_number``/``reference_date``: the earlier letter (optional).
    - ``due_date``: the original due date; ``new_due_date``: the new one (optional).
    """

    region_name: str = Field(min_length=1)
    pending: str = Field(min_length=1)
    reference_number: str = ""
    reference_date: date | None = None
    due_date: date
    new_due_date: date | None = None


class AssessorScore(_Model):
    """One assessor's verified ``level`` (None = not given) and ``note`` for one indicator."""

    assessor: str = Field(min_length=1)
    level: int | None = None
    note: str = ""


class IndicatorRow(_Model):
    """One indicator line of the Formulir: ``code``, ``name``, ``dimension``, the region's own
    ``self_level``, each assessor's ``scores``, the ``final_level`` and, when that level was
    settled by consensus, its ``consensus_note``."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    dimension: str = ""
    self_level: int | None = None
    scores: list[AssessorScore] = Field(default_factory=list)
    final_level: int | None = None
    consensus_note: str = ""  # set when the final level was settled by consensus


class DimensionScore(_Model):
    """A dimension (or domain/aspect) ``name`` with its ``score``, optional ``weight`` (%) and
    ``weighted`` share of the total (weight × score / 100; the shares add up to the total).
    Figures are Decimal (see :func:`assessment.scoring.figures`); floats are read by their repr."""

    name: str = Field(min_length=1)
    score: Decimal
    weight: Decimal | None = None
    weighted: Decimal | None = None


class FormulirInput(_Model):
    """Formulir Penilaian Asesmen for one region (steps 11–12); unnumbered.

    - ``year``, ``region_code``, ``region_name``, ``instrument_name``, ``session_date``.
    - ``assessors``: the assessors (their names head the level columns and the signature lines).
    - ``indicators``: the rows; ``dimensions``: dimension scores; ``total``; ``predicate``.
    - ``scale_max``: the top level of the scale (5 for SPBE 2020).
    """

    year: int = Field(ge=2000, le=2100)
    region_code: str = ""
    region_name: str = Field(min_length=1)
    instrument_name: str = ""
    session_date: date
    assessors: list[Person] = Field(min_length=1)
    indicators: list[IndicatorRow] = Field(min_length=1)
    dimensions: list[DimensionScore] = Field(default_factory=list)
    total: Decimal
    share_places: int = Field(4, ge=0, le=10)  # decimals that print the shares exactly
    predicate: str = ""
    scale_max: int = 5


class ConsensusNote(_Model):
    """An indicator settled by consensus: ``code``, ``name``, the agreed ``level`` and ``note``."""

    code: str = Field(min_length=1)
    name: str = ""
    level: int
    note: str = ""


class BeritaAcaraInput(LetterInput):
    """Berita Acara Penilaian for one region (step 14); numbered.

    - ``region_name``; ``event_date`` (written in words); ``place`` (where it was held).
    - ``parties``: who took part (assessors, the region's delegates, the committee).
    - ``assessed``: what was assessed, e.g. "jawaban kuesioner dan bukti dukung …".
    - ``instrument_name``; ``dimensions``; ``total``; ``predicate``.
    - ``signers``: who signs (each with name, jabatan and optional NIP); the Kepala Dinas
      (``signatory``) acknowledges; ``region_signers``: the region's representatives who sign.
    - ``consensus``: the indicators whose final level was settled by consensus.
    - ``addressee`` is not printed on a Berita Acara; it defaults to the region.
    """

    addressee: Addressee | None = None  # type: ignore[assignment]
    region_name: str = Field(min_length=1)
    event_date: date
    place: str = Field(min_length=1)
    parties: list[Person] = Field(min_length=1)
    assessed: str = ""
    instrument_name: str = ""
    dimensions: list[DimensionScore] = Field(default_factory=list)
    total: Decimal
    share_places: int = Field(4, ge=0, le=10)  # decimals that print the shares exactly
    predicate: str = ""
    signers: list[Person] = Field(default_factory=list)
    region_signers: list[Person] = Field(default_factory=list)
    consensus: list[ConsensusNote] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_addressee(self) -> BeritaAcaraInput:
        if self.addressee is None:
            self.addressee = Addressee(name=self.region_name)
        return self


class DaftarHadirInput(_Model):
    """Daftar Hadir of the assessment session of one region (step 10); unnumbered.

    - ``year``, ``region_name``, ``event_date``, ``place``, ``agenda``.
    - ``people``: who attended (name, jabatan, instansi); each gets a signature cell.
    """

    year: int = Field(ge=2000, le=2100)
    region_name: str = Field(min_length=1)
    event_date: date
    place: str = ""
    agenda: str = ""
    people: list[Person] = Field(min_length=1)


class PengantarSkInput(LetterInput):
    """Surat pengantar of the SK Penetapan to a Kepala Daerah (step 14); numbered.

    - ``region_name``; ``sk_number``/``sk_date``: the Keputusan sent; ``ba_number``: the
      region's Berita Acara; ``total``/``predicate``/``rank``: the region's result.
    """

    lampiran: str = "3 (tiga) berkas"
    region_name: str = Field(min_length=1)
    sk_number: str = Field(min_length=1)
    sk_date: date
    ba_number: str = ""
    total: Decimal
    predicate: str = ""
    rank: int | None = None
    region_count: int = 0
    contact: str = ""


class RankingRow(_Model):
    """One line of the ranking: ``rank``, ``region_name``, ``total``, ``predicate`` and ``note``
    (how a tie with other regions was decided)."""

    rank: int = Field(ge=1)
    region_code: str = ""
    region_name: str = Field(min_length=1)
    total: Decimal
    predicate: str = ""
    note: str = ""


class SkPenetapanInput(LetterInput):
    """Keputusan Kepala Dinas on the results (SK Penetapan, step 14); numbered.

    - ``title``: the TENTANG line (default from the template).
    - ``considerations``: the Menimbang points (default from the template).
    - ``legal_bases``: the Mengingat points (default: UU 14/2008, UU 25/2009,
      UU 19/2016 jo. UU 11/2008, PP 12/2017, from the template).
    - ``ranking``: the LAMPIRAN table.
    - ``instrument_name``; ``addressee`` is not printed (defaults to "Arsip").
    """

    addressee: Addressee = Addressee(name="Arsip")
    title: str = ""
    considerations: list[str] = Field(default_factory=list)
    legal_bases: list[str] = Field(default_factory=list)
    ranking: list[RankingRow] = Field(min_length=1)
    ranking_rule: str = ""
    instrument_name: str = ""


class TimelineItem(_Model):
    """One SOP step in the Laporan's timeline: ``step_no``, ``activity``, ``actor``,
    ``due_date``, ``completed_on`` (last completion), ``done``/``total`` counts, ``note``."""

    step_no: int = Field(ge=1)
    activity: str = Field(min_length=1)
    actor: str = ""
    due_date: date | None = None
    completed_on: date | None = None
    done: int = 0
    total: int = 0
    note: str = ""


class RegionResult(_Model):
    """One region's result in the Laporan: ``rank``, ``region_code``, ``region_name``,
    ``total``, ``predicate``, and ``dimensions`` ({dimension name: score})."""

    rank: int | None = None
    region_code: str = ""
    region_name: str = Field(min_length=1)
    total: float
    predicate: str = ""
    dimensions: dict[str, float] = Field(default_factory=dict)


class LetterRef(_Model):
    """A letter listed in the Laporan's lampiran: ``number``, ``subject``, ``letter_date``."""

    number: str
    subject: str = ""
    letter_date: date | None = None
    addressee: str = ""


class PredicateBand(_Model):
    """A predicate of the instrument as the charts draw it: ``name`` from ``min`` upwards."""

    name: str = Field(min_length=1)
    min: float


class LaporanInput(_Model):
    """Laporan Hasil Kegiatan (step 14); unnumbered.

    - ``year``, ``cycle_name``, ``instrument_name``, ``start_date``, ``end_date``, ``report_date``.
    - ``legal_bases``/``aims``: dasar hukum and tujuan (defaults from the template).
    - ``timeline``: steps with dates (see :func:`letters.laporan.timeline_from_records`).
    - ``results``: per region; ``dimensions``: the dimension names in order.
    - ``scale_min``/``scale_max``: the value axis of the charts; ``predicates``: the cut-offs
      drawn on it (the instrument's, highest first).
    - ``recommendations``: {dimension name: recommendation}; missing ones use the template's
      general sentence.
    - ``letters``: letters issued in the cycle (for the lampiran).
    - ``signatory``: default ``settings.signatory``.
    """

    year: int = Field(ge=2000, le=2100)
    cycle_name: str = ""
    instrument_name: str = ""
    start_date: date | None = None
    end_date: date | None = None
    report_date: date | None = None
    legal_bases: list[str] = Field(default_factory=list)
    aims: list[str] = Field(default_factory=list)
    timeline: list[TimelineItem] = Field(default_factory=list)
    results: list[RegionResult] = Field(min_length=1)
    dimensions: list[str] = Field(default_factory=list)
    scale_min: float = 0
    scale_max: float = 5
    predicates: list[PredicateBand] = Field(default_factory=list)
    recommendations: dict[str, str] = Field(default_factory=dict)
    letters: list[LetterRef] = Field(default_factory=list)
    signatory: SignatoryInput | None = None


INPUT_MODELS: dict[str, type[_Model]] = {
    "pemberitahuan": PemberitahuanInput,
    "tanda_terima": TandaTerimaInput,
    "undangan": UndanganInput,
    "permohonan": PermohonanInput,
    "pengingat": PengingatInput,
    "formulir": FormulirInput,
    "berita_acara": BeritaAcaraInput,
    "sk_penetapan": SkPenetapanInput,
    "laporan": LaporanInput,
    "daftar_hadir": DaftarHadirInput,
    "pengantar_sk": PengantarSkInput,
}

# Kinds that are surat dinas with a number from the register.
NUMBERED_KINDS = frozenset(
    {
        "pemberitahuan",
        "tanda_terima",
        "undangan",
        "permohonan",
        "pengingat",
        "berita_acara",
        "sk_penetapan",
        "pengantar_sk",
    }
)

# Where each kind's wording lives under letters/templates/ (a phase's documents sit in the
# phase's folder; the Surat Pengingat belongs to no phase). An override folder uses the same paths.
TEMPLATE_OF = {
    "pemberitahuan": "questionnaire/pemberitahuan.j2",
    "tanda_terima": "questionnaire/tanda_terima.j2",
    "undangan": "invitation/undangan.j2",
    "permohonan": "invitation/permohonan.j2",
    "pengingat": "pengingat.j2",
    "formulir": "scoring/formulir.j2",
    "berita_acara": "report/berita_acara.j2",
    "sk_penetapan": "report/sk_penetapan.j2",
    "laporan": "report/laporan.j2",
    "daftar_hadir": "scoring/daftar_hadir.j2",
    "pengantar_sk": "report/pengantar_sk.j2",
}

# How each kind is named in messages (the document titles themselves live in the templates).
KIND_TITLES = {
    "pemberitahuan": "Surat Pemberitahuan",
    "tanda_terima": "Tanda Terima",
    "undangan": "Surat Undangan",
    "permohonan": "Surat Permohonan",
    "pengingat": "Surat Pengingat",
    "formulir": "Formulir Penilaian Asesmen",
    "berita_acara": "Berita Acara",
    "sk_penetapan": "Keputusan (SK Penetapan)",
    "laporan": "Laporan Hasil Kegiatan",
    "daftar_hadir": "Daftar Hadir",
    "pengantar_sk": "Surat Pengantar Keputusan",
}

__all__ = [
    "Addressee",
    "AssessorScore",
    "BeritaAcaraInput",
    "ConsensusNote",
    "DaftarHadirInput",
    "DimensionScore",
    "EventMixin",
    "FormulirInput",
    "INPUT_MODELS",
    "IndicatorRow",
    "KIND_TITLES",
    "TEMPLATE_OF",
    "LaporanInput",
    "LetterInput",
    "LetterRef",
    "NUMBERED_KINDS",
    "PemberitahuanInput",
    "PengantarSkInput",
    "PengingatInput",
    "PermohonanInput",
    "Person",
    "RankingRow",
    "RegionResult",
    "SignatoryInput",
    "SkPenetapanInput",
    "TandaTerimaInput",
    "TimelineItem",
    "UndanganInput",
]
