"""The ``screenpilot`` command line."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource
from pydantic import BaseModel, SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.calibrate import CalibrationReport, calibrate_browser, calibrate_desktop
from agent.guard import Confirm, Guard, Policy, PolicyError
from agent.loop import Agent, AgentConfig
from agent.presets import (
    DEFAULT_MODEL,
    ModelFamily,
    agent_tools,
    backend_family,
    convention_for,
    model_family,
    vision_for,
)
from agent.secrets import ENV_PREFIX, SecretError, Secrets
from agent.serve import serve_desktop
from agent.trajectory import RunMeta, RunResult, StepRecord, TrajectoryRecorder
from envs.base import Env, EnvError, Target
from envs.browser import BrowserConfig, BrowserEnv
from envs.desktop import DesktopConfig, DesktopEnv
from envs.osworld import OSWorldConfig, OSWorldEnv
from model.messages import Backend, BackendError
from model.vision import VisionConfig
from tools.coordinates import CoordinateConvention

if TYPE_CHECKING:
    from agent.script import FlowResult, StepOutcome
    from envs.android import AndroidConfig, AndroidEnv

NO_MODEL_HELP = """\
{reason}

The default backend runs {model} on this machine through transformers
(--backend local); it needs the weights (several GB), fetched from the Hugging
Face Hub on first use. Other ways to point ScreenPilot at a model:

  --model /path/to/checkpoint       a folder made by `hf download MODEL --local-dir DIR`
  --base-url URL --model NAME       any OpenAI-compatible server, for example
      vllm serve Qwen/Qwen3-VL-8B-Instruct --port 8000
      screenpilot run "..." --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-VL-8B-Instruct

