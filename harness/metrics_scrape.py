"""Reading a worker's Prometheus `/metrics` in tests: scrape it, parse the text format, sum a counter."""

import re
import urllib.request

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
# Execution counters the SDK exports, legacy and canonical naming (WORKER_CANONICAL_METRICS).
EXECUTION_COUNTERS = ("task_execute_time_seconds_count", "task_execute_time_count", "task_execution_started_total")

Sample = tuple[str, dict[str, str], float]


def samples(text: str) -> list[Sample]:
    """Prometheus text exposition as (name, labels, value) triples."""
    found = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match["labels"] or ""))
            try:
                found.append((match["name"], labels, float(match["value"])))
            except ValueError:
                continue
    return found


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def counter(found: list[Sample], names: tuple[str, ...], task: str) -> float:
    return sum(value for name, labels, value in found if name in names and labels.get("taskType") == task)


class MetricsReading:
    """The latest scrape of a worker's /metrics, for a condition that `wait_until` polls."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.text = ""
        self.found: list[Sample] = []

    def refresh(self) -> "MetricsReading":
        """Scrape again; nothing is found while the port does not answer (a process starting or restarting)."""
        try:
            self.text = scrape(self.port)
            self.found = samples(self.text)
        except OSError as error:  # urllib's URLError included
            self.text, self.found = f"scrape failed: {error}", []
        return self

    def count(self, names: tuple[str, ...], task: str) -> float:
        return counter(self.found, names, task)
