"""The full ``screenpilot`` command: the agent's commands plus the benchmark ones.

The console script points here, not at ``agent.cli``, so that the agent package never
imports ``benchmarks`` (ARCHITECTURE.md: imports only go down).
"""

from __future__ import annotations

import re
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape

from agent.cli import (
    api_key_option,
    backend_option,
    base_url_option,
    browser_config_from,
    guard_options,
    launch_browser_options,
    local_checkpoint_family,
    local_options,
    local_settings,
    main,
    model_options,
    policy_from,
    request_options,
    secret_option,
    secrets_from,
    zoom_option,
)

__all__ = ["main"]

BENCH_HELP_EPILOG = """\b
Exit code: 0 when every task succeeded, 1 when the run finished with failures or
errors, 2 when it could not start (bad task files, bad options), 130 when
interrupted (continue it with --resume)."""

# Options that --resume may change; every other setting comes from the run's run.json.
_RESUME_OVERRIDES = {
    "workers": "workers",
    "ray_address": "ray_address",
    "task_timeout": "task_timeout_s",
    "base_url": "base_url",
    "timeout": "request_timeout_s",
    "desktop_url": "desktop_url",
    "desktop_display": "desktop_display",
    "android_device": "android_device",
}

_TORCH_DEVICE = r"auto|cpu|mps|cuda(:\d+)?"


def _model_source(backend: str, base_url: str | None, oracle: bool, null_model: bool) -> str:
    """oracle / null when asked; else as ``run``: openai (http) with --base-url, else local."""
    if oracle:
        return "oracle"
    if null_model:
        return "null"
    if backend == "local" or (backend == "auto" and not base_url):
        return "local"
    return "http"


def _screen_size(value: str) -> tuple[int, int]:
    width, sep, height = value.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) and int(height)):
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT (e.g. 1280x800)",
                                 param_hint="--desktop-screen")
    return int(width), int(height)


def _parse_apps(values: tuple[str, ...]) -> dict[str, str]:
    apps = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{value!r} is not NAME=URL (e.g. flights=http://host:8080)",
                                     param_hint="--app")
        apps[name] = url
    return apps


def _find_resume_dir(resume: str, out: Path, name: str | None) -> Path:
    if resume:
        return Path(resume)
    if name:
        return out / name
    runs = sorted((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise click.UsageError(f"--resume: no run under {out}; give --resume RUN_DIR")
    return runs[-1]


@main.command(epilog=BENCH_HELP_EPILOG)
@click.option("--suite", "suites", multiple=True, metavar="NAME|PATH",
              help="Suite name (benchmarks/suites/NAME) or a folder/file of task JSON "
              "(repeatable).")
@click.option("--task", "task_ids", multiple=True, metavar="ID",
              help="Only this task (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only tasks with this tag (repeatable).")
@click.option("--tasks", "miniwob_tasks", metavar="NAME,...",
              help="MiniWoB: only these tasks (page names, comma-separated; default: the "
              "suite's list of tasks a vision-only agent can attempt).")
@click.option("--episodes", type=click.IntRange(1, 10_000), default=None,
              help="MiniWoB: episodes (seeds) per task.  [default: 5]")
@click.option("--seed", type=click.IntRange(0, 2**31), default=None,
              help="MiniWoB: the seed of each task's first episode; episode i has seed "
              "SEED+i.  [default: 0]")
@model_options
@base_url_option
@api_key_option
@backend_option
@request_options
@local_options
@click.option("--oracle", is_flag=True,
              help="Play each task's reference solution instead of asking a model.")
@click.option("--null", "null_model", is_flag=True,
              help="A model that gives up at once (checks that evaluators can fail).")
@click.option("--workers", type=click.IntRange(0, 256), default=1, show_default=True,
              help="Parallel workers, each with its own browser (0: in this process, for "
              "debugging).")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Run the workers as Ray actors on this cluster ('local' starts one).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/bench"),
              show_default=True, help="Folder that receives the run folder.")
@click.option("--name", help="Run folder name under --out (default: time and suites).")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[RUN_DIR]",
              help="Finish an interrupted run: skip the tasks in its results.jsonl. Without "
              "RUN_DIR: --out/--name, else the newest run under --out.")
@click.option("--retry-errors", is_flag=True, help="With --resume: also rerun tasks that ended "
              "in error.")
@click.option("--max-steps", type=click.IntRange(1, 1000), default=30, show_default=True,
              help="Steps per task unless the task file sets max_steps.")
