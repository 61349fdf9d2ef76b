"""Secrets: the model only sees ``{{NAME}}``, the env types the value, and no file a run
writes (trajectory, results, logs, the HTML view) nor anything it prints holds the value.

The end-to-end tests drive a real Chromium on a loopback page whose form is sent with
GET, so the value lands in the page's URL, which the trajectory records; then every file
under the run folder is searched, byte by byte, for the value and its encodings.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from agent.secrets import ENV_PREFIX, PLACEHOLDER, SecretError, Secrets
from agent.trajectory import RunMeta, RunResult, TrajectoryRecorder, read_steps
from benchmarks.cli import main
from model.protocol import secrets_note
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import Response, WebServer, serve_pages
from tools.actions import Answer, Click, Point, TypeText

SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
CORE = "Kq7Zr9Wm"
"""An alphanumeric run that every encoding of VALUE keeps as is: found anywhere = a leak."""
VALUE = f'{CORE} "ü&<x>"~*+/ 42'
"""The secret: a quote, non-ASCII, HTML and URL specials, a space, so that every form
differs (JSON-escaped, percent-encoded, form-encoded, HTML-escaped)."""
NAME = "PASSENGER_ID"


# --- unit ---------------------------------------------------------------------------------


def test_from_specs_reads_the_three_sources_and_a_spec_wins() -> None:
    environ = {"PIN_CODE": "2468", f"{ENV_PREFIX}TOKEN": "tok-from-env",
               f"{ENV_PREFIX}USER": "env-user", f"{ENV_PREFIX}ONLY_PREFIXED": "pre",
               "UNRELATED": "x"}
    secrets = Secrets.from_specs(["USER=cli-user", "PIN_CODE", "ONLY_PREFIXED"], environ)
    assert secrets.names == ["ONLY_PREFIXED", "PIN_CODE", "TOKEN", "USER"]
    assert secrets.fill("{{USER}}/{{PIN_CODE}}/{{TOKEN}}/{{ONLY_PREFIXED}}") == \
        "cli-user/2468/tok-from-env/pre"  # the spec won over SCREENPILOT_SECRET_USER
    assert secrets.value("USER") == "cli-user"
    # a value may hold "=" and spaces: only the first "=" splits
    assert Secrets.from_specs(["K=a=b c"], {}).fill("{{K}}") == "a=b c"
    assert not Secrets.from_specs([], {}) and Secrets.from_specs([], {}).names == []


@pytest.mark.parametrize(("specs", "environ", "said"), [
    (["MISSING"], {}, "$MISSING is not set"),
    (["EMPTY="], {}, "has no value"),
    (["1BAD=x"], {}, "letters, digits and _"),
    (["bad-name=x"], {}, "letters, digits and _"),
    (["A=x", "A=y"], {}, "given twice"),
    ([], {f"{ENV_PREFIX}EMPTY": ""}, f"{ENV_PREFIX}EMPTY is empty"),
    ([], {f"{ENV_PREFIX}A-B": "x"}, "does not name a secret"),
])
def test_from_specs_errors_say_what_to_do(specs: list[str], environ: dict[str, str],
                                          said: str) -> None:
    with pytest.raises(SecretError) as info:
        Secrets.from_specs(specs, environ)
    assert said in str(info.value)
    assert isinstance(info.value, ValueError)


def test_from_specs_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}FROM_OS", "os-value")
    assert "FROM_OS" in Secrets.from_specs([]).names


def test_constructor_validates_names_and_values() -> None:
    with pytest.raises(SecretError, match="not a secret name"):
        Secrets({"has space": "v"})
    with pytest.raises(SecretError, match="empty"):
        Secrets({"A": ""})


def test_fill_and_unknown() -> None:
    secrets = Secrets({"A": "alpha", "B": "beta"})
    assert secrets.placeholder("A") == "{{A}}"
    assert PLACEHOLDER.findall("{{A}} {{ B }} {{_x1}} {{1x}}") == ["A", "_x1"]
    assert secrets.fill("user {{A}}, pass {{B}}; {{A}} again") == \
        "user alpha, pass beta; alpha again"
    assert secrets.fill("no placeholders {x}") == "no placeholders {x}"
    assert secrets.unknown("{{A}} {{X}} {{Y}} {{X}}") == ["X", "Y"]
    with pytest.raises(SecretError) as info:
        secrets.fill("{{A}} and {{X}}")
    assert str(info.value) == "{{X}} is not a secret; known: {{A}}, {{B}}"
    with pytest.raises(SecretError) as info:
        Secrets().fill("{{X}}")
    assert "no secrets were given" in str(info.value) and "--secret X=VALUE" in str(info.value)
    assert f"{ENV_PREFIX}X" in str(info.value)


def test_resolve_fills_only_typed_text() -> None:
    secrets = Secrets({NAME: VALUE})
    typed = TypeText(text=f"id: {{{{{NAME}}}}}\n")
    resolved = secrets.resolve(typed)
    assert isinstance(resolved, TypeText) and resolved.text == f"id: {VALUE}\n"
    assert typed.text == "id: {{PASSENGER_ID}}\n"  # the recorded action keeps the placeholder
    plain = TypeText(text="hello")
    assert secrets.resolve(plain) is plain
    click = Click(point=Point(x=0.5, y=0.5))
    assert secrets.resolve(click) is click
    answer = Answer(text="{{PASSENGER_ID}}")  # never filled: an answer is written down
    assert secrets.resolve(answer) is answer
    with pytest.raises(SecretError, match="NOPE"):
        secrets.resolve(TypeText(text="{{NOPE}}"))


def encodings(value: str) -> dict[str, str]:
    """The forms a value takes in files, computed here independently of agent.secrets."""
    form = "".join(c if c.isascii() and (c.isalnum() or c in "*-._") else
                   "+" if c == " " else "".join(f"%{b:02X}" for b in c.encode())
                   for c in value)
    return {
        "plain": value,
        "json": json.dumps(value)[1:-1],
        "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
        "quote": quote(value, safe=""),
        "quote-path": quote(value),
        "quote_plus": quote_plus(value),
        "form (browser)": form,
        "html": html.escape(value),
        "python": repr(value)[1:-1],
        "shell": shlex.quote(value),
        "base64": base64.b64encode(value.encode()).decode(),
    }


def test_redact_covers_the_forms_a_value_takes_in_files() -> None:
    secrets = Secrets({NAME: VALUE, "OTHER": "s3cr3t-other"})
    for kind, form in encodings(VALUE).items():
        text = f"before {form} after"
        assert secrets.contains(text), kind
        assert secrets.redact(text) == "before {{PASSENGER_ID}} after", kind
        data = text.encode()
        assert secrets.contains(data), kind
        assert secrets.redact_bytes(data) == b"before {{PASSENGER_ID}} after", kind
    url = f"http://127.0.0.1/submitted?pid={quote_plus(VALUE)}&x=1"
    assert secrets.redact(json.dumps({"url": url})) == \
        '{"url": "http://127.0.0.1/submitted?pid={{PASSENGER_ID}}&x=1"}'
    assert not secrets.contains("nothing here") and secrets.redact("") == ""
    assert Secrets().redact("s3cr3t-other") == "s3cr3t-other"


def test_redact_longest_value_first_and_never_inside_a_placeholder() -> None:
    secrets = Secrets({"SHORT": "abc", "LONG": "abcdef", "NAMEVAL": "SHORT"})
    assert secrets.redact("abcdef abc SHORT") == "{{LONG}} {{SHORT}} {{NAMEVAL}}"


def test_redacted_json_stays_json_when_a_value_looks_like_a_number() -> None:
    secrets = Secrets({"PIN": "1234"})
    result = RunResult(status="success", answer="the PIN is 1234", prompt_tokens=1234)
    data = json.loads(secrets.redact_json(result, indent=2))
    assert data["answer"] == "the PIN is {{PIN}}" and data["prompt_tokens"] == 1234
    copy = secrets.redact_model(result)
    assert copy.answer == "the PIN is {{PIN}}" and result.answer == "the PIN is 1234"
    assert Secrets().redact_model(result) is result
    assert Secrets().redact_json(result) == result.model_dump_json()


def test_repr_never_shows_values() -> None:
    secrets = Secrets({NAME: VALUE, "B": "hunter2"})
    for shown in (repr(secrets), str(secrets), f"{secrets}", repr([secrets])):
        assert CORE not in shown and "hunter2" not in shown
        assert NAME in shown


def test_secrets_note_tells_the_model_the_placeholders() -> None:
    note = secrets_note(["PASSWORD", "USER"])
    assert "{{PASSWORD}}" in note and "{{USER}}" in note and "exactly" in note
    assert secrets_note([]) == ""


def test_recorder_redacts_every_file_it_writes(tmp_path: Path) -> None:
    from agent.trajectory import ActionRecord, StepRecord
    from tools.actions import ScreenGeometry

    secrets = Secrets({NAME: VALUE})
    meta = RunMeta(instruction=f"Enter {VALUE}", model="m", backend="b", env="browser",
                   start_url=f"http://x/?q={quote_plus(VALUE)}")
    recorder = TrajectoryRecorder(tmp_path, meta, secrets=secrets)
    assert CORE not in recorder.dir.name and "passenger_id" in recorder.dir.name
    geometry = ScreenGeometry(physical_width=10, physical_height=10, logical_width=10,
                              logical_height=10)
    record = StepRecord(step=1, started_at=0.0, url=f"http://x/s?pid={quote_plus(VALUE)}",
                        geometry=geometry, image_size=(10, 10), reply=f"typed {VALUE}",
                        actions=[ActionRecord(action=TypeText(text=VALUE), description="t",
                                              message=f"typed {json.dumps(VALUE)}")])
    recorder.write_step(record)
    recorder.write_text("error.txt", f"Traceback: {VALUE!r}\n")
    recorder.finish(RunResult(status="success", answer=VALUE, error=html.escape(VALUE)))
    assert_no_leak(recorder.dir)
    (step,) = read_steps(recorder.dir)
    assert step.url == "http://x/s?pid={{PASSENGER_ID}}"
    assert step.actions[0].action == TypeText(text="{{PASSENGER_ID}}")


# --- the leak search ----------------------------------------------------------------------


def assert_no_leak(root: Path, *texts: str, extra: tuple[str, ...] = ()) -> int:
    """No file under ``root`` (nor any of ``texts``) holds VALUE in any form. Returns the
    number of files searched."""
    forms = {**encodings(VALUE), **{f"extra {i}": f for i, f in enumerate(extra)},
             "core": CORE}
    searched = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        searched += 1
        for kind, form in forms.items():
            assert form.encode() not in data, f"{path.relative_to(root)} holds the {kind} form"
    for i, text in enumerate(texts):
        for kind, form in forms.items():
            assert form not in text, f"output {i} holds the {kind} form"
    return searched


# --- end to end: a loopback form, a scripted model, the real command line ------------------


FORM = """<!doctype html><html><head><title>check-in</title></head>
<body style="margin:0;background:#fff;font:18px sans-serif">
<form method="get" action="/submitted">
<input type="password" name="pid" id="pid" autocomplete="off" aria-label="passenger id"
  style="position:absolute;left:40px;top:40px;width:320px;height:50px;background:#0000ff;
  color:#fff;border:0;font-size:20px;outline:none">
