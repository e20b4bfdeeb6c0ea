"""A loopback stand-in for Orkes Conductor's auth, in front of the real Conductor OSS server.

Conductor OSS has no auth, so this proxy adds what Orkes does and nothing else: `POST /api/token`
exchanges a key id and secret for a token; every other `/api` call needs that token in
`X-Authorization` (401 without it, 403 when the key may not poll); everything is then forwarded
to the real server unchanged.
"""

import http.client
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "upgrade"}


@dataclass(frozen=True)
class AccessKey:
    secret: str
    may_execute: bool = True


@dataclass
class AuthProxy:
    upstream: str  # e.g. http://127.0.0.1:8123
    keys: dict[str, AccessKey]
    tokens: dict[str, str] = field(default_factory=dict)  # token -> key id
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def start(self) -> "AuthProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                proxy.requests.append(f"{self.command} {self.path}")

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body()
                path = urlsplit(self.path).path
                if path == "/api/token" and self.command == "POST":
                    try:
                        request = json.loads(body or b"{}")
                    except ValueError:
                        request = {}
                    key = proxy.keys.get(str(request.get("keyId")))
                    if key is None or key.secret != request.get("keySecret"):
                        return self._reply(401, {"status": 401, "message": "Invalid access key or secret"})
                    token = secrets.token_urlsafe(24)
                    proxy.tokens[token] = str(request["keyId"])
                    return self._reply(200, {"token": token})
                if path.startswith("/api/"):
                    key_id = proxy.tokens.get(self.headers.get("X-Authorization", ""))
                    if key_id is None:
                        return self._reply(401, {"error": "INVALID_TOKEN", "message": "Token cannot be null or empty"})
                    if path.startswith("/api/tasks/poll") and not proxy.keys[key_id].may_execute:
                        return self._reply(403, {"status": 403, "message": "User does not have EXECUTE permission"})
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                target = urlsplit(proxy.upstream)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"x-authorization"}}
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError as error:
                    return self._reply(502, {"message": f"upstream unavailable: {error}"})
                finally:
                    upstream.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
