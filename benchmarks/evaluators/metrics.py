"""Metrics: pure functions ``metric(result, expected?, **options) -> float`` in [0, 1].

Where a name is shared with OSWorld the semantics and argument shapes are OSWorld's
(``desktop_env/evaluators/metrics/general.py``), written anew here. OSWorld's "rule"
getter hands a metric the task file's ``rules`` object, so most of them take
``rules = {"expected": ...}`` as their second argument. One rule everywhere: a result of
``None`` (nothing could be read) scores 0.

OSWorld's names:

- ``exact_match(result, rules)``: 1 when ``result == rules["expected"]``.
- ``match_in_list(result, rules)``: 1 when ``result in rules["expected"]`` (a list).
- ``is_in_list(result, rules)``: 1 when ``rules["expected"] in result`` (a list or text).
- ``check_include_exclude(result, rules)``: 1 when every string of ``rules["include"]``
  is in ``result`` and none of ``rules["exclude"]``.
- ``literal_match(result, expected, type="str", ignore_case=False)``: ``str()`` equality;
  with ``type="list"`` two lists of equal length compared item by item as strings.
- ``fuzzy_match(result, rules, threshold=None)``: the similarity ratio of
  ``str(result)`` and ``rules["expected"]``: 2·LCS / (len(a) + len(b)), the same number
  as rapidfuzz's ``fuzz.ratio`` / 100 that OSWorld returns. By default the score IS the
  ratio (partial credit, OSWorld's behaviour); give ``threshold`` (0..1) in the options
  to turn it into 1 (ratio >= threshold) or 0.
- ``check_direct_json_object(result, rules)``: ``result`` (an object, or JSON text in
  which ``'`` is read as ``"``) against ``rules["expected"]``: every key equal (lists
  compared sorted with ``rules["ignore_list_order"]``); with
  ``rules["expect_in_result"]`` a string must be contained in the result's value and a
  list must have one item that is in (or equals) it. A value ``"__EVALUATION_FAILED__"``
  in the expected object scores 0.
- ``check_json(result, rules, is_yaml=False)``: ``result`` is the path of a JSON file
  (OSWorld), JSON text, or an already parsed value (ScreenPilot: from ``http_json``).
  With OSWorld's rules ``{"expect": [{"key": [...], "method": ..., "ref": ...}],
  "unexpect": [...]}`` each key path is looked up and compared (methods ``eq``, ``ne``,
  ``lt``, ``le``, ``gt``, ``ge``, ``re[.FLAG...]``, ``approx:TOL``, ``range.XY``,
  ``str_list_eq``, ``str_set_eq``). Otherwise (ScreenPilot) the rules (or
  ``rules["expected"]``) are a JSON pattern the result must contain: every key of an
  object present with a matching value, lists of the same length matching item by item,
  other values equal.
- ``infeasible``: the marker of a task that cannot be done. ``evaluate`` scores such a
  task by the agent's status and never calls it; called directly it returns 0.

ScreenPilot's answer checks (``expected`` may be a bare value, a list of accepted values,
or OSWorld's ``{"expected": ...}``):

- ``number_match(result, expected, tolerance=0)``: the first number written in the
  result (thousands separators, currency signs and full-width digits allowed:
  "¥1,280", "1280元", "１２８０") equals an expected number within ``tolerance``.
- ``contains(result, expected)``: the expected text is in the result, ignoring case,
  Unicode width forms and runs of whitespace; a list of texts must all be in it.
- ``miniwob_success(result)``: 1 when a MiniWoB episode (the ``miniwob_reward`` getter)
  ended with a raw reward above 0, the peers' definition of success.
"""

from __future__ import annotations

import json
import math
import operator
import os
import re
import unicodedata
from collections.abc import Callable
from functools import reduce
from typing import Any

__all__ = [
    "METRICS",
    "check_direct_json_object",
    "check_include_exclude",
    "check_json",
    "contains",
    "exact_match",
    "fuzzy_match",
    "infeasible",
    "is_in_list",
    "literal_match",
    "match_in_list",
    "number_match",
    "similarity",
]


def _rule_value(rules: Any, metric: str) -> Any:
    if not isinstance(rules, dict) or "expected" not in rules:
        raise ValueError(
            f"{metric} needs rules of the form {{\"expected\": ...}} (a 'rule' getter), "
            f"got {rules!r:.80}"
        )
    return rules["expected"]