@zoom_option
@click.option("--task-timeout", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Wall-clock limit per task; the worker is killed and the task is an error.")
@click.option("--app", "app_urls", multiple=True, metavar="NAME=URL",
              help="Use this running app instead of starting the bundled one (repeatable).")
@launch_browser_options
@click.option("--desktop-screen", type=str, default="1280x800", show_default=True,
              metavar="WxH", help="Desktop tasks: size of each worker's headless X server.")
@click.option("--desktop-display", metavar=":N",
              help="Desktop tasks: use this X display instead of a headless one per worker.")
@click.option("--desktop-url", metavar="URL",
              help="Desktop tasks: run them on the desktop behind this OSWorld-compatible "
              "server (`screenpilot serve-desktop`, or an OSWorld VM's port 5000).")
@click.option("--desktop-token", envvar="SCREENPILOT_DESKTOP_TOKEN", metavar="TOKEN",
              help="The --desktop-url server's token (env SCREENPILOT_DESKTOP_TOKEN); never "
              "saved.")
@click.option("--device", "android_device", metavar="HOST:PORT",
              help="Android tasks: the phone (adb over TCP: HOST:PORT or HOST, port 5555; "
              "usb or usb:SERIAL). One phone serves one worker.")
@secret_option
@guard_options
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.pass_context
def bench(
    ctx: click.Context,
    suites: tuple[str, ...],
    task_ids: tuple[str, ...],
    tags: tuple[str, ...],
    miniwob_tasks: str | None,
    episodes: int | None,
    seed: int | None,
    model: str,
    coords: str,
    divisor: str,
    max_image_tokens: int | None,
    base_url: str | None,
    api_key: str | None,
    backend: str,
    timeout: float,
    max_tokens: int,
    temperature: float,
    device: str,
    dtype: str,
    attn_implementation: str,
    device_map: str | None,
    oracle: bool,
    null_model: bool,
    workers: int,
    ray_address: str | None,
    out: Path,
    name: str | None,
    resume: str | None,
    retry_errors: bool,
    max_steps: int,
    zoom: bool,
    task_timeout: float | None,
    app_urls: tuple[str, ...],
    desktop_screen: str,
    desktop_display: str | None,
    desktop_url: str | None,
    desktop_token: str | None,
    android_device: str | None,
    secret_specs: tuple[str, ...],
    policy_spec: str | None,
    allow_domains: tuple[str, ...],
    block_domains: tuple[str, ...],
    quiet: bool,
    **browser: Any,
) -> None:
    """Run task suites with parallel workers; write results, a summary and trajectories.

    \b
    screenpilot bench --suite flights --base-url http://127.0.0.1:8000/v1 \\
        --model Qwen/Qwen3-VL-8B-Instruct --workers 4
    screenpilot bench --suite flights --model DIR     # a local checkpoint (transformers)
    screenpilot bench --suite flights --oracle        # every task's reference solution
    screenpilot bench --suite desktop --oracle        # on a headless X desktop per worker
    screenpilot bench --suite desktop --oracle --desktop-url http://127.0.0.1:5000
    screenpilot bench --suite phone --oracle --device 192.168.1.23:5555   # a phone
    screenpilot bench --suite miniwob --base-url URL --model NAME --workers 4
    screenpilot bench --suite miniwob --tasks click-button,enter-text --episodes 2 --null
    screenpilot bench --resume runs/bench/NAME        # finish an interrupted run

    A run is unattended: what the safety policy would ask a person about is refused (each
    suite's policy.toml, or --policy; README 'Safety').
    """
    from benchmarks.report import summary_table
    from benchmarks.runner import BenchConfig, BenchError, load_run_config, run_bench

    console = Console(stderr=True, quiet=quiet)
    run_dir: Path | None = None
    secrets = secrets_from(secret_specs)  # the tasks' {{NAME}}s are checked by run_bench
    if oracle and null_model:
        raise click.UsageError("--oracle and --null exclude each other")
    if retry_errors and resume is None:
        raise click.UsageError("--retry-errors goes with --resume")
    if android_device and re.fullmatch(_TORCH_DEVICE, android_device.strip().lower()):
        raise click.UsageError(
            f"--device is the phone for android tasks (HOST:PORT), not {android_device!r}; "
            "the local model's device is --model-device")

    try:
        if resume is not None:
            run_dir = _find_resume_dir(resume, out, name)
            config = load_run_config(run_dir)
            updates: dict[str, Any] = {}
            ignored = []
            for param, value in ctx.params.items():
                if not _given(ctx, param):
                    continue
                if param in _RESUME_OVERRIDES:
                    updates[_RESUME_OVERRIDES[param]] = value
                elif param not in ("resume", "out", "name", "quiet", "api_key", "retry_errors",
                                   "desktop_token", "secret_specs"):
                    opts = next((p.opts for p in ctx.command.params if p.name == param), [])
                    ignored.append(opts[0] if opts else param)
            if ignored:
                console.print(f"[yellow]ignored with --resume (the run's settings are in "
                              f"run.json):[/] {escape(' '.join(ignored))}", highlight=False)
            config = config.model_copy(update=updates)
            config = BenchConfig.model_validate(config.model_dump())
        else:
            if not suites:
                raise click.UsageError("give --suite NAME|PATH (or --resume RUN_DIR)")
            miniwob = _miniwob_config(ctx, suites, miniwob_tasks, episodes, seed, max_steps,
                                      browser)
            config = BenchConfig(
                suites=[_suite_spec(s) for s in suites],
                task_ids=list(task_ids),
                tags=list(tags),
                model=model,
                model_source=_model_source(backend, base_url, oracle, null_model),
                local=local_settings(device, dtype, attn_implementation, device_map),
                base_url=base_url,
                coords=coords,
                divisor=int(divisor),
                max_image_tokens=max_image_tokens,
                max_tokens=max_tokens,
                temperature=temperature,
                request_timeout_s=timeout,
                max_steps=max_steps,
                zoom=zoom,
                task_timeout_s=task_timeout,
                workers=workers,
                ray_address=ray_address,
                browser=browser_config_from(**browser),
                apps=_parse_apps(app_urls),
                desktop_screen=_screen_size(desktop_screen),
                desktop_display=desktop_display,
                desktop_url=desktop_url,
                android_device=android_device,
                miniwob=miniwob,
                policy=policy_from(policy_spec) if policy_spec else None,
                allow_domains=list(allow_domains),
                block_domains=list(block_domains),
            )
            run_dir = out / (name or _default_name(config))
        if api_key:
            config.api_key = SecretStr(api_key)
        if desktop_token:
            config.desktop_token = SecretStr(desktop_token)
        config.secrets = {name: SecretStr(secrets.value(name)) for name in secrets.names}
        if config.model_source == "local" and config.family is None:
            config.family = local_checkpoint_family(config.model, config.local)
        if config.model_source == "http" and not config.base_url:
            raise click.UsageError(
                "give --base-url (an OpenAI-compatible server, e.g. vllm serve ... --port 8000 "
                "-> http://127.0.0.1:8000/v1), or --oracle / --null to check the tasks "
                "without a model")
        tasks = _load_tasks(config)
        who = config.model if config.model_source in ("http", "local") else config.model_source
        console.print(
            f"[bold]screenpilot bench[/] {len(tasks)} tasks, {escape(who)}"
            f", {config.workers} worker{'s' * (config.workers != 1)}"
            f"{' on Ray' if config.ray_address else ''}", highlight=False)
        console.print(f"run dir: {run_dir}", highlight=False, markup=False)
        outcome = run_bench(config, run_dir, resume=resume is not None,
                            retry_errors=retry_errors, tasks=tasks, console=console)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]; finish the run with: screenpilot bench --resume "
                      f"{escape(str(run_dir))}", highlight=False)
        sys.exit(130)
    except (BenchError, ValidationError) as exc:
        click.echo(secrets.redact(f"Error: {exc}"), err=True)
        sys.exit(2)

    if outcome.extra:
        console.print(f"[yellow]results.jsonl has tasks that are not selected any more "
                      f"(left out):[/] {escape(', '.join(outcome.extra))}", highlight=False)
    console.print(summary_table(outcome.summary, title=str(outcome.run_dir)))
    for note in outcome.summary.notes:
        console.print(note, style="dim", highlight=False, markup=False)
    console.print(f"results: {outcome.run_dir / 'results.json'}; report: screenpilot view "
                  f"{outcome.run_dir}", highlight=False, markup=False)
    overall = outcome.summary.overall
    sys.exit(0 if overall.success == overall.tasks else 1)


