# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Configuration: the environment plus an optional `.env` file, validated once at start-up.

Every error names the variable and the rule; a secret's value is never part of a message.
"""

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_SERVER_URL = "http://localhost:8080/api"
DEFAULT_SHUTDOWN_GRACE_SECONDS = 25.0
# Above the SDK's longest wait between failed polls (120 s), so `health` stays healthy while a worker
# rides out a server outage; a worker process that stops polling altogether is caught after this long.
DEFAULT_HEALTH_MAX_AGE_SECONDS = 150.0
DEFAULT_WORKER_PROCESSES = 1
# Adaptive polling (runtime/poll_pace.py, docs/sizing.md): how long a task type stays busy after work, and
# how often it polls without the server's hold meanwhile.
DEFAULT_BUSY_SECONDS = 2.0
DEFAULT_BUSY_POLL_INTERVAL_MS = 10.0
MAX_WORKER_PROCESSES = 64

# Every per-worker property the SDK reads, as CONDUCTOR_WORKER_ALL_<PROP>, CONDUCTOR_WORKER_<TASK>_<PROP> or
# CONDUCTOR_WORKER_<PROP>. The SDK silently ignores any other CONDUCTOR_WORKER_* name, so a typo would too.
WORKER_PREFIX = "CONDUCTOR_WORKER_"
WORKER_PROPERTIES = (
    "THREAD_COUNT",
    "POLL_INTERVAL",
    "POLLING_INTERVAL",
    "POLL_TIMEOUT",
    "DOMAIN",
    "PAUSED",
    "LEASE_EXTEND_ENABLED",
    "WORKER_ID",
    "REGISTER_TASK_DEF",
    "OVERWRITE_TASK_DEF",
    "STRICT_SCHEMA",
    "REGISTER_SCHEMA",
)
_NOT_PER_WORKER = {"CONDUCTOR_WORKER_ISOLATION"}
_DOMAIN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRUE = {"true", "1", "yes", "on"}
_BOOLEAN = {*_TRUE, "false", "0", "no", "off"}
_BOOLEAN_PROPERTIES = {
    "PAUSED",
    "LEASE_EXTEND_ENABLED",
    "REGISTER_TASK_DEF",
    "OVERWRITE_TASK_DEF",
    "STRICT_SCHEMA",
    "REGISTER_SCHEMA",
}
_LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A configuration value is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Settings:
    server_url: str = DEFAULT_SERVER_URL
    auth_key: str | None = None
    auth_secret: str | None = field(default=None, repr=False)
    worker_domain: str | None = None
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS
    health_dir: Path = Path(tempfile.gettempdir()) / "conductor-worker-health"
    health_max_age_seconds: float = DEFAULT_HEALTH_MAX_AGE_SECONDS
    metrics_port: int | None = None  # WORKER_METRICS_PORT; unset or empty: no /metrics
    busy_seconds: float = DEFAULT_BUSY_SECONDS  # WORKER_BUSY_SECONDS; 0: every poll held
    busy_poll_interval_ms: float = DEFAULT_BUSY_POLL_INTERVAL_MS  # WORKER_BUSY_POLL_INTERVAL_MS
    # WORKER_CANONICAL_METRICS, the SDK's own switch: its canonical metric names and histograms, unless false
    canonical_metrics: bool = True

    @property
    def has_credentials(self) -> bool:
        return self.auth_key is not None

    @property
    def server_root(self) -> str:
        """The server URL without `/api`, where `/health` lives."""
        return self.server_url.removesuffix("/api")


def load_env_file(path: Path | None = None) -> None:
    """Copy `.env` into os.environ without overriding real variables.

    The SDK reads os.environ in every worker process, so the file's values must land there.
    """
    load_dotenv(path if path is not None else Path(os.environ.get("WORKER_ENV_FILE", ".env")), override=False)


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None  # empty means unset


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true or false (1/0, yes/no, on/off too), in any case; unset or empty: `default`."""
    raw = _optional(env, name)
    if raw is None:
        return default
    if raw.lower() not in _BOOLEAN:
        raise ConfigError(f"{name} must be true or false (got {raw!r})")
    return raw.lower() in _TRUE


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float, low_allowed: str = "") -> float:
    """A number in (low, high], or exactly `low` too when `low_allowed` says what it means."""
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {raw!r})") from None
    if low_allowed and not low <= value <= high:
        raise ConfigError(f"{name} must be from {low:g} ({low_allowed}) to {high:g} (got {raw!r})")
    if not low_allowed and not low < value <= high:
        raise ConfigError(f"{name} must be greater than {low:g} and at most {high:g} (got {raw!r})")
    return value


