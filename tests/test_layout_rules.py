"""The package's layout rules, read from the code itself.

No import cycle (imports inside functions count: they hid the old ``cli`` ↔
archive-command cycle); no module named like a standard-library module; the
archive's names on disk and the exit statuses each defined in one place;
``crawler/text`` pure.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crawler"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "mirror/sites" in path.as_posix():
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        # "from crawler.archive import views" imports crawler.archive.views
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            edges.add(target)
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    # A package's __init__ runs before any of its modules: importing crawler.a.b
    # imports crawler.a, but that edge is Python's, not the code's; leave it out.
    return {name: imports_of(name, path, known) for name, path in found.items()}


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_are_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from crawler.cli import main\n    return main\n")
    assert imports_of("crawler.x", module, {"crawler.cli", "crawler"}) == {"crawler.cli"}


def test_no_import_cycle_in_the_package() -> None:
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_is_named_like_a_standard_library_module() -> None:
    clashes = [name for name in modules() if name.rpartition(".")[2] in sys.stdlib_module_names]
    assert not clashes


def test_text_rules_import_nothing_else_of_the_package() -> None:
    known = set(modules())
    for name, path in modules().items():
        if name.startswith("crawler.text"):
            outside = {m for m in imports_of(name, path, known) if not m.startswith("crawler.text")}
            assert not outside, f"{name} imports {outside}"


def constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def assigned_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_names_on_disk_exit_statuses_and_pipeline_order_are_defined_once() -> None:
    from crawler.archive import layout

    on_disk = {
        layout.RUNS_DIR,
        layout.LOCK_FILE,
        layout.METRICS_FILE,
        layout.COMPACT_DIR,
        layout.QUARANTINE_DIR,
    }
    for name, path in modules().items():
        if name != "crawler.archive.layout":
            assert not constants(path) & on_disk, f"{name} spells an archive name itself"
        if name != "crawler.exit_codes":
            exits = {n for n in assigned_names(path) if n.startswith("EXIT_")}
            assert not exits, f"{name} defines {exits}"
        if name != "crawler.settings":
            assert "ITEM_PIPELINES" not in assigned_names(path), name


def test_the_cleaning_steps_follow_item_pipelines() -> None:
    from crawler.pipelines import CHECKING_STEPS, CLEANING_STEPS
    from crawler.settings import ITEM_PIPELINES

    order = sorted(ITEM_PIPELINES, key=ITEM_PIPELINES.__getitem__)
    steps = [f"{s.__module__}.{s.__name__}" for s in (*CLEANING_STEPS, *CHECKING_STEPS)]
    assert steps == [path for path in order if path in steps]
    assert len(steps) == len(order) - 1  # all but the archive


def test_the_command_line_starts_without_scrapy() -> None:
    # Only the commands that crawl load Scrapy and the spiders (a look-up answers in
    # well under a second on a large archive; Scrapy's import alone is half of that).
    import subprocess
    import sys

    code = "import sys, crawler.cli; print(sorted(m for m in ('scrapy', 'crawler.sites.base') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
