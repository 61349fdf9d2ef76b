"""Read a Qwen-VL reply: thought, action summary and ``<tool_call>`` JSON.

Why this module is forgiving: models answer in the Qwen "hermes" format
(``Thought:`` / ``Action:`` / ``<tool_call>{json}</tool_call>``, QWEN_PROTOCOL.md §1),
but real replies drift — no ``Thought:``, several calls, single quotes, trailing commas,
Python literals, a ``<think>`` block, a ``</tool_call>`` eaten by the server's stop
string, a ```` ```json ```` fence instead of tags. Wasting a step (and a screenshot's
worth of tokens) on a reply whose meaning is unambiguous is worse than repairing it, so
we repair and record *what* we repaired in ``warnings`` for the trajectory.

Why it is also strict: a reply whose meaning is *not* unambiguous (no call at all, JSON
cut off mid-value, a call without ``"name"``) must not be guessed at — acting on a guess
clicks the wrong thing. Those become a ``ReplyError`` whose ``message`` is written to the
model and shown on its next turn.

Safety: ``parse_reply`` never raises for any ``str``; it never uses ``eval``; input is
capped at ``MAX_REPLY_CHARS`` and calls at ``MAX_TOOL_CALLS``; every scan is linear in
the input (regexes use possessive quantifiers, no nested backtracking).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_REPLY_CHARS",
    "MAX_TOOL_CALLS",
    "ParsedReply",
    "ReplyError",
    "ToolCall",
    "parse_reply",
    "render_tool_call",
]

MAX_REPLY_CHARS = 65_536
"""Only this many characters of a reply are read: a real reply is a few hundred, and a
runaway generation must not cost seconds of parsing."""

MAX_TOOL_CALLS = 16
"""More calls than this in one reply is a runaway; the rest are dropped with a warning."""

_MAX_BARE_CANDIDATES = 64
"""How many ``{…}`` spans we try when the reply has no ``<tool_call>`` tag."""

_MAX_ARG_DEPTH = 64
"""Arguments nested deeper than this are junk, not a GUI action."""


class ToolCall(BaseModel):
    """One function call the model asked for; arguments are left exactly as given
    (coercing ``"[447, 81]"`` to a list is the tool's job, which knows the schema)."""

    model_config = ConfigDict(frozen=True)
    name: str
    arguments: dict[str, Any]


class ParsedReply(BaseModel):
    """A reply that could be read. ``warnings`` lists every repair, for the trajectory."""

    raw: str
    thought: str | None = None
    action_summary: str | None = None
    tool_calls: list[ToolCall] = Field(min_length=1)
    warnings: list[str] = Field(default_factory=list)


ReplyErrorCode = Literal["empty", "no_tool_call", "bad_json", "bad_call", "internal"]


class ReplyError(BaseModel):
    """A reply that could not be acted on.

    ``message`` is addressed to the model (shown on its next turn): what was wrong and
    what the reply must look like. ``internal`` only appears if the parser itself has a
    bug; it exists so that even then the agent loop gets a value, not an exception.
    """

    raw: str
    code: ReplyErrorCode
    message: str
    thought: str | None = None
    action_summary: str | None = None


def render_tool_call(call: ToolCall) -> str:
    """The canonical text of a call, as the model is asked to write it.

    Used for server-parsed tool calls (vLLM ``tool_calls``) and for replaying history,
    so the model always sees its own calls in the one format we taught it.
    """
    payload = json.dumps(
        {"name": call.name, "arguments": call.arguments}, ensure_ascii=False, default=str
    )
    return f"<tool_call>\n{payload}\n</tool_call>"


# --------------------------------------------------------------------------- messages

_SHAPE = '<tool_call>\n{"name": "<function-name>", "arguments": {...}}\n</tool_call>'


def _msg_empty() -> str:
    return f"Your reply was empty. Answer in the format asked for, ending with one call: {_SHAPE}"


def _msg_no_call(hint: str = "") -> str:
    lead = hint or "Your reply had no <tool_call> block, so nothing was done."
    return f"{lead} End every reply with exactly one call: {_SHAPE}"


def _msg_bad_json(detail: str) -> str:
    return (
        f"The JSON in your <tool_call> could not be read ({detail}). Write one JSON object "
        f"with double-quoted keys and strings: {_SHAPE}"
    )


def _msg_bad_call(problem: str) -> str:
    return f"{problem} A call must look like: {_SHAPE}"


def _json_type(value: object) -> str:
    """JSON's name for a value's type, because the model thinks in JSON, not Python."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class _Fail(Exception):
    """Internal: a reply (or part of one) that must become a ReplyError."""

    def __init__(self, code: ReplyErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ReplyErrorCode = code
        self.message = message


class _Unrepairable(Exception):
    """Internal: the JSON repair pass gave up (unterminated string, mismatched bracket)."""


# --------------------------------------------------------------------------- tags

_TOOL_OPEN = re.compile(r"<[ \t]*+tool_call[ \t]*+>", re.IGNORECASE)
_TOOL_CLOSE = re.compile(r"<[ \t]*+/[ \t]*+tool_call[ \t]*+>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<[ \t]*+think[ \t]*+>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"<[ \t]*+/[ \t]*+think[ \t]*+>", re.IGNORECASE)
_THINK_ANY = re.compile(r"<[ \t]*+/?[ \t]*+think[ \t]*+>", re.IGNORECASE)

# "Thought:" / "Action:" at a line start, in any case, with markdown around it
# ("**Action:**", "**Action**:", "- Thought:", "## Action:"), ASCII or full-width colon.
_LABEL = re.compile(
    r"^[ \t#>*_\-]*+(?P<kind>thoughts?|action)[ \t*_]*+[:：](?:\*\*|__)?",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE_TAIL = re.compile(r"```[ \t]*+[A-Za-z_\-]*+[ \t]*+\n?[ \t]*+\Z")
_SURROUNDING_QUOTES = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("`", "`"), ("「", "」"))

# --------------------------------------------------------------------------- JSON


_DECODER = json.JSONDecoder(strict=False)  # raw newlines inside strings are unambiguous
_WS = re.compile(r"\s*+")
_WS_COMMAS = re.compile(r"[\s,]*+")

# One token of almost-JSON. Possessive quantifiers keep this linear on any input.
_TOKEN = re.compile(
    r"""(?P<dq>"(?:[^"\\]++|\\.)*+")"""
    r"""|(?P<sq>'(?:[^'\\]++|\\.)*+')"""
    r"""|(?P<ident>[A-Za-z_][A-Za-z0-9_]*+)"""
    r"""|(?P<open>[{\[])"""
    r"""|(?P<close>[}\]])"""
    r"""|(?P<comma>,)"""
    r"""|(?P<other>[^"'{}\[\],A-Za-z_]++)"""
    r"""|(?P<bad>["'])""",
    re.DOTALL,
)
_SPAN_CHARS = re.compile(r"""[{}"'\\]""")  # all that matters when finding a {…} span
_CLOSES_NEXT = re.compile(r"\s*+(?:[}\]]|\Z)")
_COLON_NEXT = re.compile(r"\s*+:")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_JSON_WORDS = {"true", "false", "null", "NaN", "Infinity"}

