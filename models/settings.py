"""Application settings (pydantic-settings, prefix ``PEMANTIK_``, ``.env`` support).

Nested groups use a double underscore: ``PEMANTIK_SMTP__HOST``, ``PEMANTIK_SIGNATORY__NIP``.
A wrong value stops start-up with :class:`SettingsError`, whose message names the variable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, EmailStr, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NUMBER_FIELDS = {"klasifikasi", "urut", "unit", "tahun", "bulan"}
# The shipped lambang daerah: an image marked CONTOH, to be replaced by the region's own.
EXAMPLE_LOGO = Path(__file__).resolve().parent / "data" / "lambang-contoh.png"


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=1, le=65535)
    security: Literal["plain", "starttls", "tls"] = "plain"
    user: str = ""
    password: SecretStr = SecretStr("")
    timeout_seconds: float = Field(30.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(2.0, ge=0)
    max_attachment_mb: float = Field(15.0, gt=0)
    ca_file: Path | None = None
    # The sender's domain, used to build Message-IDs derived from idempotency keys.
    message_id_domain: str = "pemantik.kaltimprov.go.id"


class Organisation(BaseModel):
    instansi: str = "DINAS KOMUNIKASI DAN INFORMATIKA"
    pemerintah: str = "PEMERINTAH PROVINSI KALIMANTAN TIMUR"
    bidang: str = "Bidang Aplikasi Informatika"
    address: str = "Jalan Basuki Rahmat Nomor 41, Samarinda, Kalimantan Timur 75117"
    phone: str = "(0541) 733333"
    email: str = "diskominfo@kaltimprov.go.id"
    website: str = "diskominfo.kaltimprov.go.id"
    city: str = "Samarinda"
    province: str = "Kalimantan Timur"
    logo: Path | None = EXAMPLE_LOGO  # the lambang daerah in the kop

    @field_validator("logo")
    @classmethod
    def _logo_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"berkas logo tidak ditemukan: {value}")
        return value


class Signatory(BaseModel):
    name: str = "Nama Kepala Dinas (contoh)"
    nip: str = "197001011990031001"
    pangkat: str = "Pembina Utama Muda (IV/c)"
    jabatan: str = "Kepala Dinas Komunikasi dan Informatika Provinsi Kalimantan Timur"

    @field_validator("nip")
    @classmethod
    def _nip_18_digits(cls, value: str) -> str:
        cleaned = value.replace(" ", "")
        if not re.fullmatch(r"\d{18}", cleaned):
            raise ValueError("NIP harus 18 digit angka")
        return cleaned


class ContactPerson(BaseModel):
    """The person a region or an assessor may call about the cycle (named in every email)."""

    name: str = "Nama Petugas Penghubung (contoh)"
    jabatan: str = "Pranata Komputer, Bidang Aplikasi Informatika"
    phone: str = "0812-0000-0000"
    email: EmailStr | Literal[""] = ""  # empty: the reply-to address


EXAMPLE_SIGNATORY = Signatory()
EXAMPLE_REPORT_SIGNATORY = Signatory(
    name="Nama Kepala Bidang (contoh)",
    nip="197501012000031001",
    pangkat="Pembina (IV/a)",
    jabatan="Kepala Bidang Aplikasi Informatika",
)
EXAMPLE_CONTACT = ContactPerson()


class LetterSettings(BaseModel):
    # Number formats are per register, in the registers file (letters/data/registers.yaml).
    unit: str = "Diskominfo"
    klasifikasi: str = "005"  # for a kind the registers file does not list
    sifat: str = "Penting"
    # The registers and classification codes, and the legal bases of the SK (data files;
    # default: the ones shipped in letters/data/).
    registers_file: Path | None = None
    legal_bases_file: Path | None = None
    # The Keputusan appointing the assessment team, cited in the SK's Mengingat, e.g.
    # "Keputusan Kepala Dinas … Nomor 800.1.2/K.12/Diskominfo/2026 tentang Tim Penilai …".
    team_decree: str = ""

    @field_validator("registers_file", "legal_bases_file")
    @classmethod
    def _data_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"berkas {value} tidak ditemukan")
        return value


class RunnerSettings(BaseModel):
    """How ``pemantik serve`` shares work with other serving processes, and the fan-out."""

    lease_seconds: int = Field(60, ge=5, le=3600)  # a serving process silent this long is dead
    fanout_retry_seconds: int = Field(900, ge=0, le=86400)  # starting region runs: keep trying
    fanout_batch: int = Field(50, ge=1, le=100)  # region runs created per request
    sweep_seconds: int = Field(300, ge=2, le=86400)  # complete stages still suspended
    cancel_watch_seconds: int = Field(10, ge=1, le=3600)  # cycle runs cancelled in the UI
    # On stop, how long running flows may take to reach their next wait; those still running
    # then are left to the lease (the next serving process re-runs them from the top).
    drain_seconds: int = Field(60, ge=0, le=3600)
    # The cycle run's progress grid: rewritten at most once per this many seconds per process
    # (0: on every change). Each rewrite reads every region, so per change it would be O(N²).
    status_seconds: float = Field(5, ge=0, le=3600)


class PortalSettings(BaseModel):
    """The portal (``pemantik portal``): where it listens and its limits."""

    host: str = "127.0.0.1"
    port: int = Field(8600, ge=1, le=65535)
    max_file_mb: float = Field(10, gt=0)  # one evidence file
    max_region_mb: float = Field(200, gt=0)  # all evidence files of one region in a cycle
    token_requests_per_minute: int = Field(120, ge=1)  # per token and per address
    uploads_per_minute: int = Field(20, ge=1)  # per token


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEMANTIK_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Path("data")
    # Empty: the embedded PostgreSQL cluster under the data folder (models/embedded_db.py).
    database_url: str = ""
    prefect_database_url: str = ""  # the Prefect server's database (postgresql+asyncpg://…)
    embedded_db_port: int = Field(0, ge=0, le=65535)  # 0: a free port at each start
    documents_dir: Path | None = None
    templates_dir: Path | None = None
    timezone: str = "Asia/Makassar"
    extra_holidays_file: Path | None = None
    sender: EmailStr = "pemantik@kaltimprov.go.id"
    sender_name: str = "PeManTIK Diskominfo Prov. Kaltim"
    reply_to: EmailStr = "pemantik@kaltimprov.go.id"
    admin_email: EmailStr = "admin.pemantik@kaltimprov.go.id"
    reminder_cron: str = "0 8 * * 1-5"
    outbox_interval_seconds: int = Field(60, ge=5, le=3600)  # outbox retries inside serve
    outbox_cron: str = "0 7,12,16 * * 1-5"  # the kirim-surel run (process workers' retries)
    runner: RunnerSettings = RunnerSettings()
    # The level of the flows' own run logs (Indonesian, on the run pages), kept apart from
    # PREFECT_LOGGING_LEVEL, which ``pemantik serve`` sets to WARNING for Prefect's own logs.
    run_log_level: str = "INFO"
    # The public address of the product's web app (portal, document views); see services/links.py.
    portal_url: str = "http://127.0.0.1:8600"
    portal: PortalSettings = PortalSettings()
    smtp: SmtpSettings = SmtpSettings()
    organisation: Organisation = Organisation()
    signatory: Signatory = Signatory()
    # Who signs the Laporan (the Kepala Dinas, ``signatory``, writes "Mengetahui" beside it).
    report_signatory: Signatory = EXAMPLE_REPORT_SIGNATORY
    contact: ContactPerson = ContactPerson()
    letters: LetterSettings = LetterSettings()
    # The demo: example settings are allowed, and every document is marked CONTOH.
    demo: bool = False
    # Sign-off: each letter waits for the admin's approval (or a signed PDF) before it is sent.
    signoff: bool = False
    # ``pemantik serve`` keeps one LibreOffice running for the PDFs (letters/kept_office.py).
    keep_office_running: bool = True

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"zona waktu tidak dikenal: {value}") from exc
        return value

    @field_validator("templates_dir")
    @classmethod
    def _templates_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_dir():
            raise ValueError(f"folder templat tidak ada: {value}")
        return value

    @property
    def db_url(self) -> str:
        """The app's database: the configured URL, else the running embedded cluster's."""
        if self.database_url:
            return self.database_url
        from models.embedded_db import APP_DATABASE, database_url

        return database_url(self.data_dir, APP_DATABASE)

    @property
    def docs_dir(self) -> Path:
        return self.documents_dir or self.data_dir / "documents"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def example_settings(settings: Settings) -> list[str]:
    """The settings still at their shipped example, each as "VARIABLE (what it is)".

    A real cycle refuses to start while any is listed (the demo is the one exception)."""
    found = []
    s = settings.signatory
    if s.name == EXAMPLE_SIGNATORY.name or s.nip == EXAMPLE_SIGNATORY.nip:
        found.append("PEMANTIK_SIGNATORY__NAME dan PEMANTIK_SIGNATORY__NIP (penandatangan surat)")
    r = settings.report_signatory
    # A field left unset falls back to Signatory's own default, the Kepala Dinas example.
    examples = (EXAMPLE_REPORT_SIGNATORY, EXAMPLE_SIGNATORY)
    if any(r.name == e.name or r.nip == e.nip for e in examples):
        found.append(
            "PEMANTIK_REPORT_SIGNATORY__NAME dan PEMANTIK_REPORT_SIGNATORY__NIP "
            "(penandatangan laporan, Kepala Bidang)"
        )
    logo = settings.organisation.logo
    if logo is None or Path(logo).resolve() == EXAMPLE_LOGO:
        found.append("PEMANTIK_ORGANISATION__LOGO (berkas gambar lambang daerah untuk kop surat)")
    c = settings.contact
    if c.name == EXAMPLE_CONTACT.name or c.phone == EXAMPLE_CONTACT.phone:
        found.append("PEMANTIK_CONTACT__NAME dan PEMANTIK_CONTACT__PHONE (narahubung di surel)")
    return found


class SettingsError(RuntimeError):
    """A setting is wrong; the message names each wrong variable in Indonesian."""


def describe_validation_error(exc: ValidationError, prefix: str = "PEMANTIK_") -> str:
    lines = []
    for err in exc.errors():
        name = prefix + "__".join(str(p).upper() for p in err["loc"])
        lines.append(f"  {name}: {err['msg']}")
    return "Pengaturan tidak valid:\n" + "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
