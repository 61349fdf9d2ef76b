"""Serve the flight-search site (pages + JSON API) on loopback.

Stdlib only: ``ThreadingHTTPServer``, SQLite for bookings and the UI language, and the
pure schedule of ``data.py``. Every GET path outside ``/api/`` and ``/static/`` answers
the single page (``index.html`` with the site's config inlined), which routes with the
history API. Malformed requests get a 400 with a JSON ``error`` (or ``errors`` per field
for a booking); nothing a client sends can stop the server.

    python -m benchmarks.apps.flights --port 8765 [--seed 7] [--today 2026-11-25]
        [--promo FILE.json]
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from benchmarks.apps.flights.booking import MAX_PASSENGERS, validate_booking
from benchmarks.apps.flights.data import (
    AIRLINES,
    AIRLINES_BY_CODE,
    AIRPORTS,
    AIRPORTS_BY_CODE,
    CABINS,
    DEFAULT_SEED,
    DEFAULT_TODAY,
    SORTS,
    TIMES_OF_DAY,
    cabin_price,
    date_window,
    flight_by_id,
    flight_json,
    flights_for,
    parse_date,
    same_city,
    search,
)
from benchmarks.apps.flights.promo import Promo, PromoError
from benchmarks.apps.flights.store import LANGUAGES, Store

__all__ = ["FlightsServer", "main"]

STATIC = Path(__file__).with_name("static")
MAX_BODY = 64 * 1024
# The logo, also the tab icon (inline: the site must not need any file beyond the
# package's html/js/css).
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#1d4ed8"/>'
    '<path d="M6 18.5l7.5-2.2L19 7.5c.6-1 2-1 2.3.2l-2.3 7.2 5.2-1.5c1.3-.4 2.4.9 1.7 2.1'
    '-.3.5-.8.9-1.4 1L8 20.8z" fill="#fff"/>'
    '<rect x="7" y="23" width="18" height="2" rx="1" fill="#fff"/></svg>'
)
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


class ApiError(Exception):
    """A client error: answered as ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- the application (no HTTP in here) -----------------------------------------------------


class FlightsApp:
    """What the API does, given parsed input; the handler only translates HTTP."""

    def __init__(self, store: Store, seed: int, today: str, promo: Promo | None = None) -> None:
        self.store = store
        self.seed = seed
        self.today = today
        self.promo = promo
        first, last = date_window(today)
        self.first_date, self.last_date = first.isoformat(), last.isoformat()

    def config(self) -> dict[str, Any]:
        """What the page needs before its first render (inlined into index.html)."""
        return {
            "today": self.today,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "seed": self.seed,
            "language": self.store.language(),
            "airports": [a.json() for a in AIRPORTS],
            "airlines": [a.json() for a in AIRLINES],
            "cabins": list(CABINS),
            "max_passengers": MAX_PASSENGERS,
            **({"promo": self.promo.json()} if self.promo is not None else {}),
        }

    def state(self) -> dict[str, Any]:
        return {
            "bookings": self.store.bookings(),
            "ui": {"language": self.store.language()},
            "today": self.today,
            "last_date": self.last_date,
            "seed": self.seed,
        }

    def flights(self, query: dict[str, str]) -> dict[str, Any]:
        origin = _required(query, "from").upper()
        dest = _required(query, "to").upper()
        day = _required(query, "date")
        try:
            iso = parse_date(day).isoformat()
        except ValueError:
            raise ApiError(400, f"date must be a real date as YYYY-MM-DD, got {day!r}") from None
        cabin = _choice(query, "cabin", CABINS, "economy")
        sort = _choice(query, "sort", SORTS, "price")
        nonstop = _flag(query, "nonstop")
        airlines = _codes(query, "airline", AIRLINES_BY_CODE, upper=True)
        times = _codes(query, "time", TIMES_OF_DAY, upper=False)
        min_price = _price(query, "min_price")
        max_price = _price(query, "max_price")

        answer: dict[str, Any] = {
            "from": origin,
            "to": dest,
            "date": iso,
            "cabin": cabin,
            "sort": sort,
        }
        message = None
        for code in (origin, dest):
            if code not in AIRPORTS_BY_CODE:
                message = f"unknown airport: {code} (no flights to or from it)"
                break
        else:
            if same_city(origin, dest):
                message = "no flights between airports of the same city"
            elif not self.first_date <= iso <= self.last_date:
                message = f"flights exist from {self.first_date} to {self.last_date} only"
        every = [] if message else flights_for(origin, dest, iso, self.seed, self.today)
        found = search(
            every,
            cabin=cabin,
            sort=sort,
            nonstop=nonstop,
            airlines=airlines,
            times=times,
            min_price=min_price,
            max_price=max_price,
        )
        facets = []
        for airline in AIRLINES:
            prices = [cabin_price(f.price, cabin) for f in every if f.airline == airline.code]
            if prices:
                facets.append({**airline.json(), "min_price": min(prices)})
        answer.update(
            flights=[flight_json(f, cabin) for f in found],
            count=len(found),
            total=len(every),
            airline_facets=facets,
        )
        if message:
            answer["message"] = message
        return answer

    def flight(self, flight_id: str, query: dict[str, str]) -> dict[str, Any]:
        cabin = _choice(query, "cabin", CABINS, "economy")
        flight = flight_by_id(flight_id, self.seed, self.today)
        if flight is None:
            raise ApiError(404, f"no flight with id {flight_id!r}")
        return flight_json(flight, cabin)

    def book(self, payload: Any) -> tuple[int, dict[str, Any]]:
        language = payload.get("language") if isinstance(payload, dict) else None
        if language not in LANGUAGES:
            language = self.store.language()
        request, errors = validate_booking(
            payload, seed=self.seed, today=self.today, language=language
        )
        if request is None:
            return 400, {"errors": errors}
        created_at = f"{self.today}T{time.strftime('%H:%M:%S')}"
        return 201, self.store.add(request, created_at)

    def booking(self, reference: str) -> dict[str, Any]:
        booking = self.store.booking(reference.upper())
        if booking is None:
            raise ApiError(404, f"no booking with reference {reference!r}")
        return booking

    def cancel(self, reference: str) -> dict[str, Any]:
        booking = self.store.cancel(reference.upper())
        if booking is None:
            raise ApiError(404, f"no booking with reference {reference!r}")
        return booking

    def set_ui(self, payload: Any) -> dict[str, Any]:
        language = payload.get("language") if isinstance(payload, dict) else None
        if language not in LANGUAGES:
            raise ApiError(400, 'body must be {"language": "en"} or {"language": "zh"}')
        self.store.set_language(language)
        return {"ok": True, "ui": {"language": language}}


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name, "").strip()
    if not value:
        raise ApiError(400, f"missing query parameter: {name}")
    return value


