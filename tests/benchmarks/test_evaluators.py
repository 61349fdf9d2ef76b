"""Getters, metrics and OSWorld's evaluate semantics, with a real loopback app."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.evaluators import (
    GETTERS,
    METRICS,
    Evaluation,
    EvaluationError,
    MetricOutcome,
    evaluate,
    preview,
)
from benchmarks.evaluators.getters import check_getter
from benchmarks.evaluators.jsonpath import MISSING, JsonPathError, parse, select
from benchmarks.evaluators.metrics import (
    check_direct_json_object,
    check_include_exclude,
    check_json,
    contains,
    exact_match,
    fuzzy_match,
    infeasible,
    is_in_list,
    literal_match,
    match_in_list,
    number_match,
    similarity,
)
from benchmarks.setup import TaskContext
from benchmarks.task import GetterSpec, Task
from tests.support.web import Request, Response, WebServer, free_port

STATE = {
    "bookings": [
        {"reference": "K7Q2MX", "status": "cancelled", "total": 1280,
         "passengers": [{"name": "Li Lei"}]},
        {"reference": "B2C3D4", "status": "confirmed", "total": 2560,
         "passengers": [{"name": "Han Meimei"}, {"name": "Li Lei"}]},
    ],
    "ui": {"language": "zh", "length": 7},
    "today": "2026-11-25",
    "odd key": {"a.b": 1},
}


def task(evaluator: dict[str, Any], **extra: Any) -> Task:
    return Task.model_validate(
        {"id": "t", "instruction": "do it", "env": "browser", "evaluator": evaluator, **extra}
    )


def rule(value: Any) -> dict[str, Any]:
    return {"type": "rule", "rules": {"expected": value}}


@pytest.fixture
def ctx(tmp_path: Path) -> TaskContext:
    return TaskContext(env=None, apps={}, workdir=tmp_path, answer="¥1,280", agent_status="success")


@pytest.fixture
def app(web: WebServer, ctx: TaskContext) -> WebServer:
    web.add("/api/state", Response(json.dumps(STATE), content_type="application/json"))
    ctx.apps["flights"] = web.base_url
    return web


# --- JSON paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", STATE),
        ("$.today", "2026-11-25"),
        ("today", "2026-11-25"),
        ("$.bookings[0].reference", "K7Q2MX"),
        ("$.bookings[-1].passengers[1].name", "Li Lei"),
        ("$['bookings'][1][\"status\"]", "confirmed"),
        ('$["odd key"]["a.b"]', 1),
        ("$.bookings[*].status", ["cancelled", "confirmed"]),
        ("$.bookings[*].passengers[*].name", [["Li Lei"], ["Han Meimei", "Li Lei"]]),
        ("$.bookings.length", 2),
        ("$.bookings[1].passengers.length", 2),
        ("$.today.length", 10),
        ("$.ui.length", 7),  # an object's own "length" key wins
        ("$.ui.*", ["zh", 7]),
        ('$["length"]', MISSING),
        ("$.bookings[2]", MISSING),
        ("$.bookings[-3]", MISSING),
        ("$.nothing.here", MISSING),
        ("$.today[0]", MISSING),
        ("$.bookings[*].missing", []),
    ],
)
def test_json_paths(path: str, value: Any) -> None:
    assert select(STATE, path) == value if value is not MISSING else select(STATE, path) is MISSING


@pytest.mark.parametrize("bad", ["$.", "$[x]", "$.a[", "$..a", "$[1.5]", '$["\\q"]'])
def test_unreadable_json_paths(bad: str) -> None:
    with pytest.raises(JsonPathError, match="JSON path"):
        parse(bad)


# --- getters --------------------------------------------------------------------------------


def get(ctx: TaskContext, **spec: Any) -> Any:
    s = GetterSpec.model_validate(spec)
    return GETTERS[s.type](ctx, s)


def test_http_json_reads_the_app_state(app: WebServer, ctx: TaskContext) -> None:
    url = "{app:flights}/api/state"
    assert get(ctx, type="http_json", url=url, path="$.bookings[-1].reference") == "B2C3D4"
    assert get(ctx, type="http_json", url=url, path="$.bookings.length") == 2
    assert get(ctx, type="http_json", url=url) == STATE
    assert get(ctx, type="http_json", url=url, path="$.bookings[5].reference") is None
    assert app.requests[0].headers["Accept"] == "application/json"


def test_http_json_can_post(app: WebServer, ctx: TaskContext) -> None:
    app.add("/api/echo", lambda r: Response(r.body, content_type="application/json"))
    got = get(ctx, type="http_json", url="{app:flights}/api/echo", method="POST",
              json={"a": [1, 2]}, path="$.a[-1]")
    assert got == 2 and app.requests[-1].method == "POST"


def test_http_json_infrastructure_failures_are_evaluation_errors(
    app: WebServer, ctx: TaskContext
) -> None:
    app.add("/api/broken", Response("database is locked", status=500))
    app.add("/api/html", "<h1>not json</h1>")
    with pytest.raises(EvaluationError, match=r"answered 500: database is locked"):
        get(ctx, type="http_json", url=app.url("/api/broken"))
    with pytest.raises(EvaluationError, match=r"did not answer JSON"):
        get(ctx, type="http_json", url=app.url("/api/html"))
    port = free_port()
    with pytest.raises(EvaluationError, match=r"cannot reach .*is the app running"):
        get(ctx, type="http_json", url=f"http://127.0.0.1:{port}/api/state", timeout=2)
    with pytest.raises(EvaluationError, match=r"\{app:hotels\} names app 'hotels'"):
        get(ctx, type="http_json", url="{app:hotels}/api/state")
    with pytest.raises(EvaluationError, match=r"getter 'http_json': bad parameters: url"):
        get(ctx, type="http_json")


def test_simple_getters(ctx: TaskContext) -> None:
    assert get(ctx, type="answer") == "¥1,280"
    assert get(ctx, type="rule", rules={"expected": [1, 2]}) == {"expected": [1, 2]}
    (ctx.workdir / "notes.txt").write_text("hello 你好")
    assert get(ctx, type="file", path="notes.txt") == "hello 你好"
    assert get(ctx, type="file", path=str(ctx.workdir / "notes.txt")) == "hello 你好"
    assert get(ctx, type="file", path="missing.txt") is None
    with pytest.raises(EvaluationError, match="needs an env"):
        get(ctx, type="page_url")


def test_command_line_getters_return_stdout(ctx: TaskContext) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(2)"
    assert get(ctx, type="command_line", command=[sys.executable, "-c", code]) == "out\n"
    assert get(ctx, type="vm_command_line", command="echo $((6 * 7))", shell=True) == "42\n"
    with pytest.raises(EvaluationError, match=r"did not finish in 0\.2 s"):
        get(ctx, type="command_line", command=[sys.executable, "-c", "import time; time.sleep(9)"],
            timeout=0.2)
    with pytest.raises(EvaluationError, match="cannot run the command"):
        get(ctx, type="command_line", command=["no-such-program-xyz"])


def test_vm_file_copies_into_the_workdir_as_osworld_does(ctx: TaskContext, tmp_path: Path) -> None:
    source = tmp_path / "elsewhere"
    source.mkdir()
    (source / "settings.json").write_text('{"editor.tabSize": 4}')
    local = get(ctx, type="vm_file", path=str(source / "settings.json"), dest="s.json")
    assert local == str(ctx.workdir / "s.json")
    assert check_json(local, {"expect": [{"key": ["editor.tabSize"], "method": "eq", "ref": 4}]})
    assert get(ctx, type="vm_file", path=str(source / "nope"), dest="n") is None
    both = get(ctx, type="vm_file", multi=True, gives=[0, 1],
               path=[str(source / "settings.json"), str(source / "nope")], dest=["a", "b"])
    assert both == [str(ctx.workdir / "a"), None]


def test_check_getter() -> None:
    assert check_getter(GetterSpec(type="answer")) is None
    assert "unknown getter 'cloud_file'" in (check_getter(GetterSpec(type="cloud_file")) or "")
    spec = GetterSpec.model_validate({"type": "http_json", "url": "x", "path": "$["})
    assert "path: cannot read JSON path" in (check_getter(spec) or "")


# --- metrics --------------------------------------------------------------------------------


def test_every_metric_gives_none_a_zero() -> None:
    for name, metric in METRICS.items():
        if name in ("literal_match", "number_match", "contains"):
            assert metric(None, "x") == 0.0, name
        else:
            assert metric(None, {"expected": None, "include": []}) == 0.0, name


def test_osworld_rule_metrics() -> None:
    assert exact_match("true", {"expected": "true"}) == 1.0
    assert exact_match(True, {"expected": "true"}) == 0.0
    assert is_in_list(["/a", "/home/user/x"], {"expected": "/home/user/x"}) == 1.0
    assert is_in_list(["/a"], {"expected": "/b"}) == 0.0
    assert match_in_list("b", {"expected": ["a", "b"]}) == 1.0
    assert match_in_list("c", {"expected": ["a", "b"]}) == 0.0
    rules = {"include": ["no libreoffice", "killed"], "exclude": ["still running"]}
    assert check_include_exclude("no libreoffice is running\nkilled from terminal", rules) == 1.0
    assert check_include_exclude("no libreoffice; still running; killed", rules) == 0.0
    assert check_include_exclude("anything", {}) == 1.0
    with pytest.raises(ValueError, match=r'exact_match needs rules of the form \{"expected"'):
        exact_match("x", {"expect": "x"})


def test_literal_match() -> None:
    assert literal_match(1280, "1280") == 1.0
    assert literal_match("Yann LeCun", "yann lecun") == 0.0
    assert literal_match("Yann LeCun", "yann lecun", ignore_case=True) == 1.0
    assert literal_match(["A", 1], ["a", "1"], type="list", ignore_case=True) == 1.0
    assert literal_match(["A"], ["A", "B"], type="list") == 0.0
    assert literal_match("AB", ["A", "B"], type="list") == 0.0
    with pytest.raises(ValueError, match="type 'set'"):
        literal_match("a", "a", type="set")


def test_fuzzy_match_is_the_indel_ratio() -> None:
    assert similarity("abcde", "ace") == pytest.approx(2 * 3 / 8)
    assert similarity("", "") == 1.0 and similarity("a", "") == 0.0
    # rapidfuzz's fuzz.ratio("this is a test", "this is a test!") is 96.55...
    assert fuzzy_match("this is a test", {"expected": "this is a test!"}) == pytest.approx(
        0.9655, abs=1e-4
    )
    assert fuzzy_match("Shanghai", {"expected": "Shanghai"}) == 1.0
    assert fuzzy_match("Shanghai", {"expected": "Shanghei"}, threshold=0.8) == 1.0
    assert fuzzy_match("Shanghai", {"expected": "Beijing"}, threshold=0.8) == 0.0
    long_a, long_b = "ab" * 2000, "ba" * 2000
    assert similarity(long_a, long_b) == pytest.approx((2 * 3999) / 8000)


def test_check_direct_json_object() -> None:
    rules = {"expected": {"from": "PEK", "to": "SHA"}}
    assert check_direct_json_object({"from": "PEK", "to": "SHA", "x": 1}, rules) == 1.0
    assert check_direct_json_object({"from": "PEK", "to": "PVG"}, rules) == 0.0
    assert check_direct_json_object("{'from': 'PEK', 'to': 'SHA'}", rules) == 1.0
    assert check_direct_json_object("not json", rules) == 0.0
    assert check_direct_json_object(["PEK"], rules) == 0.0
    unordered = {"expected": {"tags": ["b", "a"]}, "ignore_list_order": True}
    assert check_direct_json_object({"tags": ["a", "b"]}, unordered) == 1.0
    assert check_direct_json_object({"tags": None}, unordered) == 0.0
    loose = {"expected": {"q": "coffee", "color": ["Black", "Red"]}, "expect_in_result": True}
    assert check_direct_json_object({"q": "drip coffee maker", "color": ["Red"]}, loose) == 1.0
    assert check_direct_json_object({"q": "drip coffee maker", "color": "Black"}, loose) == 1.0
    assert check_direct_json_object({"q": "tea", "color": "Black"}, loose) == 0.0
    assert check_direct_json_object({"q": "coffee"}, loose) == 0.0
    failed = {"expected": {"q": "__EVALUATION_FAILED__"}}
    assert check_direct_json_object({"q": "__EVALUATION_FAILED__"}, failed) == 0.0


def test_check_json_osworld_rules_on_a_file(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(
        {"name": "happy-extension", "version": "0.0.1", "size": 12.3456,
         "background": {"scripts": ["background_script.js"]}}))
    rules = {
        "expect": [
            {"key": ["name"], "method": "eq", "ref": "happy-extension"},
            {"key": ["background", "scripts"], "method": "eq", "ref": ["background_script.js"]},
            {"key": ["version"], "method": "re", "ref": r"^0\.0\.\d$"},
            {"key": ["size"], "method": "approx:0.01", "ref": 12.34},
            {"key": ["size"], "method": "range.te", "ref": [12, 13]},
        ],
        "unexpect": [{"key": ["permissions"], "method": "eq", "ref": ["tabs"]}],
    }
    assert check_json(str(manifest), rules) == 1.0
    assert check_json(str(manifest), {"expect": [{"key": ["nope"], "method": "eq", "ref": 1}]}) == 0
    assert check_json(str(manifest), {"unexpect": [{"key": ["name"], "method": "re.I",
                                                    "ref": "HAPPY"}]}) == 0.0
    assert check_json(str(tmp_path / "missing.json"), rules) == 0.0
    (tmp_path / "bad.json").write_text("{oops")
    assert check_json(str(tmp_path / "bad.json"), rules) == 0.0
    with pytest.raises(ValueError, match="unknown method 'fuzzy'"):
        check_json(str(manifest), {"expect": [{"key": ["name"], "method": "fuzzy", "ref": 1}]})


def test_check_json_subset_of_a_value() -> None:
    assert check_json(STATE, {"ui": {"language": "zh"}, "today": "2026-11-25"}) == 1.0
    assert check_json(STATE, {"expected": {"ui": {"language": "zh"}}}) == 1.0
    assert check_json(STATE, {"ui": {"language": "en"}}) == 0.0
    assert check_json(STATE, {"ui": {"missing": None}}) == 0.0
    statuses = {"bookings": [{"status": "cancelled"}, {"status": "confirmed"}]}
    assert check_json(STATE, statuses) == 1.0
    assert check_json(STATE, {"bookings": [{"status": "cancelled"}]}) == 0.0  # lengths differ
    assert check_json({"n": 1}, {"n": True}) == 0.0 and check_json({"n": 1}, {"n": 1.0}) == 1.0
    assert check_json('{"a": [1, {"b": 2}]}', {"a": [1, {}]}) == 1.0


def test_number_match_reads_the_first_number() -> None:
    assert number_match("¥1,280", 1280) == 1.0
    assert number_match("The cheapest fare is 1280元.", {"expected": "1,280"}) == 1.0
    assert number_match("１２８０", 1280) == 1.0
    assert number_match("$1,280.50 total", 1280.5) == 1.0
    assert number_match("-3 degrees", -3) == 1.0
    assert number_match("MU5101-20261203", 5101) == 1.0
    assert number_match("about 1279", 1280) == 0.0
    assert number_match("about 1279", 1280, tolerance=1) == 1.0
    assert number_match("2 flights", [1, 2, 3]) == 1.0
    assert number_match(1280, 1280) == 1.0
    assert number_match("no number here", 3) == 0.0
    with pytest.raises(ValueError, match="holds no number"):
        number_match("3", "three")


def test_contains_ignores_case_width_and_spacing() -> None:
    assert contains("Booking K7Q2MX  is\nConfirmed", "k7q2mx is confirmed") == 1.0
    assert contains("上海虹桥 SHA", {"expected": "ｓｈａ"}) == 1.0
    assert contains("Air China CA1501", ["air china", "ca1501"]) == 1.0
    assert contains("Air China", ["air china", "MU"]) == 0.0


def test_infeasible_metric_alone_scores_zero() -> None:
    assert infeasible() == 0.0 and infeasible("x", {"y": 1}) == 0.0


# --- evaluate: OSWorld's semantics ----------------------------------------------------------


def test_infeasible_task_passes_only_when_the_agent_declares_failure(ctx: TaskContext) -> None:
    t = task({"func": "infeasible"})
    ctx.agent_status = "failure"
    assert evaluate(t, ctx).passed
    for status in ("success", "max_steps", None):
        ctx.agent_status = status
        result = evaluate(t, ctx)
        assert result.score == 0.0 and not result.passed
        assert result.outcomes[0].func == "infeasible" and result.outcomes[0].result == status


def test_a_feasible_task_given_up_scores_zero_without_evaluating(ctx: TaskContext) -> None:
    t = task({"func": "number_match", "result": {"type": "http_json", "url": "http://x.invalid/"},
              "expected": rule(1280)})
    ctx.agent_status = "failure"
    result = evaluate(t, ctx)  # the unreachable URL is never requested
    assert (result.score, result.passed, result.outcomes) == (0.0, False, [])
    assert "declared failure" in result.note


def test_single_metric_with_and_without_expected(ctx: TaskContext) -> None:
    ok = evaluate(task({"func": "number_match", "result": {"type": "answer"},
                        "expected": rule(1280)}), ctx)
    assert ok == Evaluation(score=1.0, passed=True, outcomes=[MetricOutcome(
        func="number_match", score=1.0, result="¥1,280", expected={"expected": 1280})])
    # No expected spec: metric(result, **options)
    t = task({"func": "check_include_exclude", "result": {"type": "answer"},
              "options": {"rules": {"include": ["1,280"]}}})
    assert evaluate(t, ctx).passed
    # A missing expected is None in the outcome
    assert evaluate(t, ctx).outcomes[0].expected is None


def test_and_stops_at_the_first_zero(app: WebServer, ctx: TaskContext) -> None:
    t = task({
        "func": ["number_match", "exact_match", "contains"],
        "result": [{"type": "answer"},
                   {"type": "http_json", "url": "{app:flights}/api/state", "path": "$.ui.language"},
                   {"type": "http_json", "url": "{app:flights}/api/state"}],
        "expected": [rule(999), rule("zh"), rule("never read")],
    })
    result = evaluate(t, ctx)
    assert result.score == 0.0 and not result.passed
    assert [o.func for o in result.outcomes] == ["number_match"]
    assert app.requests == []  # later getters never ran
    assert "stopped at number_match" in result.note


def test_and_means_the_scores_when_none_is_zero(ctx: TaskContext) -> None:
    t = task({
        "func": ["number_match", "fuzzy_match"],
        "result": [{"type": "answer"}, {"type": "answer"}],
        "expected": [rule(1280), rule("¥1,28")],
    })
    result = evaluate(t, ctx)
    assert result.score == pytest.approx((1 + 2 * 5 / 11) / 2) and not result.passed
    assert [o.score for o in result.outcomes] == pytest.approx([1.0, 10 / 11])


def test_or_stops_at_the_first_one_else_takes_the_best(ctx: TaskContext) -> None:
    t = task({
        "func": ["exact_match", "number_match", "contains"],
        "conj": "or",
        "result": [{"type": "answer"}, {"type": "answer"}, {"type": "answer"}],
        "expected": [rule("1280"), rule(1280), rule("never")],
    })
    result = evaluate(t, ctx)
    assert (result.score, result.passed) == (1.0, True)
    assert [o.func for o in result.outcomes] == ["exact_match", "number_match"]
    t2 = task({
        "func": ["exact_match", "fuzzy_match"],
        "conj": "or",
        "result": [{"type": "answer"}, {"type": "answer"}],
        "expected": [rule("x"), rule("¥1,28")],
    })
    result = evaluate(t2, ctx)
    assert result.score == pytest.approx(10 / 11) and len(result.outcomes) == 2


def test_parallel_lists_with_null_slots(ctx: TaskContext) -> None:
    (ctx.workdir / "out.txt").write_text("Flight CA1501 booked")
    t = task({
        "func": ["check_include_exclude", "contains", "number_match"],
        "result": [{"type": "file", "path": "out.txt"}, {"type": "file", "path": "out.txt"},
                   {"type": "answer"}],
        "expected": [None, rule("ca1501"), rule(1280)],
        "options": [{"rules": {"include": ["CA1501"], "exclude": ["MU"]}}, None, {"tolerance": 0}],
    })
    result = evaluate(t, ctx)
    assert result.passed and [o.score for o in result.outcomes] == [1.0, 1.0, 1.0]


def test_a_metric_that_raises_scores_zero_with_its_error(ctx: TaskContext) -> None:
    t = task({"func": ["exact_match", "number_match"], "conj": "or",
              "result": [{"type": "answer"}, {"type": "answer"}],
              "expected": [{"type": "rule", "rules": "no expected key"}, rule("no number")]})
    result = evaluate(t, ctx)
    assert result.score == 0.0 and len(result.outcomes) == 2
    assert result.outcomes[0].error.startswith("ValueError: exact_match needs rules")
    assert "holds no number" in (result.outcomes[1].error or "")
    odd_options = task({"func": "contains", "result": {"type": "answer"}, "expected": rule("1"),
                        "options": {"bogus": 1}})
    assert "unexpected keyword argument 'bogus'" in (evaluate(odd_options, ctx).outcomes[0].error
                                                     or "")


def test_unknown_names_and_unreachable_apps_are_evaluation_errors(ctx: TaskContext) -> None:
    with pytest.raises(EvaluationError, match="has no metric 'compare_table', getter 'x';"):
        evaluate(task({"func": "compare_table", "result": {"type": "x"}}), ctx)
    with pytest.raises(EvaluationError, match="has no getter 'cloud_file'"):
        evaluate(task({"func": "exact_match", "result": {"type": "cloud_file"}}), ctx)
    with pytest.raises(EvaluationError, match="cannot reach"):
        evaluate(task({"func": "exact_match", "expected": rule(1), "result": {
            "type": "http_json", "url": "http://127.0.0.1:9/api/state", "timeout": 2}}), ctx)


def test_postconfig_runs_first_and_its_failure_is_an_evaluation_error(
    app: WebServer, ctx: TaskContext
) -> None:
    flushed: list[str] = []

    def flush(req: Request) -> Response:
        flushed.append(req.method)
        return Response('{"ok": true}', content_type="application/json")

    app.add("/api/flush", flush)
    t = task({
        "func": "exact_match",
        "result": {"type": "file", "path": "marker.txt"},
        "expected": rule("done\n"),
        "postconfig": [
            {"type": "http", "parameters": {"url": "{app:flights}/api/flush"}},
            {"type": "execute", "parameters": {"command": "echo done > marker.txt", "shell": True}},
        ],
    }, apps=["flights"])
    assert evaluate(t, ctx).passed and flushed == ["POST"]
    bad = task({"func": "exact_match", "result": {"type": "answer"}, "expected": rule(1),
                "postconfig": [{"type": "execute", "parameters": {"command": "exit 4",
                                                                  "shell": True}}]})
    with pytest.raises(EvaluationError, match=r"^postconfig step 1 \(execute\): .*status 4"):
        evaluate(bad, ctx)


def test_outcomes_keep_short_json_safe_previews(ctx: TaskContext) -> None:
    assert preview("x" * 700).endswith("... (+100)") and len(preview("x" * 700)) < 700
    assert preview({"a": [1, 2]}) == {"a": [1, 2]}
    assert preview(float("nan")) == "nan"
    assert preview({1, 2}).startswith("{")  # a set becomes its repr, as text
    big = preview({"k": "v" * 2000})
    assert isinstance(big, str) and big.startswith('{"k": "vvv') and "(+" in big
    ctx.answer = "a" * 5000
    result = evaluate(task({"func": "contains", "result": {"type": "answer"},
                            "expected": rule("b")}), ctx)
    json.dumps(result.model_dump(mode="json"))
    assert len(result.outcomes[0].result) < 700
