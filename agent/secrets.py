"""Secrets the model never sees and no run file ever contains.

A secret is a NAME and a VALUE (a password, an account number). The model is only ever
told the placeholder ``{{NAME}}``: the instruction mentions it, the model types it, and
``Secrets.resolve`` swaps in the value just before the env types it. Everything a run
writes or prints passes through ``Secrets.redact`` (or ``redact_bytes`` / ``redact_data``),
which turns each value back into its placeholder, also in the forms a value takes in
files: JSON-escaped, URL-encoded (a form sent with GET puts it in the page's URL),
HTML-escaped, as a Python or shell literal, and base64.

Where the values come from (``Secrets.from_specs``)::

    --secret NAME=VALUE        on the command line (visible in the shell's history and
                               the process list; prefer the next two)
    --secret NAME              the value of the environment variable $NAME
    SCREENPILOT_SECRET_NAME    every such variable is the secret NAME

What is *not* covered: screenshots. A value shown on the screen (a text field that is
not ``type=password``) is in the pixels the model sees and in the PNG files of the
trajectory; use password fields, or do not record screenshots of such pages.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from pydantic import BaseModel

from tools.actions import Action, TypeText

__all__ = ["ENV_PREFIX", "PLACEHOLDER", "SecretError", "Secrets"]

PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
"""``{{NAME}}``: how the model, instructions and run files refer to the secret NAME."""
ENV_PREFIX = "SCREENPILOT_SECRET_"
"""Every environment variable ``SCREENPILOT_SECRET_<NAME>`` is the secret NAME."""
_M = TypeVar("_M", bound=BaseModel)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretError(ValueError):
    """A secret cannot be used (a bad spec, a missing value, an unknown placeholder); the
    message says what to do and never holds a value."""


def _form_urlencoded(value: str) -> str:
    """The WHATWG application/x-www-form-urlencoded serialisation (what a browser puts in
    the URL of a form sent with GET): ASCII alphanumerics and ``*-._`` kept, space as
    ``+``, every other UTF-8 byte as ``%XX`` (``~`` too, unlike ``quote_plus``)."""
    return "".join(
        chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "*-._")
        else "+" if b == 0x20 else f"%{b:02X}"
        for b in value.encode("utf-8")
    )


def _uri_component(value: str) -> str:
    """JavaScript's encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