def _choice(query: dict[str, str], name: str, allowed: Any, default: str) -> str:
    value = query.get(name, "").strip() or default
    if value not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "").strip().lower()
    if value in ("", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ApiError(400, f"{name} must be 1 or 0, got {value!r}")


def _codes(query: dict[str, str], name: str, allowed: Any, *, upper: bool) -> list[str]:
    codes = [c.strip() for c in query.get(name, "").split(",") if c.strip()]
    codes = [c.upper() if upper else c.lower() for c in codes]
    bad = [c for c in codes if c not in allowed]
    if bad:
        raise ApiError(400, f"{name}: unknown {', '.join(bad)} (known: {', '.join(allowed)})")
    return codes


def _price(query: dict[str, str], name: str) -> int | None:
    value = query.get(name, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{1,7}", value):
        raise ApiError(400, f"{name} must be a whole number of yuan, got {value!r}")
    return int(value)


# --- HTTP ------------------------------------------------------------------------------------


Route = tuple[str, re.Pattern[str], Callable[..., Any]]


def _all(items: tuple[Any, ...]) -> list[dict[str, str]]:
    return [item.json() for item in items]


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "SkyFinder/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- answering -------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "bad Content-Length") from None
        if length > MAX_BODY:
            raise ApiError(413, f"body too large (at most {MAX_BODY} bytes)")
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "body is not valid JSON") from None

    # -- routing -----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        app = self.server.app
        return [
            ("GET", re.compile(r"/api/airports"), lambda q: {"airports": _all(AIRPORTS)}),
            ("GET", re.compile(r"/api/airlines"), lambda q: {"airlines": _all(AIRLINES)}),
            ("GET", re.compile(r"/api/config"), lambda q: app.config()),
            ("GET", re.compile(r"/api/flights"), app.flights),
            ("GET", re.compile(r"/api/flights/([^/]+)"), lambda q, i: app.flight(i, q)),
            ("GET", re.compile(r"/api/bookings"), lambda q: {"bookings": app.store.bookings()}),
            ("POST", re.compile(r"/api/bookings"), lambda q: app.book(self._body())),
            ("GET", re.compile(r"/api/bookings/([^/]+)"), lambda q, r: app.booking(r)),
            ("POST", re.compile(r"/api/bookings/([^/]+)/cancel"), lambda q, r: app.cancel(r)),
            ("GET", re.compile(r"/api/state"), lambda q: app.state()),
            ("POST", re.compile(r"/api/reset"), lambda q: (app.store.reset(), {"ok": True})[1]),
            ("POST", re.compile(r"/api/ui"), lambda q: app.set_ui(self._body())),
        ]

    def _api(self, path: str, query: dict[str, str]) -> None:
        allowed = []
        for method, pattern, handler in self._routes():
            match = pattern.fullmatch(path)
            if not match:
                continue
            if method != self.command and not (method == "GET" and self.command == "HEAD"):
                allowed.append(method)
                continue
            result = handler(query, *(unquote(g) for g in match.groups()))
            status, value = result if isinstance(result, tuple) else (200, result)
            self._json(status, value)
            return
        if allowed:
            raise ApiError(405, f"{self.command} not allowed here; use {', '.join(allowed)}")
        raise ApiError(404, f"no API endpoint {path}")

    def _static(self, name: str) -> None:
        target = (STATIC / name).resolve()
        if STATIC.resolve() not in target.parents or not target.is_file():
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        content_type = _CONTENT_TYPES.get(target.suffix) or (
            mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        self._send(200, target.read_bytes(), content_type)

    def _page(self) -> None:
        config = self.server.app.config()
        inline = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        html = html.replace("<!--CONFIG-->", f"<script>window.FLIGHTS_CONFIG = {inline};</script>")
        lang = "zh-CN" if config["language"] == "zh" else "en"
        html = html.replace('<html lang="en">', f'<html lang="{lang}">', 1)
        self._send(200, html.encode("utf-8"), _CONTENT_TYPES[".html"])

    def _dispatch(self) -> None:
        try:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if path.startswith("/api/") or path == "/api":
                pairs = parse_qs(parts.query, keep_blank_values=True)
                self._api(path.rstrip("/") or "/", {k: v[0] for k, v in pairs.items()})
            elif self.command not in ("GET", "HEAD"):
                raise ApiError(405, f"{self.command} is only for /api/ paths")
            elif path.startswith("/static/"):
                self._static(path.removeprefix("/static/"))
            elif path == "/favicon.ico":
                self._send(200, FAVICON.encode(), _CONTENT_TYPES[".svg"])
            else:
                self._page()
        except ApiError as exc:
            self._json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug: answer 500 and keep serving
            traceback.print_exc(file=sys.stderr)
            with suppress(OSError):
                self._json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    do_GET = do_HEAD = do_POST = _dispatch

    def do_PUT(self) -> None:
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "PUT is not supported"})

    do_DELETE = do_PATCH = do_PUT


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: FlightsApp


