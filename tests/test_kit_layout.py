"""The two packages of a generated project: the team's is small and uses only the kit's public API;
the kit is the same file for file in every bake, says whose it is, and has no import circle."""

import ast
import hashlib
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject

KIT = "conductor_worker_kit"
TEAM_PACKAGE_MAX_LINES = 300
OTHER_ANSWERS = {
    "project_name": "Fraud Screening",
    "task_definition_name": "score_transaction",
    "workflow_name": "screening_flow",
    "python_version": "3.13",
    "kubernetes": False,
    "metrics": False,
}


def kit_files(project: BakedProject) -> dict[str, str]:
    root = project.path / "src" / KIT
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def python_lines(folder: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in folder.rglob("*.py"))


@pytest.fixture(scope="module")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> list[BakedProject]:
    from harness.baked_project import bake

    return [bake(tmp_path_factory.mktemp("default")), bake(tmp_path_factory.mktemp("other"), **OTHER_ANSWERS)]


def test_the_kit_is_the_same_file_for_file_in_every_bake(bakes: list[BakedProject]) -> None:
    default, other = (kit_files(project) for project in bakes)
    assert "__init__.py" in default
    assert not [name for name in default if "__pycache__" in name]
    assert default == other


def test_the_teams_package_is_small(bakes: list[BakedProject]) -> None:
    for project in bakes:
        assert python_lines(project.path / "src" / project.package) <= TEAM_PACKAGE_MAX_LINES


def test_every_kit_file_says_it_is_the_templates(bakes: list[BakedProject]) -> None:
    root = bakes[0].path / "src" / KIT
    unmarked = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not path.read_text().startswith("# Part of conductor_worker_kit")
    ]
    assert unmarked == []


def public_names(project: BakedProject) -> set[str]:
    tree = ast.parse((project.path / "src" / KIT / "__init__.py").read_text())
    (exported,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    return set(ast.literal_eval(exported))


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) of every import in the file, at any depth."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(0, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or "", [alias.name for alias in node.names]))
    return found


def test_the_teams_package_imports_only_what_the_kit_exports(bakes: list[BakedProject]) -> None:
    for project in bakes:
        public = public_names(project)
        reaching_in = []
        for path in (project.path / "src" / project.package).rglob("*.py"):
            for level, module, names in imports(path):
                if level == 0 and module.split(".")[0] == KIT and (module != KIT or not set(names) <= public):
                    reaching_in.append(f"{path.name}: {module} {names}")
        assert reaching_in == [], f"the kit exports {sorted(public)}"


def module_graph(src: Path) -> dict[str, set[str]]:
    """Each module of `src` and the modules of `src` it imports (function-level imports included)."""
    modules = {}
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        package = name.split(".") if is_package else name.split(".")[:-1]
        edges = set()
        for level, module, names in imports(path):
            base = package[: len(package) - level + 1] if level else []
            target = ".".join([*base, *module.split(".")]) if module else ".".join(base)
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in modules and candidate != name:
                    edges.add(candidate)
                    break
        graph[name] = edges
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for edge in sorted(graph[node]):
            if state.get(edge) == 1:
                return [*path[path.index(edge) :], edge]
            if edge not in state and (found := visit(edge)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_circle_in_src(bakes: list[BakedProject]) -> None:
    for project in bakes:
        graph = module_graph(project.path / "src")
        assert f"{KIT}.runtime.supervisor" in graph[f"{KIT}.commands.cli"]  # the graph sees function-level imports
        assert cycle_in(graph) == []


def test_the_cycle_check_finds_a_circle() -> None:
    graph: dict[str, Any] = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert cycle_in(graph) == ["a", "b", "c", "a"]
