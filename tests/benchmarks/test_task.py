"""Task files: schema, loader errors that name file and field, support reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from benchmarks.task import (
    EvaluatorSpec,
    GetterSpec,
    OracleStep,
    Task,
    TaskFileError,
    check_runnable,
    load_task,
    load_tasks,
    summarize_support,
    support_report,
    support_table,
)


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def answer_task(task_id: str = "t1", **extra: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "instruction": "What is the cheapest fare?",
        "env": "browser",
        "apps": ["flights"],
        "config": [{"type": "open_url", "parameters": {"url": "{app:flights}/"}}],
        "evaluator": {
            "func": "number_match",
            "result": {"type": "answer"},
            "expected": {"type": "rule", "rules": {"expected": 1280}},
        },
        **extra,
    }


# --- schema ---------------------------------------------------------------------------------


def test_a_minimal_task_gets_the_documented_defaults() -> None:
    task = Task.model_validate(
        {"id": "x", "instruction": "do it", "evaluator": {"func": "exact_match"}}
    )
    assert task.env == "desktop" and task.feasible and task.config == []
    assert task.evaluator.conj == "and" and task.evaluator.functions() == ["exact_match"]
    assert task.to_json() == {
        "id": "x", "instruction": "do it", "evaluator": {"func": "exact_match"}
    }


def test_unknown_fields_are_kept_everywhere_and_dumped_back() -> None:
    data = {
        "id": "x",
        "instruction": "do it",
        "snapshot": "chrome",
        "related_apps": ["chrome"],
        "config": [{"type": "launch", "parameters": {"command": ["a"]}, "note": "kept"}],
        "evaluator": {
            "func": ["exact_match", "check_json"],
            "result": [{"type": "vm_file", "path": "/a", "dest": "a"}, {"type": "answer"}],
            "expected": [{"type": "rule", "rules": {"expected": 1}}, None],
            "options": [None, {"is_yaml": False}],
            "postconfig": [{"type": "sleep", "parameters": {"seconds": 0.5}}],
            "custom": {"x": [1, 2]},
        },
        "proxy": False,
    }
    task = Task.model_validate(data)
    assert task.model_dump(mode="json", by_alias=True, exclude_unset=True) == data
    assert task.evaluator.result[0].params() == {"path": "/a", "dest": "a"}  # type: ignore[index]
    rows = task.evaluator.per_function()
    assert rows[1][0] == "check_json" and rows[1][2] is None and rows[1][3] == {"is_yaml": False}
    assert rows[0][3] == {}


def test_infeasible_func_sets_feasible_without_changing_the_dump() -> None:
    data = {"id": "x", "instruction": "fly to the moon", "evaluator": {"func": "infeasible"}}
    task = Task.model_validate(data)
    assert task.feasible is False
    assert task.to_json() == data
    assert Task.model_validate({**data, "feasible": False}).feasible is False


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"feasible": False}, "feasible: is false, so evaluator.func must be 'infeasible'"),
        (
            {"feasible": True, "evaluator": {"func": "infeasible"}},
            "feasible: is true but evaluator.func is 'infeasible'",
        ),
        ({"evaluator": {"func": ["infeasible", "exact_match"]}}, "cannot be combined"),
        (
            {"evaluator": {"func": ["a", "b"], "result": [{"type": "answer"}]}},
            "func names 2 functions but result has 1 items",
        ),
        (
            {"evaluator": {"func": ["a", "b"], "options": {"x": 1}}},
            "options must be a list of 2 items",
        ),
        (
            {"evaluator": {"func": "a", "result": [{"type": "answer"}]}},
            "result must be one object, not a list",
        ),
        ({"evaluator": {"func": []}}, "the list of functions is empty"),
        ({"instruction": "   "}, "instruction: the instruction is blank"),
        ({"env": "ios"}, "env: Input should be 'browser', 'desktop' or 'android' (got 'ios')"),
        ({"max_steps": 0}, "max_steps: Input should be greater than or equal to 1"),
    ],
)
def test_inconsistent_tasks_are_refused_with_the_field_named(
    tmp_path: Path, patch: dict[str, Any], message: str
) -> None:
    data = {"id": "x", "instruction": "do it", "evaluator": {"func": "exact_match"}, **patch}
    path = write(tmp_path, "x.json", data)
    with pytest.raises(TaskFileError) as err:
        load_task(path)
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}: ")


def test_oracle_steps_are_checked() -> None:
    assert OracleStep(do="type", selector="#q", text="PEK", enter=True).enter
    assert OracleStep(do="answer", text="1280").text == "1280"
    for bad in ({"do": "click"}, {"do": "type", "selector": "#q"}, {"do": "key"}, {"do": "answer"}):
        with pytest.raises(ValueError):
            OracleStep.model_validate(bad)
    with pytest.raises(ValueError, match="Extra inputs"):
        OracleStep.model_validate({"do": "wait", "selctor": "#typo"})


def test_evaluator_lists_unroll_per_function() -> None:
    spec = EvaluatorSpec.model_validate(
        {
            "func": ["exact_match", "contains"],
            "conj": "or",
            "result": [{"type": "answer"}, {"type": "page_url"}],
            "expected": [{"type": "rule", "rules": {"expected": "a"}}, None],
        }
    )
    assert [s.type for s in spec.getter_specs()] == ["answer", "rule", "page_url"]
    assert isinstance(spec.per_function()[0][1], GetterSpec)


# --- the loader -----------------------------------------------------------------------------


def test_load_tasks_reads_folders_recursively_and_sets_suite_and_path(tmp_path: Path) -> None:
    b = write(tmp_path, "suite/b.json", answer_task("b"))
    a = write(tmp_path, "suite/a.json", answer_task("a"))
    c = write(tmp_path, "other/deep/c.json", answer_task("c"))
    tasks = load_tasks(tmp_path / "suite", c, a)  # a given twice: read once
    assert [t.id for t in tasks] == ["a", "b", "c"]
    assert [t.suite for t in tasks] == ["suite", "suite", "deep"]
    assert tasks[1].path == b
    # suite and path are never written back into a task's JSON
    assert "suite" not in tasks[0].to_json() and "path" not in tasks[0].to_json()


def test_load_tasks_collects_every_problem_of_every_file(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    write(suite, "a.json",
          {"id": "a", "instruction": "x", "evaluator": {"func": "f", "conj": "xor"}})
    write(suite, "b.json", '{"id": "b",\n  "instruction": "x" "evaluator": {}}')
    write(suite, "c.json", [1, 2])
    write(
        suite,
        "d.json",
        {
            "id": "d",
            "instruction": "",
            "config": [{"parameters": {}}],
            "evaluator": {"func": ["f", "g"], "result": [{"type": "answer"}, {"path": "x"}]},
        },
    )
    write(suite, "e.json", answer_task("same"))
    write(suite, "f.json", answer_task("same"))
    write(suite, "g.json", b"\xff\xfe".decode("latin-1"))
    (suite / "h.json").write_bytes(b'{"id": "\xff"}')
    with pytest.raises(TaskFileError) as err:
        load_tasks(tmp_path / "suite")
    s = f"{tmp_path}/suite"
    problems = err.value.problems
    assert f"{s}/a.json: evaluator.conj: Input should be 'and' or 'or' (got 'xor')" in problems
    assert f"{s}/b.json: not valid JSON: Expecting ',' delimiter (line 2, column 22)" in problems
    assert f"{s}/c.json: a task file holds one JSON object, this one holds an array" in problems
    assert f"{s}/d.json: instruction: String should have at least 1 character (got '')" in problems
    assert f"{s}/d.json: config[0].type: Field required" in problems
    assert f"{s}/d.json: evaluator.result[1].type: Field required" in problems
    assert f"{s}/f.json: id: 'same' is already used by {s}/e.json" in problems
    assert any(p.startswith(f"{s}/g.json: not valid JSON") for p in problems)
    assert any(p.startswith(f"{s}/h.json: not UTF-8 text") for p in problems)
    assert len(problems) == 9
    text = str(err.value)
    assert text.startswith("9 problems in task files:\n")
    assert all(p in text for p in problems)


def test_relative_folder_names_show_as_given(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "suite/x.json", {"id": "x", "instruction": "i", "evaluator": {"conj": "or"}})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TaskFileError, match=r"^suite/x\.json: evaluator\.func: Field required$"):
        load_tasks("suite")


def test_missing_and_empty_paths_are_problems_too(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaskFileError) as err:
        load_tasks(tmp_path / "empty", tmp_path / "nowhere.json")
    assert err.value.problems == [
        f"{tmp_path}/empty: no task files (*.json) in this folder",
        f"{tmp_path}/nowhere.json: no such file or folder",
    ]


# --- support --------------------------------------------------------------------------------


def test_support_report_lists_known_and_unknown_parts() -> None:
    task = Task.model_validate(
        {
            "id": "mixed",
            "instruction": "x",
            "config": [
                {"type": "launch", "parameters": {"command": ["google-chrome"]}},
                {"type": "download", "parameters": {"files": []}},
                {"type": "sleep", "parameters": {"seconds": -1}},
            ],
            "evaluator": {
                "func": ["compare_table", "exact_match"],
                "result": [{"type": "vm_file", "path": "/a", "dest": "a"}, {"type": "cloud_file"}],
                "expected": [None, {"type": "rule", "rules": {"expected": 1}}],
                "postconfig": [{"type": "googledrive", "parameters": {}}],
            },
            "env": "android",
        }
    )
    report = support_report(task, envs={"browser", "desktop"})  # no phone here
    assert report.steps == ["launch", "download", "sleep", "googledrive"]
    assert report.unsupported_steps == ["download", "googledrive"]
    assert report.getters == ["vm_file", "cloud_file", "rule"]
    assert report.unsupported_getters == ["cloud_file"]
    assert report.unsupported_metrics == ["compare_table"]
    assert report.env == "android" and not report.env_available
    assert not report.runnable and not report.runnable_ignoring_env
    assert report.problems[:4] == [
        "env 'android' is not available",
        "unknown setup step 'download'",
        "unknown setup step 'googledrive'",
        "unknown getter 'cloud_file'",
    ]
    assert any("config[2] (sleep): bad parameters: seconds" in p for p in report.problems)
    assert support_report(task, envs={"android"}).env_available
    dumped = report.model_dump()
    assert dumped["runnable"] is False and dumped["problems"] == report.problems


def test_a_bundled_browser_task_is_runnable() -> None:
    report = support_report(Task.model_validate(answer_task()))
    assert report.runnable, report.problems
    assert report.steps == ["open_url"] and report.metrics == ["number_match"]


def test_apps_and_templates_are_checked() -> None:
    task = Task.model_validate(answer_task(apps=["hotels"]))
    assert support_report(task).problems == [
        "app 'hotels' is not bundled (bundled: flights, miniwob)",
        "{app:flights} is used but 'flights' is not in the task's apps",
    ]
    served = support_report(task, apps={"hotels"}).problems
    assert served == ["{app:flights} is used but 'flights' is not in the task's apps"]
    check_runnable([Task.model_validate(answer_task(apps=["flights", "hotels"]))], apps=["hotels"])


def test_getter_parameters_are_checked_statically() -> None:
    task = Task.model_validate(
        answer_task(
            evaluator={
                "func": "exact_match",
                "result": {"type": "http_json", "url": "{app:flights}/api/state", "path": "$.a["},
                "expected": {"type": "rule"},
            }
        )
    )
    problems = support_report(task).problems
    assert any("getter 'http_json'" in p and "cannot read JSON path" in p for p in problems)
    assert any("getter 'rule'" in p and "rules: Field required" in p for p in problems)


def test_check_runnable_names_every_task_before_a_run(tmp_path: Path) -> None:
    good = Task.model_validate(answer_task("good"))
    desk = Task.model_validate({**answer_task("desk"), "env": "android"})
    odd = Task.model_validate(
        {**answer_task("odd"), "evaluator": {"func": "compare_table", "result": {"type": "x"}}}
    )
    check_runnable([good])
    with pytest.raises(TaskFileError) as err:
        check_runnable([good, desk, odd], envs={"browser", "desktop"})
    text = str(err.value)
    assert text.startswith("2 tasks cannot run here:\n")
    assert "desk: env 'android' is not available" in text
    assert "odd: unknown getter 'x'; unknown metric 'compare_table'" in text
    assert "good" not in text.split("ScreenPilot has")[0]
    assert "metrics: check_direct_json_object" in text  # what is available, once
    check_runnable([desk], envs={"browser", "android"})


def test_summarize_support_counts_tasks_per_name_and_prints() -> None:
    tasks = [
        Task.model_validate(answer_task("a")),
        Task.model_validate(answer_task("b")),
        Task.model_validate(
            {"id": "c", "instruction": "x", "env": "android", "config": [{"type": "download"}],
             "evaluator": {"func": "infeasible"}}
        ),
    ]
    summary = summarize_support(tasks, envs={"browser", "desktop"})
    assert (summary.total, summary.runnable, summary.runnable_ignoring_env) == (3, 2, 2)
    rows = {(r.kind, r.name): (r.tasks, r.supported) for r in summary.rows}
    assert rows[("env", "browser")] == (2, True)
    assert rows[("env", "android")] == (1, False)
    assert rows[("step", "open_url")] == (2, True)
    assert rows[("step", "download")] == (1, False)
    assert rows[("metric", "infeasible")] == (1, True)
    assert [r.kind for r in summary.rows] == sorted(
        (r.kind for r in summary.rows), key=["env", "step", "getter", "metric"].index
    )
    assert summary.not_runnable == {
        "c": ["env 'android' is not available", "unknown setup step 'download'"]
    }
    assert {r.name for r in summary.unsupported()} == {"android", "download"}
    console = Console(width=100, record=True)
    console.print(support_table(summary))
    out = console.export_text()
    assert "open_url" in out and "2 of 3 tasks runnable" in out
