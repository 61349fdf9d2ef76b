"""The safety guard: every action passes it on its way from the tool to the env.

For each action the guard decides ``allow``, ``ask`` or ``refuse``:

- **domains** (browser): a click on a link, a form or a typed URL that leads outside
  ``allowed_domains`` (or into ``blocked_domains``) is refused before it happens, and the
  env refuses every other navigation that would (a script, a redirect, a new window);
  the agent records those after the action as refusals too.
- **risky targets**: a click or long press on something whose text says submit, pay,
  buy, delete, send, confirm … (English and Chinese), judged from what is really under
  the point where the env can tell (the DOM element in a browser, the UI-hierarchy node
  on a phone), not from the model's words.
- **risky keys**: combos that close, quit, lock or kill (alt+f4, ctrl+alt+delete …).
- **shell commands**: typing a command that deletes or escalates (``rm -rf``, ``sudo`` …)
  into a terminal (or where the env cannot tell what has the focus).

``ask`` goes to a person: the ``confirm`` callback (the command line asks in the
terminal). Without one the run is unattended (``bench``, ``--yes``, no terminal) and
``ask`` becomes ``refuse``; a policy that says ``allow`` allows. A refused action is not
executed; the model is told why on its next turn. Every decision is recorded in the
trajectory with its reason (``GuardDecision``).

The policy comes from a TOML or YAML file (``Policy.load``), a named preset
(``default``, ``permissive``, ``strict``) and command-line flags.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from envs.base import Env, Target, is_terminal
from tools.actions import (
    Action,
    Click,
    KeyPress,
    LongPress,
    TypeText,
    describe,
    normalize_key,
)

Verdict = Literal["allow", "ask", "refuse"]
Rule = Literal["domain", "risky_target", "risky_key", "shell_command"]

DEFAULT_RISKY_WORDS: tuple[str, ...] = (
    # English, matched as whole words (case does not matter)
    "submit", "pay", "payment", "purchase", "buy", "checkout", "check out", "order",
    "book", "delete", "remove", "erase", "discard", "send", "confirm", "transfer",
    "unsubscribe", "sign", "publish", "post",
    # Chinese, matched anywhere in the text
    "提交", "支付", "付款", "购买", "下单", "结算", "预订", "删除", "移除", "清空", "发送",
    "确认", "确定", "转账", "发布",
)  # fmt: skip
"""Words that make a button risky. ``book`` and ``order`` because on a shopping or
travel site they spend money; ``sign`` for signing documents."""

DEFAULT_RISKY_KEYS: tuple[str, ...] = (
    "ctrl+alt+delete", "ctrl+alt+backspace", "alt+f4", "ctrl+q", "ctrl+shift+q",
    "ctrl+w", "ctrl+shift+w", "super+l", "ctrl+alt+l", "ctrl+shift+delete",
    "ctrl+alt+f1", "ctrl+alt+f2", "ctrl+alt+f3",
)  # fmt: skip
"""Combos that close or quit a program (losing its work), lock the screen, kill the X
server, switch to a text console or clear a browser's data."""

# A command word: at the start of a line or after ; & | ( ` or a $( … ).
_CMD = r"(?:^|[;&|(`]|\$\()\s*"
SHELL_PATTERNS: tuple[tuple[str, str], ...] = (
    (_CMD + r"(?:sudo|doas|pkexec|su)\b", "runs a command as another user (escalation)"),
    (_CMD + r"(?:rm|rmdir|shred|unlink|wipefs|mkfs(?:\.\w+)?)\b", "deletes files"),
    (r"\bfind\b[^\n]*\s-delete\b", "deletes files (find -delete)"),
    (r"\bdd\b[^\n]*\bof=", "overwrites a file or disk (dd of=)"),
    (r">\s*/dev/(?:sd|nvme|hd|mmcblk|vd)", "overwrites a disk"),
    (_CMD + r"chmod\b[^\n]*(?:\b[0-7]?777\b|[ugoa]*\+[rwx]*s)", "loosens permissions"),
    (_CMD + r"(?:chown|setcap|passwd|visudo|usermod|useradd)\b", "changes owners or users"),
    (r"\b(?:curl|wget)\b[^\n]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b",
     "runs a downloaded script"),
    (r"\bgit\s+(?:clean\s+-[a-z]*f|reset\s+--hard|push\s+[^\n]*--force)",
     "throws away work (git)"),
    (r":\(\)\s*\{\s*:\|:&\s*\};:", "a fork bomb"),
    (_CMD + r"(?:shutdown|reboot|poweroff|halt|init\s+[06])\b", "turns the machine off"),
)  # fmt: skip
"""(regex, what it does): shell commands that delete or escalate."""

