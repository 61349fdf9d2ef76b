"""Both coordinate conventions and both divisors map known points exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.actions import Point, ScreenGeometry
from tools.coordinates import CoordinateConvention, ToolArgumentError, coerce_xy

FHD = ScreenGeometry(physical_width=1920, physical_height=1080, logical_width=1920,
                     logical_height=1080)


@pytest.mark.parametrize(
    ("divisor", "xy", "expected"),
    [
        (1000, [0, 0], (0.0, 0.0)),
        (1000, [500, 500], (960.0, 540.0)),
        (1000, [250, 750], (480.0, 810.0)),
        (1000, [1000, 1000], (1919.0, 1079.0)),  # clamped to the last pixel
        (999, [0, 0], (0.0, 0.0)),
        (999, [999, 999], (1919.0, 1079.0)),
        (999, [333, 666], (640.0, 720.0)),
        (999, [500, 500], (1920 * 500 / 999, 1080 * 500 / 999)),
    ],
)
def test_relative_grid_maps_known_points(divisor, xy, expected) -> None:
    conv = CoordinateConvention.qwen3_vl(divisor=divisor)
    x, y = FHD.to_input(conv.to_point(xy, (1920, 1088)))
    assert x == pytest.approx(expected[0], abs=1e-9)
    assert y == pytest.approx(expected[1], abs=1e-9)


def test_divisors_differ_by_at_most_a_tenth_of_a_percent() -> None:
    a = CoordinateConvention.qwen3_vl(1000).to_point([999, 999], (1, 1))
    b = CoordinateConvention.qwen3_vl(999).to_point([999, 999], (1, 1))
    assert abs(a.x - b.x) <= 0.001 + 1e-12


@pytest.mark.parametrize(
    ("resized", "xy", "expected"),
    [
        # Qwen2.5-VL saw 1932x1092 (smart_resize of 1920x1080 with factor 28).
        ((1932, 1092), [966, 546], (960.0, 540.0)),
        ((1932, 1092), [0, 0], (0.0, 0.0)),
        ((1932, 1092), [483, 273], (480.0, 270.0)),
        ((1288, 728), [644, 364], (960.0, 540.0)),
    ],
)
def test_absolute_pixels_on_the_resized_image(resized, xy, expected) -> None:
    conv = CoordinateConvention.qwen25_vl()
    x, y = FHD.to_input(conv.to_point(xy, resized))
    assert (x, y) == pytest.approx(expected)


def test_resolution_text_states_the_grid() -> None:
    assert CoordinateConvention.qwen3_vl(1000).resolution_text((1280, 800)) == "1000x1000"
    assert CoordinateConvention.qwen3_vl(999).resolution_text((1280, 800)) == "999x999"
    assert CoordinateConvention.qwen25_vl().resolution_text((1288, 728)) == "1288x728"


def test_scale_factor_maps_to_logical_pixels() -> None:
    """A HiDPI screenshot (2x) maps fractions to logical (CSS) pixels."""
    geo = ScreenGeometry(physical_width=2560, physical_height=1600, logical_width=1280,
                         logical_height=800, scale_factor=2.0)
    point = CoordinateConvention().to_point([500, 250], (1280, 800))
    assert geo.to_input(point) == (640.0, 200.0)


def test_origin_offsets_input() -> None:
    geo = ScreenGeometry(physical_width=1280, physical_height=800, logical_width=1280,
                         logical_height=800, origin_x=1920, origin_y=0)
    assert geo.to_input(Point(x=0.5, y=0.5)) == (2560.0, 400.0)
    assert geo.to_input_int(Point(x=1.0, y=1.0)) == (1920 + 1279, 799)


@pytest.mark.parametrize(
    "value", [[447, 81], (447, 81), "[447, 81]", "(447,81)", "447 81", ["447", "81"],
              {"x": 447, "y": 81}, [447.0, 81.0]],
)
def test_coordinate_forms_models_send(value) -> None:
    assert coerce_xy(value) == (447.0, 81.0)


@pytest.mark.parametrize("value", [[1], [1, 2, 3], "abc", None, {"a": 1}, [float("nan"), 1],
                                   ["x", "y"], 5])
def test_bad_coordinates_are_refused(value) -> None:
    with pytest.raises(ToolArgumentError):
        coerce_xy(value)


def test_slightly_outside_is_clamped_far_outside_refused() -> None:
    conv = CoordinateConvention()
    assert conv.to_point([1010, -5], (1, 1)) == Point(x=1.0, y=0.0)
    with pytest.raises(ToolArgumentError, match="outside the screen"):
        conv.to_point([1920, 500], (1, 1))


@given(
    x=st.integers(0, 1000), y=st.integers(0, 1000),
    w=st.integers(1, 8000), h=st.integers(1, 8000),
)
def test_grid_points_land_inside_the_screen(x: int, y: int, w: int, h: int) -> None:
    geo = ScreenGeometry(physical_width=w, physical_height=h, logical_width=w, logical_height=h)
    px, py = geo.to_input(CoordinateConvention().to_point([x, y], (w, h)))
    assert 0 <= px <= w - 1 and 0 <= py <= h - 1
    ix, iy = geo.to_input_int(CoordinateConvention().to_point([x, y], (w, h)))
    assert 0 <= ix <= w - 1 and 0 <= iy <= h - 1
    # round trip through the inverse stays within one pixel
    back = geo.to_fraction(px, py)
    assert abs(back.x * w - px) < 1e-6 * w + 1e-9