<button type="submit" id="next" aria-label="next"
  style="position:absolute;left:40px;top:140px;width:160px;height:60px;background:#ff0000;border:0">
</button>
</form></body></html>"""

SUBMITTED = """<!doctype html><html><head><title>received</title></head>
<body style="margin:0;background:#fff">
<div style="position:absolute;left:40px;top:40px;width:200px;height:100px;background:#ff00ff">
</div>
<script>fetch('/event', {method: 'POST', body: location.search})</script>
</body></html>"""


def form_site() -> WebServer:
    return serve_pages({"/form.html": FORM, "/submitted": SUBMITTED,
                        "/event": Response(status=204)})


def submitted_values(web: WebServer) -> tuple[list[str], list[str]]:
    """The ``pid`` values the server received, and the raw query strings the page saw."""
    got = [v for r in web.requests if r.path == "/submitted" for v in r.query.get("pid", [])]
    raw = [r.body.decode() for r in web.requests if r.path == "/event"]
    return got, raw


class FormPolicy:
    """The scripted model: click the blue field, type the placeholder, click the red
    button, then (the magenta box shows) terminate with success."""

    def __init__(self) -> None:
        self.phase = "field"

    def __call__(self, request: dict[str, Any], index: int) -> str:
        image = oracle.last_image(request)

        def click(rgb: tuple[int, int, int], what: str) -> str:
            box = oracle.find_colour(image, rgb)
            assert box is not None, f"the {what} is not on the screen ({self.phase})"
            return oracle.reply(f"Click the {what}.", {
                "action": "left_click",
                "coordinate": oracle.to_grid(oracle.centre(box), image.size)})

        if oracle.find_colour(image, oracle.MAGENTA) is not None:
            self.phase = "done"
            return oracle.reply("The form was sent.", {"action": "terminate",
                                                       "status": "success"})
        if self.phase == "field":
            self.phase = "type"
            return click(oracle.BLUE, "passenger id field")
        if self.phase == "type":
            self.phase = "send"
            return oracle.reply("Type the passenger id.", {"action": "type",
                                                            "text": "{{PASSENGER_ID}}"})
        return click(oracle.RED, "next button")


def instruction_texts(requests: list[dict[str, Any]]) -> str:
    content = requests[0]["messages"][1]["content"]
    return content if isinstance(content, str) else " ".join(
        p.get("text", "") for p in content if p.get("type") == "text")


def check_model_never_saw_it(model: ScriptedModel, raw_queries: list[str]) -> None:
    sent = json.dumps(model.requests, ensure_ascii=False)
    sent_ascii = json.dumps(model.requests)
    for kind, form in {**encodings(VALUE), "raw": raw_queries[0], "core": CORE}.items():
        assert form not in sent and form not in sent_ascii, f"the model was sent the {kind} form"
    # it was told the placeholder instead
    assert "{{PASSENGER_ID}}" in instruction_texts(model.requests)


def screenpilot(*args: str, env: dict[str, str] | None = None,
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([SCREENPILOT, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=full_env)


@pytest.mark.browser
def test_run_types_the_secret_and_no_file_or_output_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    policy = FormPolicy()
    with form_site() as web, ScriptedModel(policy) as model:
        proc = screenpilot(
            "run", "Enter the passenger id {{PASSENGER_ID}} into the blue field and send it.",
            "--secret", f"{NAME}={VALUE}", "--url", web.url("/form.html"),
            "--base-url", model.base_url, "--model", model.model, "--viewport", "640x400",
            "--out", str(out), "--max-steps", "8", "--json",
            *[f"--browser-arg={a}" for a in TEST_BROWSER_ARGS])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert policy.phase == "done"
        got, raw = submitted_values(web)
        check_model_never_saw_it(model, raw)
    # the page received the real value (the form went with GET: it was in the URL)
    assert got == [VALUE]
    assert raw[0].startswith("?pid=") and CORE in raw[0]

    (run_dir,) = out.iterdir()
    view = screenpilot("view", str(run_dir))
    assert view.returncode == 0, view.stderr
    assert (run_dir / "report.html").is_file()
    searched = assert_no_leak(run_dir, proc.stdout, proc.stderr, view.stdout, view.stderr,
                              extra=(raw[0].removeprefix("?pid="),))
    assert searched >= 6  # run.json, steps.jsonl, result.json, report.html, screenshots

    # the trajectory keeps the placeholder where the value was
    steps = read_steps(run_dir)
    typed = [a.action for s in steps for a in s.actions if isinstance(a.action, TypeText)]
    assert typed == [TypeText(text="{{PASSENGER_ID}}")]
    assert any(s.url and s.url.endswith("/submitted?pid={{PASSENGER_ID}}") for s in steps)
    result = RunResult.model_validate_json(proc.stdout)
    assert result.status == "success"
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["settings"]["secrets"] == [NAME]


def test_run_refuses_an_instruction_naming_an_unknown_secret(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, [
        "run", "Log in as {{USER}} with {{PASSWORD}}.", "--secret", "USER=someone",
        "--url", "http://127.0.0.1:9/", "--base-url", "http://127.0.0.1:9/v1",
        "--out", str(tmp_path)], env={"SCREENPILOT_SECRET_PASSWORX": "typo"})
    assert result.exit_code == 2, result.output
    assert "{{PASSWORD}} is not a secret; known: {{PASSWORX}}, {{USER}}" in result.output
    assert not any(tmp_path.iterdir())  # refused before anything started
    bad = runner.invoke(main, ["run", "x", "--secret", "NOT SET", "--url", "http://x/",
                               "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "letters, digits and _" in bad.output


# --- a bench run --------------------------------------------------------------------------


TASK = {
    "id": "secret-form",
    "instruction": "Enter the passenger id {{PASSENGER_ID}} into the blue field and send it.",
    "env": "browser",
    "apps": ["form"],
    "config": [{"type": "open_url", "parameters": {"url": "{app:form}/form.html"}}],
    "evaluator": {
        "func": "check_include_exclude",
        "result": {"type": "page_url"},
        "expected": {"type": "rule", "rules": {"include": ["/submitted?pid="],
                                               "exclude": []}},
    },
}


@pytest.mark.browser
def test_bench_keeps_the_secret_out_of_every_file_and_resume_asks_for_it(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "secret-form.json").write_text(json.dumps(TASK), encoding="utf-8")
    out = tmp_path / "bench"
    policy = FormPolicy()
    with form_site() as web, ScriptedModel(policy) as model:
        common = ["--app", f"form={web.base_url}", "--viewport", "640x400",
                  "--base-url", model.base_url, "--model", model.model,
                  *[f"--browser-arg={a}" for a in TEST_BROWSER_ARGS]]
        # an instruction naming a secret that was not given is refused before the run
        refused = screenpilot("bench", "--suite", str(suite), "--out", str(out), "--name",
                              "refused", *common)
        assert refused.returncode == 2, refused.stderr
        assert "{{PASSENGER_ID}}" in refused.stderr and "--secret" in refused.stderr
        assert not (out / "refused").exists()

        # the value from the environment (SCREENPILOT_SECRET_...), through a worker process
        proc = screenpilot("bench", "--suite", str(suite), "--out", str(out), "--name", "run",
                           "--workers", "1", *common, env={f"{ENV_PREFIX}{NAME}": VALUE})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got, raw = submitted_values(web)
        check_model_never_saw_it(model, raw)
    assert got == [VALUE]
    run_dir = out / "run"

    # run.json keeps the names only; --resume without the value is refused and says why
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["secret_names"] == [NAME] and "secrets" not in saved
    again = screenpilot("bench", "--resume", str(run_dir))
    assert again.returncode == 2
    assert NAME in again.stderr and "give" in again.stderr and "never" in again.stderr
    resumed = screenpilot("bench", "--resume", str(run_dir), "--secret", f"{NAME}={VALUE}")
    assert resumed.returncode == 0, resumed.stderr  # nothing left to run

    view = screenpilot("view", str(run_dir))
    assert view.returncode == 0, view.stderr
    for name in ("results.json", "results.jsonl", "summary.json", "results.csv",
                 "report.html", "tasks/secret-form/task.json",
                 "tasks/secret-form/evaluation.json", "tasks/secret-form/steps.jsonl"):
        assert (run_dir / name).is_file(), name
    assert_no_leak(run_dir, proc.stdout, proc.stderr, again.stdout, again.stderr,
                   resumed.stdout, resumed.stderr, view.stdout, view.stderr,
                   extra=(raw[0].removeprefix("?pid="),))
    (result,) = json.loads((run_dir / "results.json").read_text())
    assert result["status"] == "success"
    evaluation = (run_dir / "tasks/secret-form/evaluation.json").read_text()
    assert "{{PASSENGER_ID}}" in evaluation  # the URL it checked, redacted



def test_worker_output_and_logs_are_redacted(tmp_path: Path) -> None:
    """A bench worker's Python output goes through a redacting stream; what its children
    (the Playwright driver) wrote below Python is swept from the log files at the end."""
    import io

    from benchmarks.runner import _redact_logs, _RedactingStream

    secrets = Secrets({NAME: VALUE})
    sink = io.StringIO()
    stream = _RedactingStream(sink, secrets)
    print("worker 0: typed", VALUE[:5], end="", file=stream)  # a value split over writes
    print(VALUE[5:], "and", quote_plus(VALUE), file=stream)
    stream.write(f"no newline yet {json.dumps(VALUE)}")
    stream.flush()
    assert sink.getvalue() == ("worker 0: typed {{PASSENGER_ID}} and {{PASSENGER_ID}}\n"
                               "no newline yet \"{{PASSENGER_ID}}\"")
    log = tmp_path / "workers" / "worker-0.log"
    log.parent.mkdir()
    log.write_bytes(f"pw:api keyboard.type({json.dumps(VALUE)})\n".encode())
    _redact_logs(tmp_path, secrets)
    assert log.read_text() == 'pw:api keyboard.type("{{PASSENGER_ID}}")\n'
    assert_no_leak(tmp_path)


# --- flows (screenpilot script) -------------------------------------------------------------


class TypingEnv:
    """Stands in for the phone's env where a flow only types: records what it was given
    and fails the second time, echoing the text as a careless env might."""

    class config:  # the attribute run_flow reads
        device = "stand-in"

    def __init__(self) -> None:
        self.typed: list[str] = []

    def execute(self, action: Any) -> Any:
        from envs.base import ActionResult

        self.typed.append(action.text)
        if len(self.typed) == 2:
            return ActionResult(status="error", message=f"input text {action.text!r} failed")
        return ActionResult()

    def close(self) -> None:
        pass


def test_a_flow_types_secrets_and_flow_json_shows_placeholders(tmp_path: Path) -> None:
    from agent.script import Phone, parse_flow, run_flow

    flow = parse_flow({"name": "pin", "defaults": {"on_failure": "continue"}, "steps": [
        {"type": "{{PIN}}"}, {"type": "again {{PIN}}"}, {"type": "{{NOPE}}"}]})
    env = TypingEnv()
    phone = Phone(env, secrets=Secrets({"PIN": VALUE}))  # type: ignore[arg-type]
    result = run_flow(flow, phone, tmp_path)
    assert env.typed == [VALUE, f"again {VALUE}"]  # the env got the values
    assert [s.status for s in result.steps] == ["passed", "failed", "failed"]
    flow_json = (tmp_path / "flow.json").read_text()
    assert "input text 'again {{PIN}}' failed" in flow_json
    assert "{{NOPE}} is not a secret; known: {{PIN}}" in flow_json
    assert_no_leak(tmp_path)


def test_script_refuses_unknown_placeholders_before_touching_a_phone(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("name: login\nsteps:\n  - type: '{{PIN}}'\n  - goal: Log in as {{USER}}\n",
                    encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["script", str(flow), "--validate", "--secret", "PIN=1357"])
    assert result.exit_code == 2 and "{{USER}} is not a secret; known: {{PIN}}" in result.output
    ok = runner.invoke(main, ["script", str(flow), "--validate", "--secret", "PIN=1357",
                              "--secret", "USER=me"])
    assert ok.exit_code == 0, ok.output
    leaked = runner.invoke(main, ["run", "Log in with hunter2-xyz", "--secret",
                                  "PASSWORD=hunter2-xyz", "--url", "http://127.0.0.1:9/",
                                  "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path)])
    assert leaked.exit_code == 2
    assert "holds the value of the secret PASSWORD" in leaked.output
    assert "hunter2-xyz" not in leaked.output
