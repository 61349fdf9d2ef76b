"""Fixtures shared by every test package. Keep this small; add package fixtures beside them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen3-VL checkpoint folder, written through the public helper."""
    from model.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen3-vl"), family="qwen3-vl")


@pytest.fixture(scope="session")
def tiny_qwen25(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL checkpoint folder (patch 14: factor 28, absolute pixels)."""
    from model.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen2.5-vl"), family="qwen2.5-vl")