_URL = re.compile(r"\b(?:https?|ftp|wss?)://[^\s\"'<>]+|\bwww\.[\w-]+(?:\.[\w-]+)+[^\s\"'<>]*",
                  re.IGNORECASE)
_NO_DOMAIN_SCHEMES = frozenset({"about", "data", "blob", "javascript", "chrome-error"})


class PolicyError(ValueError):
    """A policy file or flag cannot be used; the message says what to fix."""


class Policy(BaseModel):
    """What the guard allows. Lists replace the defaults; ``extra_*`` add to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_domains: tuple[str, ...] = ()
    """Hosts navigation may go to (a name also covers its subdomains; ports do not
    matter). Empty: every host that is not blocked."""
    blocked_domains: tuple[str, ...] = ()
    """Hosts navigation may never go to, even when allowed_domains would let it."""
    apps_only: bool = False
    """bench: navigation only to the hosts of the task's bundled apps (plus
    allowed_domains)."""
    risky_targets: Verdict = "ask"
    risky_keys: Verdict = "ask"
    shell_commands: Verdict = "ask"
    risky_words: tuple[str, ...] = DEFAULT_RISKY_WORDS
    extra_risky_words: tuple[str, ...] = ()
    safe_words: tuple[str, ...] = ()
    """Target texts that are never risky (exact, case-insensitive), e.g. "Confirm
    cookies"."""
    risky_key_combos: tuple[str, ...] = DEFAULT_RISKY_KEYS
    extra_risky_key_combos: tuple[str, ...] = ()
    extra_shell_patterns: tuple[str, ...] = ()
    """More regexes of dangerous shell commands."""

    @field_validator("allowed_domains", "blocked_domains")
    @classmethod
    def _hosts(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_host_of(d) for d in domains)

    @field_validator("risky_key_combos", "extra_risky_key_combos")
    @classmethod
    def _combos(cls, combos: tuple[str, ...]) -> tuple[str, ...]:
        return tuple("+".join(_combo(c)) for c in combos)

    @field_validator("extra_shell_patterns")
    @classmethod
    def _regexes(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"extra_shell_patterns: {p!r} is not a regex: {exc}") from None
        return patterns

    # -- building ----------------------------------------------------------------------

    @classmethod
    def load(cls, spec: str | Path) -> Policy:
        """A preset name (``default``, ``permissive``, ``strict``) or a .toml/.yaml file."""
        if isinstance(spec, str) and spec in PRESETS:
            return PRESETS[spec]
        path = Path(spec)
        if not path.is_file():
            names = ", ".join(PRESETS)
            raise PolicyError(f"no policy file {str(spec)!r}: give a .toml or .yaml file or "
                              f"one of the presets ({names})")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".toml":
                data: Any = tomllib.loads(text)
            elif path.suffix.lower() in (".yaml", ".yml"):
                data = yaml.safe_load(text) or {}
            else:
                raise PolicyError(f"{path}: a policy file ends in .toml, .yaml or .yml")
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise PolicyError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
        if not isinstance(data, dict):
            raise PolicyError(f"{path}: a policy is a table of settings, not {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}"
                for e in exc.errors()
            )
            raise PolicyError(f"{path}: {problems} (see README 'Safety')") from None

    def with_domains(self, allowed: Iterable[str] = (), blocked: Iterable[str] = ()) -> Policy:
        """This policy with more allowed and blocked hosts (from flags or a task's apps)."""
        allowed, blocked = tuple(allowed), tuple(blocked)
        if not allowed and not blocked:
            return self
        return self.model_validate({
            **self.model_dump(),
            "allowed_domains": (*self.allowed_domains, *allowed),
            "blocked_domains": (*self.blocked_domains, *blocked),
        })

    # -- judging -----------------------------------------------------------------------

    def domain_problem(self, url: str) -> str | None:
        """Why navigating to ``url`` is refused, or None."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _NO_DOMAIN_SCHEMES:
            return None
        host = (parts.hostname or "").lower()
        if scheme == "file" or not host:
            if self.allowed_domains and "file" not in self.allowed_domains:
                return f"{url} is a local file and the policy allows only {self._allowed()}"
            return None
        for blocked in self.blocked_domains:
            if _covers(blocked, host):
                return f"{host} is a blocked domain ({blocked})"
        if self.allowed_domains and not any(_covers(a, host) for a in self.allowed_domains):
            return f"{host} is outside the allowed domains ({self._allowed()})"
        return None

    def _allowed(self) -> str:
        return ", ".join(self.allowed_domains)

    def risky_word(self, text: str) -> str | None:
        """The risky word ``text`` contains, or None."""
        low = " ".join(text.lower().split())
        if not low or low in {s.lower() for s in self.safe_words}:
            return None
        for word in (*self.risky_words, *self.extra_risky_words):
            w = word.lower()
            if w.isascii():
                if re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", low):
                    return word
            elif w in low:
                return word
        return None

    def risky_combo(self, keys: Sequence[str]) -> str | None:
        pressed = frozenset(k.lower() for k in keys)
        for combo in (*self.risky_key_combos, *self.extra_risky_key_combos):
            if frozenset(combo.split("+")) == pressed:
                return combo
        return None

    def shell_problem(self, text: str) -> str | None:
        """What a dangerous command in ``text`` does, or None."""
        for pattern, what in SHELL_PATTERNS:
            if re.search(pattern, text, re.IGNORECASE | re.MULTILINE):
                return what
        for pattern in self.extra_shell_patterns:
            if re.search(pattern, text, re.MULTILINE):
                return f"matches the policy's pattern {pattern!r}"
        return None


PRESETS: dict[str, Policy] = {
    "default": Policy(),
    "permissive": Policy(risky_targets="allow", risky_keys="allow", shell_commands="allow"),
    "strict": Policy(risky_targets="refuse", risky_keys="refuse", shell_commands="refuse"),
}


def _host_of(domain: str) -> str:
    """A host from a domain entry; entries may be written as URLs."""
    text = domain.strip().lower()
    if not text:
        raise ValueError("a domain is empty")
    if text in ("file", "file://"):
        return "file"
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/")[0]
    if text.startswith("*."):
        text = text[2:]
    if text.count(":") == 1:  # host:port; ports do not matter
        text = text.split(":")[0]
    if not text:
        raise ValueError(f"{domain!r} is not a domain")
    return text.strip("[]").rstrip(".")


def _covers(domain: str, host: str) -> bool:
    host = host.strip("[]").rstrip(".")
    return host == domain or host.endswith("." + domain)


def _combo(spec: str) -> tuple[str, ...]:
    try:
        return tuple(normalize_key(k).lower() for k in spec.replace(" ", "").split("+"))
    except ValueError as exc:
        raise ValueError(f"key combo {spec!r}: {exc}") from None


# --- decisions ---------------------------------------------------------------------------


class GuardDecision(BaseModel):
    """One decision of the guard, as the trajectory keeps it."""

    model_config = ConfigDict(frozen=True)

    verdict: Literal["allow", "refuse"]
    rule: Rule | None = None
    """The rule that matched; None when none did."""
    reason: str
    policy_verdict: Verdict = "allow"
    """What the policy said before anyone was asked."""
    decided_by: Literal["policy", "person", "unattended"] = "policy"
    """``person``: asked and answered; ``unattended``: "ask" became "refuse" because
    nobody could be asked."""
    target: Target | None = None
    url: str | None = None
    """For a refused navigation: where it would have gone."""

    @property
    def refused(self) -> bool:
        return self.verdict == "refuse"


Confirm = Callable[[str, str, Target | None], bool]
"""``(what the action does, why it is risky, its target) -> allowed?``; a person answers."""


class Guard:
    """Judges actions by a ``Policy``; asks ``confirm`` when the policy says ``ask``."""

    def __init__(self, policy: Policy | None = None, confirm: Confirm | None = None) -> None:
        self.policy = policy or Policy()
        self.confirm = confirm
        self._env: Env | None = None

    @property
    def unattended(self) -> bool:
        return self.confirm is None

    def attach(self, env: Env) -> None:
        """Make ``env`` refuse navigations the policy refuses (where it navigates)."""
        if self._env is env:
            return
        if self.policy.allowed_domains or self.policy.blocked_domains:
            env.guard_navigation(self.policy.domain_problem)
        self._env = env

    def detach(self) -> None:
        if self._env is not None:
            env, self._env = self._env, None
            if self.policy.allowed_domains or self.policy.blocked_domains:
                env.guard_navigation(None)

    def check(self, action: Action, env: Env) -> GuardDecision:
        """Decide on ``action`` before ``env`` executes it."""
        policy = self.policy
        match action:
            case Click(point=point) | LongPress(point=point):
                return self._click(action, point, env)
            case KeyPress(keys=keys):
                if combo := policy.risky_combo(keys):
                    return self._judge(action, "risky_key", policy.risky_keys,
                                       f"the key combo {combo} can close, quit or lock", None)
            case TypeText(text=text):
                return self._typing(action, text, env)
        return GuardDecision(verdict="allow", reason="nothing risky in this kind of action")

    def blocked_navigations(self, env: Env) -> list[GuardDecision]:
        """The navigations ``env`` refused since the last call, as refusals."""
        return [
            GuardDecision(
                verdict="refuse", rule="domain", policy_verdict="refuse", url=b.url,
                reason=(f"the page tried to go to {b.url}"
                        + (f" (redirected from {b.redirected_from})" if b.redirected_from
                           else "") + f": {b.reason}"),
            )
            for b in env.take_blocked_navigations()
        ]

    # -- the rules ---------------------------------------------------------------------

    def _click(self, action: Action, point: Any, env: Env) -> GuardDecision:
        policy = self.policy
        domains = bool(policy.allowed_domains or policy.blocked_domains)
        if not domains and policy.risky_targets == "allow":
            return GuardDecision(verdict="allow", reason="the policy allows every target")
        target = env.target_at(point)
        if target is None:
            return GuardDecision(verdict="allow",
                                 reason="the env cannot tell what is under the point")
        if domains and target.href and (problem := policy.domain_problem(target.href)):
            return GuardDecision(verdict="refuse", rule="domain", policy_verdict="refuse",
                                 reason=f"it leads to {target.href}: {problem}",
                                 target=target, url=target.href)
        # A window's title says nothing about the spot clicked in it.
        if target.source != "window" and (word := policy.risky_word(target.text)):
            what = f"{target.role} " if target.role else ""
            return self._judge(action, "risky_target", policy.risky_targets,
                               f"the {what}{target.text!r} under the point is risky "
                               f"({word!r})", target)
        label = f"{target.role or 'element'} {target.text!r}" if target.text else (
            target.role or "nothing in particular")
        return GuardDecision(verdict="allow", reason=f"not risky: {label}", target=target)

    def _typing(self, action: Action, text: str, env: Env) -> GuardDecision:
        policy = self.policy
        if policy.allowed_domains or policy.blocked_domains:
            for match in _URL.finditer(text):
                url = match.group(0)
                url = url if "://" in url else f"http://{url}"
                if problem := policy.domain_problem(url):
                    return GuardDecision(verdict="refuse", rule="domain",
                                         policy_verdict="refuse", url=url,
                                         reason=f"the text names {url}: {problem}")
        if policy.shell_commands == "allow" or not (what := policy.shell_problem(text)):
            return GuardDecision(verdict="allow", reason="no dangerous command in the text")
        target = env.focused_target()
        terminal = target is None or is_terminal(target.app)
        if not terminal:
            return GuardDecision(verdict="allow", target=target,
                                 reason=f"the text looks like a command that {what}, but it "
                                        f"goes into {target.app or target.role or 'a field'}, "
                                        "not a terminal")
        where = ("a terminal" if target is not None
                 else "what may be a terminal (the env cannot tell what has the focus)")
        return self._judge(action, "shell_command", policy.shell_commands,
                           f"typing a shell command that {what} into {where}", target)

    def _judge(self, action: Action, rule: Rule, verdict: Verdict, reason: str,
               target: Target | None) -> GuardDecision:
        if verdict != "ask":
            return GuardDecision(verdict=verdict, rule=rule, reason=reason,
                                 policy_verdict=verdict, target=target)
        if self.confirm is None:
            return GuardDecision(
                verdict="refuse", rule=rule, policy_verdict="ask", decided_by="unattended",
                target=target,
                reason=f"{reason}; nobody can confirm it in an unattended run (the policy "
                       f"would have to set {_FIELD[rule]} = \"allow\")",
            )
        allowed = self.confirm(describe(action), reason, target)
        return GuardDecision(
            verdict="allow" if allowed else "refuse", rule=rule, policy_verdict="ask",
            decided_by="person", target=target,
            reason=f"{reason}; a person {'allowed' if allowed else 'refused'} it",
        )


_FIELD: dict[Rule, str] = {
    "domain": "allowed_domains", "risky_target": "risky_targets", "risky_key": "risky_keys",
    "shell_command": "shell_commands",
}


__all__ = [
    "DEFAULT_RISKY_KEYS",
    "DEFAULT_RISKY_WORDS",
    "PRESETS",
    "SHELL_PATTERNS",
    "Confirm",
    "Guard",
    "GuardDecision",
    "Policy",
    "PolicyError",
    "Verdict",
]
