"""Settings of the inbound mailbox: ``PEMANTIK_IMAP_*`` (the production IMAP source) and
``PEMANTIK_INBOX_*`` (the reader itself). A wrong value stops with :class:`SettingsError`, whose
message names the variable (Indonesian), like the application's own settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.settings import SettingsError, describe_validation_error


class ImapSettings(BaseSettings):
    """The IMAP mailbox (implicit TLS, port 993) read when ``enabled`` is true.

    Prefer a ``done_folder`` in production: without one, handled messages are only flagged
    ``\\Seen``, and a message someone opens in a mail client before the reader runs is
    flagged too and then skipped (it can be marked unread again to be read).
    """

    model_config = SettingsConfigDict(env_prefix="PEMANTIK_IMAP_", env_file=".env", extra="ignore")

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(993, ge=1, le=65535)
    user: str = ""
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    # Handled messages are moved here when set (created if missing); otherwise flagged \Seen.
    done_folder: str = ""
    ca_file: Path | None = None
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"berkas CA tidak ditemukan: {value}")
        return value


class InboxSettings(BaseSettings):
    """The reader: where the embedded Maildir is, how often it runs, how often it retries."""

    model_config = SettingsConfigDict(env_prefix="PEMANTIK_INBOX_", env_file=".env", extra="ignore")

    maildir: Path | None = None  # default: <data_dir>/inbox
    raw_dir: Path | None = None  # default: <data_dir>/inbox-raw
    interval_minutes: int = Field(5, ge=1, le=24 * 60)
    max_attempts: int = Field(5, ge=1)
    batch_size: int = Field(200, ge=1)
    # How long a reply waits for its flow to reach the suspend before giving up the resume
    # (the flow then resumes from the UI, or when the next input completes the stage).
    resume_timeout_seconds: float = Field(30.0, ge=0)
    # A message being handled is left alone by other runs for this long; a run that died
    # mid-message leaves its claim, and the message is taken again once the lease is over.
    lease_seconds: float = Field(120.0, ge=0)


def load_imap_settings(**overrides: object) -> ImapSettings:
    try:
        return ImapSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, "PEMANTIK_IMAP_")) from None


def load_inbox_settings(**overrides: object) -> InboxSettings:
    try:
        return InboxSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, "PEMANTIK_INBOX_")) from None


def inbox_maildir() -> Path:
    from models.settings import get_settings

    return load_inbox_settings().maildir or get_settings().data_dir / "inbox"


def raw_dir() -> Path:
    from models.settings import get_settings

    return load_inbox_settings().raw_dir or get_settings().data_dir / "inbox-raw"
