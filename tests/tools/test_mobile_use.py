"""mobile_use: the schema of the mobile cookbook, and calls into Actions."""

from __future__ import annotations

import pytest

from model.parser import ParsedReply, parse_reply
from tests.support.qwen_samples import GOLDEN
from tools.actions import (
    Answer,
    Click,
    DeviceKey,
    LongPress,
    OpenApp,
    Point,
    ScreenGeometry,
    Swipe,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
    describe,
)
from tools.coordinates import CoordinateConvention, ToolArgumentError
from tools.mobile_use import ACTIONS, MobileUse

SIZE = (1080, 2400)


def act(**arguments):
    (action,) = MobileUse().to_actions(arguments, SIZE)
    return action


def test_schema_lists_the_cookbook_actions_and_parameters() -> None:
    fn = MobileUse().schema(SIZE)["function"]
    assert fn["name"] == "mobile_use"
    assert "The screen's resolution is 1000x1000" in fn["description"]
    params = fn["parameters"]
    assert params["required"] == ["action"]
    enum = params["properties"]["action"]["enum"]
    # QWEN_PROTOCOL.md §3: the cookbook's eight plus key and open of the tool class
    assert set(enum) == {"click", "long_press", "swipe", "type", "answer", "system_button",
                         "wait", "terminate", "key", "open"} == set(ACTIONS)
    assert set(params["properties"]) == {
        "action", "coordinate", "coordinate2", "text", "time", "button", "status"}
    assert params["properties"]["button"]["enum"] == ["Back", "Home", "Menu", "Enter"]


def test_qwen25_schema_states_the_resized_size() -> None:
    fn = MobileUse(CoordinateConvention.qwen25_vl()).schema((756, 1680))["function"]
    assert "The screen's resolution is 756x1680" in fn["description"]


def test_the_golden_cookbook_reply_is_a_click_at_644_253_on_1440x3120() -> None:
    parsed = parse_reply(GOLDEN)
    assert isinstance(parsed, ParsedReply)
    (call,) = parsed.tool_calls
    (action,) = MobileUse().to_actions(call.arguments, (1440, 3136))
    assert isinstance(action, Click)
    phone = ScreenGeometry(physical_width=1440, physical_height=3120, logical_width=1440,
                           logical_height=3120)
    x, y = phone.to_input(action.point)  # type: ignore[arg-type]
    assert abs(x - 644) <= 1 and abs(y - 253) <= 1


def test_every_action() -> None:
    assert act(action="click", coordinate=[500, 250]) == Click(point=Point(x=0.5, y=0.25))
    assert act(action="long_press", coordinate=[100, 900], time=3) == LongPress(
        point=Point(x=0.1, y=0.9), seconds=3)
    assert act(action="long_press", coordinate="[100, 900]").seconds == 2.0
    assert act(action="swipe", coordinate=[500, 800], coordinate2=[500, 200]) == Swipe(
        start=Point(x=0.5, y=0.8), end=Point(x=0.5, y=0.2), seconds=0.3)
    assert act(action="type", text="你好 world") == TypeText(text="你好 world")
    assert act(action="type", text="") == TypeText(text="")
    assert act(action="key", text="volume_up") == DeviceKey(name="volume_up")
    assert act(action="key", text="KEYCODE_CAMERA") == DeviceKey(name="camera")
    assert act(action="open", text=" 设置 ") == OpenApp(name="设置")
    assert act(action="system_button", button="Back") == SystemButton(button="back")
    assert act(action="system_button", button="home") == SystemButton(button="home")
    assert act(action="wait", time=2) == Wait(seconds=2)
    assert act(action="wait", time=999) == Wait(seconds=60)
    assert act(action="answer", text="13912345678") == Answer(text="13912345678")
    assert act(action="terminate", status="failure") == Terminate(status="failure")
    assert act(action=" CLICK ", coordinate=[0, 0]).point == Point(x=0, y=0)


def test_descriptions_are_readable() -> None:
    assert describe(DeviceKey(name="volume_up")) == "device key volume_up"
    assert describe(act(action="swipe", coordinate=[500, 800], coordinate2=[500, 200])) == (
        "swipe (0.500, 0.800) -> (0.500, 0.200)")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"action": "tap", "coordinate": [1, 2]}, "unknown action 'tap'"),
        ({"action": "click"}, "action=click coordinate needs [x, y]"),
        ({"action": "swipe", "coordinate": [5, 5]}, "action=swipe coordinate2 needs [x, y]"),
        ({"action": "swipe", "coordinate": [5, 5], "coordinate2": [5, 5]}, "long_press"),
        ({"action": "click", "coordinate": [1500, 10]}, "outside the screen"),
        ({"action": "key"}, "action=key needs text"),
        ({"action": "key", "text": "ctrl+c"}, "letters, digits and _"),
        ({"action": "open", "text": "  "}, "action=open needs text"),
        ({"action": "system_button", "button": "Power"}, "Back, Home, Menu, Enter"),
        ({"action": "answer"}, "action=answer needs text"),
        ({"action": "terminate", "status": "done"}, "success' or 'failure"),
    ],
)
def test_bad_calls_say_what_to_fix(arguments, message) -> None:
    with pytest.raises(ToolArgumentError, match=message.replace("[", r"\[").replace("+", r"\+")):
        MobileUse().to_actions(arguments, SIZE)
