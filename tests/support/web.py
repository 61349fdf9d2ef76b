"""A tiny HTTP server on 127.0.0.1 for test pages: static strings, a folder, or handlers.

Why: browser tests must load real pages over a real socket (service workers, fetch,
navigation and timing all behave differently for ``file://`` and ``set_content``), and
nothing may leave the machine. A ``ThreadingHTTPServer`` on port 0 in a daemon thread
starts in about a millisecond, so every test can have its own.

Example::

    with serve_pages({"/": "<h1>hi</h1>", "/slow": Response("ok", delay_s=0.3)}) as web:
        page.goto(web.url("/"))
        web.add("/api", lambda req: Response(json.dumps({"q": req.query.get("q")}),
                                             content_type="application/json"))
        assert web.requests[-1].path == "/"

A page value is a ``str`` (served as UTF-8 HTML), ``bytes`` (``application/octet-stream``
unless the path's extension says otherwise), a ``Response``, or a callable
``(Request) -> Response``. Paths are matched without their query string; a folder given
to ``serve_directory`` answers whatever ``pages`` does not.
"""

from __future__ import annotations

import mimetypes
import posixpath
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Request", "Response", "WebServer", "free_port", "serve_directory", "serve_pages"]


def free_port() -> int:
    """A loopback port nothing listens on (free when asked; a test that needs a refused
    connection, or a port to hand to a server it starts, takes it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Request:
    """One request as the server saw it (kept in ``WebServer.requests``)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def form(self) -> dict[str, list[str]]:
        """The body of an ``application/x-www-form-urlencoded`` POST."""
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass(frozen=True)
class Response:
    """What to answer; ``delay_s`` waits before answering (a slow server, on purpose)."""

    body: str | bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay_s: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]
Page = str | bytes | Response | Handler


def _as_response(path: str, page: Page, request: Request) -> Response:
    if isinstance(page, Response):
        return page
    if isinstance(page, str):
        return Response(page)
    if isinstance(page, bytes):
        guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Response(page, content_type=guessed)
    return page(request)


class WebServer:
    """A loopback HTTP server in a background thread; use as a context manager or close()."""

    def __init__(
        self, pages: Mapping[str, Page] | None = None, directory: str | Path | None = None
    ) -> None:
        self._pages: dict[str, Page] = dict(pages or {})
        self._directory = Path(directory).resolve() if directory is not None else None
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        """Every request received, in order (handy to check what a page sent)."""
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def _serve(self) -> None:
                server._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._closed = False

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def add(self, path: str, page: Page) -> str:
        """Serve ``page`` at ``path`` from now on; returns its URL."""
        with self._lock:
            self._pages[path] = page
        return self.url(path)

    def close(self) -> None:
        """Stop serving and free the port. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- request handling (server threads) -----------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path) or "/"
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        request = Request(
            method=h.command,
            path=path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in h.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            page = self._pages.get(path)
        if page is not None:
            response = _as_response(path, page, request)
        else:
            response = self._from_directory(path)
        if response.delay_s > 0:
            time.sleep(response.delay_s)
        payload = response.body.encode() if isinstance(response.body, str) else response.body
        try:
            h.send_response(response.status)
            h.send_header("Content-Type", response.content_type)
            h.send_header("Content-Length", str(len(payload)))
            h.send_header("Cache-Control", "no-store")
            for key, value in response.headers.items():
                h.send_header(key, value)
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser gave up on this request (page closed, navigation)

    def _from_directory(self, path: str) -> Response:
        if self._directory is None:
            return Response("not found", content_type="text/plain", status=404)
        rel = posixpath.normpath(path).lstrip("/")
        target = (self._directory / rel).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self._directory) or not target.is_file():
            return Response("not found", content_type="text/plain", status=404)
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript",):
            content_type += "; charset=utf-8"
        return Response(target.read_bytes(), content_type=content_type)


def serve_pages(pages: Mapping[str, Page] | None = None) -> WebServer:
    """Start a server answering ``pages`` ({"/path": html or Response or handler})."""
    return WebServer(pages)


def serve_directory(path: str | Path, pages: Mapping[str, Page] | None = None) -> WebServer:
    """Start a server for the files under ``path`` (plus ``pages``, which take precedence)."""
    return WebServer(pages, directory=path)
