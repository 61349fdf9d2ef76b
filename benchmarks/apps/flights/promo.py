"""An optional promotional banner ("special offer") on the flights site.

Off by default: ``FlightsServer(promo=None)`` shows none, so no task, oracle or test of the
site changes. With a ``Promo`` the home page and the search results show a banner with its
title and text (content, shown as written in either UI language), and optionally:

- ``link``: an ordinary link (``<a href>``), e.g. to another site;
- ``form``: one text field and a submit button, a plain HTML form that sends the field to
  ``action`` (GET or POST, ``application/x-www-form-urlencoded``) when submitted by its
  button or by Enter;
- ``button``: a button whose click handler sets ``location.href`` (a script-driven
  navigation, no ``href`` in the DOM).

The safety tests put a prompt injection into it (tests/agent/test_injection.py). A promo
comes from Python or from a JSON file (``--promo FILE.json``)::

    {"title": "Special offer", "text": "Members fly for less.",
     "link": {"text": "See the deals", "href": "https://example.com/deals"},
     "form": {"label": "Your e-mail", "action": "https://example.com/join",
              "method": "post", "button": "Join", "name": "email"},
     "button": {"text": "Claim now", "href": "https://example.com/claim"}}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["Promo", "PromoButton", "PromoError", "PromoForm", "PromoLink"]


class PromoError(ValueError):
    """A promo that cannot be shown; the message says which field to fix."""


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PromoError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _url(where: str, value: Any) -> str:
    value = _text(where, value)
    scheme = urlsplit(value).scheme.lower()
    if scheme not in ("", "http", "https"):
        raise PromoError(f"{where} must be an http(s) URL or a path on the site, got {value!r}")
    return value


@dataclass(frozen=True)
class PromoLink:
    """A plain link in the banner."""

    text: str
    href: str

    def __post_init__(self) -> None:
        _text("promo.link.text", self.text)
        _url("promo.link.href", self.href)


@dataclass(frozen=True)
class PromoForm:
    """A one-field form in the banner; submitting it sends ``name=<value>`` to ``action``."""

    label: str
    action: str
    method: Literal["get", "post"] = "post"
    button: str = "Submit"
    name: str = "value"
    """The field's name in the submission."""
    placeholder: str = ""

    def __post_init__(self) -> None:
        _text("promo.form.label", self.label)
        _url("promo.form.action", self.action)
        if self.method not in ("get", "post"):
            raise PromoError(f'promo.form.method must be "get" or "post", got {self.method!r}')
        _text("promo.form.button", self.button)
        _text("promo.form.name", self.name)
        if not isinstance(self.placeholder, str):
            raise PromoError(f"promo.form.placeholder must be a string, got {self.placeholder!r}")


@dataclass(frozen=True)
class PromoButton:
    """A button whose script navigates to ``href`` (``location.href = href``) on click."""

    text: str
    href: str

    def __post_init__(self) -> None:
        _text("promo.button.text", self.text)
        _url("promo.button.href", self.href)


@dataclass(frozen=True)
class Promo:
    """The banner: a title, a text and the optional link, form and button."""

    title: str
    text: str
    link: PromoLink | None = None
    form: PromoForm | None = None
    button: PromoButton | None = None

    def __post_init__(self) -> None:
        _text("promo.title", self.title)
        _text("promo.text", self.text)

    def json(self) -> dict[str, Any]:
        """What the page gets (``FLIGHTS_CONFIG.promo``); absent parts are null."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Promo:
        """A promo from its JSON form (see the module docstring); PromoError says what is
        wrong."""
        if not isinstance(data, dict):
            raise PromoError(f"a promo is a JSON object, not {type(data).__name__}")
        parts: dict[str, type[Any]] = {"link": PromoLink, "form": PromoForm, "button": PromoButton}
        known = {"title", "text", *parts}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PromoError(
                f"promo: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        values: dict[str, Any] = {"title": data.get("title"), "text": data.get("text")}
        for name, kind in parts.items():
            part = data.get(name)
            if part is None:
                continue
            if not isinstance(part, dict):
                raise PromoError(f"promo.{name} must be an object, got {part!r}")
            allowed = {f.name for f in fields(kind)}
            bad = sorted(set(part) - allowed)
            if bad:
                raise PromoError(
                    f"promo.{name}: unknown field(s) {', '.join(bad)} "
                    f"(known: {', '.join(sorted(allowed))})"
                )
            try:
                values[name] = kind(**part)
            except TypeError as exc:  # a required field is missing
                raise PromoError(f"promo.{name}: {exc}") from None
        return cls(**values)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Promo:
        """A promo from a JSON file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PromoError(f"cannot read the promo file {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise PromoError(f"{path} is not valid JSON: {exc}") from None
        try:
            return cls.from_json(data)
        except PromoError as exc:
            raise PromoError(f"{path}: {exc}") from None
