"""Getters: read the state a metric checks. ``GETTERS`` maps a spec's ``type`` to
``getter(ctx, spec) -> value``; the spec's other keys are the getter's parameters.

- ``rule`` {rules}: the ``rules`` value itself (OSWorld's way to write an expected value).
- ``answer``: the agent's final answer text (None when it gave none).
- ``page_url``: the URL of the page the browser env shows now.
- ``http_json`` {url, path="$", method="GET", json=null, headers={}, timeout=10}: requests
  ``url`` and selects ``path`` from the JSON it answers (see ``jsonpath``); None when the
  path leads nowhere. An app that cannot be reached, a non-2xx status or a body that is
  not JSON is an ``EvaluationError`` (infrastructure, not the agent's fault).
- ``file`` {path, encoding="utf-8"}: the file's text; None when it does not exist.
  A relative path is taken from the task's workdir.
- ``command_line`` {command: str | [str], shell=false, timeout=30}: the command's stdout,
  whatever its exit status (as OSWorld's ``vm_command_line``).
- ``vm_command_line``: OSWorld's name for ``command_line``; the "VM" is the desktop's
  machine on a desktop env (local, or remote through its HTTP API), the phone's shell on
  an android env (``settings get global wifi_on``, ``content query --uri ...``,
  ``getprop persist.sys.locale``), else this machine.
- ``vm_file`` {path, dest, multi=false, gives=[0]} (OSWorld): copies the file into the
  workdir as ``dest`` and returns that local path (None for a missing file), which is what
  OSWorld's file metrics expect. With ``multi``, path and dest are parallel lists and
  ``gives`` picks the indexes returned (one index: a single path, else a list). The file
  is read from the desktop's machine on a desktop env.

- ``miniwob_reward``: how the MiniWoB episode started by the ``miniwob_episode`` step
  ended: ``{done, raw_reward, reward, reason}`` (``done`` false when it did not end).

Every string in a spec may contain ``{app:NAME}`` (the app's base URL).
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from benchmarks.evaluators.errors import EvaluationError
from benchmarks.evaluators.jsonpath import MISSING, JsonPathError, parse, select
from benchmarks.miniwob import MiniWobError, episode_result
from benchmarks.setup import TaskContext, TemplateError, validation_problem
from benchmarks.task import GetterSpec
from envs.base import CommandTimeout, EnvError
from envs.machine import LocalMachine

__all__ = ["GETTERS", "GETTER_PARAMS", "check_getter"]

M = TypeVar("M", bound=BaseModel)
BODY_EXCERPT_CHARS = 300


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore")


class NoParams(_Params):
    pass


class RuleParams(_Params):
    rules: Any = Field(...)


class HttpJsonParams(_Params):
    url: str = Field(min_length=1)
    path: str = "$"
    method: str = "GET"
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)

    @field_validator("path")
    @classmethod
    def _readable(cls, value: str) -> str:
        try:
            parse(value)
        except JsonPathError as exc:
            raise ValueError(str(exc)) from None
        return value


class FileParams(_Params):
    path: str = Field(min_length=1)
    encoding: str = "utf-8"


class CommandLineParams(_Params):
    command: str | list[str]
    shell: bool = False
    timeout: float = Field(default=30.0, gt=0)


class VmFileParams(_Params):
    path: str | list[str]
    dest: str | list[str]
    multi: bool = False
    gives: list[int] = Field(default_factory=lambda: [0])


def _params(model: type[M], ctx: TaskContext, spec: GetterSpec) -> M:
    try:
        return model.model_validate(ctx.expand(spec.params()))
    except ValidationError as exc:
        problem = validation_problem(exc)
        raise EvaluationError(f"getter {spec.type!r}: bad parameters: {problem}") from None
    except TemplateError as exc:
        raise EvaluationError(f"getter {spec.type!r}: {exc}") from exc


def get_rule(ctx: TaskContext, spec: GetterSpec) -> Any:
    return _params(RuleParams, ctx, spec).rules


def get_answer(ctx: TaskContext, spec: GetterSpec) -> str | None:
    return ctx.answer


def get_page_url(ctx: TaskContext, spec: GetterSpec) -> str | None:
    if ctx.env is None:
        raise EvaluationError("getter 'page_url' needs an env, but this task attempt has none")
    try:
        url = ctx.env.observe().url
    except EnvError as exc:
        raise EvaluationError(f"getter 'page_url': the env failed: {exc}") from exc
    if url is None and hasattr(ctx.env, "page"):
        url = ctx.env.page.url
    return url


def get_http_json(ctx: TaskContext, spec: GetterSpec) -> Any:
    p = _params(HttpJsonParams, ctx, spec)
    method = p.method.upper()
    headers = {"Accept": "application/json", **p.headers}
    data = None
    if p.json_body is not None:
        data = json.dumps(p.json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(p.url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=p.timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        excerpt = exc.read().decode("utf-8", "replace").strip()[:BODY_EXCERPT_CHARS]
        raise EvaluationError(
            f"getter 'http_json': {method} {p.url} answered {exc.code}: {excerpt or '(empty)'}"
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EvaluationError(
            f"getter 'http_json': cannot reach {p.url}: {reason}; is the app running?"
        ) from exc
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        excerpt = body[:BODY_EXCERPT_CHARS].decode("utf-8", "replace")
        raise EvaluationError(
            f"getter 'http_json': {p.url} did not answer JSON ({exc}): {excerpt!r}"
        ) from exc
    value = select(document, p.path)
    return None if value is MISSING else value


def _local(ctx: TaskContext, path: str) -> Path:
    target = Path(path).expanduser()
    return target if target.is_absolute() else ctx.workdir / target


def get_file(ctx: TaskContext, spec: GetterSpec) -> str | None:
    p = _params(FileParams, ctx, spec)
    target = _local(ctx, p.path)
    try:
        return target.read_text(encoding=p.encoding, errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except LookupError as exc:
        raise EvaluationError(f"getter 'file': unknown encoding {p.encoding!r}") from exc
    except OSError as exc:
        raise EvaluationError(f"getter 'file': cannot read {target}: {exc}") from exc


def get_command_line(ctx: TaskContext, spec: GetterSpec) -> str:
    p = _params(CommandLineParams, ctx, spec)
    machine = ctx.machine if spec.type.startswith("vm_") else None
    if machine is None:  # here, in the task's workdir
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        machine = LocalMachine(cwd=ctx.workdir)
    try:
        return machine.run(p.command, shell=p.shell, timeout=p.timeout).output
    except CommandTimeout as exc:
        raise EvaluationError(
            f"getter {spec.type!r}: the command did not finish in {p.timeout:g} s"
        ) from exc
    except EnvError as exc:
        raise EvaluationError(f"getter {spec.type!r}: cannot run the command: {exc}") from exc


def get_vm_file(ctx: TaskContext, spec: GetterSpec) -> str | list[str | None] | None:
    p = _params(VmFileParams, ctx, spec)
    if p.multi:
        paths = p.path if isinstance(p.path, list) else [p.path]
        dests = p.dest if isinstance(p.dest, list) else [p.dest]
        if len(paths) != len(dests):
            raise EvaluationError("getter 'vm_file': path and dest lists differ in length")
    else:
        if isinstance(p.path, list) or isinstance(p.dest, list):
            raise EvaluationError("getter 'vm_file': lists of paths need \"multi\": true")
        paths, dests = [p.path], [p.dest]
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    out: list[str | None] = []
    for i, (source, dest) in enumerate(zip(paths, dests, strict=True)):
        copy = ctx.workdir / Path(dest).name
        local: str | None = str(copy)
        if ctx.machine is not None:
            try:
                data = ctx.machine.read_file(source)
            except EnvError as exc:
                raise EvaluationError(f"getter 'vm_file': {exc}") from exc
            if data is None:
                local = None
            else:
                copy.write_bytes(data)
        else:
            try:
                shutil.copyfile(Path(source).expanduser(), copy)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                local = None
        if i in p.gives:
            out.append(local)
    return out[0] if len(out) == 1 else out


def get_miniwob_reward(ctx: TaskContext, spec: GetterSpec) -> Any:
    try:
        return episode_result(ctx)
    except MiniWobError as exc:
        raise EvaluationError(f"getter 'miniwob_reward': {exc}") from exc


_GETTERS: dict[str, tuple[Callable[[TaskContext, GetterSpec], Any], type[BaseModel]]] = {
    "rule": (get_rule, RuleParams),
    "answer": (get_answer, NoParams),
    "page_url": (get_page_url, NoParams),
    "http_json": (get_http_json, HttpJsonParams),
    "file": (get_file, FileParams),
    "command_line": (get_command_line, CommandLineParams),
    "vm_command_line": (get_command_line, CommandLineParams),
    "vm_file": (get_vm_file, VmFileParams),
    "miniwob_reward": (get_miniwob_reward, NoParams),
}
GETTERS: dict[str, Callable[[TaskContext, GetterSpec], Any]] = {
    name: getter for name, (getter, _) in _GETTERS.items()
}
GETTER_PARAMS: dict[str, type[BaseModel]] = {name: model for name, (_, model) in _GETTERS.items()}


def check_getter(spec: GetterSpec) -> str | None:
    """Why ``spec`` cannot be used as written (unknown type, bad parameters), or None."""
    if spec.type not in GETTERS:
        return f"unknown getter {spec.type!r} (known: {', '.join(sorted(GETTERS))})"
    try:
        GETTER_PARAMS[spec.type].model_validate(spec.params())
    except ValidationError as exc:
        return f"bad parameters: {validation_problem(exc)}"
    return None
