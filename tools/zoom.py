"""The zoom tool: the model may look closer before it acts.

Why: a small target (a 6-pixel checkbox, 8-pixel text) covers one or two visual tokens
of a full screenshot, and a click aimed at it from there is a guess. Qwen3-VL's public
"think with images" cookbook gives the model a crop-and-enlarge function named
``image_zoom_in_tool`` with a ``bbox_2d`` argument, so we offer the same name and
argument: the model has seen them.

How a zoom runs (``agent.loop`` drives it):

1. The model calls ``image_zoom_in_tool`` with ``bbox_2d`` in the current coordinate
   convention; ``ZoomTool`` turns it into a ``Zoom`` action whose region is fractions
   of the image the model saw.
2. The agent maps that region through the current ``View`` (zooms nest) and makes the
   new view with ``View.around``: the region grown to the screen's aspect ratio and to
   at least ``1/max_scale`` of each side, kept inside the screen.
3. The next image is ``View.crop`` of the original full-resolution screenshot, resized
   to exactly the size of the full-screen image the model is sent. Because the view has
   the screen's aspect ratio the enlargement is uniform, and the grid the system prompt
   states (1000x1000, or Qwen2.5-VL's resized pixels) is true of the zoomed image too.
4. Every action of the next reply goes through ``View.map_action`` before an env sees
   it, so a click given on the zoomed view lands on the right full-screen pixel.

``View`` is the one place that maps between a zoomed view and the full screen; the
model's numbers become fractions only through ``CoordinateConvention.to_point``.
"""

from __future__ import annotations

from typing import Any

from PIL import Image
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from tools.actions import Action, Point, Region, Zoom
from tools.base import function_schema
from tools.coordinates import CoordinateConvention, ToolArgumentError, coerce_box

__all__ = ["DEFAULT_MAX_SCALE", "FULL_SCREEN", "View", "ZoomArgs", "ZoomTool"]

DEFAULT_MAX_SCALE = 8.0
"""At most 8x: a view is never smaller than 1/8 of each side of the screen. More only
magnifies the screenshot's own pixels (blur), at the cost of losing the context."""

FULL_SCREEN = Region(left=0.0, top=0.0, right=1.0, bottom=1.0)

RESAMPLE = Image.Resampling.BICUBIC
"""The filter ``model.vision`` resizes screenshots with (tools may not import model;
the agent passes ``model.vision.RESAMPLE`` explicitly)."""


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


class View(BaseModel):
    """The part of the full screenshot the model is being shown (default: all of it).

    ``region`` is fractions of the full screenshot. Views made by ``around`` are square
    in fractions, i.e. they have the screen's aspect ratio in pixels.
    """

    model_config = ConfigDict(frozen=True)

    region: Region = FULL_SCREEN

    @classmethod
    def around(cls, region: Region, max_scale: float = DEFAULT_MAX_SCALE) -> View:
        """The view that shows ``region`` (fractions of the full screen) enlarged.

        The region is grown around its centre to the screen's aspect ratio and to at
        least ``1/max_scale`` of each side, then shifted (never shrunk) to stay inside
        the screen.
        """
        if max_scale < 1:
            raise ValueError(f"max_scale must be at least 1, got {max_scale:g}")
        side = min(1.0, max(region.width, region.height, 1.0 / max_scale))
        cx = (region.left + region.right) / 2
        cy = (region.top + region.bottom) / 2
        left = min(max(cx - side / 2, 0.0), 1.0 - side)
        top = min(max(cy - side / 2, 0.0), 1.0 - side)
        return cls(
            region=Region(
                left=left, top=top, right=min(left + side, 1.0), bottom=min(top + side, 1.0)
            )
        )

    @classmethod
    def from_tuple(cls, view: tuple[float, float, float, float] | None) -> View:
        """The view a trajectory recorded (``StepRecord.view``; None is the full screen)."""
        if view is None:
            return cls()
        left, top, right, bottom = view
        return cls(region=Region(left=left, top=top, right=right, bottom=bottom))

    @property
    def is_full(self) -> bool:
        return self.region == FULL_SCREEN

    @property
    def scale(self) -> float:
        """How many times the view is enlarged when shown at the full screen's size."""
        return 1.0 / max(self.region.width, self.region.height)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom): the form the trajectory records."""
        r = self.region
        return r.left, r.top, r.right, r.bottom

    def to_screen(self, point: Point) -> Point:
        """A fraction of the view's image → the same spot as a fraction of the full screen."""
        r = self.region
        return Point(x=_clamp(r.left + point.x * r.width), y=_clamp(r.top + point.y * r.height))

    def from_screen(self, point: Point) -> Point:
        """The inverse of ``to_screen`` (for viewers drawing on the zoomed image); a point
        outside the view is clamped to its edge."""
        r = self.region
        return Point(x=_clamp((point.x - r.left) / r.width), y=_clamp((point.y - r.top) / r.height))

    def map_region(self, region: Region) -> Region:
        """A region given on the view's image → fractions of the full screen."""
        a = self.to_screen(Point(x=region.left, y=region.top))
        b = self.to_screen(Point(x=region.right, y=region.bottom))
        return Region(left=a.x, top=a.y, right=b.x, bottom=b.y)

    def zoom(self, region: Region, max_scale: float = DEFAULT_MAX_SCALE) -> View:
        """The view a zoom on ``region`` of *this* view's image leads to (zooms nest)."""
        return View.around(self.map_region(region), max_scale)

    def map_action(self, action: Action) -> Action:
        """The action with every point (and a zoom's region) mapped to full-screen fractions.

        Generic over fields, so an action added to the vocabulary later is mapped too.
        """
        if self.is_full:
            return action
        update: dict[str, Any] = {}
        for name in type(action).model_fields:
            value = getattr(action, name)
            if isinstance(value, Point):
                update[name] = self.to_screen(value)
            elif isinstance(value, Region):
                update[name] = self.map_region(value)
        return action.model_copy(update=update) if update else action

    def crop(
        self,
        screenshot: Image.Image,
        size: tuple[int, int],
        resample: Image.Resampling = RESAMPLE,
    ) -> Image.Image:
        """The view's pixels of the full-resolution ``screenshot``, resized to ``size``.

        The box is given to PIL in fractional pixels, so nothing is rounded: the centre
        of output pixel ``i`` samples the screenshot at ``left·W + (i + ½)·width·W/w``,
        exactly where ``to_screen`` sends a click on it.
        """
        w, h = screenshot.size
        r = self.region
        box = (r.left * w, r.top * h, r.right * w, r.bottom * h)
        return screenshot.resize(size, resample, box=box)


