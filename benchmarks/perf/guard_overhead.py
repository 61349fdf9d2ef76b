"""What safety and the stuck check cost per step, in a real browser, against the step's own
work measured in the same run.

- ``guard.check`` of a click: the DOM element under the point (``BrowserEnv.target_at``,
  one ``page.evaluate``) and the policy's rules; baseline: the click itself
  (``env.execute``, settle included).
- the navigation check: a page load (``page.goto`` + load) with ``guard_navigation`` on
  (every request passes a route) against the same load without it.
- ``screen_change``: comparing the screenshot before and after an action (the after-image
  is the next step's observation, so this comparison is the only extra work); baseline:
  one ``env.observe()``.

    python -m benchmarks.perf.guard_overhead [--rounds 30] [--scale 1]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rich.console import Console
from rich.table import Table

from agent.guard import Guard, Policy
from agent.watch import screen_change
from envs.browser import BrowserConfig, BrowserEnv
from tools.actions import Click, Point

NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
PAGE = """<!doctype html><meta charset=utf-8><title>guard</title>
<style>body{margin:0;font:16px sans-serif} button{position:absolute;left:100px;top:100px;
width:200px;height:60px} .row{padding:4px 8px;border-bottom:1px solid #ddd}</style>
<button id=b onclick="this.textContent = 'Paid ' + (++window.n || (window.n = 1))">Pay now
</button><div style="margin-top:200px">""" + "".join(
    f'<div class=row><a href="/p?{i}">link {i}</a> <input value="{i}"></div>' for i in range(300)
) + "</div>"


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


@contextmanager
def _site() -> Iterator[str]:
    """The page above on a loopback HTTP server; yields its URL."""
    body = PAGE.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body if self.path == "/" else b"<p>other</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def measure(rounds: int, scale: float) -> list[tuple[str, float, float]]:
    rows = []
    config = BrowserConfig(extra_args=[NO_NETWORK], device_scale_factor=scale)
    with _site() as url, BrowserEnv(config) as env:
        env.reset(url)
        guard = Guard(Policy(allowed_domains=("127.0.0.1",)), confirm=lambda *_: True)
        click = Click(point=Point(x=200 / 1280, y=130 / 800))
        env.observe()
        check = _median_ms(lambda: guard.check(click, env), rounds)
        act = _median_ms(lambda: env.execute(click), rounds)
        rows.append(("guard.check(click) vs the click", check, act))

        check_url = Policy(allowed_domains=("127.0.0.1",)).domain_problem
        loads: dict[bool, list[float]] = {True: [], False: []}
        for i in range(2 * rounds):  # alternate, so that neither side gets a warmer cache
            guarded = i % 2 == 1
            env.guard_navigation(check_url if guarded else None)
            t = time.perf_counter()
            env.page.goto(url, wait_until="load")
            loads[guarded].append(time.perf_counter() - t)
        env.guard_navigation(None)
        rows.append(("page load with the navigation check vs without",
                     statistics.median(loads[True]) * 1000,
                     statistics.median(loads[False]) * 1000))

        before = env.observe()
        env.execute(click)
        after = env.observe()
        compare = _median_ms(
            lambda: screen_change(before.screenshot, after.screenshot, click.point, scale),
            rounds)
        observe = _median_ms(env.observe, rounds)
        rows.append(("screen_change vs one observe()", compare, observe))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    rows = measure(args.rounds, args.scale)
    table = Table(title=f"guard and stuck-check overhead, 1280x800 at {args.scale:g}x "
                        f"(medians of {args.rounds}, ms)")
    for name in ("what", "ms", "baseline ms", "ratio"):
        table.add_column(name, justify="left" if name == "what" else "right")
    for what, value, base in rows:
        table.add_row(what, f"{value:.2f}", f"{base:.2f}", f"{value / base:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()


__all__ = ["measure"]
