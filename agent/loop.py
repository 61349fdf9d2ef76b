"""The perceive-plan-act loop: observe, ask the model, act, record; repeat.

A reply that cannot be used (garbled text, a wrong argument, an action the env
cannot do) is never fatal: it is recorded, counted, and shown to the model on
the next turn. Only a broken backend or env ends a run early, as ``error``, and
the trajectory keeps every step finished before it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from agent.history import History, HistoryConfig, Turn
from agent.trajectory import (
    ActionRecord,
    RunResult,
    StepRecord,
    StepTimings,
    TrajectoryRecorder,
)
from envs.base import Env, EnvError
from model import protocol
from model.messages import Backend, BackendError
from model.parser import ParsedReply, ReplyError, ToolCall, parse_reply, render_tool_call
from model.vision import VisionConfig, prepare_image
from tools.actions import Action, Answer, Terminate, describe
from tools.base import Tool, ToolArgumentError


class AgentConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_steps: int = Field(default=30, ge=1)
    max_consecutive_invalid: int = Field(default=5, ge=1)
    """Replies in a row that cannot be used before the run ends as ``invalid_replies``."""
    max_calls_per_reply: int = Field(default=5, ge=1)
    response_style: protocol.ResponseStyle = "thought_action"
    vision: VisionConfig = Field(default_factory=VisionConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)


StepCallback = Callable[[StepRecord], None]


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
    ) -> None:
        self.backend = backend
        self.env = env
        self.tools = {t.name: t for t in tools}
        self.config = config or AgentConfig()
        self.recorder = recorder
        self.on_step = on_step

    def run(self, instruction: str) -> RunResult:
        started = time.perf_counter()
        result = RunResult(status="max_steps")
        try:
            result = self._run(instruction, result)
        except KeyboardInterrupt:
            result.status, result.error = "interrupted", "interrupted by the user"
        except (BackendError, EnvError) as exc:
            result.status, result.error = "error", str(exc)
        except Exception as exc:  # a bug must not lose the trajectory
            result.status = "error"
            result.error = f"unexpected {type(exc).__name__}: {exc}"
            if self.recorder:
                (self.recorder.dir / "error.txt").write_text(traceback.format_exc())
        result.seconds = time.perf_counter() - started
        if self.recorder:
            self.recorder.finish(result)
        return result

    def _run(self, instruction: str, result: RunResult) -> RunResult:
        cfg = self.config
        history: History | None = None
        feedback: tuple[str, ...] = ()
        invalid_in_row = 0

        for step in range(1, cfg.max_steps + 1):
            shown_feedback = feedback
            timings = StepTimings()
            t_step = time.perf_counter()
            obs = self.env.observe()
            timings.observe_s = time.perf_counter() - t_step
            t = time.perf_counter()
            image = prepare_image(obs.screenshot, cfg.vision, obs.png)
            timings.encode_s = time.perf_counter() - t
            image_size = (image.width, image.height)

            t = time.perf_counter()
            if history is None:  # the tool descriptions may state the image size
                schemas = [tool.schema(image_size) for tool in self.tools.values()]
                system = protocol.system_prompt(schemas, cfg.response_style)
                history = History(system=system, instruction=instruction, config=cfg.history)
            messages = history.messages(image, shown_feedback)
            timings.prompt_s = time.perf_counter() - t

            t = time.perf_counter()
            completion = self.backend.complete(messages)
            timings.model_s = time.perf_counter() - t
            result.steps = step
            result.prompt_tokens += completion.prompt_tokens or 0
            result.completion_tokens += completion.completion_tokens or 0

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
                reply=completion.text,
                thought=parsed.thought,
                action_summary=parsed.action_summary,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                warnings=warnings,
            )
            if self.recorder:
                record.screenshot = self.recorder.write_screenshot(step, obs.png_bytes())

            problems: list[tuple[protocol.FeedbackKind, str]] = []
            final: Action | None = None
            if isinstance(parsed, ReplyError):
                problems.append(("invalid_reply", parsed.message))
            else:
                record.warnings.extend(parsed.warnings)
                record.tool_calls = [c.model_dump() for c in parsed.tool_calls]
                final = self._act(parsed, image_size, record, timings, problems)

            feedback = tuple(protocol.feedback_text(kind, msg) for kind, msg in problems)
            record.error = "; ".join(msg for _, msg in problems) or None
            invalid = any(kind == "invalid_reply" for kind, _ in problems)
            invalid_in_row = invalid_in_row + 1 if invalid else 0
            result.invalid_replies += invalid

            timings.total_s = time.perf_counter() - t_step
            record.timings = timings
            if self.recorder:
                self.recorder.write_step(record)
            if self.on_step:
                self.on_step(record)
            history.add(
                Turn(
                    step=step,
                    image=image,
                    reply=_replay_text(parsed),
                    summary=_summary(parsed, record),
                    feedback=shown_feedback,
                )
            )

            if isinstance(final, Answer):
                result.status, result.answer = "success", final.text
                return result
            if isinstance(final, Terminate):
                result.status = final.status
                return result
            if invalid_in_row >= cfg.max_consecutive_invalid:
                result.status = "invalid_replies"
                result.error = (
                    f"{invalid_in_row} replies in a row could not be used; last: {record.error}"
                )
                return result
        result.status = "max_steps"
        return result

    def _act(
        self,
        parsed: ParsedReply,
        image_size: tuple[int, int],
        record: StepRecord,
        timings: StepTimings,
        problems: list[tuple[protocol.FeedbackKind, str]],
    ) -> Action | None:
        """Map and execute the reply's calls in order; return a final action if one came."""
        calls = parsed.tool_calls[: self.config.max_calls_per_reply]
        if len(parsed.tool_calls) > len(calls):
            record.warnings.append(f"only the first {len(calls)} tool calls were run")
        for call in calls:
            t = time.perf_counter()
            try:
                actions = self._to_actions(call, image_size)
            except ToolArgumentError as exc:
                timings.map_s += time.perf_counter() - t
                problems.append(("invalid_reply", str(exc)))
                return None
            timings.map_s += time.perf_counter() - t
            for action in actions:
                if isinstance(action, Answer | Terminate):
                    record.actions.append(
                        ActionRecord(action=action, description=describe(action), status="final")
                    )
                    return action
                res = self.env.execute(action)
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
                    )
                )
                if res.status == "error":
                    problems.append(("action_error", f"{describe(action)}: {res.message}"))
                    return None
        return None

    def _to_actions(self, call: ToolCall, image_size: tuple[int, int]) -> list[Action]:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(self.tools)
            raise ToolArgumentError(f"there is no function {call.name!r}; call one of: {names}.")
        return tool.to_actions(call.arguments, image_size)


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