def _loose_expected(expected: Any) -> Any:
    if isinstance(expected, dict) and set(expected) == {"expected"}:
        return expected["expected"]
    return expected


# --- OSWorld's ------------------------------------------------------------------------------


def exact_match(result: Any, rules: Any) -> float:
    if result is None:
        return 0.0
    return float(result == _rule_value(rules, "exact_match"))


def match_in_list(result: Any, rules: Any) -> float:
    if result is None:
        return 0.0
    return float(result in _rule_value(rules, "match_in_list"))


def is_in_list(result: Any, rules: Any) -> float:
    if result is None:
        return 0.0
    return float(_rule_value(rules, "is_in_list") in result)


def check_include_exclude(result: Any, rules: Any) -> float:
    if result is None:
        return 0.0
    include = rules.get("include", [])
    exclude = rules.get("exclude", [])
    ok = all(s in result for s in include) and all(s not in result for s in exclude)
    return float(ok)


def literal_match(
    result: Any, expected: Any, *, type: str = "str", ignore_case: bool = False, **_: Any
) -> float:
    if result is None:
        return 0.0

    def norm(value: Any) -> str:
        return str(value).lower() if ignore_case else str(value)

    if type == "str":
        return float(norm(result) == norm(expected))
    if type == "list":
        if not isinstance(result, list | tuple) or not isinstance(expected, list | tuple):
            return 0.0
        if len(result) != len(expected):
            return 0.0
        return float([norm(r) for r in result] == [norm(e) for e in expected])
    raise ValueError(f"literal_match: type {type!r} is not 'str' or 'list'")