def _server_url(env: Mapping[str, str]) -> str:
    url = _optional(env, "CONDUCTOR_SERVER_URL") or DEFAULT_SERVER_URL
    url = url.rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url) or not url.endswith("/api"):
        raise ConfigError(
            f"CONDUCTOR_SERVER_URL must be an http(s) URL ending in /api, e.g. {DEFAULT_SERVER_URL} (got {url!r})"
        )
    return url


def worker_variable(name: str) -> tuple[str | None, str] | None:
    """(scope, property) of a per-worker name: scope is ALL, a task name, or None for the bare form.

    None when the name is not one the SDK reads.
    """
    rest = name.removeprefix(WORKER_PREFIX)
    for prop in sorted(WORKER_PROPERTIES, key=len, reverse=True):
        if rest == prop:
            return None, prop
        if rest.endswith(f"_{prop}") and len(rest) > len(prop) + 1:
            return rest[: -len(prop) - 1], prop
    return None


def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib  # only for a misspelled name: not loaded on every start

    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown_property(name: str) -> ConfigError:
    rest = name.removeprefix(WORKER_PREFIX)
    # Every way the name could have been meant: bare, for all workers, or for the task its first words name.
    scopes = ["", "ALL_"] + [rest[: index + 1] for index, char in enumerate(rest) if char == "_"]
    closest = _closest(name, [f"{WORKER_PREFIX}{scope}{prop}" for scope in scopes for prop in WORKER_PROPERTIES])
    hint = f"did you mean {closest}?" if closest else f"the settings are {', '.join(WORKER_PROPERTIES)}"
    return ConfigError(f"{name} is not a setting the SDK reads (it would be ignored); {hint}")


def _check_worker_properties(env: Mapping[str, str]) -> None:
    """Fail fast where the SDK would silently ignore a misspelled name or a bad value."""
    for name in sorted(env):
        if not name.startswith(WORKER_PREFIX) or name in _NOT_PER_WORKER:
            continue
        parsed = worker_variable(name)
        if parsed is None:
            raise _unknown_property(name)
        prop = parsed[1]
        value = env[name].strip()
        if not value:
            continue
        if prop == "POLL_TIMEOUT":
            raise ConfigError(
                f"{name} has no effect: the SDK always asks the server to hold a poll for 100 ms; "
                "a POLL_INTERVAL below 100 polls without the hold"
            )
        if prop in {"THREAD_COUNT", "POLL_INTERVAL", "POLLING_INTERVAL"}:
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"{name} must be a whole number >= 1 (got {value!r})")
        elif prop == "DOMAIN" and not _DOMAIN.match(value):
            raise ConfigError(f"{name} must be letters, digits, '_' or '-' (got {value!r})")
        elif prop in _BOOLEAN_PROPERTIES and value.lower() not in _BOOLEAN:
            raise ConfigError(f"{name} must be true or false (got {value!r})")


def unknown_task_variables(env: Mapping[str, str], task_names: list[str]) -> list[str]:
    """A line for each CONDUCTOR_WORKER_<TASK>_<PROP> whose task no worker here serves: most often a
    misspelled task name, which would leave that task at the wrong thread count or domain."""
    known = {name.upper(): name for name in task_names}
    lines = []
    for name in sorted(env):
        parsed = worker_variable(name) if name.startswith(WORKER_PREFIX) else None
        scope, prop = parsed or (None, "")
        if scope is None or scope == "ALL" or scope.upper() in known:
            continue
        closest = _closest(scope.upper(), [*known, "ALL"])
        hint = f"did you mean {WORKER_PREFIX}{closest}_{prop}?" if closest else "remove it"
        lines.append(f"{name}: no worker here serves a task {scope!r} ({', '.join(task_names)}); {hint}")
    return lines