_R_SINGLE = "repaired single quotes"
_R_COMMA = "removed trailing comma"
_R_PY = "converted Python literals (True/False/None)"
_R_KEYS = "quoted bare keys"
_R_CLOSE = "added missing closing brackets"


def _unescape(body: str) -> str:
    """Decode backslash escapes the way a lenient reader would (unknown ones kept)."""

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        if len(esc) == 5:
            return chr(int(esc[1:], 16))
        return _SIMPLE_ESCAPES.get(esc, "\\" + esc)

    value = _ESCAPE.sub(repl, body)
    try:  # join escaped surrogate pairs ("\ud83d\ude00") into one character
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        return value


def _normalize(text: str) -> tuple[str, list[str], list[str]]:
    """Rewrite almost-JSON into JSON, token by token, outside strings only.

    Handles single-quoted strings, trailing commas, Python's True/False/None and bare
    keys. Stops after the first complete top-level value (the rest is returned as is,
    so prose after the object cannot break the repair). Returns the text, the repairs
    made and the brackets still open at the end (the caller decides whether closing them
    is safe). ``text`` must start with ``{`` or ``[``.
    """
    out: list[str] = []
    repairs: list[str] = []
    stack: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:  # cannot happen (the alternatives cover every character)
            raise _Unrepairable("unexpected character")
        kind = m.lastgroup
        tok = m.group()
        pos = m.end()
        if kind == "dq":
            try:
                value = _DECODER.decode(tok)
            except ValueError:
                value = _unescape(tok[1:-1])
            out.append(json.dumps(value, ensure_ascii=False))
        elif kind == "sq":
            if _R_SINGLE not in repairs:
                repairs.append(_R_SINGLE)
            out.append(json.dumps(_unescape(tok[1:-1]), ensure_ascii=False))
        elif kind == "ident":
            if _COLON_NEXT.match(text, pos) and tok not in _JSON_WORDS:
                if _R_KEYS not in repairs:
                    repairs.append(_R_KEYS)
                out.append(json.dumps(tok))
            elif tok in _PY_LITERALS:
                if _R_PY not in repairs:
                    repairs.append(_R_PY)
                out.append(_PY_LITERALS[tok])
            else:
                out.append(tok)
        elif kind == "open":
            stack.append("}" if tok == "{" else "]")
            out.append(tok)
        elif kind == "close":
            if not stack or stack[-1] != tok:
                raise _Unrepairable("mismatched bracket")
            stack.pop()
            out.append(tok)
            if not stack:
                out.append(text[pos:])
                return "".join(out), repairs, stack
        elif kind == "comma":
            if _CLOSES_NEXT.match(text, pos):
                if _R_COMMA not in repairs:
                    repairs.append(_R_COMMA)
            else:
                out.append(tok)
        elif kind == "other":
            out.append(tok)
        else:
            raise _Unrepairable("a string is never closed")
    return "".join(out), repairs, stack


