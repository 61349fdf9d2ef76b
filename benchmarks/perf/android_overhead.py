"""Per-step time of everything except the model on the Android env, against the virtual
test phone (``tests.support.phone``: the real ADB protocol over loopback, apps in headless
Chromium).

Medians over ``--repeats`` of: connecting (TCP + RSA AUTH with a key the phone already
allows), one shell round trip (``echo``: the protocol's floor), ``screencap -p`` over
``exec:``, ``observe`` (screencap + PNG decode + geometry + the focused app as title),
the focused app alone (``dumpsys window windows | grep``), ``ui_nodes`` (``uiautomator
dump`` + ``cat`` + parse), a tap, 20 ASCII characters (``input text``) and 10 CJK
characters (ADBKeyboard: ``ime set``, broadcast, ``ime set`` back), each with its execute
and settle time. The settle of an action includes ``settle_quiet_ms`` (200 ms by default)
of an unchanged screen and takes at least one screencap: on this phone a screencap is
mostly the page screenshot, so the row "ref: the phone's own screenshot" (no ADB) says how
much of a screencap is the phone's and how much the protocol's. Typing goes into the
Contacts editor's name field.

A real phone differs in the screencap (its own PNG encoder) and in each ``input``/``am``
command, which starts a Java VM on the phone; no real phone was reachable where these
figures were taken, so those costs are not measured here. The protocol and env figures
are the part ScreenPilot adds.

    python -m benchmarks.perf.android_overhead [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from envs.android import AndroidConfig, AndroidEnv, find_nodes
from envs.base import ActionResult
from tools.actions import Action, Click, OpenApp, Point, TypeText

SPECS = {
    "1080x2400": {"width": 1080, "height": 2400, "density": 400},
    "1080x2400, screencap 1/2": {"width": 1080, "height": 2400, "density": 400,
                                 "screencap_scale": 0.5},
}
ASCII_20 = "The quick brown fox!"
CJK_BASE = 0x4E00


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _timed(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return _ms(runs)


def measure(spec_args: dict[str, float], repeats: int, key_path: Path) -> dict[str, float]:
    from tests.conftest import TEST_BROWSER_ARGS
    from tests.support.phone import PhoneSpec, VirtualPhone

    out: dict[str, float] = {}
    with VirtualPhone(PhoneSpec(**spec_args), browser_args=TEST_BROWSER_ARGS) as phone:
        config = AndroidConfig(device=phone.serial, key_path=key_path)
        AndroidEnv(config).close()  # the phone allows the key once, as a user would

        def connect() -> None:
            AndroidEnv(config).close()

        out["connect (TCP + AUTH)"] = _timed(connect, repeats)
        with AndroidEnv(config) as env:
            env.reset()
            out["shell round trip (echo)"] = _timed(lambda: env.shell("echo x"), repeats)
            out["ref: the phone's own screenshot (no ADB)"] = _timed(phone.screencap, repeats)
            out["screencap -p over exec:"] = _timed(
                lambda: env._link.exec_bytes("screencap -p", repeat_safe=True), repeats)
            out["observe (screencap, decode, title)"] = _timed(env.observe, repeats)
            out["focused app (dumpsys window)"] = _timed(env.focused_app, repeats)
            out["ui_nodes (uiautomator dump)"] = _timed(env.ui_nodes, repeats)

            def action(name: str, make: Callable[[int], Action]) -> None:
                results: list[ActionResult] = []
                for i in range(repeats):
                    env.observe()
                    results.append(env.execute(make(i)))
                assert all(r.status == "ok" for r in results), results[0].message
                out[f"{name}: execute"] = _ms([r.execute_s for r in results])
                out[f"{name}: settle"] = _ms([r.settle_s for r in results])
                out[f"{name}: total"] = _ms([r.execute_s + r.settle_s for r in results])
                out[f"{name}: unsettled"] = sum(not r.settled for r in results)

            action("tap (empty launcher spot)", lambda i: Click(point=Point(x=0.5, y=0.55)))

            env.execute(OpenApp(name="Contacts"))
            fab = find_nodes(env.ui_nodes(),
                             resource_id="com.android.contacts:id/floating_action_button")
            if not fab:
                raise SystemExit("the virtual phone's Contacts shows no add button")
            geo = env.observe().geometry
            env.execute(Click(point=geo.to_fraction(*fab[0].center)))
            action("type 20 ASCII", lambda i: TypeText(text=ASCII_20))
            action("type 10 CJK (ADBKeyboard)", lambda i: TypeText(
                text="".join(chr(CJK_BASE + 10 * i + k) for k in range(10))))
    return out


def nagle_reference(repeats: int, key_path: Path) -> dict[str, float]:
    """One ``echo`` round trip with adb-shell's own TCP transport and with the env's, against
    the phone's ADB server answering like adbd (no quick ACK): what TCP_NODELAY saves."""
    from adb_shell.adb_device import AdbDeviceTcp
    from adb_shell.auth.sign_cryptography import CryptographySigner

    import tests.support.phone.adb_server as server_module

    saved, server_module._QUICKACK = server_module._QUICKACK, None
    server = server_module.AdbServer(lambda service, command: b"x\n").start()
    try:
        with AndroidEnv(AndroidConfig(device=server.serial, key_path=key_path)) as env:
            ours = _timed(lambda: env.shell("echo x"), repeats)
        stock = AdbDeviceTcp(server.host, server.port, default_transport_timeout_s=10)
        stock.connect(rsa_keys=[CryptographySigner(str(key_path))], auth_timeout_s=10)
        theirs = _timed(lambda: stock.shell("echo x"), repeats)
        stock.close()
    finally:
        server.stop()
        server_module._QUICKACK = saved
    return {"echo, adb-shell's TCP transport": theirs, "echo, the env's (TCP_NODELAY)": ours}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "adbkey"
        for label, spec in SPECS.items():
            console.print(f"measuring {label}, {args.repeats} repeats…")
            results[label] = measure(spec, args.repeats, key)
    table = Table(title="android env on the virtual phone: time outside the model "
                  "(median ms; unsettled = count)")
    table.add_column("phase")
    for column in results:
        table.add_column(column, justify="right")
    for key_name in next(iter(results.values())):
        cells = ["" if key_name not in r else f"{r[key_name]:.0f}"
                 if key_name.endswith("unsettled") else f"{r[key_name]:.1f}"
                 for r in results.values()]
        table.add_row(key_name, *cells)
    console.print(table)
    with tempfile.TemporaryDirectory() as tmp:
        nagle = nagle_reference(args.repeats, Path(tmp) / "adbkey")
    ref = Table(title="ref: one shell round trip against a device side that ACKs like adbd "
                "(median ms)")
    ref.add_column("client")
    ref.add_column("ms", justify="right")
    for name, value in nagle.items():
        ref.add_row(name, f"{value:.2f}")
    console.print(ref)


if __name__ == "__main__":
    main()
