"""The harness's forwarder, which the outage and lost-result tests trust to make the server go away: once
closed it carries nothing, not even a connection that arrives right after, and it opens again on the same port."""

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from harness.forwarder import Forwarder


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = server.accept()
                threading.Thread(target=echo, args=(connection,), daemon=True).start()

    def echo(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            while data := connection.recv(1024):
                connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def round_trip(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(b"ping")
        return connection.recv(16)


def test_a_closed_forwarder_carries_no_new_connection(echo_port: int) -> None:
    forwarder = Forwarder(echo_port).open()
    assert round_trip(forwarder.port) == b"ping"
    forwarder.close()
    # With its accept thread still blocked on the listening socket, a closed forwarder went on accepting.
    with pytest.raises(OSError):
        round_trip(forwarder.port)
    forwarder.open()
    assert round_trip(forwarder.port) == b"ping"
    forwarder.close()


def test_close_cuts_the_connections_it_carries(echo_port: int) -> None:
    forwarder = Forwarder(echo_port).open()
    with socket.create_connection(("127.0.0.1", forwarder.port), timeout=2) as connection:
        connection.sendall(b"ping")
        assert connection.recv(16) == b"ping"
        forwarder.close()
        with contextlib.suppress(OSError):
            connection.sendall(b"more")
        assert connection.recv(16) == b""
