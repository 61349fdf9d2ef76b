"""Zooming end to end: a scripted model zooms on a 6x6 button it can barely see, finds it
again in the zoomed image it is sent, clicks it on the zoomed view's grid, and the click
lands on the button in a real Chromium.

The model stand-in reads the images it is sent (``screen_oracle``); the page records
every click it gets, with what was under the pointer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.loop import Agent, AgentConfig
from agent.trajectory import RunMeta, RunResult, StepRecord, TrajectoryRecorder, read_steps
from envs.browser import BrowserConfig, BrowserEnv
from model import protocol
from model.backends.openai_compat import OpenAIBackendConfig, OpenAICompatibleBackend
from model.vision import VisionConfig, smart_resize
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import serve_pages
from tools.actions import Click, Zoom
from tools.base import Tool
from tools.computer_use import ComputerUse
from tools.coordinates import CoordinateConvention
from tools.zoom import View, ZoomTool

pytestmark = pytest.mark.browser

CYAN = (0, 190, 255)
YELLOW = (255, 230, 0)
GREEN = (0, 160, 0)
TARGET_CENTRE = (604, 380)  # CSS pixels: the 6x6 target spans 601..607 x 377..383

DECOYS = "".join(
    f'<div class="decoy" id="decoy{n}" style="left:{601 + dx}px;top:{377 + dy}px"></div>'
    for n, (dx, dy) in enumerate(
        (dx, dy) for dx in (-9, 0, 9) for dy in (-9, 0, 9) if (dx, dy) != (0, 0)
    )
)
PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><style>
  body {{ margin: 0; background: white; }}
  div {{ position: absolute; }}
  .decoy {{ width: 6px; height: 6px; background: rgb(70, 70, 70); }}
  #target {{ left: 601px; top: 377px; width: 6px; height: 6px; background: rgb{CYAN}; }}
  #press {{ left: 200px; top: 200px; width: 40px; height: 20px; background: rgb{YELLOW}; }}
  #press.done {{ background: rgb{GREEN}; }}
</style></head><body>
<div id="target"></div>{DECOYS}<div id="press"></div>
<script>
  window.clicks = [];
  document.addEventListener("click", (e) => {{
    window.clicks.push({{ id: e.target.id, x: e.clientX, y: e.clientY }});
    if (e.target.id === "press") e.target.classList.add("done");
  }});
</script>
</body></html>"""

CONVENTIONS = {
    "qwen3-relative": (CoordinateConvention.qwen3_vl(), VisionConfig.qwen3_vl()),
    "qwen25-absolute": (CoordinateConvention.qwen25_vl(), VisionConfig.qwen25_vl()),
}


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    with serve_pages({"/zoom.html": PAGE}) as web, BrowserEnv(
        BrowserConfig(extra_args=list(TEST_BROWSER_ARGS), start_url=web.url("/zoom.html"))
    ) as browser:
        yield browser


def run(env: BrowserEnv, script: Any, tmp_path: Path, tools: list[Tool],
        vision: VisionConfig | None = None, **config: Any
        ) -> tuple[RunResult, list[StepRecord], list[dict[str, Any]], Path]:
    env.reset()
    with ScriptedModel(script) as server:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(
            model=server.model, base_url=server.base_url, max_retries=0))
        recorder = TrajectoryRecorder(tmp_path, RunMeta(instruction="test", model="m",
                                                        backend="b", env="browser"))
        cfg = AgentConfig(vision=vision or VisionConfig(), **config)
        result = Agent(backend, env, tools, cfg, recorder).run("Click the tiny cyan button.")
        requests = list(server.requests)
        assert not server.errors, server.errors
    return result, read_steps(recorder.dir), requests, recorder.dir


def page_clicks(env: BrowserEnv) -> list[dict[str, Any]]:
    """The clicks the page registered, once it has registered one (or after 5 s)."""
    env.page.wait_for_function("window.clicks.length > 0", timeout=5000)
    return env.page.evaluate("window.clicks")