def _decode_all(text: str) -> tuple[list[Any], bool]:
    """Strictly decode the JSON value at the start, plus any further ``{…}`` after it.

    Returns the values and whether unreadable text followed. Raises ValueError (or
    RecursionError) when even the first value is not JSON.
    """
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    value, pos = _DECODER.raw_decode(text, pos)
    values = [value]
    while True:
        pos = _WS_COMMAS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            return values, False
        if text[pos] != "{" or len(values) > MAX_TOOL_CALLS:
            return values, True
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return values, True
        values.append(value)


def _strip_fence(text: str) -> str:
    """Drop a markdown fence (```` ```json ```` … ```` ``` ````) around a JSON block."""
    s = text.strip()
    if s.startswith("```"):
        newline = s.find("\n")
        s = "" if newline < 0 else s[newline + 1 :]
        s = s.strip()
    if s.endswith("```"):
        s = s[:-3].rstrip()
    return s


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at character {exc.pos}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__


def _load_json(text: str, *, allow_close: bool) -> tuple[list[Any], list[str]]:
    """The JSON value(s) in a tool-call block, repaired if that is unambiguous.

    ``allow_close``: closing brackets may be appended. True only when the block was
    explicitly ended (``</tool_call>`` or the next ``<tool_call>``), so a forgotten
    ``}`` is a slip; at the end of the text it may be a truncated generation
    (``[447, 8`` … could have gone on), and guessing would act on a wrong value.
    """
    warnings: list[str] = []
    s = _strip_fence(text)
    if not s:
        raise _Fail("bad_json", _msg_bad_json("the block was empty"))
    if s[0] not in "{[":
        try:  # a whole JSON scalar ("mobile_use", 42): the caller says it is not an object
            return [_DECODER.decode(s)], warnings
        except (ValueError, RecursionError):
            pass
        brace = s.find("{")
        if brace < 0:
            raise _Fail("bad_json", _msg_bad_json("no JSON object found"))
        s = s[brace:]
        warnings.append("ignored text before the JSON object")
    try:
        values, junk = _decode_all(s)
    except (ValueError, RecursionError) as exc:
        first_error = exc
        try:
            fixed, repairs, still_open = _normalize(s)
        except (_Unrepairable, ValueError, RecursionError):
            raise _Fail("bad_json", _msg_bad_json(_describe_error(first_error))) from None
        if still_open:
            if not allow_close:
                raise _Fail(
                    "bad_json",
                    "Your <tool_call> JSON stops before its closing brackets, as if it was cut "
                    f"off. Write the whole object and end it with </tool_call>: {_SHAPE}",
                ) from None
            fixed = fixed.rstrip() + "".join(reversed(still_open))
            repairs.append(_R_CLOSE)
        try:
            values, junk = _decode_all(fixed)
        except (ValueError, RecursionError):
            raise _Fail("bad_json", _msg_bad_json(_describe_error(first_error))) from None
        warnings.extend(repairs)
    if junk:
        warnings.append("ignored text after the JSON object")
    return values, warnings


