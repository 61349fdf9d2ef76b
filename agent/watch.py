"""Not getting stuck, without asking the model: did an action change the screen, and is
the agent doing the same thing over and over on a screen that does not change?

``screen_change`` compares the screenshot the model acted on with the one taken after
its actions, around the point of the last action (a click that changed nothing near
where it landed probably missed). ``RepeatWatch`` counts steps in a row that did the same
actions with no change at all; the loop warns the model once when the count reaches the
limit and ends the run as ``stuck`` if the next step repeats again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from agent.trajectory import ScreenChange
from envs.base import frame_change
from tools.actions import Action, Click, Drag, LongPress, Point, Scroll, Swipe, Wait, describe

NEAR = 0.08
"""Half the side of the box around an action's point, as a fraction of the screen's
larger side: about 100 px on a 1280-px-wide screen."""
_CARET = (3.0, 48.0)
"""A difference at most 3 by 48 px (at 1x) is a blinking caret, not a change."""


def action_point(action: Action) -> Point | None:
    """Where an action acts on the screen (None: where the focus or pointer is)."""
    match action:
        case Click(point=p) | LongPress(point=p) | Scroll(point=p):
            return p
        case Drag(end=p) | Swipe(end=p):
            return p
    return None


def screen_change(before: Image.Image, after: Image.Image, point: Point | None,
                  scale: float = 1.0) -> ScreenChange:
    """How ``after`` differs from ``before`` as seen from ``point`` (fractions).

    ``scale`` is physical pixels per logical pixel, so that the caret allowance means the
    same at any device scale factor.
    """
    thin, long = _CARET[0] * scale, _CARET[1] * scale
    if frame_change(before, after, thin, long) != "changed":
        return "none"
    if point is None or before.size != after.size:
        return "at_action"
    w, h = before.size
    r = NEAR * max(w, h)
    x, y = point.x * w, point.y * h
    box = (max(0, int(x - r)), max(0, int(y - r)), min(w, int(x + r) + 1),
           min(h, int(y + r) + 1))
    near = frame_change(before.crop(box), after.crop(box), thin, long)
    return "at_action" if near == "changed" else "elsewhere"


def signature(actions: Sequence[Action]) -> tuple[str, ...]:
    """What a step did, with points rounded to a 1/100 of the screen so that a click two
    pixels off counts as the same click."""
    out = []
    for action in actions:
        update = {}
        for name in ("point", "start", "end"):
            p = getattr(action, name, None)
            if isinstance(p, Point):
                update[name] = Point(x=round(p.x, 2), y=round(p.y, 2))
        out.append(describe(action.model_copy(update=update)))
    return tuple(out)


@dataclass
class RepeatWatch:
    """Counts steps in a row that repeat the same actions on an unchanged screen."""

    limit: int = 3
    count: int = 0
    warned: bool = False
    _last: tuple[str, ...] | None = None

    def step(self, actions: Sequence[Action], change: ScreenChange | None) -> int:
        """Record one step; returns how many steps in a row (this one included) did the same
        thing with no visible change (0 when this step changed the screen or did nothing)."""
        sig = signature(actions)
        if not sig or change != "none" or all(isinstance(a, Wait) for a in actions):
            self.count, self.warned, self._last = 0, False, None
            return 0
        self.count = self.count + 1 if sig == self._last else 1
        if self.count == 1:
            self.warned = False
        self._last = sig
        return self.count

    @property
    def due_warning(self) -> bool:
        """The limit is reached and the model has not been warned yet."""
        return self.count >= self.limit and not self.warned

    @property
    def stuck(self) -> bool:
        """The model was warned and repeated the same thing again."""
        return self.warned and self.count > self.limit


__all__ = ["NEAR", "RepeatWatch", "action_point", "screen_change", "signature"]