def _lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyrö 2004)."""
    if len(a) > len(b):
        a, b = b, a
    if not a:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def similarity(a: str, b: str) -> float:
    """2·LCS / (len(a) + len(b)): 1 for equal strings (also two empty ones)."""
    if not a and not b:
        return 1.0
    return 2 * _lcs_length(a, b) / (len(a) + len(b))


def fuzzy_match(result: Any, rules: Any, *, threshold: float | None = None) -> float:
    if result is None:
        return 0.0
    ratio = similarity(str(result), str(_rule_value(rules, "fuzzy_match")))
    if threshold is None:
        return ratio
    return float(ratio >= threshold)


def check_direct_json_object(result: Any, rules: Any) -> float:
    if result is None:
        return 0.0
    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except json.JSONDecodeError:
            return 0.0
    if not isinstance(result, dict):
        return 0.0
    expected = _rule_value(rules, "check_direct_json_object")
    if not isinstance(expected, dict):
        raise ValueError("check_direct_json_object: rules['expected'] must be an object")
    if any(v == "__EVALUATION_FAILED__" for v in expected.values()):
        return 0.0
    try:
        if not rules.get("expect_in_result", False):
            for key, want in expected.items():
                got = result.get(key)
                if rules.get("ignore_list_order", False):
                    if sorted(want) != sorted(got):
                        return 0.0
                elif want != got:
                    return 0.0
            return 1.0
        for key, want in expected.items():
            got = result.get(key)
            if isinstance(want, list):
                found = any(
                    (isinstance(got, list) and w in got) or (isinstance(got, str) and w == got)
                    for w in want
                )
                if not found:
                    return 0.0
            elif isinstance(want, str):
                if not isinstance(got, str) or want not in got:
                    return 0.0
            else:
                return 0.0
        return 1.0
    except TypeError:  # sorting mixed or missing values: not the expected object
        return 0.0


def _match_rule(value: Any, rule: dict[str, Any]) -> bool:
    method = str(rule["method"])
    ref = rule.get("ref")
    if method.startswith("re"):
        flags = reduce(
            operator.or_, (getattr(re, f) for f in method.split(".")[1:]), re.RegexFlag(0)
        )
        return re.search(ref, str(value), flags) is not None
    if method in ("eq", "ne", "lt", "le", "gt", "ge"):
        try:
            return bool(getattr(operator, method)(value, ref))
        except TypeError:
            return False
    if method.startswith("approx:"):
        try:
            return abs(float(value) - float(ref)) <= float(method.split(":", 1)[1])
        except (TypeError, ValueError):
            return False
    if method.startswith("range.") and len(method) == 8:
        low = getattr(operator, "l" + method[6])
        high = getattr(operator, "l" + method[7])
        try:
            return bool(low(ref[0], value) and high(value, ref[1]))
        except TypeError:
            return False
    if method in ("str_list_eq", "str_set_eq"):
        kind = list if method == "str_list_eq" else set
        return kind(str(value).strip("\"'").split(",")) == kind(ref)
    raise ValueError(f"check_json: unknown method {method!r}")


def _contains_pattern(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and _contains_pattern(v, value[k]) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        return (
            isinstance(value, list)
            and len(value) == len(pattern)
            and all(_contains_pattern(p, v) for p, v in zip(pattern, value, strict=True))
        )
    if isinstance(pattern, bool) or isinstance(value, bool):
        return type(pattern) is type(value) and pattern == value
    return bool(pattern == value)


def _is_osworld_rules(rules: Any) -> bool:
    if not isinstance(rules, dict) or not rules or not set(rules) <= {"expect", "unexpect"}:
        return False
    return all(
        isinstance(rs, list) and all(isinstance(r, dict) and "key" in r for r in rs)
        for rs in rules.values()
    )


def _load_json_result(result: Any, is_yaml: bool) -> tuple[bool, Any]:
    """(readable, value) of a check_json result: a file path, JSON text or a value."""
    if not isinstance(result, str):
        return True, result
    text = result
    if os.path.isfile(result):
        try:
            with open(result, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            return False, None
    if is_yaml:
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ValueError("check_json with is_yaml needs PyYAML (pip install pyyaml)") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return False, None
        return data is not None, data
    try:
        return True, json.loads(text)
    except json.JSONDecodeError:
        return False, None


def check_json(result: Any, rules: Any, *, is_yaml: bool = False) -> float:
    if result is None:
        return 0.0
    readable, data = _load_json_result(result, is_yaml)
    if not readable:
        return 0.0
    if not _is_osworld_rules(rules):
        pattern = rules["expected"] if isinstance(rules, dict) and set(rules) == {
            "expected"
        } else rules
        return float(_contains_pattern(pattern, data))
    for rule in rules.get("expect", []):
        value = data
        for key in rule["key"]:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return 0.0
        if not _match_rule(value, rule):
            return 0.0
    for rule in rules.get("unexpect", []):
        value = data
        for key in rule["key"]:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if _match_rule(value, rule):
            return 0.0
    return 1.0


def infeasible(*_: Any, **__: Any) -> float:
    return 0.0


# --- ScreenPilot's answer checks ------------------------------------------------------------

_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")


def _first_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).replace("\u2212", "-")
    for m in _NUMBER.finditer(text):
        number = m.group(0)
        start = m.start()
        if number.startswith("-") and start > 0 and text[start - 1].isalnum():
            number = number[1:]  # "MU5101-20261203": a dash between, not a sign
        return float(number.replace(",", ""))
    return None


def number_match(result: Any, expected: Any, *, tolerance: float = 0.0) -> float:
    if result is None:
        return 0.0
    got = _first_number(result)
    if got is None or math.isnan(got):
        return 0.0
    want = _loose_expected(expected)
    accepted = want if isinstance(want, list) else [want]
    for item in accepted:
        number = _first_number(item)
        if number is None:
            raise ValueError(f"number_match: expected value {item!r} holds no number")
        if abs(got - number) <= tolerance + 1e-9 * max(1.0, abs(number)):
            return 1.0
    return 0.0


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def contains(result: Any, expected: Any) -> float:
    if result is None:
        return 0.0
    want = _loose_expected(expected)
    needles = want if isinstance(want, list) else [want]
    haystack = _fold(str(result))
    return float(all(_fold(str(n)) in haystack for n in needles))


def miniwob_success(result: Any, rules: Any = None) -> float:
    if result is None:
        return 0.0
    from benchmarks.miniwob import EpisodeResult

    return float(EpisodeResult.model_validate(result).success)


METRICS: dict[str, Callable[..., float]] = {
    "exact_match": exact_match,
    "match_in_list": match_in_list,
    "is_in_list": is_in_list,
    "check_include_exclude": check_include_exclude,
    "literal_match": literal_match,
    "fuzzy_match": fuzzy_match,
    "check_direct_json_object": check_direct_json_object,
    "check_json": check_json,
    "infeasible": infeasible,
    "number_match": number_match,
    "contains": contains,
    "miniwob_success": miniwob_success,
}
