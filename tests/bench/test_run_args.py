"""The benchmark's command line: tuning candidates (--extra) and the limit's grids."""

import argparse

import pytest

from bench.run import _extra, grid


def test_an_extra_client_sets_sdk_worker_properties_or_named_variables() -> None:
    assert _extra("t32:THREAD_COUNT=32,poll_interval=50") == (
        "t32",
        {"CONDUCTOR_WORKER_ALL_THREAD_COUNT": "32", "CONDUCTOR_WORKER_ALL_POLL_INTERVAL": "50"},
    )
    # A WORKER_* or CONDUCTOR_* name is set as it is: the kit's settings and the SDK's own switches.
    assert _extra("held:WORKER_BUSY_SECONDS=0,CONDUCTOR_HTTP2_ENABLED=false,WORKER_METRICS_PORT=") == (
        "held",
        {"WORKER_BUSY_SECONDS": "0", "CONDUCTOR_HTTP2_ENABLED": "false", "WORKER_METRICS_PORT": ""},
    )


def test_a_grid_is_every_pair_of_threads_and_batch() -> None:
    assert grid("8,16x1,4") == [(8, 1), (8, 4), (16, 1), (16, 4)]
    assert grid("32") == [(32, 1)]
    with pytest.raises(argparse.ArgumentTypeError):
        grid("16x1,32x1")
