"""Configuration rules: every bad value is refused with the variable's name, never a secret's value."""

from pathlib import Path

import pytest
from conductor_worker_kit.config import (
    DEFAULT_SERVER_URL,
    WORKER_PROPERTIES,
    ConfigError,
    Settings,
    check_task_variables,
    load_env_file,
    load_settings,
    unknown_task_variables,
)
from conductor_worker_kit.runtime import sdk_adapter as sdk

SECRET = "s3cr3t-value-never-printed"


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.server_url == DEFAULT_SERVER_URL
    assert not settings.has_credentials
    assert settings.worker_domain is None
    assert settings.metrics_port is None  # a project with metrics sets WORKER_METRICS_PORT where it runs
    assert load_settings({"WORKER_METRICS_PORT": ""}).metrics_port is None
    assert (settings.busy_seconds, settings.busy_poll_interval_ms) == (2, 10)  # adaptive polling is on
    assert settings.canonical_metrics  # the SDK's canonical metrics, not its deprecated legacy ones


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("false", False), ("0", False), (" Off ", False), ("no", False), ("TRUE", True), ("1", True), ("on", True)],
)
def test_legacy_metrics_on_request(value: str, canonical: bool) -> None:
    assert load_settings({"WORKER_CANONICAL_METRICS": value}).canonical_metrics is canonical


def test_adaptive_polling_settings_and_off() -> None:
    settings = load_settings({"WORKER_BUSY_SECONDS": "5", "WORKER_BUSY_POLL_INTERVAL_MS": "20"})
    assert (settings.busy_seconds, settings.busy_poll_interval_ms) == (5, 20)
    assert load_settings({"WORKER_BUSY_SECONDS": "0"}).busy_seconds == 0  # off: every poll held


def test_full_configuration() -> None:
    settings = load_settings(
        {
            "CONDUCTOR_SERVER_URL": "https://example.orkesconductor.io/api/",
            "CONDUCTOR_AUTH_KEY": "key-id",
            "CONDUCTOR_AUTH_SECRET": SECRET,
            "CONDUCTOR_WORKER_ALL_DOMAIN": "blue",
            "CONDUCTOR_WORKER_SCORE_ORDER_THREAD_COUNT": "16",
            "WORKER_SHUTDOWN_GRACE_SECONDS": "40",
            "WORKER_METRICS_PORT": "9100",
        }
    )
    assert settings.server_url == "https://example.orkesconductor.io/api"
    assert settings.server_root == "https://example.orkesconductor.io"
    assert (settings.auth_key, settings.auth_secret) == ("key-id", SECRET)
    assert settings.worker_domain == "blue"
    assert settings.shutdown_grace_seconds == 40
    assert settings.metrics_port == 9100
    assert SECRET not in repr(settings)


def test_empty_values_mean_unset() -> None:
    settings = load_settings({"CONDUCTOR_SERVER_URL": "", "CONDUCTOR_AUTH_KEY": "", "CONDUCTOR_AUTH_SECRET": " "})
    assert settings.server_url == DEFAULT_SERVER_URL
    assert not settings.has_credentials


def test_sdk_configuration_ignores_empty_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUCTOR_AUTH_KEY", "")
    monkeypatch.setenv("CONDUCTOR_AUTH_SECRET", "")
    configuration = sdk.configuration(load_settings({}))
    assert configuration.authentication_settings is None
    assert configuration.host == DEFAULT_SERVER_URL


def test_sdk_configuration_carries_credentials() -> None:
    settings = Settings(auth_key="key-id", auth_secret=SECRET)
    auth = sdk.configuration(settings).authentication_settings
    assert (auth.key_id, auth.key_secret) == ("key-id", SECRET)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CONDUCTOR_SERVER_URL": "http://localhost:8080"}, "CONDUCTOR_SERVER_URL"),
        ({"CONDUCTOR_SERVER_URL": "localhost:8080/api"}, "CONDUCTOR_SERVER_URL"),
        ({"CONDUCTOR_SERVER_URL": "ftp://host/api"}, "CONDUCTOR_SERVER_URL"),
        ({"CONDUCTOR_AUTH_KEY": "key-id"}, "CONDUCTOR_AUTH_SECRET"),
        ({"CONDUCTOR_AUTH_SECRET": SECRET}, "CONDUCTOR_AUTH_KEY"),
        ({"CONDUCTOR_AUTH_KEY": "", "CONDUCTOR_AUTH_SECRET": SECRET}, "CONDUCTOR_AUTH_KEY"),
        ({"CONDUCTOR_WORKER_ALL_THREAD_COUNT": "0"}, "CONDUCTOR_WORKER_ALL_THREAD_COUNT"),
        ({"CONDUCTOR_WORKER_ALL_THREAD_COUNT": "many"}, "CONDUCTOR_WORKER_ALL_THREAD_COUNT"),
        ({"CONDUCTOR_WORKER_ALL_POLL_INTERVAL": "-5"}, "CONDUCTOR_WORKER_ALL_POLL_INTERVAL"),
        ({"CONDUCTOR_WORKER_ALL_POLL_TIMEOUT": "500"}, "CONDUCTOR_WORKER_ALL_POLL_TIMEOUT"),  # never sent
        ({"CONDUCTOR_WORKER_ALL_DOMAIN": "two words"}, "CONDUCTOR_WORKER_ALL_DOMAIN"),
        ({"CONDUCTOR_WORKER_ALL_PAUSED": "maybe"}, "CONDUCTOR_WORKER_ALL_PAUSED"),
        ({"CONDUCTOR_LOG_LEVEL": "LOUD"}, "CONDUCTOR_LOG_LEVEL"),
        ({"WORKER_LOG_FORMAT": "yaml"}, "WORKER_LOG_FORMAT"),
        ({"CONDUCTOR_WORKER_ISOLATION": "thread"}, "CONDUCTOR_WORKER_ISOLATION"),
        ({"WORKER_SHUTDOWN_GRACE_SECONDS": "0"}, "WORKER_SHUTDOWN_GRACE_SECONDS"),
        ({"WORKER_SHUTDOWN_GRACE_SECONDS": "soon"}, "WORKER_SHUTDOWN_GRACE_SECONDS"),
        ({"WORKER_HEALTH_MAX_AGE_SECONDS": "-1"}, "WORKER_HEALTH_MAX_AGE_SECONDS"),
        ({"WORKER_METRICS_PORT": "70000"}, "WORKER_METRICS_PORT"),
        ({"WORKER_METRICS_PORT": "http"}, "WORKER_METRICS_PORT"),
        ({"WORKER_BUSY_SECONDS": "-1"}, "WORKER_BUSY_SECONDS"),
        ({"WORKER_BUSY_SECONDS": "long"}, "WORKER_BUSY_SECONDS"),
        ({"WORKER_BUSY_POLL_INTERVAL_MS": "0"}, "WORKER_BUSY_POLL_INTERVAL_MS"),
        ({"WORKER_BUSY_POLL_INTERVAL_MS": "5000"}, "WORKER_BUSY_POLL_INTERVAL_MS"),
        ({"WORKER_CANONICAL_METRICS": "legacy"}, "WORKER_CANONICAL_METRICS"),
    ],
)
def test_bad_configuration_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable) as error:
        load_settings(env)
    assert "\n" not in str(error.value)
    assert SECRET not in str(error.value)


