"""WORKER_PROCESSES and WORKER_GROUPS: which worker process serves which workers."""

import pytest
from conductor_worker_kit.config import ConfigError, ProcessLayout, load_process_layout
from conductor_worker_kit.runtime.process_plan import plan_processes

NAMES = ["a", "b", "c"]


def test_one_process_serves_every_worker_by_default() -> None:
    assert plan_processes(NAMES, load_process_layout({})) == [["a", "b", "c"]]


def test_processes_multiply_each_group_and_groups_split_the_workers() -> None:
    assert plan_processes(NAMES, load_process_layout({"WORKER_PROCESSES": "2"})) == [NAMES, NAMES]
    assert plan_processes(NAMES, load_process_layout({"WORKER_GROUPS": "c"})) == [["a", "b"], ["c"]]
    assert plan_processes(NAMES, load_process_layout({"WORKER_GROUPS": "a, b; c"})) == [["a", "b"], ["c"]]
    grouped = plan_processes(NAMES, load_process_layout({"WORKER_GROUPS": "c", "WORKER_PROCESSES": "2"}))
    assert grouped == [["a", "b"], ["a", "b"], ["c"], ["c"]]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKER_PROCESSES": "0"}, "WORKER_PROCESSES must be a whole number from 1 to 64 (got '0')"),
        ({"WORKER_PROCESSES": "two"}, "WORKER_PROCESSES must be a whole number from 1 to 64 (got 'two')"),
        ({"WORKER_GROUPS": "a;a"}, "WORKER_GROUPS names 'a' twice; a worker belongs to one group"),
        ({"WORKER_GROUPS": "a b"}, "WORKER_GROUPS must be task names, ',' within a group, ';' between groups"),
    ],
)
def test_malformed_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_process_layout(env)


def test_a_group_naming_an_unknown_task_names_the_variable_and_the_workers() -> None:
    with pytest.raises(ConfigError) as error:
        plan_processes(NAMES, ProcessLayout(groups=(("a", "nope"),)))
    assert str(error.value) == "WORKER_GROUPS names 'nope', which no worker serves (workers: a, b, c)"