# --------------------------------------------------------------------------- calls


def _check_depth(value: Any) -> None:
    """Refuse absurdly nested arguments (iteratively: no recursion to overflow)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_ARG_DEPTH:
            raise _Fail("bad_call", _msg_bad_call("Your <tool_call> arguments nest too deeply."))
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _looks_like_call(value: object) -> bool:
    """A bare object (no tags) counts as a call only when it has the call's shape."""
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("function"), dict) and "name" not in value:
        value = value["function"]
    return isinstance(value.get("name"), str) and ("arguments" in value or "parameters" in value)


def _to_calls(value: Any, warnings: list[str]) -> list[ToolCall]:
    """Turn one decoded JSON value into calls, or fail with a message for the model."""
    if isinstance(value, list):
        if not value or not all(isinstance(v, dict) for v in value):
            raise _Fail(
                "bad_call",
                _msg_bad_call("Your <tool_call> must hold one JSON object, not an array."),
            )
        warnings.append("read an array of calls in one <tool_call>")
        calls: list[ToolCall] = []
        for item in value[:MAX_TOOL_CALLS]:
            calls.extend(_to_calls(item, warnings))
        return calls
    if not isinstance(value, dict):
        raise _Fail(
            "bad_call",
            _msg_bad_call(f"Your <tool_call> must hold a JSON object, not {_json_type(value)}."),
        )
    if "name" not in value and isinstance(value.get("function"), dict):
        value = value["function"]  # OpenAI style {"type": "function", "function": {...}}
        warnings.append('unwrapped an OpenAI-style "function" object')
    if "name" not in value:
        raise _Fail("bad_call", _msg_bad_call('Your <tool_call> object has no "name".'))
    name = value["name"]
    if not isinstance(name, str) or not name.strip():
        raise _Fail(
            "bad_call",
            _msg_bad_call('"name" in your <tool_call> must be the function name as a string.'),
        )
    if "arguments" in value:
        args = value["arguments"]
    elif "parameters" in value:
        args = value["parameters"]
        warnings.append('read "parameters" as "arguments"')
    else:
        args = {k: v for k, v in value.items() if k not in ("name", "type", "id")}
        warnings.append("read top-level keys as arguments" if args else "call without arguments")
    if isinstance(args, str):
        if args.strip():
            try:
                decoded, _ = _load_json(args, allow_close=False)
            except _Fail:
                raise _Fail(
                    "bad_json",
                    _msg_bad_json('"arguments" is a string that is not a JSON object'),
                ) from None
            args = decoded[0]
        else:
            args = {}
        warnings.append("decoded arguments given as a JSON string")
    elif args is None:
        args = {}
        warnings.append("read null arguments as {}")
    if not isinstance(args, dict):
        raise _Fail(
            "bad_call",
            _msg_bad_call(
                f'"arguments" in your <tool_call> must be a JSON object, not {_json_type(args)}.'
            ),
        )
    _check_depth(args)
    return [ToolCall(name=name.strip(), arguments=args)]


def _block_start_end(body: str, start: int) -> int | None:
    """End of a strictly valid JSON value starting the block at ``start``, if any.

    Lets a block end *after* its JSON, so a ``</tool_call>`` typed inside a string
    (``{"action": "type", "text": "</tool_call>"}``) does not cut the call in two.
    """
    pos = _WS.match(body, start).end()  # type: ignore[union-attr]
    if body.startswith("```", pos):
        newline = body.find("\n", pos)
        if newline < 0:
            return None
        pos = _WS.match(body, newline).end()  # type: ignore[union-attr]
    if pos >= len(body) or body[pos] not in "{[":
        return None
    try:
        return _DECODER.raw_decode(body, pos)[1]
    except (ValueError, RecursionError):
        return None


