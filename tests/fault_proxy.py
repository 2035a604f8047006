"""A small HTTP + WebSocket proxy in front of the real Prefect server that injects faults.

A test points one process's ``PREFECT_API_URL`` at the proxy and adds rules: requests whose
method and path match answer 503 (for a while, or always) or are delayed. Everything else —
including the events WebSocket — goes to the real server unchanged.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import uvicorn
import websockets

from deployments.prefect_server import free_port

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Rule:
    method: str
    path: str  # a regular expression, searched in the request path
    status: int | None = 503  # None: forward (after the delay)
    seconds: float | None = None  # how long the rule holds from its first match (None: always)
    delay: float = 0.0
    first_match: float | None = None
    matched: int = 0

    def applies(self, method: str, path: str) -> bool:
        if method != self.method or not re.search(self.path, path):
            return False
        now = time.monotonic()
        if self.first_match is None:
            self.first_match = now
        if self.seconds is not None and now - self.first_match > self.seconds:
            return False
        self.matched += 1
        return True


@dataclass
class FaultProxy:
    upstream: str  # e.g. http://127.0.0.1:4200 (no /api)
    rules: list[Rule] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    websockets_opened: Counter = field(default_factory=Counter)  # by path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope, receive, send) -> None:  # noqa: ANN001
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        for rule in self.rules:
            if rule.applies(method, path):
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.status is not None:
                    await self._answer(
                        send, rule.status, b'{"exception_message":"Service Unavailable"}'
                    )
                    return
                break
        query = scope.get("query_string", b"").decode()
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        headers = [
            (k.decode(), v.decode()) for k, v in scope["headers"] if k.decode() not in HOP_HEADERS
        ]
        async with httpx.AsyncClient(timeout=120) as client:
            response = await client.request(method, url, headers=headers, content=body)
        out = [
            (k.encode(), v.encode())
            for k, v in response.headers.items()
            if k.lower() not in HOP_HEADERS and k.lower() != "content-encoding"
        ]
        out.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})

    async def _answer(self, send, status: int, body: bytes) -> None:  # noqa: ANN001
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope, receive, send) -> None:  # noqa: ANN001
        target = self.upstream.replace("http", "ws", 1) + scope["path"]
        headers = [
            (k.decode(), v.decode())
            for k, v in scope["headers"]
            if k.decode().lower() in ("authorization", "x-prefect-api-version")
        ]
        await receive()  # websocket.connect
        self.websockets_opened[scope["path"]] += 1
        subprotocols = scope.get("subprotocols") or None  # Prefect's clients ask for "prefect"
        async with websockets.connect(
            target, additional_headers=headers, subprotocols=subprotocols
        ) as upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

            async def to_upstream() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    await upstream.send(message.get("text") or message.get("bytes") or "")

            async def to_client() -> None:
                async for data in upstream:
                    key = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", key: data})

            tasks = [asyncio.create_task(to_upstream()), asyncio.create_task(to_client())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
        try:
            await send({"type": "websocket.close"})
        except Exception:
            pass

    def start(self) -> FaultProxy:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("proksi tidak siap")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
