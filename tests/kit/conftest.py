"""The kit's own tests. They run inside a baked project's virtualenv (tests/test_kit.py bakes one and runs
them there), so they use the kit exactly as a project installs it; PROJECT_PACKAGE names that project's
package for the few tests that run its commands."""

import os

import pytest


@pytest.fixture(scope="session")
def package() -> str:
    return os.environ["PROJECT_PACKAGE"]


@pytest.fixture(scope="session")
def task_name() -> str:
    return os.environ["PROJECT_TASK"]
