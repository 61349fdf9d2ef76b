"""The zoom tool maps exactly: a click given on the zoomed view lands on the full-screen
pixel under it, for both coordinate conventions and both divisors, through nested zooms.

Expected pixels are worked out by hand in the comments, on a 1280x800 screenshot.
"""

from __future__ import annotations

import functools
import math
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from pydantic import ValidationError

from model import protocol
from model.vision import RESAMPLE, VisionConfig
from tests.support import screen_oracle as oracle
from tools.actions import (
    Click,
    Drag,
    LongPress,
    MoveTo,
    Point,
    Region,
    ScreenGeometry,
    Scroll,
    Swipe,
    Terminate,
    TypeText,
    Zoom,
    describe,
)
from tools.computer_use import ComputerUse
from tools.coordinates import CoordinateConvention, ToolArgumentError
from tools.zoom import RESAMPLE as TOOLS_RESAMPLE
from tools.zoom import View, ZoomTool

SCREEN = ScreenGeometry(physical_width=1280, physical_height=800, logical_width=1280,
                        logical_height=800)
QWEN3 = (1280, 800)  # smart_resize(800, 1280, 32): already multiples of 32
QWEN25 = (1288, 812)  # smart_resize(800, 1280, 28)


def zoom_then_click(convention: CoordinateConvention, image_size: tuple[int, int],
                    bboxes: list[Any], coordinate: list[float]) -> tuple[View, tuple[float, float]]:
    """Zoom on each bbox in turn (each on the view the previous one made), then click
    ``coordinate`` on the last view; return that view and the click in screen pixels."""
    zoom, computer = ZoomTool(convention), ComputerUse(convention)
    view = View()
    for bbox in bboxes:
        (action,) = zoom.to_actions({"bbox_2d": bbox}, image_size)
        assert isinstance(action, Zoom)
        view = view.zoom(action.region)
    (click,) = computer.to_actions({"action": "left_click", "coordinate": coordinate},
                                   image_size)
    mapped = view.map_action(click)
    assert isinstance(mapped, Click) and mapped.point is not None
    return view, SCREEN.to_input(mapped.point)


def region(view: View) -> tuple[float, float, float, float]:
    return view.as_tuple()


# --- exact mapping --------------------------------------------------------------------


def test_relative_1000_click_on_the_zoomed_view_lands_on_the_pixel() -> None:
    # bbox [100, 100, 200, 150] = x 128..256 px, y 80..120 px: 0.1 x 0.05 of the screen,
    # grown to 1/8 of each side around its centre (0.15, 0.125): the view is
    # x 0.0875..0.2125, y 0.0625..0.1875 = pixels x 112..272, y 50..150 (160x100, 8x).
    # Pixel (200, 90) sits at ((200-112)/160, (90-50)/100) = (0.55, 0.4) of the view:
    # [550, 400] on the zoomed view's 1000 grid.
    view, xy = zoom_then_click(CoordinateConvention.qwen3_vl(1000), QWEN3,
                               [[100, 100, 200, 150]], [550, 400])
    assert region(view) == pytest.approx((0.0875, 0.0625, 0.2125, 0.1875), abs=1e-12)
    assert view.scale == pytest.approx(8)
    assert xy == pytest.approx((200.0, 90.0), abs=1e-9)


def test_relative_999_click_on_the_zoomed_view_lands_on_the_pixel() -> None:
    # bbox [0, 0, 333, 333] on the 999 grid is the square 0..1/3 of each side (already the
    # screen's aspect ratio and larger than 1/8): the view is pixels x 0..426.67,
    # y 0..266.67. [999, 999] is its bottom-right corner; [333, 666] is (1/3, 2/3) of it:
    # x 1280/9 = 142.22, y 800·2/9 = 177.78.
    conv = CoordinateConvention.qwen3_vl(999)
    view, corner = zoom_then_click(conv, QWEN3, [[0, 0, 333, 333]], [999, 999])
    assert region(view) == pytest.approx((0, 0, 1 / 3, 1 / 3), abs=1e-12)
    assert corner == pytest.approx((1280 / 3, 800 / 3), abs=1e-9)
    _, xy = zoom_then_click(conv, QWEN3, [[0, 0, 333, 333]], [333, 666])
    assert xy == pytest.approx((1280 / 9, 1600 / 9), abs=1e-9)


