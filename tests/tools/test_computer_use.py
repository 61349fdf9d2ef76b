"""computer_use: schema as the models expect it, and calls into Actions."""

from __future__ import annotations

import pytest

from tools.actions import (
    Answer,
    Click,
    Drag,
    KeyPress,
    MoveTo,
    Point,
    Scroll,
    Terminate,
    TypeText,
    Wait,
)
from tools.computer_use import ACTIONS, ComputerUse, ComputerUseArgs
from tools.coordinates import CoordinateConvention, ToolArgumentError

SIZE = (1280, 800)


def act(**arguments):
    (action,) = ComputerUse().to_actions(arguments, SIZE)
    return action


def test_schema_lists_every_protocol_action() -> None:
    schema = ComputerUse().schema(SIZE)
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "computer_use"
    assert "The screen's resolution is 1000x1000" in fn["description"]
    params = fn["parameters"]
    assert params["required"] == ["action"]
    assert params["properties"]["action"]["enum"] == [
        "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click",
        "middle_click", "double_click", "triple_click", "scroll", "hscroll", "wait",
        "terminate", "answer",
    ]
    assert set(params["properties"]) == {
        "action", "keys", "text", "coordinate", "pixels", "time", "status"}
    assert set(ACTIONS) == set(params["properties"]["action"]["enum"])


def test_absolute_schema_states_the_resized_size() -> None:
    fn = ComputerUse(CoordinateConvention.qwen25_vl()).schema((1288, 728))["function"]
    assert "The screen's resolution is 1288x728" in fn["description"]


@pytest.mark.parametrize(
    ("name", "button", "count"),
    [("left_click", "left", 1), ("right_click", "right", 1), ("middle_click", "middle", 1),
     ("double_click", "left", 2), ("triple_click", "left", 3)],
)
def test_clicks(name, button, count) -> None:
    assert act(action=name, coordinate=[500, 250]) == Click(
        point=Point(x=0.5, y=0.25), button=button, count=count)


def test_click_without_coordinate_uses_the_pointer() -> None:
    assert act(action="left_click") == Click(point=None)


def test_move_drag_type_key_wait_answer_terminate() -> None:
    assert act(action="mouse_move", coordinate="[100, 900]") == MoveTo(point=Point(x=0.1, y=0.9))
    assert act(action="left_click_drag", coordinate=[1000, 0]) == Drag(end=Point(x=1.0, y=0.0))
    assert act(action="type", text="北京 → 上海") == TypeText(text="北京 → 上海")
    assert act(action="key", keys=["Control", "Shift", "t"]) == KeyPress(
        keys=("ctrl", "shift", "t"))
    assert act(action="key", keys="ctrl+a") == KeyPress(keys=("ctrl", "a"))
    assert act(action="key", keys=["+"]) == KeyPress(keys=("+",))
    assert act(action="wait", time=2) == Wait(seconds=2)
    assert act(action="wait") == Wait(seconds=1)
    assert act(action="wait", time=1e9) == Wait(seconds=60)
    assert act(action="answer", text="CA1234") == Answer(text="CA1234")
    assert act(action="terminate", status="failure") == Terminate(status="failure")
    assert act(action="terminate") == Terminate(status="success")


def test_scroll_sign_conventions() -> None:
    # positive pixels scroll up: the wheel's dy is negative
    assert act(action="scroll", pixels=5, coordinate=[500, 500]) == Scroll(
        point=Point(x=0.5, y=0.5), dy=-5)
    assert act(action="scroll", pixels=-3) == Scroll(dy=3)
    assert act(action="hscroll", pixels=4) == Scroll(dx=4)


def test_unknown_extra_arguments_are_ignored() -> None:
    assert act(action="left_click", coordinate=[0, 0], clicks=1) == Click(point=Point(x=0, y=0))


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({}, "action"),
        ({"action": "fly"}, "unknown action"),
        ({"action": "mouse_move"}, "needs coordinate"),
        ({"action": "left_click_drag"}, "needs coordinate"),
        ({"action": "type"}, "needs text"),
        ({"action": "key"}, "needs keys"),
        ({"action": "key", "keys": ["hyperdrive"]}, "unknown key"),
        ({"action": "scroll"}, "needs pixels"),
        ({"action": "answer"}, "needs text"),
        ({"action": "terminate", "status": "maybe"}, "status"),
        ({"action": "left_click", "coordinate": [5000, 5000]}, "outside the screen"),
        ({"action": "left_click", "coordinate": "here"}, "two numbers"),
        ({"action": "wait", "time": "soon"}, "time"),
    ],
)
def test_bad_arguments_give_a_message_for_the_model(arguments, match) -> None:
    with pytest.raises(ToolArgumentError, match=match):
        ComputerUse().to_actions(arguments, SIZE)


def test_action_names_are_case_insensitive() -> None:
    assert ComputerUseArgs.model_validate({"action": " Left_Click "}).action == "left_click"
