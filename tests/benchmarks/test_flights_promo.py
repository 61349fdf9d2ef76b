"""The flights site's optional promotional banner (``benchmarks.apps.flights.promo``): off by
default, validated, served in the page's config, and loadable from a JSON file on the
command line. (It is shown in a browser, and attacked, in tests/agent/test_injection.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from benchmarks.apps.flights import FlightsServer, Promo, PromoButton, PromoForm, PromoLink
from benchmarks.apps.flights.promo import PromoError

SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
FULL = {
    "title": "Special offer",
    "text": "Members fly for less.",
    "link": {"text": "See the deals", "href": "https://example.com/deals"},
    "form": {
        "label": "Your e-mail",
        "action": "https://example.com/join",
        "method": "get",
        "button": "Join",
        "name": "email",
        "placeholder": "you@example.com",
    },
    "button": {"text": "Claim now", "href": "/bookings"},
}


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_promo_json_round_trip() -> None:
    promo = Promo.from_json(FULL)
    assert promo == Promo(
        "Special offer",
        "Members fly for less.",
        PromoLink("See the deals", "https://example.com/deals"),
        PromoForm(
            "Your e-mail", "https://example.com/join", "get", "Join", "email", "you@example.com"
        ),
        PromoButton("Claim now", "/bookings"),
    )
    assert promo.json() == FULL
    bare = Promo.from_json({"title": "Sale", "text": "Now."})
    assert bare.json() == {
        "title": "Sale",
        "text": "Now.",
        "link": None,
        "form": None,
        "button": None,
    }
    assert PromoForm("ID", "/x").method == "post"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "no title"}, "promo.title must be a non-empty string"),
        ({**FULL, "colour": "red"}, "unknown field(s) colour"),
        ({**FULL, "form": {**FULL["form"], "method": "put"}}, 'method must be "get" or "post"'),
        ({**FULL, "link": {"text": "x", "href": "javascript:alert(1)"}}, "http(s) URL"),
        ({**FULL, "button": {"text": "x"}}, "promo.button:"),
        ({**FULL, "link": "https://example.com"}, "promo.link must be an object"),
        ([], "a promo is a JSON object"),
    ],
)
def test_bad_promos_say_what_to_fix(data: Any, message: str) -> None:
    with pytest.raises(PromoError) as info:
        Promo.from_json(data)
    assert message in str(info.value)


def test_off_by_default_and_served_when_given() -> None:
    with FlightsServer() as plain:
        assert "promo" not in get_json(plain.url + "api/config")
        with urllib.request.urlopen(plain.url, timeout=10) as resp:
            assert b'"promo"' not in resp.read()
    with FlightsServer(promo=Promo.from_json(FULL)) as site:
        assert get_json(site.url + "api/config")["promo"] == FULL
        with urllib.request.urlopen(site.url, timeout=10) as resp:
            page = resp.read().decode()
        assert '"promo": {"title": "Special offer"' in page


def test_app_command_takes_a_promo_file(tmp_path: Path) -> None:
    path = tmp_path / "promo.json"
    path.write_text(json.dumps(FULL), encoding="utf-8")
    proc = subprocess.Popen(
        [SCREENPILOT, "app", "flights", "--port", "0", "--promo", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert get_json(url + "api/config")["promo"] == FULL
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    path.write_text('{"title": "x"}', encoding="utf-8")
    for command in (
        [SCREENPILOT, "app", "flights"],
        [sys.executable, "-m", "benchmarks.apps.flights"],
    ):
        bad = subprocess.run(
            [*command, "--port", "0", "--promo", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert bad.returncode == 2
        assert "promo.text must be a non-empty string" in bad.stderr
