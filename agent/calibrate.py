"""Calibration: click known points through the whole mapping path, see where they land.

Wrong clicks are the complaint users raise most against GUI agents (HiDPI, browser
zoom, 999 vs 1000 grids). This check answers "does a model's coordinate land where
it should on *my* setup?" without a model: for a grid of target points it computes
the coordinate a perfect model would answer on the image it is sent, runs it through
the coordinate convention, the env's mapping and a real click, and compares the
position the page received with the target.
"""

from __future__ import annotations

import math
import urllib.parse

from pydantic import BaseModel

from envs.browser import BrowserEnv
from model.vision import VisionConfig
from tools.actions import Click
from tools.coordinates import CoordinateConvention

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>calibration</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#fff}</style></head>
<body><script>window.__clicks=[];addEventListener('mousedown',e=>
__clicks.push([e.clientX,e.clientY]),true);</script></body></html>"""
CALIBRATION_URL = "data:text/html," + urllib.parse.quote(_PAGE)


class CalibrationPoint(BaseModel):
    target: tuple[float, float]
    """CSS pixel aimed at."""
    coordinate: tuple[int, int]
    """What a perfect model answers for it, in the convention's grid."""
    landed: tuple[float, float] | None
    error_px: float | None


class CalibrationReport(BaseModel):
    viewport: tuple[int, int]
    device_scale_factor: float
    image_size: tuple[int, int]
    convention: CoordinateConvention
    points: list[CalibrationPoint]
    tolerance_px: float
    """The most a click may miss by: half a grid cell (the model's rounding) plus one
    pixel (the browser reports whole CSS pixels)."""

    @property
    def max_error_px(self) -> float:
        errors = [p.error_px for p in self.points]
        return math.inf if None in errors else max(errors, default=0.0)  # type: ignore[type-var]

    @property
    def passed(self) -> bool:
        return self.max_error_px <= self.tolerance_px


def calibrate_browser(
    env: BrowserEnv,
    convention: CoordinateConvention,
    vision: VisionConfig | None = None,
    grid: int = 5,
) -> CalibrationReport:
    """Click a ``grid`` x ``grid`` lattice of points (edges included) and measure the misses."""
    vision = vision or VisionConfig()
    obs = env.reset(CALIBRATION_URL)
    geo = obs.geometry
    image_size = vision.target_size(obs.screenshot.width, obs.screenshot.height)
    grid_w, grid_h = convention.grid_size(image_size)
    w, h = geo.logical_width, geo.logical_height
    points: list[CalibrationPoint] = []
    for j in range(grid):
        for i in range(grid):
            target = (round((w - 1) * i / (grid - 1)), round((h - 1) * j / (grid - 1)))
            coordinate = (round(target[0] / w * grid_w), round(target[1] / h * grid_h))
            before = env.page.evaluate("__clicks.length")
            env.execute(Click(point=convention.to_point(list(coordinate), image_size)))
            clicks = env.page.evaluate("__clicks")
            landed = tuple(clicks[-1]) if len(clicks) > before else None
            error = None if landed is None else math.dist(landed, target)
            points.append(CalibrationPoint(target=target, coordinate=coordinate,
                                           landed=landed, error_px=error))
    cell = max(w / grid_w, h / grid_h)
    return CalibrationReport(
        viewport=(w, h), device_scale_factor=geo.scale_factor, image_size=image_size,
        convention=convention, points=points, tolerance_px=cell / 2 * math.sqrt(2) + 1.5,
    )
