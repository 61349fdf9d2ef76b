"""QWEN_PROTOCOL.md §1: the cookbook's real Qwen3-VL reply lands at (644, 253) on 1440x3120."""

from __future__ import annotations

import pytest

from model.parser import ParsedReply, parse_reply
from tests.support.qwen_samples import GOLDEN, GOLDEN_ACTION
from tools.actions import ScreenGeometry
from tools.coordinates import CoordinateConvention

PHONE = ScreenGeometry(physical_width=1440, physical_height=3120, logical_width=1440,
                       logical_height=3120)


@pytest.mark.parametrize("divisor", [1000, 999])
def test_golden_reply_maps_to_644_253(divisor) -> None:
    parsed = parse_reply(GOLDEN)
    assert isinstance(parsed, ParsedReply)
    assert parsed.action_summary == GOLDEN_ACTION
    (call,) = parsed.tool_calls
    assert call.name == "mobile_use" and call.arguments["action"] == "click"
    # the image the model saw: any size, the relative grid does not depend on it
    point = CoordinateConvention.qwen3_vl(divisor).to_point(call.arguments["coordinate"],
                                                             (1440, 3136))
    x, y = PHONE.to_input(point)
    assert abs(x - 644) <= 1 and abs(y - 253) <= 1
    assert PHONE.to_input_int(point) in {(644, 253), (643, 253), (644, 252)}
