"""Serve a WSGI application over ASGI with the whole request read before any thread is spent.

Why: a synchronous worker that reads a request itself is held by a client that sends one byte a
minute, so a handful of slow connections stall the API. Here the ASGI server (granian: headers
parsed in Rust under a read timeout) and this bridge's event loop read the body, with a deadline and
a size cap; only a complete request takes a thread from a bounded pool, where the Django WSGI
handler runs exactly as under a WSGI server (WSGI measured faster than Django's ASGI handler here).

Side effects of buffering: a chunked body (no Content-Length) is read like any other and handed on
with its real length; a body over the cap answers 413 and one not finished in time 408, both as
problem+json, before Django sees them.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from boxoffice.common.exceptions import problem_payload

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PROBLEM_CONTENT_TYPE = b"application/problem+json"
Header = tuple[bytes, bytes]


class Shortcut(Protocol):
    """Answers some complete requests on the event loop, without a thread or Django (the
    sold-out gate: `bookings/soldout.py`), and sees every answer Django gives."""

    def answer(self, scope: Scope, body: bytes) -> tuple[int, list[Header], bytes] | None: ...

    def observe(self, scope: Scope, status: int, headers: list[Header], payload: bytes) -> None: ...


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """PEP 3333 environ for an ASGI HTTP scope whose body has been read completely."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        # WSGI carries the path as latin-1 decoded bytes (PEP 3333 "native strings").
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the real length of what was read (a chunked body has none)
        if name == "TRANSFER_ENCODING":
            continue  # the body is no longer chunked when the application reads it
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        if key in environ:
            separator = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = f"{environ[key]}{separator}{value}"
        else:
            environ[key] = value
    return environ


def run_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Call the application in this (pool) thread and collect its whole response."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return chunks.append

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return int(status.split(" ", 1)[0]), encoded, b"".join(chunks)


class BufferedWSGI:
    """ASGI application: read the request (bounded in size and time), then run `app` in a pool."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        threads: int,
        max_body_bytes: int,
        body_timeout: float,
        shortcut: Shortcut | None = None,
    ) -> None:
        self.app = app
        self.shortcut = shortcut
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets
        body = await self._read_request(scope, receive, send)
        if body is None:
            return  # answered with a problem
        shortcut = self.shortcut
        answer = shortcut.answer(scope, body) if shortcut is not None else None
        if answer is None:
            environ = build_environ(scope, body)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self.executor, run_wsgi, self.app, environ)
            if shortcut is not None:
                shortcut.observe(scope, *answer)
        status, headers, payload = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _read_request(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once a problem has answered (too large, too slow, broken)."""
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _respond_problem(
                send, 413, "payload_too_large",
                f"The request body exceeds {self.max_body_bytes} bytes.",
            )  # fmt: skip
            return None
        try:
            # asyncio.timeout, not wait_for: no task of its own per request.
            async with asyncio.timeout(self.body_timeout):
                return await self._read_body(receive)
        except TimeoutError:
            await _respond_problem(
                send, 408, "request_timeout",
                f"The request body was not received within {self.body_timeout:g} s.",
            )  # fmt: skip
        except _TooLarge:
            await _respond_problem(
                send, 413, "payload_too_large",
                f"The request body exceeds {self.max_body_bytes} bytes.",
            )  # fmt: skip
        except (_Disconnected, OSError, RuntimeError):
            # The body ended early or its chunked framing was broken (the server reports both as
            # a disconnect); if anyone is still listening, they get a problem, not a bare 500.
            await _respond_problem(
                send, 400, "bad_request", "The request body is incomplete or malformed."
            )
        return None

    async def _read_body(self, receive: Receive) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _respond_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps(problem_payload(status=status, code=code, detail=detail)).encode()
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except (OSError, RuntimeError):
        pass  # the client is gone
