"""Fixtures of the agent tests that drive a phone: one virtual phone per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import PhoneSpec, VirtualPhone


@pytest.fixture(scope="module")
def adb_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the ADB key is made once (never the user's ~/.android)."""
    return tmp_path_factory.mktemp("android-home")


@pytest.fixture(scope="module")
def vp() -> Iterator[VirtualPhone]:
    with VirtualPhone(PhoneSpec(), browser_args=TEST_BROWSER_ARGS) as phone:
        yield phone
