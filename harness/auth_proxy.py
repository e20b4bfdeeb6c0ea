"""A loopback stand-in for Orkes Conductor's auth, in front of the real Conductor OSS server.

Conductor OSS has no auth, so this proxy adds what Orkes does and nothing else: `POST /api/token`
exchanges a key id and secret for a token; every other `/api` call needs that token in
`X-Authorization` (401 without it, 403 when the key may not poll); everything is then forwarded
to the real server unchanged.

With `token_ttl_seconds`, tokens are JWT-shaped (an `exp` claim, like Orkes's) and expire: a call
with an expired one gets 401 `EXPIRED_TOKEN`, the answer on which clients renew.
"""

import base64
import http.client
import json
import secrets
import threading
import time
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
    token_ttl_seconds: float | None = None  # None: tokens never expire
    tokens: dict[str, str] = field(default_factory=dict)  # token -> key id
    expires: dict[str, float] = field(default_factory=dict)  # token -> time.time() it expires
    grants: list[str] = field(default_factory=list)  # key id of every token issued, in order
    expired_calls: list[str] = field(default_factory=list)  # key id of every call refused as EXPIRED_TOKEN
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
                    token = proxy.issue(str(request["keyId"]))
                    return self._reply(200, {"token": token})
                if path.startswith("/api/"):
                    token = self.headers.get("X-Authorization", "")
                    key_id = proxy.tokens.get(token)
                    if key_id is None:
                        return self._reply(401, {"error": "INVALID_TOKEN", "message": "Token cannot be null or empty"})
                    if time.time() >= proxy.expires.get(token, float("inf")):
                        proxy.expired_calls.append(key_id)
                        return self._reply(401, {"error": "EXPIRED_TOKEN", "message": "Token expired"})
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

    def issue(self, key_id: str) -> str:
        if self.token_ttl_seconds is None:
            token = secrets.token_urlsafe(24)
        else:
            expires = time.time() + self.token_ttl_seconds
            claims = {"sub": key_id, "iat": int(time.time()), "exp": round(expires, 3)}
            token = ".".join(
                base64.urlsafe_b64encode(part).decode().rstrip("=")
                for part in (b'{"alg":"HS256","typ":"JWT"}', json.dumps(claims).encode(), secrets.token_bytes(16))
            )
            self.expires[token] = expires
        self.tokens[token] = key_id
        self.grants.append(key_id)
        return token

    def expire_tokens(self, key_id: str) -> None:
        """End every token of `key_id` now, before its stated expiry (as a revocation would)."""
        for token, owner in self.tokens.items():
            if owner == key_id:
                self.expires[token] = time.time()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
