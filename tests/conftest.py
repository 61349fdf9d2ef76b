"""Fixtures shared by every test package. Keep this small; add package fixtures beside them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.web import WebServer, serve_pages

# Chromium resolves Google hosts at start even with its background traffic off; tests
# must send nothing off the machine, so every browser a test starts gets this rule.
TEST_BROWSER_ARGS: tuple[str, ...] = ("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",)


@pytest.fixture(scope="session")
def test_browser_args() -> list[str]:
    """Chromium flags every browser started by a test must carry."""
    return list(TEST_BROWSER_ARGS)


@pytest.fixture
def web() -> Iterator[WebServer]:
    """An empty loopback HTTP server; add pages with ``web.add(path, html)``."""
    with serve_pages() as server:
        yield server