def test_env_file_never_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CONDUCTOR_SERVER_URL=http://from-file:8080/api\nWORKER_METRICS_PORT=9100\n")
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://from-env:8080/api")
    monkeypatch.delenv("WORKER_METRICS_PORT", raising=False)
    load_env_file(env_file)
    settings = load_settings()
    assert settings.server_url == "http://from-env:8080/api"
    assert settings.metrics_port == 9100


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("CONDUCTOR_WORKER_ALL_THREADCOUNT", "CONDUCTOR_WORKER_ALL_THREAD_COUNT"),
        ("CONDUCTOR_WORKER_ALL_DOMIAN", "CONDUCTOR_WORKER_ALL_DOMAIN"),
        ("CONDUCTOR_WORKER_ALL_PAUSE", "CONDUCTOR_WORKER_ALL_PAUSED"),
        (
            "CONDUCTOR_WORKER_SCORE_ORDER_POLL_INTERVALL",
            "CONDUCTOR_WORKER_SCORE_ORDER_POLL_INTERVAL",
        ),
    ],
)
def test_a_misspelled_worker_setting_is_refused_with_the_name_meant(variable: str, meant: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: "4"})
    assert str(raised.value).startswith(f"{variable} is not a setting the SDK reads")
    assert f"did you mean {meant}?" in str(raised.value)


def test_every_sdk_worker_setting_is_accepted() -> None:
    env = {f"CONDUCTOR_WORKER_{prop}": "" for prop in WORKER_PROPERTIES}
    env |= {f"CONDUCTOR_WORKER_ALL_{prop}": "" for prop in WORKER_PROPERTIES}
    env |= {"CONDUCTOR_WORKER_ISOLATION": "process", "CONDUCTOR_WORKER_ALL_WORKER_ID": "pod-1"}
    load_settings(env)


def test_a_setting_for_a_task_no_worker_serves_names_the_closest_task() -> None:
    task = "score_order"
    env = {
        f"CONDUCTOR_WORKER_{task.upper()}S_THREAD_COUNT": "4",
        f"CONDUCTOR_WORKER_{task.upper()}_THREAD_COUNT": "4",
        f"CONDUCTOR_WORKER_{task}_DOMAIN": "blue",
        "CONDUCTOR_WORKER_ALL_DOMAIN": "blue",
        "CONDUCTOR_WORKER_QQQ_THREAD_COUNT": "4",
    }
    load_settings(env)  # the tasks are known only once the workers are loaded: `worker` and `register` check
    lines = unknown_task_variables(env, [task])
    assert len(lines) == 2
    typo, other = sorted(lines, key=lambda line: "QQQ" in line)
    assert typo.startswith(f"CONDUCTOR_WORKER_{task.upper()}S_THREAD_COUNT: no worker here serves a task")
    assert typo.endswith(f"did you mean CONDUCTOR_WORKER_{task.upper()}_THREAD_COUNT?")
    assert other == f"CONDUCTOR_WORKER_QQQ_THREAD_COUNT: no worker here serves a task 'QQQ' ({task}); remove it"


def test_worker_and_register_refuse_a_setting_for_a_task_not_served_here_naming_the_one_meant() -> None:
    env = {"CONDUCTOR_WORKER_SCORE_ORDERS_DOMAIN": "blue"}
    with pytest.raises(ConfigError) as raised:
        check_task_variables(env, ["score_order", "ship_order"])
    assert str(raised.value) == (
        "CONDUCTOR_WORKER_SCORE_ORDERS_DOMAIN: no worker here serves a task 'SCORE_ORDERS' (score_order, ship_order); "
        "did you mean CONDUCTOR_WORKER_SCORE_ORDER_DOMAIN?"
    )
    check_task_variables({"CONDUCTOR_WORKER_SCORE_ORDER_DOMAIN": "blue"}, ["score_order"])
