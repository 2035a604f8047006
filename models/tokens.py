"""Personal links: the token that opens the portal as one person for one cycle.

A token is 256 bits: the HMAC-SHA256 of (cycle, role, person, generation) under the
installation's portal key, 32 random bytes from :mod:`secrets` kept in
``<data folder>/portal.key`` (mode 0600, made once). Only the token's sha256 is stored
(:class:`~models.tables.PortalToken`); the same generation always gives the same token, so
every email carries the same link without the token being kept anywhere. Reissuing revokes the
row and starts the next generation: the old link stops working, a new one is made.

A token is valid while its cycle runs and it is not revoked; a closed cycle's tokens expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import clock
from models.settings import get_settings
from models.tables import Cycle, CycleState, PortalToken

KEY_FILE = "portal.key"
ROLES = ("wilayah", "asesor", "admin")
LIVE_CYCLE_STATES = (CycleState.DRAFT, CycleState.RUNNING)


def key_path() -> Path:
    return Path(get_settings().data_dir).resolve() / KEY_FILE


def make_or_read_key(path: Path) -> bytes:
    """The key kept at ``path``; made there first when there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a process or thread
        # arriving at the same moment sees no file or the whole key, never a half-written one.
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    data = path.read_bytes()
    if len(data) < 32:
        raise RuntimeError(
            f"Kunci portal {path} rusak (kurang dari 32 bita). Hapus berkas itu agar dibuat "
            "ulang, lalu kirim ulang tautan portal kepada semua pengguna: tautan lama tidak "
            "berlaku lagi."
        )
    return data


@lru_cache(maxsize=4)
def _cached_key(path: Path) -> bytes:
    return make_or_read_key(path)


def portal_key() -> bytes:
    """The installation's portal key (made on first use)."""
    return _cached_key(key_path())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _person(role: str, region_code: str | None, assessor_id: int | None) -> str:
    if role not in ROLES:
        raise ValueError(f"peran tautan '{role}' tidak dikenal")
    if role == "wilayah" and not region_code:
        raise ValueError("tautan petugas Kab/Kota memerlukan kode wilayah")
    if role == "asesor" and not assessor_id:
        raise ValueError("tautan asesor memerlukan asesornya")
    return {"wilayah": region_code or "", "asesor": str(assessor_id or ""), "admin": ""}[role]


def derive(cycle_id: int, role: str, person: str, generation: int) -> str:
    """The token of one generation (URL-safe, 43 characters)."""
    message = f"{cycle_id}|{role}|{person}|{generation}".encode()
    mac = hmac.new(portal_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _rows(
    session: Session, cycle_id: int, role: str, region_code: str | None, assessor_id: int | None
):  # noqa: ANN202
    query = select(PortalToken).where(PortalToken.cycle_id == cycle_id, PortalToken.role == role)
    if role == "wilayah":
        query = query.where(PortalToken.region_code == region_code)
    elif role == "asesor":
        query = query.where(PortalToken.assessor_id == assessor_id)
    return session.exec(query.order_by(PortalToken.generation)).all()


def personal_token(
    session: Session,
    cycle_id: int,
    role: str,
    region_code: str | None = None,
    assessor_id: int | None = None,
) -> str:
    """The person's current token for the cycle, made (stored as its hash) when none is live."""
    person = _person(role, region_code, assessor_id)
    rows = _rows(session, cycle_id, role, region_code, assessor_id)
    live = [r for r in rows if r.revoked_at is None]
    if live:
        return derive(cycle_id, role, person, live[-1].generation)
    generation = (rows[-1].generation + 1) if rows else 1
    token = derive(cycle_id, role, person, generation)
    try:
        with session.begin_nested():  # two processes may make the same generation at once
            session.add(
                PortalToken(
                    cycle_id=cycle_id,
                    role=role,
                    region_code=region_code if role == "wilayah" else None,
                    assessor_id=assessor_id if role == "asesor" else None,
                    generation=generation,
                    token_hash=token_hash(token),
                )
            )
    except IntegrityError:
        pass  # the other one stored the same hash: the same token
    return token


def revoke(
    session: Session,
    cycle_id: int,
    role: str,
    by: str,
    region_code: str | None = None,
    assessor_id: int | None = None,
) -> int:
    """Revoke the person's live tokens in the cycle; returns how many were live."""
    _person(role, region_code, assessor_id)
    count = 0
    for row in _rows(session, cycle_id, role, region_code, assessor_id):
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            row.revoked_by = by
            session.add(row)
            count += 1
    session.flush()
    return count


def reissue(
    session: Session,
    cycle_id: int,
    role: str,
    by: str,
    region_code: str | None = None,
    assessor_id: int | None = None,
) -> str:
    """Revoke the person's token and make the next one (the caller emails it)."""
    revoke(session, cycle_id, role, by, region_code=region_code, assessor_id=assessor_id)
    return personal_token(session, cycle_id, role, region_code, assessor_id)


@dataclass
class TokenCheck:
    """What a presented token is: ``valid``, ``revoked``, ``expired`` or ``unknown``."""

    status: str
    row: PortalToken | None = None
    cycle: Cycle | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def check_token(session: Session, token: str) -> TokenCheck:
    if not token or len(token) > 128:
        return TokenCheck("unknown")
    row = session.exec(
        select(PortalToken).where(PortalToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        return TokenCheck("unknown")
    cycle = session.get(Cycle, row.cycle_id)
    if row.revoked_at is not None:
        return TokenCheck("revoked", row, cycle)
    if cycle is None or cycle.closed_at is not None or cycle.state not in LIVE_CYCLE_STATES:
        return TokenCheck("expired", row, cycle)
    return TokenCheck("valid", row, cycle)
