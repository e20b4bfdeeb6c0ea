"""The benchmark drives the generated worker with the settings the project really has."""

import re
from pathlib import Path
from typing import Any

from bench.project import decorator_defaults


def test_decorator_defaults_follow_the_generated_constants(baker: Any) -> None:
    project = baker(task_definition_name="bench_noop")
    defaults = (project.path / "src" / project.package / "workers" / "defaults.py").read_text()
    expected = {name: int(value) for name, value in re.findall(r"^([A-Z_]+) = (\d+)", defaults, re.M)}
    assert decorator_defaults(project) == {
        "thread_count": expected["THREAD_COUNT"],
        "poll_interval_millis": expected["POLL_INTERVAL_MILLIS"],
    }


def test_a_setting_it_cannot_read_stops_the_benchmark(baker: Any) -> None:
    project = baker(task_definition_name="bench_noop")
    worker = Path(project.path / "src" / project.package / "workers" / f"{project.task_name}.py")
    worker.write_text(worker.read_text().replace("thread_count=THREAD_COUNT", "thread_count=threads()"))
    try:
        decorator_defaults(project)
    except RuntimeError as error:
        assert "thread_count" in str(error)
    else:
        raise AssertionError("an unreadable thread_count was guessed instead of refused")