def test_absolute_pixels_on_the_resized_image_click_on_the_zoomed_view() -> None:
    # Qwen2.5-VL saw 1288x812. bbox [322, 203, 644, 406] is 0.25..0.5 of each side:
    # screen pixels x 320..640, y 200..400, enlarged 4x back to 1288x812. [644, 406] is
    # the view's centre, pixel (480, 300); [161, 609] is (0.125, 0.75) of the view:
    # x 320 + 0.125·320 = 360, y 200 + 0.75·200 = 350.
    conv = CoordinateConvention.qwen25_vl()
    view, centre = zoom_then_click(conv, QWEN25, [[322, 203, 644, 406]], [644, 406])
    assert region(view) == pytest.approx((0.25, 0.25, 0.5, 0.5), abs=1e-12)
    assert view.scale == pytest.approx(4)
    assert centre == pytest.approx((480.0, 300.0), abs=1e-9)
    _, xy = zoom_then_click(conv, QWEN25, [[322, 203, 644, 406]], [161, 609])
    assert xy == pytest.approx((360.0, 350.0), abs=1e-9)


def test_nested_zooms_compose() -> None:
    # First the top-left quarter (0..0.5), then the bottom-right half of that view:
    # 0.25..0.5 of the screen. Its centre is pixel (480, 300).
    view, xy = zoom_then_click(CoordinateConvention.qwen3_vl(), QWEN3,
                               [[0, 0, 500, 500], [500, 500, 1000, 1000]], [500, 500])
    assert region(view) == pytest.approx((0.25, 0.25, 0.5, 0.5), abs=1e-12)
    assert xy == pytest.approx((480.0, 300.0), abs=1e-9)


def test_nested_zooms_stop_at_the_largest_enlargement() -> None:
    # Halving the view three times asks for 1/8 then 1/16; 1/16 is grown back to 1/8.
    bbox = [250, 250, 750, 750]
    views = [zoom_then_click(CoordinateConvention.qwen3_vl(), QWEN3, [bbox] * n,
                             [500, 500])[0] for n in (1, 2, 3, 4)]
    assert [v.scale for v in views] == pytest.approx([2, 4, 8, 8])
    assert region(views[3]) == pytest.approx((0.4375, 0.4375, 0.5625, 0.5625), abs=1e-12)


def test_a_zoom_while_zoomed_is_the_same_as_mapping_its_region_first() -> None:
    outer = View(region=Region(left=0.1, top=0.2, right=0.5, bottom=0.6))
    inner = Region(left=0.5, top=0.5, right=1.0, bottom=1.0)
    mapped = outer.map_action(Zoom(region=inner))
    assert isinstance(mapped, Zoom)
    r = mapped.region
    assert (r.left, r.top, r.right, r.bottom) == pytest.approx((0.3, 0.4, 0.5, 0.6), abs=1e-12)
    assert outer.zoom(inner) == View.around(mapped.region)


# --- the view's shape -----------------------------------------------------------------


def test_a_wide_region_is_grown_to_the_screen_aspect_ratio() -> None:
    # 0.1..0.5 x 0.4..0.45 → a square of side 0.4 (in fractions) around (0.3, 0.425):
    # 512x320 pixels, the 1280x800 screen's 1.6.
    view = View.around(Region(left=0.1, top=0.4, right=0.5, bottom=0.45))
    assert region(view) == pytest.approx((0.1, 0.225, 0.5, 0.625), abs=1e-12)
    r = view.region
    assert (r.width * 1280) / (r.height * 800) == pytest.approx(1280 / 800)


def test_a_tiny_region_is_grown_to_the_smallest_view() -> None:
    tiny = Region(left=0.5, top=0.5, right=0.51, bottom=0.505)
    view = View.around(tiny)
    assert view.scale == pytest.approx(8)
    assert region(view) == pytest.approx((0.4425, 0.44, 0.5675, 0.565), abs=1e-12)
    assert View.around(tiny, max_scale=4).scale == pytest.approx(4)
    assert ZoomTool(max_scale=2).max_scale == 2
    with pytest.raises(ValueError, match="at least 1"):
        View.around(tiny, max_scale=0.5)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((0.98, 0.99, 1.0, 1.0), (0.875, 0.875, 1.0, 1.0)),  # bottom-right corner
        ((0.0, 0.0, 0.01, 0.01), (0.0, 0.0, 0.125, 0.125)),  # top-left corner
        ((0.0, 0.4, 0.9, 0.5), (0.0, 0.0, 0.9, 0.9)),  # grown past the top edge
        ((0.0, 0.0, 1.0, 0.2), (0.0, 0.0, 1.0, 1.0)),  # the whole width: the whole screen
    ],
)
def test_the_view_is_shifted_to_stay_inside_the_screen(given, expected) -> None:
    left, top, right, bottom = given
    view = View.around(Region(left=left, top=top, right=right, bottom=bottom))
    assert region(view) == pytest.approx(expected, abs=1e-12)