def _forms(value: str) -> set[str]:
    """The value and the forms it takes in files, logs, URLs and command lines."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
        _form_urlencoded(value),
        _uri_component(value),
        html.escape(value),
        html.escape(value, quote=False),
        repr(value)[1:-1],  # a Python literal (a traceback, code sent to a remote desktop)
        shlex.quote(value),  # a shell command line
        base64.b64encode(value.encode("utf-8")).decode("ascii"),
    }
    # A JSON string of a URL or of HTML (a URL in steps.jsonl): escaped twice.
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return {f for f in forms if f}


class Secrets:
    """Named secret values: fills placeholders for the env, redacts values everywhere else.

    ``Secrets()`` (no secrets) is falsy; its ``redact`` returns the text unchanged.
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        checked: dict[str, str] = {}
        for name, value in (values or {}).items():
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise SecretError(
                    f"{name!r} is not a secret name: use letters, digits and _ (not first "
                    "a digit), e.g. PASSWORD or USER_ID")
            if not isinstance(value, str) or not value:
                raise SecretError(f"the secret {name} is empty: give it a value "
                                  f"(--secret {name}=VALUE or {ENV_PREFIX}{name})")
            checked[name] = value
        self._values = checked
        owner: dict[str, str] = {}
        # Longest values first, so that a value inside another is never redacted first.
        for name, value in sorted(checked.items(), key=lambda kv: -len(kv[1])):
            for form in _forms(value):
                owner.setdefault(form, name)
        ordered = sorted(owner, key=lambda f: (-len(f), f))
        self._owner = owner
        self._owner_bytes = {f.encode("utf-8"): n for f, n in owner.items()}
        self._pattern = (re.compile("|".join(re.escape(f) for f in ordered))
                         if ordered else None)
        self._pattern_bytes = (re.compile(b"|".join(re.escape(f.encode("utf-8"))
                                                    for f in ordered))
                               if ordered else None)

    @classmethod
    def from_specs(
        cls, specs: Iterable[str], environ: Mapping[str, str] | None = None
    ) -> Secrets:
        """The secrets of ``--secret`` options and of ``SCREENPILOT_SECRET_<NAME>`` variables.

        A spec is ``NAME=VALUE``, or ``NAME`` alone for the value of the environment
        variable ``$NAME`` (or ``$SCREENPILOT_SECRET_NAME``). A spec wins over a
        ``SCREENPILOT_SECRET_`` variable of the same name.
        """
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for key, value in env.items():
            if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
                name = key[len(ENV_PREFIX):]
                if not _NAME.fullmatch(name):
                    raise SecretError(f"the environment variable {key} does not name a secret: "
                                      "use letters, digits and _ after "
                                      f"{ENV_PREFIX}, e.g. {ENV_PREFIX}PASSWORD")
                if not value:
                    raise SecretError(f"the environment variable {key} is empty: give it the "
                                      f"secret's value, or unset it")
                values[name] = value
        given: set[str] = set()
        for spec in specs:
            name, sep, value = spec.partition("=")
            name = name.strip()
            if not _NAME.fullmatch(name):
                raise SecretError(
                    f"--secret {name or '=...'}: give NAME=VALUE or NAME (the value of $NAME), "
                    "where NAME has letters, digits and _ (not first a digit), e.g. "
                    "--secret PASSWORD=... or --secret PASSWORD")
            if name in given:
                raise SecretError(f"--secret {name} is given twice")
            given.add(name)
            if sep:
                if not value:
                    raise SecretError(f"--secret {name}= has no value: give --secret "
                                      f"{name}=VALUE, or --secret {name} to read $NAME")
                values[name] = value
                continue
            from_env = env.get(name) or env.get(ENV_PREFIX + name)
            if not from_env:
                raise SecretError(
                    f"--secret {name}: the environment variable ${name} is not set (nor "
                    f"${ENV_PREFIX}{name}); export it, or give --secret {name}=VALUE")
            values[name] = from_env
        return cls(values)

    # -- what there is ------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return sorted(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return f"Secrets(names={self.names!r})"

    __str__ = __repr__

    def value(self, name: str) -> str:
        """The value of the secret ``name`` (for the env, or to hand it on; never print it)."""
        try:
            return self._values[name]
        except KeyError:
            raise SecretError(self._unknown_message([name])) from None

    def placeholder(self, name: str) -> str:
        return "{{" + name + "}}"

    # -- placeholders -> values (for the env only) --------------------------------------

    def unknown(self, text: str) -> list[str]:
        """The names of placeholders in ``text`` that are not secrets, in order, once each."""
        seen: list[str] = []
        for name in PLACEHOLDER.findall(text):
            if name not in self._values and name not in seen:
                seen.append(name)
        return seen

    def _unknown_message(self, names: list[str]) -> str:
        shown = ", ".join(self.placeholder(n) for n in names)
        verb = "is not a secret" if len(names) == 1 else "are not secrets"
        if self._values:
            known = ", ".join(self.placeholder(n) for n in self.names)
            return f"{shown} {verb}; known: {known}"
        first = names[0]
        return (f"{shown} {verb}: no secrets were given; pass --secret {first}=VALUE (or set "
                f"{ENV_PREFIX}{first})")

    def check(self, text: str) -> None:
        """Raise ``SecretError`` when ``text`` (an instruction) has unknown placeholders."""
        missing = self.unknown(text)
        if missing:
            raise SecretError(self._unknown_message(missing))

    def revealed(self, text: str) -> list[str]:
        """The names of the secrets whose values (in any form ``redact`` knows) are in
        ``text``, sorted."""
        if self._pattern is None:
            return []
        return sorted({self._owner[m.group(0)] for m in self._pattern.finditer(text)})

    def check_instruction(self, text: str) -> None:
        """Raise ``SecretError`` when an instruction names an unknown secret, or holds a
        secret's value (the model would see it): it must say ``{{NAME}}`` instead."""
        self.check(text)
        shown = self.revealed(text)
        if shown:
            names = ", ".join(shown)
            where = ", ".join(self.placeholder(n) for n in shown)
            raise SecretError(f"the instruction holds the value of the secret {names}, which the "
                              f"model would see: write {where} where it goes instead")

    def fill(self, text: str) -> str:
        """``text`` with every placeholder replaced by its value. An unknown placeholder
        raises ``SecretError`` naming it and the known ones (never a value)."""
        self.check(text)
        return PLACEHOLDER.sub(lambda m: self._values[m.group(1)], text)

    def resolve(self, action: Action) -> Action:
        """What the env executes: a ``TypeText`` with placeholders becomes a new one with
        the values; any other action (and text without placeholders) is returned as is."""
        if isinstance(action, TypeText) and PLACEHOLDER.search(action.text):
            return action.model_copy(update={"text": self.fill(action.text)})
        return action

    # -- values -> placeholders (for everything else) -----------------------------------

    def contains(self, text: str | bytes) -> bool:
        """Whether any value, in any of the forms ``redact`` knows, occurs in ``text``."""
        if isinstance(text, bytes):
            return self._pattern_bytes is not None and bool(self._pattern_bytes.search(text))
        return self._pattern is not None and bool(self._pattern.search(text))

    def redact(self, text: str) -> str:
        """Every value (plain, JSON-escaped, URL-encoded, HTML-escaped) -> its placeholder."""
        if self._pattern is None or not text:
            return text
        owner = self._owner
        return self._pattern.sub(lambda m: "{{" + owner[m.group(0)] + "}}", text)

    def redact_bytes(self, data: bytes) -> bytes:
        """``redact`` on UTF-8 bytes (a log file, a captured output)."""
        if self._pattern_bytes is None or not data:
            return data
        owner = self._owner_bytes
        return self._pattern_bytes.sub(lambda m: b"{{" + owner[m.group(0)].encode() + b"}}",
                                       data)

    def redact_data(self, data: Any) -> Any:
        """``redact`` on every string (keys too) of JSON-like data (dicts, lists, tuples).

        Prefer it to redacting a JSON text: a short value that is all digits would
        otherwise turn a number into ``{{NAME}}`` and break the JSON.
        """
        if not self._values:
            return data
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {self.redact_data(k): self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data

    def redact_model(self, model: _M) -> _M:
        """A copy of a pydantic model with every string redacted (the model itself when
        there are no secrets), e.g. a record about to be printed."""
        if not self._values:
            return model
        return type(model).model_validate(self.redact_data(model.model_dump(mode="json")))

    def redact_json(self, model: Any, *, indent: int | None = None, **dump: Any) -> str:
        """The JSON of a pydantic model, redacted; exactly ``model_dump_json`` when there are
        no secrets. ``dump`` goes to ``model_dump`` (``exclude_none=True``...)."""
        if not self._values:
            return str(model.model_dump_json(indent=indent, **dump))
        data = self.redact_data(model.model_dump(mode="json", **dump))
        separators = (",", ":") if indent is None else None  # as model_dump_json writes it
        return json.dumps(data, indent=indent, ensure_ascii=False, separators=separators)
