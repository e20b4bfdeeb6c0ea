"""The command line: exit codes and one-line errors that never carry a secret."""

from collections.abc import Callable
from pathlib import Path

import pytest
from conductor_worker_kit import main as kit_main

SECRET = "s3cr3t-value-never-printed"
Main = Callable[[list[str]], int]


@pytest.fixture
def main(package: str) -> Main:
    """The command line of the baked project."""
    return lambda argv: kit_main(package, argv)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CONDUCTOR_SERVER_URL", "CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET", "CONDUCTOR_WORKER_ALL_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKER_ENV_FILE", str(tmp_path / "no.env"))
    monkeypatch.setenv("WORKER_HEALTH_DIR", str(tmp_path / "health"))


@pytest.mark.parametrize("command", ["worker", "register", "run-workflow", "doctor"])
def test_key_without_secret_is_refused_before_any_work(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], main: Main
) -> None:
    monkeypatch.setenv("CONDUCTOR_AUTH_KEY", SECRET)
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "CONDUCTOR_AUTH_SECRET" in err
    assert SECRET not in err


def test_bad_url_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], main: Main) -> None:
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://localhost:8080")
    assert main(["register"]) == 2
    assert "CONDUCTOR_SERVER_URL" in capsys.readouterr().err


def test_unreachable_server_is_one_line_naming_the_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], main: Main
) -> None:
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://127.0.0.1:9/api")
    assert main(["register"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot reach Conductor at http://127.0.0.1:9/api" in err


def test_doctor_fails_on_unreachable_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], main: Main
) -> None:
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://127.0.0.1:9/api")
    assert main(["doctor"]) == 1
    assert capsys.readouterr().out.startswith("FAIL  server reachable")


def test_env_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], main: Main
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CONDUCTOR_SERVER_URL=http://127.0.0.1:9/api\n")
    monkeypatch.setenv("WORKER_ENV_FILE", str(env_file))
    monkeypatch.delenv("CONDUCTOR_SERVER_URL", raising=False)
    assert main(["register"]) == 1
    assert "127.0.0.1:9" in capsys.readouterr().err


def test_health_is_unhealthy_before_start(capsys: pytest.CaptureFixture[str], main: Main) -> None:
    assert main(["health"]) == 1
    assert "no worker is running here" in capsys.readouterr().out


def test_bad_input_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str], main: Main) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run-workflow", "--input", "[1, 2]"])
    assert exit_.value.code == 2
    assert "must be a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["worker"], ["register"], ["run-workflow"], ["doctor"], ["health"]])
def test_help_is_plain_text(command: list[str], capsys: pytest.CaptureFixture[str], main: Main, package: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: python -m {package} ")
    assert "`" not in shown
