"""The perceive-plan-act loop: observe, ask the model, act, record; repeat.

A reply that cannot be used (garbled text, a wrong argument, an action the env
cannot do) is never fatal: it is recorded, counted, and shown to the model on
the next turn. Only a broken backend or env ends a run early, as ``error``, and
the trajectory keeps every step finished before it.

Safety (``agent.guard``): with a ``Guard``, every action is judged before the env runs it;
a refused action is recorded and not run, and the model is told why on the next turn, as
it is of the navigations the env refused while an action ran. With ``Secrets``
(``agent.secrets``), the model types ``{{NAME}}`` and the env receives the value.

Not getting stuck (``agent.watch``): after the actions of a step the screen is looked at
again (that observation is the next step's, so it costs nothing extra) and compared with
the one the model acted on; an action with no visible effect is recorded and the model
told so. The same actions on an unchanged screen ``max_repeats`` times in a row earn one
warning; one more repetition ends the run as ``stuck``.

Zooming (``tools.zoom``) is offered only when a ``ZoomTool`` is among the tools. A
zoom is a step of its own: nothing is executed, and the next step's image is the
enlarged view cropped from the screenshot the model just saw (no new observation,
unless an action earlier in the same reply may have changed the screen). Every
action of that next reply is mapped from the view to the full screen before the env
runs it; after any step that does not zoom, the model sees the whole screen again.
"""

from __future__ import annotations

import contextlib
import io
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL.Image import Image as PILImage
from pydantic import BaseModel, ConfigDict, Field

from agent.guard import Guard
from agent.history import History, HistoryConfig, Turn
from agent.trajectory import (
    ActionRecord,
    RunResult,
    StepRecord,
    StepTimings,
    TrajectoryRecorder,
)
from agent.watch import RepeatWatch, action_point, screen_change
from envs.base import Env, EnvError, Observation
from model import protocol
from model.messages import Backend, BackendError, ImagePart, Message
from model.parser import ParsedReply, ReplyError, ToolCall, parse_reply, render_tool_call
from model.vision import RESAMPLE, VisionConfig, prepare_image, visual_tokens
from tools.actions import Action, Answer, Terminate, Wait, Zoom, describe
from tools.base import Tool, ToolArgumentError
from tools.zoom import View, ZoomTool

if TYPE_CHECKING:
    from agent.secrets import Secrets


class AgentConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_steps: int = Field(default=30, ge=1)
    max_consecutive_invalid: int = Field(default=5, ge=1)
    """Replies in a row that cannot be used before the run ends as ``invalid_replies``."""
    max_calls_per_reply: int = Field(default=5, ge=1)
    time_limit_s: float | None = Field(default=None, gt=0)
    """Wall-clock seconds for the whole run; once spent, no new step starts and the run
    ends as ``timeout`` (a model call under way is not cut short)."""
    max_zooms_in_row: int = Field(default=3, ge=1)
    """Zoom steps in a row before a further zoom is refused: the model must act sometime."""
    max_repeats: int = Field(default=3, ge=2)
    """Steps in a row doing the same thing on an unchanged screen before the model is
    warned; one more such step ends the run as ``stuck``."""
    response_style: protocol.ResponseStyle = "thought_action"
    vision: VisionConfig = Field(default_factory=VisionConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)


StepCallback = Callable[[StepRecord], None]
StopCheck = Callable[[], str | None]
"""Asked after every step that did not end the run: a reason ends it as ``ended``."""


@dataclass
class _Acted:
    """How one reply's calls ended."""

    final: Answer | Terminate | None = None
    view: View | None = None
    """Set when the reply zoomed: the next step shows this view."""
    caption: str = protocol.SCREENSHOT_CAPTION
    """What follows the next step's image (the zoom caption after a zoom)."""
    touched: bool = False
    """An action reached the env, so the screen may have changed since the observation."""
    done: list[Action] = field(default_factory=list)
    """The actions that reached the env, or were refused, in order."""
    refused: bool = False


@dataclass
class _Seen:
    """What the model is shown at one step."""

    obs: Observation
    image: ImagePart
    view: View
    caption: str
    zoomed: PILImage | None = None
    """The zoomed view's pixels, at the size sent; None for the full screen."""

    def png(self) -> bytes:
        """What the recorder keeps: the env's screenshot, or the zoomed view as sent."""
        if self.zoomed is None:
            return self.obs.png_bytes()
        if self.image.mime == "image/png":
            return self.image.data
        buf = io.BytesIO()
        self.zoomed.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


