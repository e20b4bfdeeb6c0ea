"""Autoscaling covers every task the Deployment serves: k8s/scaledobject.yaml has one queue-depth
trigger per worker, each reading the queue of its own task."""

import re
from pathlib import Path

from conductor_worker_kit.project import Project
from conductor_worker_kit.runtime.sdk_adapter import served_task_names

SCALED_OBJECT = Path(__file__).parents[1] / "k8s" / "scaledobject.yaml"
PROJECT = Project("{{ cookiecutter.package_name }}")


def test_every_served_task_has_a_queue_depth_trigger() -> None:
    text = SCALED_OBJECT.read_text()
    queues = re.findall(r"taskType=(\w+)", text)
    values = re.findall(r'valueLocation: "([^"]+)"', text)
    # /tasks/queue/size answers a bare number: the whole body is the value.
    assert values == ["@this"] * len(queues), "each trigger reads the whole body of its queue-size URL"
    missing = sorted(set(served_task_names(PROJECT)) - set(queues))
    assert not missing, f"add a trigger to k8s/scaledobject.yaml for {', '.join(missing)} (copy the first one)"
    assert sorted(queues) == sorted(served_task_names(PROJECT))