def _tagged_calls(body: str, warnings: list[str]) -> tuple[list[ToolCall], int]:
    """Calls in ``<tool_call>`` blocks; returns them and where the first block starts."""
    calls: list[ToolCall] = []
    first = -1
    pos = 0
    while True:
        m = _TOOL_OPEN.search(body, pos)
        if m is None:
            break
        if first < 0:
            first = m.start()
        if len(calls) >= MAX_TOOL_CALLS:
            extra = 1 + sum(1 for _ in _TOOL_OPEN.finditer(body, m.end()))
            warnings.append(f"ignored {extra} tool call(s) beyond the limit of {MAX_TOOL_CALLS}")
            break
        start = m.end()
        json_end = _block_start_end(body, start)
        search_from = start if json_end is None else json_end
        close = _TOOL_CLOSE.search(body, search_from)
        nxt = _TOOL_OPEN.search(body, search_from)
        if close is not None and (nxt is None or close.start() < nxt.start()):
            end, pos, allow_close = close.start(), close.end(), True
        elif nxt is not None:
            end, pos, allow_close = nxt.start(), nxt.start(), True
            warnings.append("missing </tool_call> before the next <tool_call>")
        else:
            end, pos, allow_close = len(body), len(body), False
            warnings.append("missing </tool_call> at the end")
        values, more = _load_json(body[start:end], allow_close=allow_close)
        warnings.extend(more)
        if len(values) > 1:
            warnings.append("read several JSON objects in one <tool_call>")
        for value in values:
            calls.extend(_to_calls(value, warnings))
    if len(calls) > MAX_TOOL_CALLS:
        warnings.append(f"ignored tool calls beyond the limit of {MAX_TOOL_CALLS}")
        del calls[MAX_TOOL_CALLS:]
    return calls, first


def _brace_spans(body: str) -> list[tuple[int, int]]:
    """Top-level ``{…}`` spans (string-aware, both quote kinds); the last may run to
    the end of the text if it is never closed. Linear in the text: a regex jumps between
    the only characters that matter."""
    spans: list[tuple[int, int]] = []
    n = len(body)
    start = body.find("{")
    while 0 <= start < n and len(spans) < _MAX_BARE_CANDIDATES:
        depth = 0
        quote = ""
        pos = start
        end = n
        while True:
            m = _SPAN_CHARS.search(body, pos)
            if m is None:
                break
            c = m.group()
            pos = m.end()
            if quote:
                if c == "\\":
                    pos += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    end = pos
                    break
        spans.append((start, end))
        start = body.find("{", end)
    return spans


def _bare_calls(body: str, warnings: list[str]) -> tuple[list[ToolCall], int]:
    """Calls written without tags: a ```` ```json ```` fence or a bare object."""
    calls: list[ToolCall] = []
    first = -1
    failure: _Fail | None = None
    for start, end in _brace_spans(body):
        chunk = body[start:end]
        try:
            values, more = _load_json(chunk, allow_close=False)
        except _Fail as exc:
            if failure is None and re.search(r"""["']name["']""", chunk):
                failure = exc
            continue
        value = values[0]
        if not _looks_like_call(value):
            continue
        if len(calls) >= MAX_TOOL_CALLS:
            warnings.append(f"ignored tool calls beyond the limit of {MAX_TOOL_CALLS}")
            break
        if first < 0:
            first = start
            fenced = _FENCE_TAIL.search(body, 0, start) is not None
            warnings.append(
                "read a ```json block without <tool_call> tags"
                if fenced
                else "read a bare JSON object without <tool_call> tags"
            )
        warnings.extend(more)
        calls.extend(_to_calls(value, warnings))
    if not calls and failure is not None:
        raise failure
    return calls[:MAX_TOOL_CALLS], first


# --------------------------------------------------------------------------- prose


def _clean_summary(text: str) -> str | None:
    """One line, without the quotes/emphasis the cookbook prompt puts around it."""
    s = " ".join(line.strip() for line in text.splitlines() if line.strip())
    for mark in ("**", "__", "*", "_"):
        if len(s) > 2 * len(mark) and s.startswith(mark) and s.endswith(mark):
            s = s[len(mark) : -len(mark)].strip()
            break
    for left, right in _SURROUNDING_QUOTES:
        if len(s) >= 2 and s.startswith(left) and s.endswith(right):
            s = s[len(left) : -len(right)].strip()
            break
    return s or None


