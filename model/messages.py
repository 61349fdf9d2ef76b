"""Chat messages and completions: what the agent hands a backend and gets back.

Backends (HTTP or local) take a list of ``Message`` and return a ``Completion``;
the agent never knows which backend it talks to.
"""

from __future__ import annotations

import base64
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image already resized for the model and encoded once (PNG or JPEG)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["image"] = "image"
    data: bytes = Field(repr=False)
    mime: Literal["image/png", "image/jpeg"] = "image/png"
    width: int
    height: int

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


Part = TextPart | ImagePart


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)
    role: Literal["system", "user", "assistant"]
    content: tuple[Part, ...]

    @classmethod
    def text(cls, role: Literal["system", "user", "assistant"], text: str) -> Message:
        return cls(role=role, content=(TextPart(text=text),))

    def images(self) -> list[ImagePart]:
        return [p for p in self.content if isinstance(p, ImagePart)]


class Completion(BaseModel):
    """A model's reply with what it cost."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    model: str | None = None
    finish_reason: str | None = None


class BackendError(RuntimeError):
    """The model could not be reached or refused; the message says what to do."""


class Backend(Protocol):
    """Anything that turns messages into a completion."""

    name: str

    def complete(self, messages: list[Message]) -> Completion: ...

    def close(self) -> None: ...