def check_task_variables(env: Mapping[str, str], task_names: list[str]) -> None:
    """Refuse (ConfigError, the first one) a CONDUCTOR_WORKER_<TASK>_* variable for a task not served here.

    Checked by `worker` (against the tasks it serves) and `register` (against the task definitions): the
    SDK would ignore such a setting without a word."""
    unknown = unknown_task_variables(env, task_names)
    if unknown:
        raise ConfigError(unknown[0])


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError on the first bad one."""
    env = os.environ if env is None else env
    key, secret = _optional(env, "CONDUCTOR_AUTH_KEY"), _optional(env, "CONDUCTOR_AUTH_SECRET")
    if (key is None) != (secret is None):
        missing = "CONDUCTOR_AUTH_SECRET" if secret is None else "CONDUCTOR_AUTH_KEY"
        raise ConfigError(
            f"{missing} must be set too: set both CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET, or neither"
        )
    _check_worker_properties(env)
    isolation = _optional(env, "CONDUCTOR_WORKER_ISOLATION")
    if isolation is not None and isolation != "process":
        # In thread mode the SDK cannot stop its workers, so neither a drain nor a clean exit is possible.
        raise ConfigError(f"CONDUCTOR_WORKER_ISOLATION must be 'process' or unset (got {isolation!r})")
    log_level = _optional(env, "CONDUCTOR_LOG_LEVEL")
    if log_level is not None and log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(f"CONDUCTOR_LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))} (got {log_level!r})")
    log_format = _optional(env, "WORKER_LOG_FORMAT")
    if log_format is not None and log_format.lower() not in LOG_FORMATS:
        raise ConfigError(f"WORKER_LOG_FORMAT must be text or json (got {log_format!r})")
    metrics_port = env.get("WORKER_METRICS_PORT", "").strip()
    if metrics_port and (not metrics_port.isdigit() or not 1 <= int(metrics_port) <= 65535):
        raise ConfigError(
            f"WORKER_METRICS_PORT must be a port number 1-65535, or empty to turn metrics off (got {metrics_port!r})"
        )
    health_dir = _optional(env, "WORKER_HEALTH_DIR")
    return Settings(
        server_url=_server_url(env),
        auth_key=key,
        auth_secret=secret,
        worker_domain=_optional(env, "CONDUCTOR_WORKER_ALL_DOMAIN"),
        shutdown_grace_seconds=_number(env, "WORKER_SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS, 0, 3600),
        health_dir=Path(health_dir) if health_dir else Settings.health_dir,
        health_max_age_seconds=_number(env, "WORKER_HEALTH_MAX_AGE_SECONDS", DEFAULT_HEALTH_MAX_AGE_SECONDS, 0, 86400),
        metrics_port=int(metrics_port) if metrics_port else None,
        busy_seconds=_number(env, "WORKER_BUSY_SECONDS", DEFAULT_BUSY_SECONDS, 0, 3600, "off: every poll held"),
        busy_poll_interval_ms=_number(env, "WORKER_BUSY_POLL_INTERVAL_MS", DEFAULT_BUSY_POLL_INTERVAL_MS, 0, 1000),
        canonical_metrics=_flag(env, "WORKER_CANONICAL_METRICS", True),
    )


@dataclass(frozen=True)
class ProcessLayout:
    """How the `worker` command spreads the workers over processes (see README, "Processes")."""

    processes: int = DEFAULT_WORKER_PROCESSES
    groups: tuple[tuple[str, ...], ...] = ()


_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def load_process_layout(env: Mapping[str, str] | None = None) -> ProcessLayout:
    """WORKER_PROCESSES and WORKER_GROUPS, checked for form; task names are checked against the workers."""
    env = os.environ if env is None else env
    raw = _optional(env, "WORKER_PROCESSES")
    processes = DEFAULT_WORKER_PROCESSES
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_WORKER_PROCESSES:
            raise ConfigError(f"WORKER_PROCESSES must be a whole number from 1 to {MAX_WORKER_PROCESSES} (got {raw!r})")
        processes = int(raw)
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for text in (_optional(env, "WORKER_GROUPS") or "").split(";"):
        group = tuple(name.strip() for name in text.split(",") if name.strip())
        for name in group:
            if not _TASK_NAME.match(name):
                raise ConfigError(
                    f"WORKER_GROUPS must be task names, ',' within a group, ';' between groups (got {name!r})"
                )
            if name in seen:
                raise ConfigError(f"WORKER_GROUPS names {name!r} twice; a worker belongs to one group")
            seen.add(name)
        if group:
            groups.append(group)
    return ProcessLayout(processes=processes, groups=tuple(groups))


def configure_logging() -> None:
    level = (_optional(os.environ, "CONDUCTOR_LOG_LEVEL") or "INFO").upper()
    if (_optional(os.environ, "WORKER_LOG_FORMAT") or "text").lower() == "json":
        from .runtime.log_format import json_handler

        logging.basicConfig(level=level, handlers=[json_handler()])
        logging.captureWarnings(True)  # a Python warning would be a plain-text line otherwise
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # One line per HTTP request is noise at INFO; the commands report what matters themselves.
    logging.getLogger("httpx").setLevel(logging.WARNING)