def test_full_view_is_the_default_and_maps_nothing() -> None:
    click = Click(point=Point(x=0.3, y=0.7))
    assert View().is_full and View().scale == 1
    assert View().map_action(click) is click
    assert View.around(Region(left=0, top=0, right=1, bottom=1)).is_full


def test_every_point_and_region_of_an_action_is_mapped() -> None:
    view = View(region=Region(left=0.5, top=0.25, right=0.75, bottom=0.5))
    p, q = Point(x=0.0, y=0.0), Point(x=1.0, y=0.5)
    a, b = Point(x=0.5, y=0.25), Point(x=0.75, y=0.375)  # p and q on the screen
    assert view.map_action(Click(point=p, count=2)) == Click(point=a, count=2)
    assert view.map_action(Click(point=None)) == Click(point=None)
    assert view.map_action(MoveTo(point=q)) == MoveTo(point=b)
    assert view.map_action(Drag(start=None, end=q)) == Drag(start=None, end=b)
    assert view.map_action(Drag(start=p, end=q)) == Drag(start=a, end=b)
    assert view.map_action(Scroll(point=q, dy=3)) == Scroll(point=b, dy=3)
    assert view.map_action(LongPress(point=p)) == LongPress(point=a)
    assert view.map_action(Swipe(start=p, end=q)) == Swipe(start=a, end=b)
    assert view.map_action(TypeText(text="x")) == TypeText(text="x")
    assert view.map_action(Terminate()) == Terminate()
    assert view.from_screen(b) == q
    assert View.from_tuple(view.as_tuple()) == view and View.from_tuple(None).is_full


# --- the tool's arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"bbox_2d": [100, 100, 200, 150]},
        {"bbox": [100, 100, 200, 150]},
        {"bbox_2d": "[100, 100, 200, 150]"},
        {"bbox_2d": ["100", "100", "200", "150"]},
        {"bbox_2d": [[100, 100], [200, 150]]},
        {"bbox_2d": [100, 100, 200, 150], "label": "the OK button", "extra": 1},
    ],
)
def test_bbox_forms_models_send(arguments) -> None:
    (action,) = ZoomTool().to_actions(arguments, QWEN3)
    assert isinstance(action, Zoom)
    assert action.region == Region(left=0.1, top=0.1, right=0.2, bottom=0.15)
    assert action.label == arguments.get("label")
    assert describe(action).startswith("zoom (0.100, 0.100) -> (0.200, 0.150)")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"bbox_2d": [200, 100, 100, 200]}, "x1 < x2 and y1 < y2"),
        ({"bbox_2d": [100, 200, 200, 100]}, "x1 < x2 and y1 < y2"),
        ({"bbox_2d": [100, 100, 100, 200]}, "empty or reversed"),
        ({}, "needs bbox_2d [x1, y1, x2, y2]"),
        ({"bbox_2d": [1, 2, 3]}, "four numbers"),
        ({"bbox_2d": "the button"}, "four numbers"),
        ({"bbox_2d": [0, 0, 5000, 10]}, "outside the screen"),
        ({"bbox_2d": [1005, 10, 1010, 20]}, "no area on the screen"),
    ],
)
def test_bad_bboxes_are_refused_with_a_message_the_model_can_act_on(arguments, message) -> None:
    with pytest.raises(ToolArgumentError, match=message.replace("[", r"\[")) as err:
        ZoomTool().to_actions(arguments, QWEN3)
    assert "1000x1000" in str(err.value) or "four numbers" in message


def test_an_empty_region_is_not_a_region() -> None:
    with pytest.raises(ValidationError, match="empty"):
        Region(left=0.5, top=0.1, right=0.5, bottom=0.2)


def test_box_text_quotes_the_model_numbers() -> None:
    (action,) = ZoomTool().to_actions({"bbox_2d": [100, 100, 200, 150]}, QWEN3)
    assert isinstance(action, Zoom)
    assert ZoomTool().box_text(action.region, QWEN3) == "[100, 100, 200, 150]"
    abs_tool = ZoomTool(CoordinateConvention.qwen25_vl())
    (action,) = abs_tool.to_actions({"bbox_2d": [322, 203, 644, 406]}, QWEN25)
    assert isinstance(action, Zoom)
    assert abs_tool.box_text(action.region, QWEN25) == "[322, 203, 644, 406]"


# --- schema and prompt ----------------------------------------------------------------


def test_schema_states_the_grid_and_the_zoomed_view() -> None:
    relative = ZoomTool().schema(QWEN3)["function"]
    assert relative["name"] == "image_zoom_in_tool"
    assert relative["parameters"]["required"] == ["bbox_2d"]
    assert "1000x1000" in relative["description"]
    assert "next screenshot will be that region enlarged" in relative["description"]
    assert "next action may be given on that zoomed view" in relative["description"]
    absolute = ZoomTool(CoordinateConvention.qwen25_vl()).schema(QWEN25)["function"]
    assert "1288x812" in absolute["description"]


