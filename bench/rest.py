"""A minimal JSON-over-HTTP client on http.client: one keep-alive connection, no SDK, no retries."""

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit


class RestError(RuntimeError):
    pass


class Rest:
    """Not thread-safe: one instance per thread."""

    def __init__(self, api_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(api_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.connection

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        url = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain"}
        for attempt in (1, 2):  # one reconnect when the server closed an idle keep-alive connection
            connection = self._connection()
            try:
                connection.request(method, url, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise RestError(f"{method} {path}: HTTP {response.status} {data[:300]!r}")
        if not data:
            return None
        if response.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(data)
        return data.decode()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
