"""The engine's public names: importable from `index`, and nothing else claimed."""

from __future__ import annotations

import ast
from pathlib import Path

import index

EXPECTED = {
    "ANSWERED",
    "DEFAULT_MODEL",
    "NOT_IN_STORY",
    "OUTCOMES",
    "UNSURE",
    "Answer",
    "BuildInProgressError",
    "BuildReport",
    "Corpus",
    "CorpusError",
    "Engine",
    "EngineConfig",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexInfo",
    "IndexMissingError",
    "IndexStoreError",
    "ModelError",
    "QuestionError",
    "Quote",
    "Story",
    "StorySummary",
    "StorybotError",
    "build_index",
    "check_question",
    "index_info",
    "load_corpus",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(index.__all__) == EXPECTED
    assert len(index.__all__) == len(set(index.__all__))


def test_every_public_name_is_importable_from_index() -> None:
    for name in index.__all__:
        assert getattr(index, name) is not None, name


def test_importing_the_engine_loads_neither_discord_nor_torch() -> None:
    import subprocess
    import sys

    probe = "import sys, index; print(any(m in sys.modules for m in ('discord', 'torch')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycles_between_modules() -> None:
    repo = Path(__file__).resolve().parent.parent
    modules: dict[str, Path] = {}
    for package in ("index", "bot"):
        for path in (repo / package).rglob("*.py"):
            parts = path.relative_to(repo).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name and not name.startswith(m + ".")}
        for name, path in modules.items()
    }
    # A package's __init__ may re-export its children; an arrow from a child to its package is the cycle to avoid.
    seen: set[str] = set()
    stack: list[str] = []

    def visit(name: str) -> None:
        if name in stack:
            cycle = [*stack[stack.index(name) :], name]
            raise AssertionError("import cycle: " + " → ".join(cycle))
        if name in seen:
            return
        stack.append(name)
        for target in sorted(graph[name]):
            visit(target)
        stack.pop()
        seen.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_engine_never_imports_the_bot() -> None:
    repo = Path(__file__).resolve().parent.parent
    for path in (repo / "index").rglob("*.py"):
        assert not any(m == "bot" or m.startswith("bot.") for m in _imports(path)), path
