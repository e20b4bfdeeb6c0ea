"""CPU per task of the SDK's metrics, without a server: `<baked project>/.venv/bin/python bench/metrics_cost.py [N]`.

Makes the SDK's metrics collector as a worker process makes it (the kit's `metrics_settings`, then the
SDK's `create_metrics_collector`), once canonical (the kit's default) and once legacy
(`WORKER_CANONICAL_METRICS=false`), each in a process of its own with its own metrics folder, and records
N tasks as a drain does: each task's start and end (the runner's events), its result's update-v2 (which
hands the next task back, so no poll per task) and that request's time. Prints the CPU microseconds per
task of each; the last line printed is the same as JSON. Against the worker's own CPU per no-op task (the
report's "Where the CPU went"), it says what the choice of collector is worth.
"""

import json
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

WARM_UP = 2000  # the legacy collector's quantile windows fill up to 1000 values: measure them full


def measure(canonical: bool, count: int) -> float:
    from conductor.client.telemetry.metrics_factory import create_metrics_collector
    from conductor_worker_kit.runtime import sdk_adapter

    collector = create_metrics_collector(sdk_adapter.metrics_settings(tempfile.mkdtemp(), canonical))
    started = SimpleNamespace(task_type="bench_noop")
    completed = SimpleNamespace(task_type="bench_noop", duration_ms=0.2, output_size_bytes=20)

    def task() -> None:
        collector.on_task_execution_started(started)
        collector.on_task_execution_completed(completed)
        collector.record_api_request_time("POST", "/tasks/update-v2", "200", 0.006)
        collector.record_task_update_time("bench_noop", 0.006)

    for _ in range(WARM_UP):
        task()
    began = time.process_time()
    for _ in range(count):
        task()
    return (time.process_time() - began) / count * 1e6


def main(count: int) -> None:
    found = {}
    for name in ("canonical", "legacy"):
        # A process each: prometheus_client keeps one registry and files per process (the SDK's collector
        # points PROMETHEUS_MULTIPROC_DIR at its folder before it imports prometheus_client).
        probe = subprocess.run(
            [sys.executable, __file__, "--one", name, str(count)], capture_output=True, text=True, check=True
        )
        found[f"metrics_{name}_us"] = float(probe.stdout.split()[-1])
        print(f"{found[f'metrics_{name}_us']:.0f} us of CPU per task, {name} metrics ({count} tasks)")
    print(json.dumps(found))  # for the benchmark's rounds


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(measure(sys.argv[2] == "canonical", int(sys.argv[3])))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
