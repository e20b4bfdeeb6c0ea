"""A loopback TCP port in front of a server, which a test opens and closes: the server "going away" and
"coming back" for a client that keeps its URL, without stopping the server other tests share."""

import contextlib
import socket
import threading

from harness.conductor_server import restartable_port


class Forwarder:
    """Forwards `port` (a restartable one by default: no client connection takes it while closed) to
    `target` on 127.0.0.1 while open. `close()` also cuts the connections it carries, so a client's
    keep-alive connection fails as it would when the server went away."""

    def __init__(self, target: int, port: int | None = None) -> None:
        self.port, self.target = port or restartable_port(), target
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def open(self) -> "Forwarder":
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:  # closed while this one was being connected: cut it too
                    client.close()
                    upstream.close()
                    return
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Refuse new connections and cut the open ones."""
        with self.lock:
            listener, self.listener = self.listener, None
            connections, self.connections = self.connections, []
        if listener is not None:
            # close() alone leaves a thread blocked in accept() holding the socket, still listening (Linux):
            # shutdown() wakes it and stops the listening first.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