class Agent:
    """Runs one instruction on one env with one backend."""

    def __init__(
        self,
        backend: Backend,
        env: Env,
        tools: Sequence[Tool],
        config: AgentConfig | None = None,
        recorder: TrajectoryRecorder | None = None,
        on_step: StepCallback | None = None,
        stop_check: StopCheck | None = None,
        guard: Guard | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self.backend = backend
        self.env = env
        self.tools = {t.name: t for t in tools}
        # Zooming is enabled exactly when a ZoomTool is offered (and so in the prompt).
        self.zoom = next((t for t in tools if isinstance(t, ZoomTool)), None)
        self.config = config or AgentConfig()
        self.recorder = recorder
        self.on_step = on_step
        self.stop_check = stop_check
        self.guard = guard
        self.secrets = secrets

    def run(self, instruction: str) -> RunResult:
        started = time.perf_counter()
        result = RunResult(status="max_steps")
        try:
            if self.guard is not None:
                self.guard.attach(self.env)
            result = self._run(instruction, result)
        except KeyboardInterrupt:
            result.status, result.error = "interrupted", "interrupted by the user"
        except (BackendError, EnvError) as exc:
            result.status, result.error = "error", str(exc)
        except Exception as exc:  # a bug must not lose the trajectory
            result.status = "error"
            result.error = f"unexpected {type(exc).__name__}: {exc}"
            if self.recorder:
                self.recorder.write_text("error.txt", traceback.format_exc())
        finally:
            if self.guard is not None:
                with contextlib.suppress(Exception):  # a broken env is reported already
                    self.guard.detach()
        result.seconds = time.perf_counter() - started
        if self.recorder:
            self.recorder.finish(result)
        return result

    def _run(self, instruction: str, result: RunResult) -> RunResult:
        cfg = self.config
        history: History | None = None
        feedback: tuple[str, ...] = ()
        invalid_in_row = 0
        zooms_in_row = 0
        last = _Acted()
        obs: Observation | None = None
        after: Observation | None = None
        """The screen as it was after the last step's actions: this step's observation."""
        watch = RepeatWatch(cfg.max_repeats)
        if self.secrets:
            instruction = f"{instruction.rstrip()}\n\n{protocol.secrets_note(self.secrets.names)}"

        started = time.perf_counter()
        for step in range(1, cfg.max_steps + 1):
            if cfg.time_limit_s is not None and time.perf_counter() - started > cfg.time_limit_s:
                result.status = "timeout"
                result.error = f"the time limit of {cfg.time_limit_s:g} s ran out"
                return result
            shown_feedback = feedback
            timings = StepTimings()
            t_step = time.perf_counter()
            if after is not None:
                obs, after = after, None
            elif obs is None or last.view is None or last.touched:
                obs = self.env.observe()
            timings.observe_s = time.perf_counter() - t_step
            t = time.perf_counter()
            seen = self._show(obs, last)
            timings.encode_s = time.perf_counter() - t
            image = seen.image
            image_size = (image.width, image.height)

            t = time.perf_counter()
            if history is None:  # the tool descriptions may state the image size
                schemas = [tool.schema(image_size) for tool in self.tools.values()]
                system = protocol.system_prompt(schemas, cfg.response_style)
                history = History(system=system, instruction=instruction, config=cfg.history)
            messages = history.messages(image, shown_feedback, seen.caption)
            timings.prompt_s = time.perf_counter() - t

            t = time.perf_counter()
            completion = self.backend.complete(messages)
            timings.model_s = time.perf_counter() - t
            result.steps = step
            result.prompt_tokens += completion.prompt_tokens or 0
            result.completion_tokens += completion.completion_tokens or 0
            prompt_image_tokens = _image_tokens(messages, cfg.vision.factor)
            result.image_tokens += prompt_image_tokens

            t = time.perf_counter()
            parsed = parse_reply(completion.text)
            timings.parse_s = time.perf_counter() - t
            warnings: list[str] = []
            if completion.finish_reason == "length":
                warnings.append("the reply was cut off at the max-tokens limit")

            record = StepRecord(
                step=step,
                started_at=time.time(),
                url=obs.url,
                geometry=obs.geometry,
                image_size=image_size,
                view=None if seen.view.is_full else seen.view.as_tuple(),
                reply=completion.text,
                thought=parsed.thought,
                action_summary=parsed.action_summary,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                image_tokens=visual_tokens(image.height, image.width, cfg.vision.factor),
                prompt_image_tokens=prompt_image_tokens,
                warnings=warnings,
            )
            if self.recorder:
                record.screenshot = self.recorder.write_screenshot(step, seen.png())

            problems: list[tuple[protocol.FeedbackKind, str]] = []
            acted = _Acted()
            if isinstance(parsed, ReplyError):
                problems.append(("invalid_reply", parsed.message))
            else:
                record.warnings.extend(parsed.warnings)
                record.tool_calls = [c.model_dump() for c in parsed.tool_calls]
            t = time.perf_counter()
            try:
                if not isinstance(parsed, ReplyError):
                    acted = self._act(
                        parsed, image_size, seen.view, zooms_in_row, record, timings, problems
                    )
                t = time.perf_counter()
                if acted.touched:
                    after = self.env.observe()
                    point = next((p for a in reversed(acted.done) if (p := action_point(a))),
                                 None)
                    record.screen_change = screen_change(
                        obs.screenshot, after.screenshot, point, obs.geometry.scale_factor)
                elif acted.refused:
                    record.screen_change = "none"
            except EnvError as exc:  # the env broke mid-step: keep the step, then end the run
                record.error = self._redact(f"the env failed: {exc}")
                self._keep(record, timings, t_step)
                raise
            timings.check_s = time.perf_counter() - t
            result.no_effect_steps += acted.touched and record.screen_change == "none"
            result.refusals += sum(
                (a.status == "refused") + len(a.blocked) for a in record.actions)
            record.repeats = watch.step(acted.done, record.screen_change)
            if (record.screen_change == "none" and acted.touched and not problems
                    and not all(isinstance(a, Wait) for a in acted.done)):
                problems.append(("no_effect", describe(acted.done[-1])))
            if watch.due_warning:
                watch.warned = True
                problems.append(("repeated", "; ".join(describe(a) for a in acted.done)))
                record.warnings.append(
                    f"the same actions on an unchanged screen {watch.count} times in a row")

            # env messages and refused URLs may carry a typed secret
            problems = [(kind, self._redact(msg)) for kind, msg in problems]
            feedback = tuple(protocol.feedback_text(kind, msg) for kind, msg in problems)
            record.error = "; ".join(
                msg for kind, msg in problems if kind in ("invalid_reply", "action_error",
                                                          "refused")) or None
            invalid = any(kind == "invalid_reply" for kind, _ in problems)
            invalid_in_row = invalid_in_row + 1 if invalid else 0
            result.invalid_replies += invalid
            zooms_in_row = zooms_in_row + 1 if acted.view is not None else 0
            last = acted

            self._keep(record, timings, t_step)
            history.add(
                Turn(
                    step=step,
                    image=image,
                    reply=_replay_text(parsed),
                    summary=_summary(parsed, record),
                    feedback=shown_feedback,
                    caption=seen.caption,
                )
            )

            if isinstance(acted.final, Answer):
                result.status, result.answer = "success", acted.final.text
                return result
            if isinstance(acted.final, Terminate):
                result.status = acted.final.status
                return result
            if self.stop_check is not None and (reason := self.stop_check()):
                result.status, result.note = "ended", reason
                return result
            if watch.stuck:
                result.status = "stuck"
                result.note = (
                    f"{watch.count} steps in a row did the same thing on an unchanged screen "
                    f"({'; '.join(describe(a) for a in acted.done)}), after a warning"
                )
                return result
            if invalid_in_row >= cfg.max_consecutive_invalid:
                result.status = "invalid_replies"
                result.error = (
                    f"{invalid_in_row} replies in a row could not be used; last: {record.error}"
                )
                return result
        result.status = "max_steps"
        return result

    def _keep(self, record: StepRecord, timings: StepTimings, t_step: float) -> None:
        """Finish a step's record: write it and tell ``on_step``."""
        timings.total_s = time.perf_counter() - t_step
        record.timings = timings
        if self.recorder:
            self.recorder.write_step(record)
        if self.on_step:
            self.on_step(record)

    def _redact(self, text: str) -> str:
        return self.secrets.redact(text) if self.secrets else text

    def _show(self, obs: Observation, last: _Acted) -> _Seen:
        """The image for this step: the screenshot, or the view the last reply zoomed to."""
        vision = self.config.vision
        if last.view is None or last.view.is_full:
            image = prepare_image(obs.screenshot, vision, obs.png)
            return _Seen(obs, image, View(), protocol.SCREENSHOT_CAPTION)
        # Same size as the full-screen image, so the grid in the system prompt holds.
        size = vision.target_size(obs.screenshot.width, obs.screenshot.height)
        pixels = last.view.crop(obs.screenshot, size, RESAMPLE)
        image = prepare_image(pixels, vision)
        return _Seen(obs, image, last.view, last.caption, pixels)

    def _act(
        self,
        parsed: ParsedReply,
        image_size: tuple[int, int],
        view: View,
        zooms_in_row: int,
        record: StepRecord,
        timings: StepTimings,
        problems: list[tuple[protocol.FeedbackKind, str]],
    ) -> _Acted:
        """Map and execute the reply's calls in order, until a final action or a zoom.

        Each action is mapped through ``view`` first, so coordinates given on a zoomed
        view reach the env as fractions of the full screen.
        """
        acted = _Acted()
        calls = parsed.tool_calls[: self.config.max_calls_per_reply]
        if len(parsed.tool_calls) > len(calls):
            record.warnings.append(f"only the first {len(calls)} tool calls were run")
        for call in calls:
            t = time.perf_counter()
            try:
                given = self._to_actions(call, image_size)
            except ToolArgumentError as exc:
                timings.map_s += time.perf_counter() - t
                problems.append(("invalid_reply", str(exc)))
                return acted
            actions = [view.map_action(a) for a in given]
            timings.map_s += time.perf_counter() - t
            for raw, action in zip(given, actions, strict=True):
                if isinstance(action, Answer | Terminate):
                    record.actions.append(
                        ActionRecord(action=action, description=describe(action), status="final")
                    )
                    acted.final = action
                    return acted
                if isinstance(raw, Zoom) and isinstance(action, Zoom):
                    self._zoom(raw, action, image_size, zooms_in_row, record, problems, acted)
                    return acted
                decision = self.guard.check(action, self.env) if self.guard else None
                if decision is not None and decision.refused:
                    acted.done.append(action)
                    acted.refused = True
                    record.actions.append(ActionRecord(
                        action=action, description=describe(action), status="refused",
                        message=decision.reason, guard=decision))
                    problems.append(("refused", f"{describe(action)}: {decision.reason}"))
                    return acted
                try:
                    to_env = self.secrets.resolve(action) if self.secrets else action
                except ValueError as exc:  # a placeholder that names no secret
                    problems.append(("action_error", f"{describe(action)}: {exc}"))
                    return acted
                res = self.env.execute(to_env)
                blocked = self.guard.blocked_navigations(self.env) if self.guard else []
                acted.touched = True
                acted.done.append(action)
                timings.execute_s += res.execute_s
                timings.settle_s += res.settle_s
                record.actions.append(
                    ActionRecord(
                        action=action,
                        description=describe(action),
                        status=res.status,
                        message=res.message,
                        settled=res.settled,
                        info=res.info,
                        guard=decision,
                        blocked=blocked,
                    )
                )
                if blocked:
                    problems.append(("refused", "; ".join(b.reason for b in blocked)))
                    return acted
                if res.status == "error":
                    problems.append(("action_error", f"{describe(action)}: {res.message}"))
                    return acted
        return acted

    def _zoom(
        self,
        given: Zoom,
        mapped: Zoom,
        image_size: tuple[int, int],
        zooms_in_row: int,
        record: StepRecord,
        problems: list[tuple[protocol.FeedbackKind, str]],
        acted: _Acted,
    ) -> None:
        """Do a zoom (``given`` on the image seen, ``mapped`` to the full screen) or refuse it."""
        limit = self.config.max_zooms_in_row
        if zooms_in_row >= limit:
            problems.append(("invalid_reply", protocol.zoom_refused_text(limit)))
            return
        tool = self.zoom or ZoomTool()  # a Zoom from some other tool: default settings
        acted.view = View.around(mapped.region, tool.max_scale)
        acted.caption = protocol.zoom_caption(
            tool.box_text(given.region, image_size),
            acted.view.scale,
            tool.convention.resolution_text(image_size),
        )
        record.actions.append(
            ActionRecord(
                action=mapped,
                description=describe(mapped),
                status="zoom",
                info={"view": list(acted.view.as_tuple())},
            )
        )

    def _to_actions(self, call: ToolCall, image_size: tuple[int, int]) -> list[Action]:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(self.tools)
            raise ToolArgumentError(f"there is no function {call.name!r}; call one of: {names}.")
        return tool.to_actions(call.arguments, image_size)


def _image_tokens(messages: Sequence[Message], factor: int) -> int:
    """Visual tokens of every image in a request (each image is sent smart-resized)."""
    return sum(visual_tokens(p.height, p.width, factor) for m in messages for p in m.images())


def _replay_text(parsed: ParsedReply | ReplyError) -> str:
    """The reply as replayed in later prompts: normalised, without hidden reasoning."""
    if isinstance(parsed, ReplyError):
        return parsed.raw.strip() or "(empty reply)"
    lines = []
    if parsed.thought:
        lines.append(f"Thought: {parsed.thought}")
    if parsed.action_summary:
        lines.append(f"Action: {parsed.action_summary}")
    lines.extend(render_tool_call(c) for c in parsed.tool_calls)
    return "\n".join(lines)


def _summary(parsed: ParsedReply | ReplyError, record: StepRecord) -> str:
    if isinstance(parsed, ReplyError):
        return "(reply could not be used)"
    text = parsed.action_summary or "; ".join(a.description for a in record.actions)
    if record.error:
        text += f" (failed: {record.error})"
    return text


__all__ = ["Agent", "AgentConfig"]