def _given(ctx: click.Context, param: str) -> bool:
    """Whether the user gave option ``param`` (on the command line or in the environment)
    rather than leaving its default."""
    return ctx.get_parameter_source(param) in (ParameterSource.COMMANDLINE,
                                               ParameterSource.ENVIRONMENT)


def _miniwob_config(
    ctx: click.Context, suites: tuple[str, ...], names: str | None, episodes: int | None,
    seed: int | None, max_steps: int, browser: dict[str, Any],
) -> Any:
    """The MiniWoB episodes of a --suite miniwob run (None for other suites). Options the
    user gave win over the suite's defaults; the screen is always the task area."""
    from benchmarks import miniwob
    from benchmarks.runner import BenchError, resolve_suite

    try:
        is_miniwob = any(miniwob.is_miniwob_suite(resolve_suite(s)) for s in suites)
    except BenchError:
        return None  # load_bench_tasks names the missing suite
    if not is_miniwob:
        used = [o for o, p in (("--tasks", "miniwob_tasks"), ("--episodes", "episodes"),
                               ("--seed", "seed")) if _given(ctx, p)]
        if used:
            raise click.UsageError(f"{', '.join(used)} choose MiniWoB episodes: use them with "
                                   "--suite miniwob")
        return None
    if _given(ctx, "viewport"):
        w, h = miniwob.TASK_AREA
        raise click.UsageError(f"the MiniWoB screen is its {w}x{h} CSS px task area; "
                               "--device-scale-factor sets its size in pixels")
    settings: dict[str, Any] = {}
    if names is not None:
        settings["tasks"] = [n.strip() for n in names.split(",") if n.strip()]
        if not settings["tasks"]:
            raise click.UsageError("--tasks: give task names separated by commas")
    if episodes is not None:
        settings["episodes"] = episodes
    if seed is not None:
        settings["seed"] = seed
    if _given(ctx, "max_steps"):
        settings["max_steps"] = max_steps
    if _given(ctx, "device_scale_factor"):
        settings["scale"] = browser["device_scale_factor"]
    return miniwob.MiniWobConfig(**settings)