class ZoomArgs(BaseModel):
    """The arguments as the model sends them. ``bbox`` is accepted for ``bbox_2d``."""

    model_config = ConfigDict(extra="ignore")

    bbox_2d: Any = Field(default=None, validation_alias=AliasChoices("bbox_2d", "bbox"))
    label: Any = None


class ZoomTool:
    """``image_zoom_in_tool`` under one coordinate convention.

    Offering it is the switch: the agent zooms only when this tool is in its tool list,
    and then the schema is in the system prompt.
    """

    name = "image_zoom_in_tool"

    def __init__(
        self,
        convention: CoordinateConvention | None = None,
        max_scale: float = DEFAULT_MAX_SCALE,
    ) -> None:
        if max_scale < 1:
            raise ValueError(f"max_scale must be at least 1, got {max_scale:g}")
        self.convention = convention or CoordinateConvention()
        self.max_scale = max_scale

    def schema(self, image_size: tuple[int, int]) -> dict[str, Any]:
        resolution = self.convention.resolution_text(image_size)
        description = (
            "Zoom in on a region of the current screenshot to see small details (small "
            "text, icons, little buttons) before you act.\n"
            f"* The screen's resolution is {resolution}; bbox_2d is [x1, y1, x2, y2] on that "
            "grid: the top-left and bottom-right corners of the region.\n"
            f"* The next screenshot will be that region enlarged (up to {self.max_scale:g}x) "
            f"to the full image size, on the same {resolution} grid.\n"
            "* The coordinates of your next action may be given on that zoomed view; they "
            "are mapped back to the full screen. The screenshot after that shows the whole "
            "screen again.\n"
            "* Zoom only when a detail is too small to make out: each zoom takes a step."
        )
        parameters = {
            "type": "object",
            "properties": {
                "bbox_2d": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 4,
                    "maxItems": 4,
                    "description": f"[x1, y1, x2, y2] on the {resolution} screen.",
                },
                "label": {
                    "type": "string",
                    "description": "What you want to look at, e.g. 'the date field'.",
                },
            },
            "required": ["bbox_2d"],
        }
        return function_schema(self.name, description, parameters)

    def to_actions(self, arguments: dict[str, Any], image_size: tuple[int, int]) -> list[Action]:
        try:
            args = ZoomArgs.model_validate(arguments)
        except ValidationError as exc:  # only a non-dict gets here
            raise ToolArgumentError(f"{self.name}: {exc.errors()[0]['msg']}.") from None
        resolution = self.convention.resolution_text(image_size)
        if args.bbox_2d is None:
            raise ToolArgumentError(
                f"{self.name} needs bbox_2d [x1, y1, x2, y2]: the top-left and bottom-right "
                f"corners of the region on the {resolution} screen."
            )
        x1, y1, x2, y2 = coerce_box(args.bbox_2d)
        box = f"[{x1:g}, {y1:g}, {x2:g}, {y2:g}]"
        if x2 <= x1 or y2 <= y1:
            raise ToolArgumentError(
                f"bbox_2d {box} is empty or reversed: give the top-left corner first and the "
                f"bottom-right corner second, with x1 < x2 and y1 < y2, on the {resolution} "
                "screen."
            )
        a = self.convention.to_point([x1, y1], image_size)
        b = self.convention.to_point([x2, y2], image_size)
        if b.x <= a.x or b.y <= a.y:  # both corners clamped onto the same edge
            raise ToolArgumentError(
                f"bbox_2d {box} has no area on the screen; the screen's resolution is {resolution}."
            )
        label = None if args.label is None else str(args.label).strip() or None
        return [Zoom(region=Region(left=a.x, top=a.y, right=b.x, bottom=b.y), label=label)]

    def box_text(self, region: Region, image_size: tuple[int, int]) -> str:
        """``region`` (fractions of the image seen) in the model's numbers, e.g.
        ``[120, 80, 360, 240]``: for captions that quote the box the model asked for."""
        x1, y1 = self.convention.from_point(Point(x=region.left, y=region.top), image_size)
        x2, y2 = self.convention.from_point(Point(x=region.right, y=region.bottom), image_size)
        return f"[{x1}, {y1}, {x2}, {y2}]"