def test_the_schema_is_in_the_system_prompt_only_when_the_tool_is_given() -> None:
    without = protocol.system_prompt([ComputerUse().schema(QWEN3)])
    with_zoom = protocol.system_prompt([ComputerUse().schema(QWEN3), ZoomTool().schema(QWEN3)])
    assert "image_zoom_in_tool" not in without
    assert '"name": "image_zoom_in_tool"' in with_zoom and "bbox_2d" in with_zoom


def test_caption_quotes_the_box_and_the_enlargement() -> None:
    text = protocol.zoom_caption("[100, 100, 200, 150]", 8.0, "1000x1000")
    assert "[100, 100, 200, 150]" in text and "enlarged 8x" in text
    assert "same 1000x1000 grid" in text and "whole screen again" in text
    assert "enlarged 2.5x" in protocol.zoom_caption("[0, 0, 1, 1]", 2.5, "1288x812")


# --- the crop -------------------------------------------------------------------------


def test_crop_enlarges_the_view_to_the_image_size() -> None:
    # A red 6x6 square at pixels 200..206 x 90..96 of a white 1280x800 screenshot, in the
    # view x 112..272, y 50..150 (8x): it shows at (200-112)·8 = 704..752, (90-50)·8 = 320..368.
    shot = Image.new("RGB", (1280, 800), "white")
    ImageDraw.Draw(shot).rectangle((200, 90, 205, 95), fill=oracle.RED)
    view = View(region=Region(left=0.0875, top=0.0625, right=0.2125, bottom=0.1875))
    zoomed = view.crop(shot, QWEN3)
    assert zoomed.size == QWEN3
    box = oracle.find_colour(zoomed, oracle.RED, tolerance=60)
    assert box is not None
    assert box == pytest.approx((704, 320, 752, 368), abs=3)
    # The same resampling filter as model.vision (tools may not import it).
    assert TOOLS_RESAMPLE == RESAMPLE
    assert view.crop(shot, QWEN25).size == QWEN25


@functools.cache
def numbered_screenshot(width: int, height: int) -> Image.Image:
    """A 32-bit image whose pixel (x, y) holds y·width + x: a crop says where it came from."""
    return Image.frombytes("I", (width, height),
                           array("i", range(width * height)).tobytes())


# Sizes for which smart_resize never shrinks a side, so a view is never shown smaller
# than its pixels: an output pixel then spans at most one screenshot pixel.
SIZES = [(1280, 800), (1920, 1080), (800, 1280)]


@settings(max_examples=80, deadline=None)
@given(
    size=st.sampled_from(SIZES),
    factor=st.sampled_from([32, 28]),
    corner=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    extent=st.tuples(st.floats(0.001, 1), st.floats(0.001, 1)),
    max_scale=st.sampled_from([2.0, 8.0, 16.0]),
    point=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_crop_then_look_agrees_with_map_then_look(size, factor, corner, extent, max_scale,
                                                  point) -> None:
    """Whatever the view, the click lands within half a screenshot pixel of the spot the
    zoomed image shows under it, and that spot's pixel is the one the crop sampled."""
    width, height = size
    left, top = min(corner[0], 0.999), min(corner[1], 0.999)
    asked = Region(left=left, top=top, right=min(left + extent[0], 1.0),
                   bottom=min(top + extent[1], 1.0))
    view = View.around(asked, max_scale)
    out_w, out_h = VisionConfig(factor=factor).target_size(width, height)
    zoomed = view.crop(numbered_screenshot(width, height), (out_w, out_h),
                       Image.Resampling.NEAREST)

    p = Point(x=point[0], y=point[1])
    i, j = min(math.floor(p.x * out_w), out_w - 1), min(math.floor(p.y * out_h), out_h - 1)
    value = zoomed.getpixel((i, j))
    assert isinstance(value, int)
    sampled_y, sampled_x = divmod(value, width)

    r = view.region
    # Where the zoomed pixel's centre is on the screenshot, in screenshot pixels.
    cx = r.left * width + (i + 0.5) * r.width * width / out_w
    cy = r.top * height + (j + 0.5) * r.height * height / out_h
    assert sampled_x <= cx + 1e-6 and cx - 1e-6 < sampled_x + 1
    assert sampled_y <= cy + 1e-6 and cy - 1e-6 < sampled_y + 1
    # Where the click goes.
    screen = view.to_screen(p)
    assert abs(screen.x * width - cx) <= 0.5 + 1e-9
    assert abs(screen.y * height - cy) <= 0.5 + 1e-9
