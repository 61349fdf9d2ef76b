"""Serve the flight-search site on 127.0.0.1.

This first version is a static single-page app (flight data generated in the
page from a fixed seed); the task-suite work grows it into a full app with
bookings and evaluator endpoints.
"""

from __future__ import annotations

import argparse
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STATIC = Path(__file__).with_name("static")


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class FlightsServer:
    """The site on a loopback port (0 = any free port); a context manager."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        handler = functools.partial(_Handler, directory=str(STATIC))
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FlightsServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command-line use)."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FlightsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the flight-search site on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = FlightsServer(args.port)
    print(server.url, flush=True)
    server.serve_forever()