# --- the server object -----------------------------------------------------------------------


class FlightsServer:
    """The site on ``host:port`` (0 = any free port). A context manager.

    ``db_path=None`` keeps the state in a private temporary SQLite file removed at close;
    a path keeps it there (created when missing) across restarts. ``promo`` shows a
    promotional banner on the home and results pages (``promo.py``; none by default).
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        seed: int = DEFAULT_SEED,
        today: str = DEFAULT_TODAY,
        db_path: str | os.PathLike[str] | None = None,
        promo: Promo | None = None,
    ) -> None:
        today = parse_date(today).isoformat()
        self._temp_db: Path | None = None
        if db_path is None:
            fd, name = tempfile.mkstemp(prefix="flights-", suffix=".sqlite3")
            os.close(fd)
            self._temp_db = Path(name)
            db_path = name
        self.seed = seed
        self.today = today
        self._store = Store(db_path, seed)
        self.app = FlightsApp(self._store, seed, today, promo)
        try:
            self._httpd = _HTTPServer((host, port), _Handler)
        except OSError:
            self._release()
            raise
        self._httpd.app = self.app
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FlightsServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="flights-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command-line use)."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop serving and drop a temporary database. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self._release()

    def _release(self) -> None:
        self._store.close()
        if self._temp_db is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self._temp_db}{suffix}").unlink(missing_ok=True)

    def __enter__(self) -> FlightsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the flight-search site on loopback.")
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--today", default=DEFAULT_TODAY, help="the site's fixed date")
    parser.add_argument("--db", default=None, help="SQLite file to keep bookings in")
    parser.add_argument(
        "--promo",
        default=None,
        metavar="FILE.json",
        help="show this promotional banner (see benchmarks/apps/flights/promo.py)",
    )
    args = parser.parse_args(argv)
    try:
        promo = Promo.load(args.promo) if args.promo else None
    except PromoError as exc:
        parser.error(str(exc))
    server = FlightsServer(args.port, args.host, args.seed, args.today, args.db, promo=promo)
    # "Serve until killed": SIGTERM unwinds like Ctrl-C, so the temporary database goes too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(server.url, flush=True)
    server.serve_forever()
