"""No private name (``_x``) of one of our modules is used from another module.

An AST scan of every Python file of the project: ``from pkg.mod import _name`` and
``mod._name`` where ``mod`` is bound to one of our modules (``import pkg.mod as mod``,
``from pkg import mod``). Dunder names (``__version__``) are not private. A private name used
inside its own module is fine; what another module needs should be public.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "assessment",
    "benchmarks",
    "deployments",
    "flows",
    "inbox",
    "letters",
    "mail",
    "models",
    "reminders",
    "services",
    "tasks",
    "tests",
)

# Uses of private names of the lead's refactor area (issue 11: reminders/, mail/outbox.py), to
# be fixed there. This list only shrinks: an entry that is fixed fails the test until removed.
KNOWN_EXCEPTIONS: frozenset[str] = frozenset()


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_our_module(dotted: str) -> bool:
    if dotted.split(".")[0] not in PACKAGES:
        return False
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = current.split(".")
    if not is_package:
        parts = parts[:-1]
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def private_uses(path: Path) -> list[str]:
    """Every use in ``path`` of a private name that belongs to another of our modules."""
    current = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(ROOT).as_posix()
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> our module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_our_module(alias.name):
                    continue
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
                for part in alias.name.split(".")[1:]:
                    if _is_private(part):
                        found.append(f"{rel}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, current, path.name == "__init__.py")
            if not _is_our_module(module) or module == current:
                continue
            for alias in node.names:
                child = f"{module}.{alias.name}"
                if _is_our_module(child):
                    aliases[alias.asname or alias.name] = child
                if _is_private(alias.name):
                    found.append(f"{rel}: from {module} import {alias.name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        dotted = _dotted(node.value)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        if head not in aliases:
            continue
        target = aliases[head] + (f".{rest}" if rest else "")
        if _is_our_module(target) and target != current:
            found.append(f"{rel}: {target}.{node.attr}")
    return sorted(set(found))


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return ".".join(reversed(names))


def all_private_uses() -> list[str]:
    uses: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            uses.extend(private_uses(path))
    return uses


def test_no_private_names_across_modules() -> None:
    uses = all_private_uses()
    unexpected = [u for u in uses if u not in KNOWN_EXCEPTIONS]
    assert not unexpected, "private names used from another module:\n" + "\n".join(unexpected)
    stale = sorted(KNOWN_EXCEPTIONS - set(uses))
    assert not stale, "fixed, remove from KNOWN_EXCEPTIONS:\n" + "\n".join(stale)


def test_the_scan_finds_both_forms(tmp_path: Path, monkeypatch) -> None:
    """The check can fail: a file that imports and reads private names is reported."""
    pkg = tmp_path / "letters"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "render.py").write_text("def _romawi(n):\n    return 'I'\n_x = 1\n")
    (pkg / "use.py").write_text(
        "from letters.render import _romawi\n"
        "from letters import render\n"
        "import letters.render as r\n"
        "from . import render as rr\n"
        "print(render._x, r._x, rr._romawi, render.__name__)\n"
        "class A:\n    _own = 1\n    def f(self):\n        return self._own\n"
    )
    (pkg / "own.py").write_text("_y = 1\nfrom letters.own import _y\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert private_uses(pkg / "use.py") == [
        "letters/use.py: from letters.render import _romawi",
        "letters/use.py: letters.render._romawi",
        "letters/use.py: letters.render._x",
    ]
    assert private_uses(pkg / "own.py") == []
