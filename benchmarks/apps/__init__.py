"""Web apps bundled for task suites, served on loopback by the benchmark runner.

``APPS`` maps the name a task file lists under ``apps`` to a factory returning an
unstarted server with ``.url`` (trailing slash), ``.start()`` and ``.close()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class AppServer(Protocol):
    @property
    def url(self) -> str: ...

    def start(self) -> AppServer: ...

    def close(self) -> None: ...


def _flights() -> AppServer:
    from benchmarks.apps.flights.server import FlightsServer

    return FlightsServer()


def _miniwob() -> AppServer:
    from benchmarks.miniwob import MiniWobServer

    return MiniWobServer()


APPS: dict[str, Callable[[], AppServer]] = {"flights": _flights, "miniwob": _miniwob}

__all__ = ["APPS", "AppServer"]
