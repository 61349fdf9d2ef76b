"""Fixtures of the agent tests: the e2e page in a browser, and a virtual phone, each one per
test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.browser import BrowserConfig, BrowserEnv
from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import PhoneSpec, VirtualPhone
from tests.support.web import serve_directory

PAGES = Path(__file__).with_name("pages")


@pytest.fixture(scope="module")
def adb_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the ADB key is made once (never the user's ~/.android)."""
    return tmp_path_factory.mktemp("android-home")


@pytest.fixture(scope="module")
def vp() -> Iterator[VirtualPhone]:
    with VirtualPhone(PhoneSpec(), browser_args=TEST_BROWSER_ARGS) as phone:
        yield phone


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    """A headless Chromium on pages/e2e.html (a module may define its own ``env``)."""
    with serve_directory(PAGES) as web, BrowserEnv(
        BrowserConfig(extra_args=list(TEST_BROWSER_ARGS), start_url=web.url("/e2e.html"))
    ) as browser:
        yield browser