def texts(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    if isinstance(content, str):
        return [content]
    return [p["text"] for p in content if p.get("type") == "text"]


def grid(xy: tuple[float, float], size: tuple[int, int],
         convention: CoordinateConvention) -> list[int]:
    """A position in the image's pixels as the model would give it."""
    if convention.kind == "absolute":
        return [round(xy[0]), round(xy[1])]
    return oracle.to_grid(xy, size, convention.divisor)


def terminate() -> str:
    return oracle.reply("Done.", {"action": "terminate", "status": "success"})


def zoom_reply(bbox: list[int], label: str = "the tiny button") -> str:
    return oracle.reply("Zoom in.", {"bbox_2d": bbox, "label": label},
                        name="image_zoom_in_tool")


class ZoomThenClick:
    """Find the target on the screenshot, zoom on a box around it, find it again in the
    zoomed image, click its centre on the zoomed view's grid, terminate."""

    def __init__(self, convention: CoordinateConvention) -> None:
        self.convention = convention
        self.bbox: list[int] = []
        self.full_box: tuple[float, float, float, float] | None = None
        self.zoomed_box: tuple[float, float, float, float] | None = None
        self.zoomed_size: tuple[int, int] | None = None

    def __call__(self, request: dict[str, Any], index: int) -> str:
        image = oracle.last_image(request)
        if index == 0:
            self.full_box = box = oracle.find_colour(image, CYAN)
            assert box is not None, "the target is not on the screenshot"
            left, top, right, bottom = box
            self.bbox = (grid((left - 30, top - 20), image.size, self.convention)
                         + grid((right + 30, bottom + 20), image.size, self.convention))
            return zoom_reply(self.bbox)
        if index == 1:
            self.zoomed_size = image.size
            self.zoomed_box = box = oracle.find_colour(image, CYAN)
            assert box is not None, "the target is not on the zoomed view"
            coordinate = grid(oracle.centre(box), image.size, self.convention)
            return oracle.reply("Click the button.", {"action": "left_click",
                                                      "coordinate": coordinate})
        return terminate()


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_zoom_then_click_on_the_zoomed_view_hits_a_6px_button(env, tmp_path, name) -> None:
    convention, vision = CONVENTIONS[name]
    policy = ZoomThenClick(convention)
    tools: list[Tool] = [ComputerUse(convention), ZoomTool(convention)]
    result, steps, requests, run_dir = run(env, policy, tmp_path, tools, vision)
    assert result.status == "success" and result.steps == len(steps) == 3

    # The page got one click, on the target, at its centre.
    (click,) = page_clicks(env)
    assert click["id"] == "target", click
    assert abs(click["x"] - TARGET_CENTRE[0]) <= 1 and abs(click["y"] - TARGET_CENTRE[1]) <= 1

    # The model was sent the zoomed view at the full image's size, the target 8x larger.
    h, w = smart_resize(800, 1280, vision.factor)
    assert policy.zoomed_size == (w, h)
    assert policy.full_box is not None and policy.zoomed_box is not None
    full_w = policy.full_box[2] - policy.full_box[0]
    zoomed_w = policy.zoomed_box[2] - policy.zoomed_box[0]
    assert zoomed_w >= 6 * full_w, (policy.full_box, policy.zoomed_box)

    # The trajectory: a zoom step, then a step that saw the view and clicked on the screen.
    zoom_step, click_step, last_step = steps
    (zoom_rec,) = zoom_step.actions
    assert zoom_rec.status == "zoom" and isinstance(zoom_rec.action, Zoom)
    assert zoom_rec.action.label == "the tiny button"
    view = View.around(zoom_rec.action.region)
    assert view.scale == pytest.approx(8)
    assert zoom_step.view is None and last_step.view is None
    assert click_step.view == pytest.approx(view.as_tuple())
    assert zoom_rec.info["view"] == pytest.approx(list(view.as_tuple()))
    (click_rec,) = click_step.actions
    assert isinstance(click_rec.action, Click) and click_rec.action.point is not None
    assert click_rec.action.point.x * 1280 == pytest.approx(TARGET_CENTRE[0], abs=1)
    assert click_rec.action.point.y * 800 == pytest.approx(TARGET_CENTRE[1], abs=1)
    with Image.open(run_dir / click_step.screenshot) as shot:
        assert shot.size == (w, h)
        zoomed = oracle.find_colour(shot.convert("RGB"), CYAN)
        assert zoomed is not None and zoomed[2] - zoomed[0] >= 6 * full_w

    # Image tokens from the smart_resize arithmetic: one image per step, all replayed.
    tokens = (h // vision.factor) * (w // vision.factor)
    assert [s.image_tokens for s in steps] == [tokens] * 3
    assert [s.prompt_image_tokens for s in steps] == [tokens, 2 * tokens, 3 * tokens]
    assert result.image_tokens == 6 * tokens

    # The caption quotes the box as given; the replay keeps it, so prompts stay prefixes.
    resolution = convention.resolution_text((w, h))
    bbox = "[" + ", ".join(str(v) for v in policy.bbox) + "]"
    caption = protocol.zoom_caption(bbox, 8.0, resolution)
    assert texts(requests[1]["messages"][-1]) == [caption]
    assert requests[2]["messages"][: len(requests[1]["messages"])] == requests[1]["messages"]
    assert requests[1]["messages"][: len(requests[0]["messages"])] == requests[0]["messages"]


def test_the_zoom_tool_is_offered_only_when_given(env, tmp_path) -> None:
    convention = CoordinateConvention.qwen3_vl()
    script = [zoom_reply([500, 450, 520, 480]), terminate()]
    result, steps, requests, _ = run(env, script, tmp_path / "off", [ComputerUse(convention)])
    system = texts(requests[0]["messages"][0])[0]
    assert "image_zoom_in_tool" not in system and "computer_use" in system
    assert result.invalid_replies == 1 and "no function 'image_zoom_in_tool'" in steps[0].error
    assert steps[1].view is None

    result, steps, requests, _ = run(env, [terminate()], tmp_path / "on",
                                     [ComputerUse(convention), ZoomTool(convention)])
    assert '"name": "image_zoom_in_tool"' in texts(requests[0]["messages"][0])[0]


def test_a_fourth_zoom_in_a_row_is_refused(env, tmp_path) -> None:
    halve = zoom_reply([250, 250, 750, 750], "the middle")
    script = [halve, halve, halve, halve, terminate()]
    tools: list[Tool] = [ComputerUse(), ZoomTool()]
    result, steps, requests, _ = run(env, script, tmp_path, tools)
    assert result.status == "success" and result.steps == 5
    assert [a.status for s in steps[:3] for a in s.actions] == ["zoom"] * 3
    assert steps[3].actions == [] and "refused" in (steps[3].error or "")
    assert result.invalid_replies == 1
    # Each zoom halves the view until the 8x limit; after the refusal, the whole screen.
    views = [s.view for s in steps]
    assert views[0] is None and views[4] is None
    assert views[1:4] == [pytest.approx((lo, lo, 1 - lo, 1 - lo))
                          for lo in (0.25, 0.375, 0.4375)]
    refusal = protocol.feedback_text("invalid_reply", protocol.zoom_refused_text(3))
    assert refusal in texts(requests[4]["messages"][-1])
    assert protocol.SCREENSHOT_CAPTION in texts(requests[4]["messages"][-1])
    assert all(oracle.last_image(r).size == (1280, 800) for r in requests)


def test_a_zoom_after_an_action_in_the_same_reply_shows_the_changed_screen(
    env, tmp_path
) -> None:
    seen: list[bool] = []

    def script(request: dict[str, Any], index: int) -> str:
        image = oracle.last_image(request)
        if index == 0:
            box = oracle.find_colour(image, YELLOW)
            assert box is not None
            press = grid(oracle.centre(box), image.size, CoordinateConvention())
            call = json.dumps({"name": "image_zoom_in_tool",
                               "arguments": {"bbox_2d": [150, 240, 200, 270]}})
            return (oracle.reply("Press, then look closer.",
                                 {"action": "left_click", "coordinate": press})
                    + f"\n<tool_call>\n{call}\n</tool_call>")
        if index == 1:
            seen.append(oracle.find_colour(image, GREEN) is not None
                        and oracle.find_colour(image, YELLOW) is None)
        return terminate()

    result, steps, _, _ = run(env, script, tmp_path, [ComputerUse(), ZoomTool()])
    assert result.status == "success"
    assert [a.status for a in steps[0].actions] == ["ok", "zoom"]
    assert seen == [True], "the zoomed view was cut from the screen before the click"
    assert steps[1].view is not None
