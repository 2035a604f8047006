"""The installation's credentials: made once, kept in a file only the admin can read.

``<data folder>/credentials.json`` (mode 0600, owned by whoever runs ``pemantik``) holds:

- the Prefect server's basic-auth user and password (``PREFECT_SERVER_API_AUTH_STRING`` on the
  server, ``PREFECT_API_AUTH_STRING`` on every client, as ``user:password``);
- the password of the embedded PostgreSQL cluster's superuser.

The file is created whole on first use (written privately, then linked into place, so two
processes starting at once agree on one file) and never rewritten. A file that others may read
is refused, with a message that says how to fix it. Nothing here is ever put in a parameter, a log, an artifact, a
letter or an email; :class:`Credentials` hides its secrets in ``repr``.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from models.settings import SettingsError

FILE_NAME = "credentials.json"
DEFAULT_USER = "admin"


class CredentialsError(SettingsError):
    """The credentials file is missing, unreadable or readable by others (Indonesian message)."""


@dataclass(frozen=True)
class Credentials:
    prefect_user: str
    prefect_password: str = field(repr=False)
    database_password: str = field(repr=False)
    path: Path

    @property
    def auth_string(self) -> str:
        """``user:password``, the form Prefect's basic auth settings take."""
        return f"{self.prefect_user}:{self.prefect_password}"

    def secrets(self) -> list[str]:
        """Every secret value here (for checks that none of them leaked)."""
        return [self.prefect_password, self.database_password, self.auth_string]


def credentials_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / FILE_NAME


def _new_secret() -> str:
    # URL-safe and without ':' so it fits "user:password" and a database URL unchanged.
    return secrets.token_urlsafe(24)


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"Berkas kredensial {path} dapat dibaca pengguna lain (izin "
            f"{stat.filemode(mode)}). Batasi izinnya agar hanya dapat dibaca pemiliknya "
            f"(chmod 600 {path}), lalu ulangi."
        )


def load_credentials(data_dir: Path, create: bool = False, user: str = DEFAULT_USER) -> Credentials:
    """The installation's credentials; made (once) when ``create`` is true and none exist."""
    path = credentials_path(data_dir)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        content = {
            "prefect_user": user,
            "prefect_password": _new_secret(),
            "database_password": _new_secret(),
        }
        # Written whole to a private temporary file, then linked into place: the link fails if
        # another process got there first, and nobody ever reads a half-written file.
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")  # mode 0600
        tmp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(content, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    if not path.exists():
        raise CredentialsError(
            f"Belum ada kredensial di {path}. Kredensial dibuat saat server PeManTIK "
            "dijalankan pertama kali (perintah `pemantik server`)."
        )
    _check_private(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(
            prefect_user=str(data["prefect_user"]),
            prefect_password=str(data["prefect_password"]),
            database_password=str(data["database_password"]),
            path=path,
        )
    except PermissionError:
        raise CredentialsError(
            f"Berkas kredensial {path} hanya dapat dibaca oleh admin yang memasang PeManTIK."
        ) from None
    except (ValueError, KeyError, TypeError):
        raise CredentialsError(
            f"Berkas kredensial {path} rusak (bukan JSON dengan prefect_user, prefect_password "
            "dan database_password). Pulihkan dari cadangan; bila dihapus, kredensial baru "
            "dibuat, tetapi basis data bawaan yang sudah ada tetap memakai kata sandi lama."
        ) from None
