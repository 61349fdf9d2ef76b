"""Run a virtual phone in the foreground, for demos and manual tries.

    python -m tests.support.phone --port 5555 --size 1080x2400 --density 400

It prints the serial and how to point ScreenPilot at it; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone.device import UI_DIR, PhoneSpec, VirtualPhone


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1080x2400, not {text!r}"
        ) from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, not {text!r}")
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.phone",
        description="A virtual Android phone speaking the ADB protocol on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=5555, help="ADB port (0: any free one)")
    parser.add_argument("--size", type=_size, default=(1080, 2400), help="physical WxH")
    parser.add_argument("--density", type=int, default=400, help="dpi (`wm density`)")
    parser.add_argument("--override", type=_size, default=None,
                        help="`wm size` override WxH (the input space)")
    parser.add_argument("--screencap-scale", type=float, default=1.0,
                        help="screencap size = input size × this")
    parser.add_argument("--auth", choices=("accept", "reject"), default="accept",
                        help="answer the USB-debugging prompt, or never answer it")
    parser.add_argument("--no-ime", action="store_true", help="without ADBKeyboard")
    parser.add_argument("--locale", default="en-US")
    parser.add_argument("--ui", type=Path, default=UI_DIR, help="folder with index.html")
    parser.add_argument("--show", action="store_true", help="show the browser window")
    args = parser.parse_args(argv)

    spec = PhoneSpec(
        width=args.size[0], height=args.size[1], density=args.density, override=args.override,
        screencap_scale=args.screencap_scale, auth=args.auth, ime_installed=not args.no_ime,
        locale=args.locale,
    )
    phone = VirtualPhone(spec, browser_args=TEST_BROWSER_ARGS, ui_dir=args.ui, port=args.port,
                         headless=not args.show)
    try:
        phone.start()
    except (OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    w, h = spec.input_size
    print(f"virtual phone {phone.serial}  ({spec.model}, Android {spec.android_version}, "
          f"{w}x{h} @ {spec.density} dpi, auth {spec.auth})")
    print("point ScreenPilot at it:")
    print(f'  screenpilot run "open Settings and turn on airplane mode" --env android '
          f"--device {phone.serial}")
    print("Ctrl-C stops it.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        phone.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