SGLang, Ollama, LM Studio and DashScope work like vLLM (pass --api-key or set
SCREENPILOT_API_KEY when the server wants one)."""


class NoModelError(click.ClickException):
    exit_code = 2


class CannotStart(click.ClickException):
    """The command cannot start (a phone out of reach, a missing package): exit code 2."""

    exit_code = 2


def _parse_size(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1280x800") from None
    if w <= 0 or h <= 0:
        raise click.BadParameter("width and height must be positive")
    return w, h


@click.group()
@click.version_option(package_name="screenpilot")
def main() -> None:
    """ScreenPilot: a vision-language model operating real screens."""


def _options(*decorators: Callable[[Callable[..., Any]], Callable[..., Any]]):
    """Apply a group of click options shared by several commands."""

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for decorate in reversed(decorators):
            f = decorate(f)
        return f

    return apply


# Options of a browser the command launches itself (``bench`` workers launch their own).
_VIEWPORT_OPTION = click.option(
    "--viewport", default="1280x800", show_default=True, callback=_parse_size,
    help="Browser viewport in CSS pixels.")
_SCALE_OPTION = click.option(
    "--device-scale-factor", type=click.FloatRange(0.25, 5), default=1.0, show_default=True,
    help="Screenshot pixels per CSS pixel (2 = HiDPI).")
_CDP_OPTION = click.option("--cdp-url", help="Attach to a running Chromium (http://127.0.0.1:9222).")
_HEADLESS_OPTION = click.option(
    "--headless/--no-headless", default=None,
    help="Browser: run Chromium without a window (default: headless). Desktop: start our own "
    "X server (Xvfb) of --screen size; default: only when there is no $DISPLAY.")
_BROWSER_PATH_OPTION = click.option(
    "--browser-path", help="Chromium executable (default: found automatically).")
_BROWSER_ARG_OPTION = click.option(
    "--browser-arg", multiple=True, help="Extra Chromium flag (repeatable).")

browser_options = _options(
    _VIEWPORT_OPTION, _SCALE_OPTION, _CDP_OPTION, _HEADLESS_OPTION, _BROWSER_PATH_OPTION,
    _BROWSER_ARG_OPTION,
)
"""Browser options of ``run`` and ``calibrate``: viewport, scale, cdp-url, headless, path, args."""

launch_browser_options = _options(
    _VIEWPORT_OPTION, _SCALE_OPTION, _HEADLESS_OPTION, _BROWSER_PATH_OPTION, _BROWSER_ARG_OPTION,
)
"""``browser_options`` without --cdp-url, for commands whose browsers are always launched."""

zoom_option = click.option(
    "--zoom/--no-zoom", default=False, show_default=True,
    help="Offer the model image_zoom_in_tool: look closer at a region before acting.")

model_options = _options(
    click.option("--model", default=DEFAULT_MODEL, show_default=True,
                 help="Model name (served name with --base-url)."),
    click.option("--coords", type=click.Choice(["auto", "relative", "absolute"]),
                 default="auto", show_default=True,
                 help="Coordinate convention; auto: relative for Qwen3-VL, absolute for "
                 "Qwen2.5-VL."),
    click.option("--divisor", type=click.Choice(["1000", "999"]), default="1000",
                 show_default=True, help="Relative grid size."),
    click.option("--max-image-tokens", type=click.IntRange(4, 16384), default=None,
                 help="Cap the visual tokens per screenshot (default: the model's 16384); "
                 "larger screenshots are scaled down."),
)

base_url_option = click.option(
    "--base-url", envvar="SCREENPILOT_BASE_URL",
    help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
api_key_option = click.option(
    "--api-key", help="API key (default: SCREENPILOT_API_KEY or OPENAI_API_KEY).")
request_options = _options(
    click.option("--timeout", type=float, default=120.0, show_default=True,
                 help="Seconds per model request."),
    click.option("--max-tokens", type=click.IntRange(16, 65536), default=1024, show_default=True,
                 help="Longest reply; raise it for Thinking models, whose reasoning counts."),
    click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True,
                 help="Sampling temperature."),
)
"""--timeout, --max-tokens and --temperature (--timeout is the HTTP backend's only)."""

backend_option = click.option(
    "--backend", type=click.Choice(["auto", "openai", "local"]), default="auto",
    show_default=True, help="auto: openai when --base-url is given, else local.")

local_options = _options(
    click.option("--model-device", "device", default="auto", show_default=True,
                 help="Where a local model runs: auto (CUDA, then Apple MPS, then CPU), cpu, "
                 "cuda, cuda:1, mps."),
    click.option("--dtype", type=click.Choice(["auto", "bfloat16", "float16", "float32"]),
                 default="auto", show_default=True,
                 help="Local weights' dtype; auto: bfloat16 on CUDA, float32 on CPU."),
    click.option("--attn", "attn_implementation",
                 type=click.Choice(["auto", "flash_attention_2", "sdpa", "eager"]),
                 default="auto", show_default=True,
                 help="Local attention kernel; one that cannot load falls back to the next."),
    click.option("--device-map", default=None,
                 help="transformers device_map for a local model (auto: spread over GPUs)."),
)
"""Options of the local transformers backend (``LocalBackendConfig`` fields)."""


secret_option = click.option(
    "--secret", "secret_specs", multiple=True, metavar="NAME=VALUE",
    help="A secret the model never sees (repeatable): it types {{NAME}} and the env enters "
    "VALUE; run files and output show {{NAME}} only. NAME alone takes the value of $NAME, "
    f"and every {ENV_PREFIX}NAME variable is a secret too (safer than VALUE on the command "
    "line, which the process list shows).")
"""--secret of ``run`` and ``bench``; build the Secrets with ``secrets_from``."""


def secrets_from(
    specs: tuple[str, ...] | list[str], instructions: tuple[str, ...] = (),
    typed: tuple[str, ...] = (),
) -> Secrets:
    """The secrets of --secret options and SCREENPILOT_SECRET_* variables. A bad spec, a
    ``{{NAME}}`` in an instruction or ``typed`` text that names no secret, or an instruction
    that holds a secret's value (the model would see it) is a usage error (exit code 2)."""
    try:
        secrets = Secrets.from_specs(specs)
        for text in instructions:
            secrets.check_instruction(text)
        for text in typed:
            secrets.check(text)
    except SecretError as exc:
        raise click.UsageError(str(exc)) from None
    return secrets


phone_option = click.option(
    "--device", "phone", metavar="HOST:PORT",
    help="The Android phone: its ADB address HOST:PORT (port 5555 when left out; run `adb tcpip "
    "5555` once over USB to turn ADB over TCP on), or usb[:SERIAL].")
"""--device of the android env (the phone; a local model's device is --model-device)."""


def _parse_sizes(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> list[tuple[int, int]]:
    return [_parse_size(ctx, param, v) for v in value] or [(1280, 800)]


# Options of a desktop env (``run --env desktop``, ``calibrate --env desktop``); --headless
# is shared with the browser options.
desktop_options = _options(
    click.option("--display", help="X display to act on (default: $DISPLAY), e.g. :0."),
    click.option("--screen", "screens", multiple=True, callback=_parse_sizes,
                 help="Monitor size of a headless X server (default 1280x800); repeat for "
                 "monitors side by side: --screen 1920x1080 --screen 1280x1024."),
    click.option("--monitor", type=click.IntRange(0), default=0, show_default=True,
                 help="Which monitor of the display the desktop env captures and clicks."),
    click.option("--desktop-url", metavar="URL",
                 help="Act on the desktop behind this OSWorld-compatible server (`screenpilot "
                 "serve-desktop` elsewhere, or an OSWorld VM's http://HOST:5000)."),
    click.option("--desktop-token", envvar="SCREENPILOT_DESKTOP_TOKEN", metavar="TOKEN",
                 help="The --desktop-url server's token (env SCREENPILOT_DESKTOP_TOKEN)."),
)
"""--display, --screen, --monitor, --desktop-url and --desktop-token of the desktop env (with
--headless from browser_options)."""


def desktop_config_from(
    display: str | None = None,
    screens: list[tuple[int, int]] | None = None,
    monitor: int = 0,
    headless: bool | None = None,
) -> DesktopConfig:
    """The DesktopConfig of ``desktop_options`` (and --headless)."""
    if display is not None and headless:
        raise click.UsageError("give --display (an X server that runs) or --headless (start "
                               "one), not both")
    return DesktopConfig(display=display, headless=headless,
                         monitors=list(screens or [(1280, 800)]), monitor=monitor)


def browser_config_from(
    viewport: tuple[int, int],
    device_scale_factor: float,
    cdp_url: str | None = None,
    headless: bool | None = True,
    browser_path: str | None = None,
    browser_arg: tuple[str, ...] = (),
) -> BrowserConfig:
    """The BrowserConfig of the browser options (``browser_options`` keyword arguments)."""
    return BrowserConfig(
        viewport_width=viewport[0],
        viewport_height=viewport[1],
        device_scale_factor=device_scale_factor,
        headless=True if headless is None else headless,
        executable_path=browser_path,
        cdp_url=cdp_url,
        extra_args=list(browser_arg),
    )


def android_config(device: str) -> AndroidConfig:
    """The AndroidConfig of --device; says how to install adb-shell when it is missing."""
    try:
        from envs.android import AndroidConfig
    except ImportError as exc:
        raise CannotStart(f"the android env needs adb-shell ({exc}): pip install "
                          "'screenpilot[android]'") from None
    if re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device.strip().lower()):
        raise click.UsageError(f"--device is the phone (HOST:PORT), not {device!r}; a local "
                               "model's device is --model-device")
    try:
        return AndroidConfig(device=device)
    except ValidationError as exc:
        msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise click.BadParameter(msg, param_hint="'--device'") from None


def remote_desktop_config(url: str, token: str | None) -> OSWorldConfig:
    """The OSWorldConfig of --desktop-url / --desktop-token."""
    return OSWorldConfig(url=url, token=SecretStr(token) if token else None)


def open_env(
    config: BrowserConfig | DesktopConfig | OSWorldConfig | AndroidConfig, url: str | None = None
) -> Env:
    """Start the env ``config`` describes and reset it (a browser opens ``url``, a phone
    goes to its home screen). On a desktop the env did not start itself, reset leaves the
    user's windows open; a remote desktop is only looked at (its reset would close every
    window on it)."""
    env: BrowserEnv | DesktopEnv | AndroidEnv
    if isinstance(config, OSWorldConfig):
        remote = OSWorldEnv(config)
        try:
            remote.observe()
        except BaseException:
            remote.close()
            raise
        return remote
    reset_url = None
    if isinstance(config, DesktopConfig):
        env = DesktopEnv(config)
    elif isinstance(config, BrowserConfig):
        env = BrowserEnv(config)
        reset_url = url
    else:
        from envs.android import AndroidEnv

        env = AndroidEnv(config)
    try:
        env.reset(reset_url)
    except BaseException:
        env.close()
        raise
    return env


guard_options = _options(
    click.option("--policy", "policy_spec", metavar="FILE|PRESET", default=None,
                 help="Safety policy: a .toml/.yaml file (README 'Safety') or a preset: "
                      "default (ask before risky clicks, keys and shell commands), "
                      "permissive (allow them), strict (refuse them)."),
    click.option("--allow-domain", "allow_domains", multiple=True, metavar="DOMAIN",
                 help="Navigation may only go to these hosts (and their subdomains); "
                      "repeatable; adds to the policy's allowed_domains."),
    click.option("--block-domain", "block_domains", multiple=True, metavar="DOMAIN",
                 help="Navigation may never go to these hosts; repeatable."),
)
"""The safety policy of ``agent.guard``, shared by run, script and bench."""


def policy_from(spec: str | None, allow: Sequence[str] = (), block: Sequence[str] = (),
                default: Policy | None = None) -> Policy:
    """The policy of ``guard_options``: a file or preset (else ``default``), plus the flags."""
    try:
        base = Policy.load(spec) if spec else (default or Policy())
        return base.with_domains(allow, block)
    except (PolicyError, ValidationError) as exc:
        raise click.BadParameter(str(exc), param_hint="--policy/--allow-domain") from None


def terminal_confirm(console: Console, pause: Callable[[], Any] | None = None,
                     resume: Callable[[], Any] | None = None,
                     secrets: Secrets | None = None) -> Confirm:
    """A ``Confirm`` that asks the person at the terminal (the progress display paused);
    ``secrets``' values are shown as their placeholders."""
    hide = secrets.redact if secrets else str

    def confirm(action: str, reason: str, target: Target | None) -> bool:
        if pause:
            pause()
        try:
            console.print(f"[bold yellow]The agent wants to {escape(hide(action))}[/]: "
                          f"{escape(hide(reason))}.", highlight=False)
            return click.confirm("Allow it?", default=False, err=True)
        except click.Abort:
            return False
        finally:
            if resume:
                resume()

    return confirm


def make_guard(policy: Policy, unattended: bool, console: Console,
               pause: Callable[[], Any] | None = None,
               resume: Callable[[], Any] | None = None,
               secrets: Secrets | None = None) -> Guard:
    """A guard that asks at the terminal, unless the run is unattended (``--yes``, or no
    terminal to ask at): then what the policy would ask is refused."""
    interactive = not unattended and sys.stdin.isatty()
    return Guard(policy, terminal_confirm(console, pause, resume, secrets) if interactive
                 else None)


def model_settings(
    model: str, coords: str, divisor: str, max_image_tokens: int | None,
    family: ModelFamily | None = None,
) -> tuple[CoordinateConvention, VisionConfig]:
    """Coordinates and image settings of the family (guessed from ``model`` if not given)."""
    family = family or model_family(model)
    convention = convention_for(family, coords, int(divisor))  # type: ignore[arg-type]
    return convention, vision_for(family, max_image_tokens)


@main.command()
@click.argument("instruction")
@click.option("--env", "env_name", type=click.Choice(["browser", "desktop", "android"]),
              default="browser", show_default=True,
              help="Where the agent acts: a Chromium page, an X11 desktop or an Android phone.")
@click.option("--url", help="Page to open first (browser env).")
@phone_option
@model_options
@base_url_option
@api_key_option
@backend_option
@request_options
@local_options
@click.option("--max-steps", type=click.IntRange(1, 1000), default=30, show_default=True,
              help="Model calls before the run ends as max_steps.")
@zoom_option
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder that receives one trajectory folder per run.")
@browser_options
@desktop_options
@secret_option
@guard_options
@click.option("--yes", "unattended", is_flag=True,
              help="Unattended: never ask; what the policy would ask about is refused.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def run(
    instruction: str,
    env_name: str,
    url: str | None,
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
    max_steps: int,
    zoom: bool,
    out: Path,
    as_json: bool,
    quiet: bool,
    device: str,
    dtype: str,
    attn_implementation: str,
    device_map: str | None,
    display: str | None,
    screens: list[tuple[int, int]],
    monitor: int,
    desktop_url: str | None,
    desktop_token: str | None,
    phone: str | None,
    secret_specs: tuple[str, ...],
    policy_spec: str | None,
    allow_domains: tuple[str, ...],
    block_domains: tuple[str, ...],
    unattended: bool,
    **browser: Any,
) -> None:
    """Run the agent on INSTRUCTION until it terminates or runs out of steps.

    On a phone (--env android --device HOST:PORT) the run starts from the home screen.
    With --secret PASSWORD=..., the instruction says {{PASSWORD}} where the value goes
    (e.g. "log in as {{USER}} with {{PASSWORD}}").
    Exit code 0 only when the agent terminated with success.
    """
    console = Console(stderr=True, quiet=quiet)
    secrets = secrets_from(secret_specs, (instruction,))
    if env_name == "browser" and url is None and browser["cdp_url"] is None:
        raise click.UsageError("give --url (the page to start on) or --cdp-url")
    if env_name != "browser" and url is not None:
        raise click.UsageError(f"--url is for the browser env; the {env_name} env opens no URL "
                               "(start the app first, or use --env browser)")
    if env_name == "android" and not phone:
        raise click.UsageError("--env android needs --device HOST:PORT, the phone's ADB address "
                               "(run `adb tcpip 5555` once over USB to turn ADB over TCP on)")
    if env_name != "android" and phone:
        raise click.UsageError("--device is the phone of --env android (a local model's device "
                               "is --model-device)")
    env_config: BrowserConfig | DesktopConfig | OSWorldConfig | AndroidConfig
    if env_name == "android":
        env_config = android_config(phone or "")
    elif env_name == "desktop" and desktop_url:
        if display or browser["headless"]:
            raise click.UsageError("--desktop-url acts on a remote desktop; --display and "
                                   "--headless are for a local one")
        env_config = remote_desktop_config(desktop_url, desktop_token)
    elif env_name == "desktop":
        env_config = desktop_config_from(display, screens, monitor, browser["headless"])
    else:
        env_config = browser_config_from(**browser)
    policy = policy_from(policy_spec, allow_domains, block_domains)
    local = local_settings(device, dtype, attn_implementation, device_map)
    llm = make_backend(backend, model, base_url, api_key, timeout, max_tokens, temperature,
                       local, console)
    family = backend_family(llm, model)
    convention, vision = model_settings(model, coords, divisor, max_image_tokens, family)
    config = AgentConfig(max_steps=max_steps, vision=vision)
    settings: dict[str, Any] = {
        "agent": config.model_dump(),
        env_name: env_config.model_dump(mode="json"),
        "coordinates": convention.model_dump(),
        "base_url": base_url,
        "family": family,
        "zoom": zoom,
        "policy": policy.model_dump(mode="json"),
    }
    if secrets:
        settings["secrets"] = secrets.names
    if hasattr(llm, "notes"):
        settings["local"] = {**local, "notes": llm.notes}
    meta = RunMeta(instruction=instruction, model=model, backend=llm.name, env=env_name,
                   start_url=url, settings=settings)
    recorder = TrajectoryRecorder(out, meta, secrets=secrets)
    console.print(f"[bold]screenpilot[/] {escape(model)} via {escape(llm.name)}", highlight=False)
    console.print(f"trajectory: {recorder.dir}", highlight=False, markup=False)

    status = console.status("connecting to the phone…" if env_name == "android"
                            else f"starting the {env_name}…")
    status.start()
    guard = make_guard(policy, unattended, console, status.stop, status.start, secrets)

    def on_step(rec: StepRecord) -> None:
        _print_step(console, secrets.redact_model(rec))
        status.update(f"step {rec.step + 1}: waiting for the model…")

    try:
        try:
            env = open_env(env_config, url)
        except EnvError as exc:
            result = RunResult(status="error", error=str(exc))
            recorder.finish(result)
        else:
            with env:
                status.update("step 1: waiting for the model…")
                agent = Agent(llm, env, agent_tools(convention, zoom, env_name), config,
                              recorder, on_step, guard=guard, secrets=secrets)
                result = agent.run(instruction)
    finally:
        status.stop()
        llm.close()

    _print_summary(console, secrets.redact_model(result))
    if as_json:
        click.echo(secrets.redact_json(result, indent=2))
    sys.exit(0 if result.succeeded else 1)


@main.command()
@click.option("--env", "env_name", type=click.Choice(["browser", "desktop"]), default="browser",
              show_default=True, help="Calibrate a Chromium page or an X11 desktop monitor.")
@model_options
@browser_options
@desktop_options
@click.option("--grid", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Points per side of the lattice clicked.")
def calibrate(
    env_name: str, model: str, coords: str, divisor: str, max_image_tokens: int | None,
    grid: int, display: str | None, screens: list[tuple[int, int]], monitor: int,
    desktop_url: str | None, desktop_token: str | None, **browser: Any,
) -> None:
    """Check that model coordinates land on the right pixel in this browser or desktop.

    Clicks a lattice of points (edges included) through the coordinate convention,
    the env's mapping and a real click, and reports how far each landed from its
    target. No model is needed. Exit code 0 when every click is within tolerance.
    On a desktop (--env desktop) a blank window covers the monitor while it runs.
    """
    console = Console()
    if desktop_url:
        raise click.UsageError("calibrate runs on a local desktop (--display or --headless); "
                               "run it on the remote machine itself")
    convention, vision = model_settings(model, coords, divisor, max_image_tokens)
    try:
        if env_name == "desktop":
            config = desktop_config_from(display, screens, monitor, browser["headless"])
            with DesktopEnv(config) as desktop:
                report = calibrate_desktop(desktop, convention, vision, grid)
        else:
            with BrowserEnv(browser_config_from(**browser)) as env:
                report = calibrate_browser(env, convention, vision, grid)
    except EnvError as exc:
        raise click.ClickException(str(exc)) from None
    print_calibration(console, report)
    sys.exit(0 if report.passed else 1)


def print_calibration(console: Console, report: CalibrationReport) -> None:
    """The calibration table and verdict, the same for every env."""
    convention = report.convention
    grid = (f"{convention.kind} coordinates"
            + (f" / {convention.divisor}" if convention.kind == "relative" else ""))
    sent = f"image sent {report.image_size[0]}x{report.image_size[1]}"
    if report.env == "desktop":
        where = f" ({report.where})" if report.where else ""
        head = f"desktop {report.viewport[0]}x{report.viewport[1]} px{where}, {sent}, {grid}"
        unit = "px"
    else:
        head = (f"viewport {report.viewport[0]}x{report.viewport[1]} CSS px at "
                f"{report.device_scale_factor:g}x, {sent}, {grid}")
        unit = "CSS px"
    console.print(head, highlight=False, markup=False)
    table = Table(f"target ({unit})", "model answers", "landed", "miss (px)", "off aim (px)")
    for p in report.points:
        landed = "-" if p.landed is None else f"({p.landed[0]:g}, {p.landed[1]:g})"
        miss = "no click" if p.error_px is None else f"{p.error_px:.2f}"
        off = "-" if p.mapping_error_px is None else f"{p.mapping_error_px:.2f}"
        table.add_row(f"({p.target[0]:.0f}, {p.target[1]:.0f})",
                      f"[{p.coordinate[0]}, {p.coordinate[1]}]", landed, miss, off)
    console.print(table)
    verdict = "[green]passed[/]" if report.passed else "[red]FAILED[/]"
    console.print(f"{verdict}: largest miss {report.max_error_px:.2f} px "
                  f"(tolerance {report.tolerance_px:.2f} px: half a grid cell, plus rounding); "
                  f"largest miss of the point the coordinate denotes "
                  f"{report.max_mapping_error_px:.2f} px (tolerance "
                  f"{report.mapping_tolerance_px:g} px)")


@main.command("make-tiny-model")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--family", type=click.Choice(["qwen3-vl", "qwen3-vl-moe", "qwen2.5-vl"]),
              default="qwen3-vl", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same weights.")
def make_tiny_model_command(directory: Path, family: str, seed: int) -> None:
    """Write a tiny random Qwen-VL checkpoint to DIRECTORY, for tests and offline demos.

    It loads like a real checkpoint (--backend local --model DIRECTORY) and answers
    noise: useful to try the local path end to end without downloading weights.
    """
    from model.tiny import make_tiny_model

    try:
        folder = make_tiny_model(directory, family=family, seed=seed)  # type: ignore[arg-type]
    except ImportError as exc:
        raise click.ClickException(
            f"this needs torch and transformers ({exc}): pip install 'screenpilot[local]'"
        ) from None
    click.echo(f"{folder}: tiny random {family}; try: screenpilot run \"...\" --url URL "
               f"--model {folder}")


def make_backend(
    kind: str,
    model: str,
    base_url: str | None,
    api_key: str | None,
    timeout: float,
    max_tokens: int,
    temperature: float,
    local: dict[str, Any] | None = None,
    console: Console | None = None,
) -> Backend:
    """The backend the options ask for; ``local`` holds the ``local_options`` values.

    A local model that cannot be loaded (no weights, no network) raises ``NoModelError``
    (exit code 2) with the ways to point ScreenPilot at a model.
    """
    if kind == "auto":
        kind = "openai" if base_url else "local"
    if kind == "local":
        return _local_backend(model, max_tokens, temperature, local or {}, console)
    if not base_url:
        raise click.UsageError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    from model.backends.openai_compat import OpenAIBackendConfig, OpenAICompatibleBackend

    return OpenAICompatibleBackend(
        OpenAIBackendConfig(model=model, base_url=base_url, api_key=api_key, timeout_s=timeout,
                            max_tokens=max_tokens, temperature=temperature)
    )


@contextmanager
def _local_model_errors(model: str) -> Iterator[None]:
    """A local model that cannot be had becomes ``NoModelError`` (exit 2) saying what to do.

    torch and transformers are imported only when used, so their absence shows up here
    as an ImportError too.
    """
    try:
        yield
    except ImportError as exc:
        reason = (f"The local backend needs torch and transformers ({exc}): install them with "
                  "`pip install 'screenpilot[local]'` (scripts/setup.sh does it with "
                  "EXTRAS=local).")
        raise NoModelError(NO_MODEL_HELP.format(model=model, reason=reason)) from None
    except BackendError as exc:
        raise NoModelError(NO_MODEL_HELP.format(model=model, reason=str(exc))) from None


def _local_backend(
    model: str, max_tokens: int, temperature: float, local: dict[str, Any],
    console: Console | None,
) -> Backend:
    from model.backends.local import LocalBackend, LocalBackendConfig

    config = LocalBackendConfig(
        model=model, max_new_tokens=max_tokens, temperature=temperature, **local
    )
    if console is not None:
        console.print(f"loading {escape(model)} with transformers (the first use of a hub name "
                      "downloads it)…", highlight=False)
    with _local_model_errors(model):
        backend = LocalBackend(config)
    if console is not None:
        notes = "".join(f", {note}" for note in backend.notes)
        console.print(f"loaded {backend.checkpoint.family} on {backend.device} "
                      f"({str(backend.dtype).removeprefix('torch.')}, attention "
                      f"{backend.attn_implementation}, prompts: {backend.encoder.mode}, "
                      f"{backend.encoder.template_source} chat template{notes})",
                      highlight=False, markup=False)
    return backend


def local_checkpoint_family(model: str, local: dict[str, Any]) -> ModelFamily:
    """Find (or fetch) a local checkpoint without loading weights; return its family.

    For commands whose workers load the model themselves: a missing model is reported
    once, here, as ``NoModelError``.
    """
    from model.backends.local import Checkpoint, LocalBackendConfig, resolve_checkpoint

    with _local_model_errors(model):
        return Checkpoint.read(resolve_checkpoint(LocalBackendConfig(model=model, **local))).family


def local_settings(
    device: str, dtype: str, attn_implementation: str, device_map: str | None
) -> dict[str, Any]:
    """The ``local_options`` values as ``LocalBackendConfig`` fields."""
    return {"device": device, "dtype": dtype, "attn_implementation": attn_implementation,
            "device_map": device_map}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_step(console: Console, rec: StepRecord) -> None:
    what = _clip("; ".join(a.description for a in rec.actions) or "-", 40)
    tokens = f"{rec.prompt_tokens or 0}+{rec.completion_tokens or 0} tok"
    line = f"step {rec.step:>3}  {what:<40}  {rec.timings.model_s:5.2f}s  {tokens}"
    console.print(line, highlight=False, markup=False)
    if rec.action_summary:
        console.print(f"          [dim]{escape(_clip(rec.action_summary, 68))}[/]",
                      highlight=False)
    if rec.error:
        console.print(f"          [yellow]{escape(_clip(rec.error, 68))}[/]", highlight=False)


def _print_summary(console: Console, result: RunResult) -> None:
    colour = "green" if result.succeeded else "red"
    table = Table(show_header=False, box=None)
    table.add_row("status", f"[{colour}]{result.status}[/]")
    table.add_row("steps", str(result.steps))
    table.add_row("seconds", f"{result.seconds:.1f}")
    tokens = f"{result.prompt_tokens} prompt + {result.completion_tokens} completion"
    table.add_row("tokens", tokens)
    if result.invalid_replies:
        table.add_row("invalid replies", str(result.invalid_replies))
    if result.answer is not None:
        table.add_row("answer", escape(result.answer))
    if result.error:
        table.add_row("error", escape(result.error))
    if result.out_dir:
        table.add_row("trajectory", result.out_dir)
    console.print(table)


SCRIPT_HELP_EPILOG = """\b
Exit code: 0 when every step passed, 1 when a step failed, 2 when the flow could not
start or go on (a bad file, bad options, no model, the phone out of reach or lost),
130 when interrupted."""

_FLOW_EXIT_CODES = {"passed": 0, "failed": 1, "error": 2, "interrupted": 130}


@main.command(epilog=SCRIPT_HELP_EPILOG)
@click.argument("flow_file", metavar="FLOW.yaml", type=click.Path(dir_okay=False, path_type=Path))
@phone_option
@model_options
@base_url_option
@api_key_option
@backend_option
@request_options
@local_options
@zoom_option
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder that receives the results folder.")
@click.option("--validate", "validate_only", is_flag=True,
              help="Only check the file; nothing touches the phone.")
@secret_option
@guard_options
@click.option("--yes", "unattended", is_flag=True,
              help="Unattended: never ask; what the policy would ask about is refused.")
@click.option("--json", "as_json", is_flag=True, help="Print the results (flow.json) on stdout.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.pass_context
def script(
    ctx: click.Context,
    flow_file: Path,
    phone: str | None,
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
    zoom: bool,
    out: Path,
    validate_only: bool,
    secret_specs: tuple[str, ...],
    policy_spec: str | None,
    allow_domains: tuple[str, ...],
    block_domains: tuple[str, ...],
    unattended: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run a flow file's steps on a phone: fixed actions, goals for the agent, checks.

    The whole file is checked before anything touches the phone. The flow's device,
    model and base_url are used where the command line gives none. Results go to
    OUT/<time>-<name>/: flow.json, rewritten after every step, and each goal's
    trajectory in its own folder.
    """
    try:
        from agent.script import FlowError, Phone, load_flow, results_dir, run_flow, step_kind
    except ImportError as exc:
        raise CannotStart(f"scripts need the android env's packages ({exc}): pip install "
                          "'screenpilot[android]'") from None

    console = Console(stderr=True, quiet=quiet)
    try:
        flow = load_flow(flow_file)
    except FlowError as exc:
        count = len(exc.problems)
        click.echo(f"{flow_file} cannot be used ({count} problem{'s' * (count > 1)}):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    goals = sum(1 for step in flow.steps if step_kind(step) == "goal")
    # goals and typed text may say {{NAME}}: each must name a --secret
    secrets = secrets_from(
        secret_specs,
        tuple(str(step.goal) for step in flow.steps if step_kind(step) == "goal"),
        tuple(str(step.type) for step in flow.steps if step_kind(step) == "type"))
    policy = policy_from(policy_spec, allow_domains, block_domains)
    if validate_only:
        click.echo(f"{flow_file}: {flow.name!r}, {len(flow.steps)} steps ({goals} goals): ok")
        return
    phone = phone or flow.device
    if not phone:
        raise click.UsageError("give --device HOST:PORT (the phone's ADB address), or device: "
                               "in the flow file")
    if ctx.get_parameter_source("model") == ParameterSource.DEFAULT and flow.model:
        model = flow.model
    if ctx.get_parameter_source("base_url") != ParameterSource.COMMANDLINE and flow.base_url:
        base_url = flow.base_url
    config = android_config(phone)

    llm: Backend | None = None
    convention = vision = None
    if goals:  # a flow of fixed steps needs no model
        local = local_settings(device, dtype, attn_implementation, device_map)
        llm = make_backend(backend, model, base_url, api_key, timeout, max_tokens, temperature,
                           local, console)
        convention, vision = model_settings(model, coords, divisor, max_image_tokens,
                                            backend_family(llm, model))
    try:
        env = _connect_phone(config, console)
    except BaseException:
        if llm is not None:
            llm.close()
        raise
    out_dir = results_dir(out, flow)
    (out_dir / "flow.yaml").write_bytes(secrets.redact_bytes(flow_file.read_bytes()))
    settings = {"base_url": base_url, "flow": str(flow_file)}
    with Phone(env, llm, convention=convention, vision=vision, zoom=zoom, model=model,
               action_timeout_s=flow.defaults.action_timeout, settings=settings,
               owns_backend=True, secrets=secrets,
               guard=make_guard(policy, unattended, console, secrets=secrets)) as device_phone:
        head = f"[bold]screenpilot script[/] {escape(flow.name)}: {len(flow.steps)} steps on " \
            f"{escape(phone)}"
        if llm is not None:
            head += f", goals by {escape(model)} via {escape(llm.name)}"
        console.print(head, highlight=False)
        console.print(f"results: {out_dir}", highlight=False, markup=False)
        result = _run_flow_with_progress(console, flow, device_phone, out_dir, flow_file,
                                         run_flow)
    _print_flow_summary(console, secrets.redact_model(result))
    if as_json:
        click.echo(secrets.redact_json(result, indent=2))
    sys.exit(_FLOW_EXIT_CODES.get(result.status, 1))


def _connect_phone(config: AndroidConfig, console: Console) -> AndroidEnv:
    """Open the phone and take one screenshot; a phone out of reach is ``CannotStart``."""
    from envs.android import AndroidEnv

    env: AndroidEnv | None = None
    with console.status(f"connecting to {config.device}…"):
        try:
            env = AndroidEnv(config)
            env.observe()
        except EnvError as exc:
            if env is not None:
                env.close()
            raise CannotStart(str(exc)) from None
        except BaseException:
            if env is not None:
                env.close()
            raise
    return env


def _run_flow_with_progress(
    console: Console, flow: Any, phone: Any, out_dir: Path, flow_file: Path,
    run_flow: Callable[..., FlowResult],
) -> FlowResult:
    """Run the flow with one line per step (and the agent's own lines inside a goal)."""
    from agent.script import step_kind, step_label

    total = len(flow.steps)
    status = console.status("")
    status.start()

    def on_start(number: int, step: BaseModel) -> None:
        kind, label = step_kind(step), phone.secrets.redact(step_label(step))
        status.update(f"step {number}/{total}: {kind} {escape(_clip(label, 60))}…")
        if kind == "goal":
            console.print(f"{number:>3}/{total}  goal        {_clip(label, 60)}",
                          highlight=False, markup=False)

    def on_agent_step(rec: StepRecord) -> None:
        _print_step(console, phone.secrets.redact_model(rec))
        status.update(f"goal: step {rec.step + 1}: waiting for the model…")

    def on_done(outcome: StepOutcome) -> None:
        _print_flow_step(console, phone.secrets.redact_model(outcome), total)

    try:
        return run_flow(flow, phone, out_dir, file=str(flow_file), on_start=on_start,
                        on_done=on_done, on_agent_step=on_agent_step)
    finally:
        status.stop()


def _print_flow_step(console: Console, outcome: StepOutcome, total: int) -> None:
    colour = {"passed": "green", "failed": "red"}.get(outcome.status, "dim")
    label = escape(_clip(outcome.label, 60))
    console.print(f"{outcome.number:>3}/{total}  {outcome.kind:<10}  [{colour}]"
                  f"{outcome.status:<6}[/]  {outcome.seconds:6.2f}s  {label}", highlight=False)
    if outcome.error:
        console.print(f"          [yellow]{escape(_clip(outcome.error, 200))}[/]",
                      highlight=False)


def _print_flow_summary(console: Console, result: FlowResult) -> None:
    colour = "green" if result.passed else "red"
    passed = sum(1 for s in result.steps if s.status == "passed")
    table = Table(show_header=False, box=None)
    table.add_row("flow", escape(result.name))
    table.add_row("status", f"[{colour}]{result.status}[/]")
    table.add_row("steps", f"{passed} of {len(result.steps)} passed")
    table.add_row("seconds", f"{result.seconds:.1f}")
    if result.error:
        table.add_row("error", escape(result.error))
    if result.out_dir:
        table.add_row("results", escape(result.out_dir))
    console.print(table)


main.add_command(serve_desktop)
