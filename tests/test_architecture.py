"""The import direction of ARCHITECTURE.md, checked on the source.

benchmarks -> agent -> (model, tools, envs); envs import only tools.actions from tools;
tools never import envs, agent or model; model never imports tools, envs or agent.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "model", "tools", "envs", "benchmarks")
FORBIDDEN = {
    "model": {"tools", "envs", "agent", "benchmarks"},
    "tools": {"envs", "agent", "model", "benchmarks"},
    "envs": {"agent", "model", "benchmarks"},
    "agent": {"benchmarks"},
}
ENVS_MAY_IMPORT_FROM_TOOLS = {"tools.actions"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_down(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN.get(package, set()):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if package == "envs" and top == "tools" and name not in ENVS_MAY_IMPORT_FROM_TOOLS:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)
