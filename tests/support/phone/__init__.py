"""A virtual Android phone for tests: the real ADB wire protocol on 127.0.0.1, a mini
``/system/bin/sh`` with Android's commands, and apps rendered in headless Chromium.

    from tests.support.phone import VirtualPhone, PhoneSpec
    with VirtualPhone(PhoneSpec(), browser_args=TEST_BROWSER_ARGS) as vp:
        ...  # AdbDeviceTcp(vp.host, vp.port) talks to it like to a phone

``python -m tests.support.phone`` runs one in the foreground for demos.
"""

from tests.support.phone.adb_server import AdbPublicKey, AdbServer
from tests.support.phone.device import UI_DIR, PhoneSpec, VirtualPhone
from tests.support.phone.shell import MiniShell, ShellBackend, ShellResult

__all__ = [
    "UI_DIR",
    "AdbPublicKey",
    "AdbServer",
    "MiniShell",
    "PhoneSpec",
    "ShellBackend",
    "ShellResult",
    "VirtualPhone",
]
