"""`screenpilot calibrate`: model coordinates land on their targets in a real browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.calibrate import CalibrationPoint, CalibrationReport, calibrate_browser
from envs.browser import BrowserConfig, BrowserEnv
from model.vision import VisionConfig
from tests.conftest import TEST_BROWSER_ARGS
from tools.coordinates import CoordinateConvention


@pytest.mark.parametrize(
    ("viewport", "dsf", "convention", "vision"),
    [
        ((1280, 800), 1.0, CoordinateConvention.qwen3_vl(1000), VisionConfig.qwen3_vl()),
        ((1366, 768), 1.5, CoordinateConvention.qwen3_vl(999), VisionConfig.qwen3_vl()),
        ((1920, 1080), 2.0, CoordinateConvention.qwen25_vl(), VisionConfig.qwen25_vl()),
    ],
)
def test_every_calibration_click_lands_within_tolerance(viewport, dsf, convention,
                                                        vision) -> None:
    config = BrowserConfig(viewport_width=viewport[0], viewport_height=viewport[1],
                           device_scale_factor=dsf, extra_args=list(TEST_BROWSER_ARGS))
    with BrowserEnv(config) as env:
        report = calibrate_browser(env, convention, vision, grid=4)
    assert len(report.points) == 16
    assert all(p.landed is not None for p in report.points)
    assert report.passed, report.max_error_px
    corners = {p.target: p.landed for p in report.points}
    assert corners[(0, 0)] == (0, 0)


def test_a_miss_beyond_tolerance_fails_the_report() -> None:
    point = CalibrationPoint(target=(10, 10), coordinate=(8, 12), landed=(20, 10),
                             error_px=10.0)
    report = CalibrationReport(viewport=(1280, 800), device_scale_factor=1, image_size=(1280, 800),
                               convention=CoordinateConvention(), points=[point],
                               tolerance_px=2.4)
    assert not report.passed
    missing = point.model_copy(update={"landed": None, "error_px": None})
    assert not report.model_copy(update={"points": [missing]}).passed


def test_calibrate_command_exits_0_and_prints_the_table() -> None:
    exe = str(Path(sys.executable).with_name("screenpilot"))
    proc = subprocess.run([exe, "calibrate", "--grid", "2", "--device-scale-factor", "2",
                           *[f"--browser-arg={a}" for a in TEST_BROWSER_ARGS]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" in proc.stdout and "miss" in proc.stdout
