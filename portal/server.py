"""The portal served by uvicorn in a thread of this process (the demo, tests, benchmarks);
``pemantik portal`` runs the same app in the foreground."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from deployments.prefect_server import free_port


def portal_config(host: str, port: int) -> Any:
    """The portal's uvicorn settings, for ``pemantik portal`` and ``pemantik serve --portal``.

    Behind the HTTPS proxy on the same host: its X-Forwarded-For / -Proto are trusted, from
    127.0.0.1 only."""
    import uvicorn

    from portal.app import create_app

    return uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="warning",
    )


class PortalThread:
    """``with PortalThread() as portal: portal.url`` — the portal on a thread of this process
    (a free local port unless given)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.port = port or free_port()
        self.host = host
        self.url = f"http://{host}:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 20.0) -> PortalThread:
        import uvicorn

        self._server = uvicorn.Server(portal_config(self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, name="portal", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"Portal tidak dapat dijalankan di {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> PortalThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def personal_link_in(text: str, base_url: str) -> str | None:
    """The personal link an email body carries (None when it has none)."""
    found = re.search(re.escape(base_url.rstrip("/")) + r"/t/[A-Za-z0-9_-]{43}", text)
    return found.group(0) if found else None


def csrf_in(page: str) -> str:
    """The CSRF value of a portal page's forms (what a browser posts back)."""
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
