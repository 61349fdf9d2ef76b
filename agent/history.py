"""What the model sees of earlier steps.

Recent steps are replayed as turns (the screenshot the model saw, then its
reply); older steps are folded into one-line summaries inside the first user
turn. Folding happens in chunks, not one step at a time, so the start of the
prompt stays byte-identical for several steps in a row and a server's prefix
(KV) cache can reuse it:

- with ``recent_images=2`` and ``fold_chunk=3`` the prompt carries 2 to 4 earlier
  screenshots; every third step the oldest three are folded at once, and on the
  steps between, each prompt is the previous prompt plus the previous reply plus
  one new user turn;
- ``fold_chunk=1`` gives the OSWorld reference agent's sliding window, whose
  prefix changes at every step.

Each step's user turn is the same text whether it is the current turn or a
replayed one, which is what makes the previous prompt a prefix of the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from model import protocol
from model.messages import ImagePart, Message, Part, TextPart


class HistoryConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    recent_images: int = Field(default=2, ge=0, le=16)
    """Fewest earlier screenshots replayed as turns (after a fold)."""
    fold_chunk: int = Field(default=3, ge=1, le=32)
    """How many old steps are folded into summaries at once."""
    max_reply_chars: int = Field(default=4000, ge=200)
    """Longer earlier replies are cut in the replay (a runaway reply must not fill the context)."""


@dataclass(frozen=True)
class Turn:
    """One finished step as the history keeps it."""

    step: int
    image: ImagePart
    reply: str
    summary: str
    feedback: tuple[str, ...] = ()
    """What the model was told at this step about the step before."""
    caption: str = protocol.SCREENSHOT_CAPTION
    """The text after the image (a zoomed view has its own), replayed as it was sent."""


@dataclass
class History:
    system: str
    instruction: str
    config: HistoryConfig = field(default_factory=HistoryConfig)
    turns: list[Turn] = field(default_factory=list)
    folded: int = 0
    """How many of the oldest turns are folded into the instruction turn."""

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)
        live = len(self.turns) - self.folded
        if live >= self.config.recent_images + self.config.fold_chunk:
            self.folded += self.config.fold_chunk

    def messages(
        self,
        image: ImagePart,
        feedback: tuple[str, ...] = (),
        caption: str = protocol.SCREENSHOT_CAPTION,
    ) -> list[Message]:
        """The prompt for the next step, whose current image is ``image``.

        ``caption`` follows the image; keep it in the step's ``Turn`` so the replay matches.
        """
        progress = [protocol.progress_line(t.step, t.summary) for t in self.turns[: self.folded]]
        out = [
            Message.text("system", self.system),
            Message.text("user", protocol.instruction_text(self.instruction, progress)),
        ]
        for turn in self.turns[self.folded :]:
            out.append(_user_turn(turn.image, turn.feedback, turn.caption))
            out.append(Message.text("assistant", _clip(turn.reply, self.config.max_reply_chars)))
        out.append(_user_turn(image, feedback, caption))
        return out


def _user_turn(image: ImagePart, feedback: tuple[str, ...], caption: str) -> Message:
    parts: list[Part] = [TextPart(text=f) for f in feedback]
    parts.append(image)
    parts.append(TextPart(text=caption))
    return Message(role="user", content=tuple(parts))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
