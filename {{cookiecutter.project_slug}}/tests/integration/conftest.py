"""The integration tier's server: CONDUCTOR_SERVER_URL (from the environment or `.env`), reached once.

Without one every test of the tier fails with one line saying how to start one.
"""

import time
from collections.abc import Iterator

import pytest
from conductor_worker_kit.conductor_client import ConductorClient, ServerError
from conductor_worker_kit.config import load_env_file, load_settings

SERVER_WAIT_SECONDS = 10  # a server that is still starting gets this long to answer


@pytest.fixture(scope="session")
def server() -> Iterator[ConductorClient]:
    load_env_file()
    settings = load_settings()
    with ConductorClient(settings, timeout=5) as client:
        deadline = time.monotonic() + SERVER_WAIT_SECONDS
        while True:
            try:
                status = client.health().status_code
                if status == 200:
                    break
                problem = f"{settings.server_root}/health answered HTTP {status}"
            except ServerError as error:
                problem = str(error)
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"no Conductor server within {SERVER_WAIT_SECONDS} s: {problem}. Start one with "
                    "`docker compose up -d conductor`, or leave this tier out: pytest -m 'not integration'",
                    pytrace=False,
                )
            time.sleep(1)
        yield client