def _suite_spec(spec: str) -> str:
    """What run.json keeps of a --suite: a name as is, a path made absolute."""
    from benchmarks.runner import SUITES_DIR, resolve_suite

    path = resolve_suite(spec)
    return spec if path == SUITES_DIR / spec else str(path)


def _default_name(config: Any) -> str:
    from benchmarks.runner import default_run_name

    return default_run_name(config)


def _load_tasks(config: Any) -> list[Any]:
    """Load and check the tasks; every problem at once, exit code 2."""
    from benchmarks.runner import load_bench_tasks
    from benchmarks.task import TaskFileError

    try:
        return load_bench_tasks(config)
    except TaskFileError as exc:
        click.echo(f"Error: the tasks cannot run:\n{exc}", err=True)
        sys.exit(2)


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: RUN_DIR/report.html).")
@click.option("--open", "open_browser", is_flag=True, help="Open the report in a web browser.")
def view(run_dir: Path, out: Path | None, open_browser: bool) -> None:
    """Write an HTML report of a bench run dir or of one `screenpilot run` trajectory."""
    from benchmarks.view import ViewError, write_view

    try:
        path = write_view(run_dir, out)
    except ViewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))
    if open_browser:
        webbrowser.open(path.resolve().as_uri())


@main.command()
@click.argument("name", type=click.Choice(["flights"]))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="0 = any free port.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default).")
@click.option("--seed", type=int, default=None, help="Flight data seed (default: the suite's).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file that keeps bookings across restarts (default: a temporary one).")
@click.option("--promo", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.json",
              help="Show this promotional banner (benchmarks/apps/flights/promo.py).")
def app(name: str, port: int, host: str, seed: int | None, db: Path | None,
        promo: Path | None) -> None:
    """Serve a bundled web app until interrupted; prints its URL first.

    flights: the flight-search site the flights suite and the main job run against.
    """
    from benchmarks.apps.flights.data import DEFAULT_SEED
    from benchmarks.apps.flights.promo import Promo, PromoError
    from benchmarks.apps.flights.server import FlightsServer

    try:
        banner = Promo.load(promo) if promo is not None else None
    except PromoError as exc:
        raise click.BadParameter(str(exc), param_hint="--promo") from None
    try:
        server = FlightsServer(port, host, DEFAULT_SEED if seed is None else seed,
                               db_path=None if db is None else str(db), promo=banner)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}; "
                                   "pick another --port (0 = any free one)") from None
    click.echo(server.url)
    click.echo("serving; press Ctrl-C to stop", err=True)
    server.serve_forever()


@main.group()
def tasks() -> None:
    """Inspect task files (ScreenPilot's suites or OSWorld's)."""


@tasks.command("check")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--env", "envs", multiple=True, default=("android", "browser", "desktop"),
              show_default=True, help="Envs to count as available (repeatable).")
@click.option("--list", "list_tasks", is_flag=True, help="Also list each task that cannot run.")
def tasks_check(paths: tuple[Path, ...], envs: tuple[str, ...], list_tasks: bool) -> None:
    """Load task files and print which setup steps, getters and metrics ScreenPilot can run.

    Exit code 0 when every file loads (whether or not each task can run here), 2 when a
    file is malformed (every problem is listed).
    """
    from benchmarks.task import TaskFileError, load_tasks, summarize_support, support_table

    console = Console()
    try:
        loaded = load_tasks(*paths)
    except TaskFileError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    summary = summarize_support(loaded, envs)
    console.print(support_table(summary))
    if list_tasks:
        for task_id, problems in summary.not_runnable.items():
            console.print(f"[red]✗[/] {escape(task_id)}: {escape('; '.join(problems))}",
                          highlight=False)
