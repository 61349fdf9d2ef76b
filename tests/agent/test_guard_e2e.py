"""The guard through `screenpilot run`: a scripted model clicks a real "Delete account"
button in a real Chromium; the page reports every click to the test's server.

Without a terminal (the tests' stdin is /dev/null, like --yes) the default policy's "ask"
is a refusal; a policy file that allows risky targets lets the click through.
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.trajectory import RunResult, read_steps
from tests.agent.test_run_e2e import only_run_dir, run_cli
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import Response, serve_pages

PAGE = """<!doctype html><meta charset="utf-8"><title>account</title>
<style>body { margin: 0; font: 18px sans-serif; }
#delete { position: absolute; left: 100px; top: 100px; width: 240px; height: 60px; }</style>
<button id="delete" onclick="fetch('/clicked', {method: 'POST'})">Delete account</button>
"""
BUTTON = oracle.to_grid((220, 130), (1280, 800))


def script() -> list[str]:
    return [oracle.reply("Delete the account.", {"action": "left_click", "coordinate": BUTTON}),
            oracle.reply("Done.", {"action": "terminate", "status": "success"})]


def clicks(web) -> int:  # type: ignore[no-untyped-def]
    return sum(r.path == "/clicked" for r in web.requests)


def test_an_unattended_run_refuses_a_risky_click_and_tells_the_model(tmp_path: Path) -> None:
    with serve_pages({"/": PAGE, "/clicked": Response(status=204)}) as web, \
            ScriptedModel(script()) as model:
        proc = run_cli("Delete my account.", "--url", web.url("/"), "--base-url",
                       model.base_url, "--model", model.model, "--out", str(tmp_path),
                       "--yes", "--allow-domain", "127.0.0.1")
        second = " ".join(p.get("text", "") for p in model.requests[1]["messages"][-1]["content"])
        assert clicks(web) == 0  # the button was never pressed
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run_dir(tmp_path)
    (action,) = read_steps(run_dir)[0].actions
    assert action.status == "refused" and action.guard is not None
    assert action.guard.rule == "risky_target" and action.guard.decided_by == "unattended"
    assert "'Delete account'" in action.guard.reason and "delete" in action.guard.reason
    assert action.guard.target is not None and action.guard.target.role == "button"
    assert "the safety guard refused it" in second and "Delete account" in second
    result = RunResult.model_validate_json((run_dir / "result.json").read_text())
    assert result.refusals == 1
    policy = json.loads((run_dir / "run.json").read_text())["settings"]["policy"]
    assert policy["allowed_domains"] == ["127.0.0.1"] and policy["risky_targets"] == "ask"


def test_a_policy_file_that_allows_risky_targets_lets_the_click_through(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("risky_targets: allow\n")
    with serve_pages({"/": PAGE, "/clicked": Response(status=204)}) as web, \
            ScriptedModel(script()) as model:
        proc = run_cli("Delete my account.", "--url", web.url("/"), "--base-url",
                       model.base_url, "--model", model.model, "--out", str(tmp_path / "runs"),
                       "--policy", str(policy))
        assert clicks(web) == 1
    assert proc.returncode == 0, proc.stderr
    (action,) = read_steps(only_run_dir(tmp_path / "runs"))[0].actions
    assert action.status == "ok" and action.guard is not None and action.guard.verdict == "allow"


def test_a_bad_policy_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("risky_targets = 'sometimes'\n")
    proc = run_cli("Anything.", "--url", "http://127.0.0.1:9/", "--base-url",
                   "http://127.0.0.1:9/v1", "--policy", str(bad), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "risky_targets: Input should be 'allow', 'ask' or 'refuse'" in proc.stderr
    assert "Traceback" not in proc.stderr
