"""The portal's guards: CSRF values, rate limits, the admin's credentials, the client address.

- **CSRF.** Every form carries a value derived (HMAC under the portal key) from the token's
  hash, or from the admin's user name; a POST without the right one is refused. A third-party
  page knows neither the token nor the key, and the admin's basic-auth pages, which a browser
  would authenticate on its own, get the same protection.
- **Rate limits.** A sliding minute per token and per client address (token use), and per
  token (uploads); in memory, per process — the portal is one process behind the proxy.
- **The admin.** HTTP basic auth with the installation's credentials (models/credentials.py),
  or the admin's personal link, which sets a cookie for the document views.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import Request

from models.credentials import CredentialsError, load_credentials
from models.settings import get_settings
from models.tokens import portal_key

ADMIN_COOKIE = "pemantik_admin"


def csrf_value(subject: str) -> str:
    """The CSRF value of a token hash or the admin's user name."""
    mac = hmac.new(portal_key(), f"csrf|{subject}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def csrf_ok(subject: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_value(subject), presented or "")


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from the trusted proxy)."""
    return request.client.host if request.client else "-"


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 50_000:  # forget idle keys
                for k in [k for k, v in self._events.items() if not v][:10_000]:
                    del self._events[k]
            return True


def admin_user(request: Request) -> str | None:
    """The admin's user name when the request carries the installation's basic-auth
    credentials; None otherwise."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    try:
        creds = load_credentials(get_settings().data_dir)
    except CredentialsError:
        return None
    same_user = secrets.compare_digest(user.encode(), creds.prefect_user.encode())
    same_password = secrets.compare_digest(password.encode(), creds.prefect_password.encode())
    return user if same_user and same_password else None
