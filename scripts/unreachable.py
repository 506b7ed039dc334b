"""The functions and classes of a bake's package that no command reaches.

    python scripts/unreachable.py BAKE_DIR

Starts from the commands (`__main__.COMMANDS`, as the bake's own command line has them) and
what every module runs on import, and follows each name a function uses: its own module's
functions, what it imports by name, and `module.name` of the modules it imports. Prints each
unreachable function with its lines and the total; exits 1 when there is any.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

Unit = tuple[str, str]  # (module, top-level name)


def package_dir(bake: Path) -> Path:
    found = [path.parent for path in (bake / "src").glob("*/__main__.py")]
    if len(found) != 1:
        raise SystemExit(f"{bake}: expected one package with a __main__.py under src/")
    return found[0]


def commands(bake: Path, package: str) -> list[Unit]:
    """(module, function) of every command, read from the bake's own command line."""
    code = f"import json, {package}.__main__ as m; print(json.dumps(list(m.COMMANDS.values())))"
    env = {"PYTHONPATH": str(bake / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-B", "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [(module, function) for module, function, _ in json.loads(out)]


class Module:
    def __init__(self, name: str, tree: ast.Module) -> None:
        self.name = name
        self.units = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        self.names: dict[str, Unit] = {}  # `from .m import f as g`: g -> (m, f)
        self.modules: dict[str, str] = {}  # `from . import m`: m -> m
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module is None:
                        self.modules[local] = alias.name
                    else:
                        self.names[local] = (node.module, alias.name)
            if isinstance(node, ast.Assign) and imported(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.modules[target.id] = imported(node.value)
        self.top = [node for node in tree.body if node.__class__.__name__ not in KINDS]

    def uses(self, nodes: list[ast.AST]) -> set[Unit]:
        found: set[Unit] = set()
        for top in nodes:
            for node in ast.walk(top):
                if isinstance(node, ast.Name):
                    if node.id in self.units:
                        found.add((self.name, node.id))
                    elif node.id in self.names:
                        found.add(self.names[node.id])
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    if node.value.id in self.modules:
                        found.add((self.modules[node.value.id], node.attr))
                elif isinstance(node, ast.Attribute) and imported(node.value):
                    found.add((imported(node.value), node.attr))
        return found


def imported(node: ast.AST) -> str:
    """`m` of `importlib.import_module(f"{__package__}.m")`, else ""."""
    if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"):
        return ""
    text = node.args[0] if node.args else None
    if isinstance(text, ast.JoinedStr) and isinstance(text.values[-1], ast.Constant):
        return str(text.values[-1].value).rpartition(".")[2]
    return ""


KINDS = {"FunctionDef", "AsyncFunctionDef", "ClassDef"}


def unreachable(bake: Path) -> list[tuple[str, str, int]]:
    """(module, name, lines) of each function or class no command reaches."""
    folder = package_dir(bake)
    modules = {
        path.stem: Module(path.stem, ast.parse(path.read_text(), str(path)))
        for path in sorted(folder.glob("*.py"))
    }
    todo = [unit for unit in commands(bake, folder.name) if unit[0] in modules]
    for module in modules.values():
        todo += module.uses(module.top)
    seen: set[Unit] = set()
    while todo:
        unit = todo.pop()
        module = modules.get(unit[0])
        if unit in seen or module is None:
            continue
        if unit[1] not in module.units:
            if unit[1] in module.names:  # re-exported by name
                todo.append(module.names[unit[1]])
            continue
        seen.add(unit)
        todo += module.uses([module.units[unit[1]]])
    return [
        (module.name, name, node.end_lineno - node.lineno + 1)
        for module in modules.values()
        for name, node in module.units.items()
        if (module.name, name) not in seen
    ]


def main() -> int:
    bake = Path(sys.argv[1])
    found = unreachable(bake)
    for module, name, lines in found:
        print(f"{module}.{name}: {lines} lines")
    print(f"{sum(lines for *_, lines in found)} lines unreachable in {len(found)} units")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
