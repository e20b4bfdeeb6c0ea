"""The hooks' logic, imported and called directly (the rendered hooks are exercised by test_bake.py)."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.baked_project import DEFAULTS, TEMPLATE_ROOT


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_ROOT / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

GOOD: dict[str, Any] = {
    "project_name": "Invoice Worker",
    "project_slug": "invoice-worker",
    "package_name": "invoice_worker",
    "description": "Computes invoices.",
    "task_definition_name": "compute_invoice_total",
    "workflow_name": "invoice_worker_example",
    "owner_email": "team@example.com",
    "python_version": "3.12",
    "kubernetes": True,
    "metrics": False,
}


def test_good_answers_pass() -> None:
    assert pre_gen.validate(GOOD) == []


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("project_slug", "Invoice Worker", "lowercase letters and digits"),
        ("project_slug", "../escape", "lowercase letters and digits"),
        ("project_slug", "a--b", "single hyphens"),
        ("project_slug", "-lead", "lowercase letters and digits"),
        ("project_slug", "x" * 65, "at most 64"),
        ("package_name", "class", "Python keyword"),
        ("package_name", "match", "Python keyword"),
        ("package_name", "json", "shadow the module"),
        ("package_name", "conductor", "shadow the module"),
        ("package_name", "1abc", "lowercase Python identifier"),
        ("package_name", "my-pkg", "lowercase Python identifier"),
        ("task_definition_name", "my task", "letters, digits and underscores"),
        ("task_definition_name", "task'); import os; ('", "letters, digits and underscores"),
        ("task_definition_name", "a\\b", "letters, digits and underscores"),
        ("task_definition_name", "", "letters, digits and underscores"),
        ("workflow_name", 'wf"x', "letters, digits and underscores"),
        ("owner_email", "not-an-email", "name@example.com"),
        ("owner_email", "a@b", "name@example.com"),
        ("owner_email", 'x"@example.com', "name@example.com"),
        ("project_name", "", "must not be empty"),
        ("project_name", "two\nlines", "single line"),
        ("description", "x" * 201, "at most 200"),
        ("python_version", "2.7", "must be one of"),
        ("kubernetes", "maybe", "yes or no"),
    ],
)
def test_each_bad_answer_names_its_field_and_rule(field: str, value: Any, rule: str) -> None:
    errors = pre_gen.validate({**GOOD, field: value})
    assert len(errors) == 1
    assert errors[0].startswith(f"{field}: ")
    assert rule in errors[0]


def test_quotes_and_backslashes_in_free_text_are_accepted_as_data() -> None:
    assert pre_gen.validate({**GOOD, "project_name": 'O\'Brien "Quotes" \\ Worker', "description": 'a \\ b "c"'}) == []


def test_every_option_in_the_table_is_a_template_option() -> None:
    assert set(post_gen.FILES_BY_OPTION) <= {key for key, value in DEFAULTS.items() if isinstance(value, bool)}


def test_every_path_in_the_table_exists_in_the_template() -> None:
    project = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}"
    for paths in post_gen.FILES_BY_OPTION.values():
        for path in paths:
            assert (project / path).exists(), path


def test_recorded_answers_leave_out_cookiecutter_bookkeeping() -> None:
    recorded = post_gen.recorded_answers({**GOOD, "_template": "/somewhere", "_output_dir": "/tmp"})
    assert recorded == GOOD


def test_remove_handles_files_dirs_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "g").write_text("x")
    for relative in ("d", "g", "missing"):
        post_gen.remove(tmp_path, relative)
    assert list(tmp_path.iterdir()) == []