def _read_prose(prelude: str) -> tuple[str | None, str | None, str | None]:
    """(thought, action summary, unlabeled text) from the text before the first call.

    Each label's text runs to the next label or the end of the prelude, so the thought
    ends at "Action:" (or the first call) and the summary at the first call.
    """
    labels = list(_LABEL.finditer(prelude))
    thought: str | None = None
    action: str | None = None
    for i, m in enumerate(labels):
        stop = labels[i + 1].start() if i + 1 < len(labels) else len(prelude)
        segment = prelude[m.end() : stop]
        if m.group("kind").lower().startswith("thought"):
            if thought is None:
                thought = segment.strip() or None
        elif action is None:
            action = _clean_summary(segment)
    unlabeled = (prelude[: labels[0].start()] if labels else prelude).strip() or None
    return thought, action, unlabeled


# --------------------------------------------------------------------------- entry


def parse_reply(text: str) -> ParsedReply | ReplyError:
    """Read a model reply. Never raises: every outcome is a value the loop can record."""
    raw = text if isinstance(text, str) else str(text)
    try:
        return _parse(raw)
    except Exception as exc:  # last line of defence; a parser bug must not end a run
        return ReplyError(
            raw=raw,
            code="internal",
            message=_msg_no_call(f"Your reply could not be read ({type(exc).__name__})."),
        )


def _parse(raw: str) -> ParsedReply | ReplyError:
    warnings: list[str] = []
    text = raw
    if len(text) > MAX_REPLY_CHARS:
        text = text[:MAX_REPLY_CHARS]
        warnings.append(f"read only the first {MAX_REPLY_CHARS} characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ReplyError(raw=raw, code="empty", message=_msg_empty())

    # 1. Split off the thinking: everything up to the first </think> (the template may
    #    have put <think> in the prompt, so the opening tag can be missing). The *first*,
    #    because a thinking model rehearses its <tool_call> inside the block, which must
    #    not count, while "</think>" as text inside a real call's arguments is far rarer.
    think: str | None = None
    body = text
    unclosed_think = False
    think_close = _THINK_CLOSE.search(text)
    if think_close is not None:
        think = _THINK_ANY.sub("", text[: think_close.start()]).strip() or None
        body = text[think_close.end() :]
    else:
        opening = _THINK_OPEN.match(text)
        if opening is not None:
            rest = text[opening.end() :]
            call = _TOOL_OPEN.search(rest)
            cut = call.start() if call is not None else len(rest)
            think = rest[:cut].strip() or None
            body = rest[cut:]
            unclosed_think = True
            if call is not None:
                warnings.append("<think> was never closed; it ends at the first <tool_call>")

    # 2. Find the calls: tagged blocks, else a fenced/bare object.
    try:
        calls, first = _tagged_calls(body, warnings)
        if first < 0:
            calls, first = _bare_calls(body, warnings)
    except _Fail as exc:
        tag = _TOOL_OPEN.search(body)
        cut = tag.start() if tag is not None else body.find("{")
        prelude = _FENCE_TAIL.sub("", body if cut < 0 else body[:cut])
        thought, action, unlabeled = _read_prose(prelude)
        return ReplyError(
            raw=raw,
            code=exc.code,
            message=exc.message,
            thought=thought or think or unlabeled,
            action_summary=action,
        )

    prelude = body if first < 0 else body[:first]
    prelude = _FENCE_TAIL.sub("", prelude)
    thought, action, unlabeled = _read_prose(prelude)
    thought = thought or think or unlabeled

    if not calls:
        if unclosed_think:
            hint = "Your reply ended inside <think> without a tool call; close it with </think>."
        elif think_close is not None and _TOOL_OPEN.search(text, 0, think_close.start()):
            hint = "Your <tool_call> was inside the <think> block, where it is ignored."
        else:
            hint = ""
        return ReplyError(
            raw=raw,
            code="no_tool_call",
            message=_msg_no_call(hint),
            thought=thought,
            action_summary=action,
        )
    return ParsedReply(
        raw=raw,
        thought=thought,
        action_summary=action,
        tool_calls=calls,
        warnings=list(dict.fromkeys(warnings)),
    )
