# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""A small HTTP client for the Conductor REST API, used by `register`, `run-workflow` and `doctor`.

It speaks Orkes token auth (key id + secret -> X-Authorization), renews the token before it expires
and once when the server answers 401 EXPIRED_TOKEN / INVALID_TOKEN, and turns every failure into a
ServerError with one readable line. Credentials never appear in a message.

Its requests go as the SDK's do: HTTP/2 where a TLS server offers it, unless CONDUCTOR_HTTP2_ENABLED (the
SDK's variable) is off. `tls_context()` is the process's TLS context for that setting: these clients and
the sync runners' (sdk_adapter.py) share it, where each default httpx client loads the CA bundle again
(~5 ms and ~0.9 MB apiece).
"""

import base64
import binascii
import functools
import json
import os
import ssl
import time
from typing import Any
from urllib.parse import quote

import httpx

from .config import Settings

TIMEOUT_SECONDS = 10.0
IDENTITY_PROBE_TASK = "conductor_api_probe"  # a task type nobody serves; asking its queue size changes nothing
# A token is renewed after this long at the latest (the SDK's own default), and sooner when it says when
# it expires (Orkes tokens are JWTs with an `exp` claim): a fifth of its life, at most a minute, early.
TOKEN_MAX_AGE_SECONDS = 45 * 60
TOKEN_RENEW_EARLY_SECONDS = 60.0
# What the server says in a 401 when a token has expired or is not (any longer) valid: renew and retry once.
RENEWABLE_AUTH_ERRORS = {"EXPIRED_TOKEN", "INVALID_TOKEN"}


def http2_enabled() -> bool:
    """The SDK's CONDUCTOR_HTTP2_ENABLED, read as it reads it: on unless 0, false, no or off."""
    return os.environ.get("CONDUCTOR_HTTP2_ENABLED", "true").strip().lower() not in ("0", "false", "no", "off")


@functools.cache
def tls_context(http2: bool) -> ssl.SSLContext:
    """The CA bundle httpx loads for a default client (certifi's, or SSL_CERT_FILE / SSL_CERT_DIR when set),
    loaded once per process, on first use. One per `http2`: before each TLS handshake httpcore sets the
    protocols to offer (ALPN) on the context itself, so clients sharing one must offer the same."""
    return httpx.create_ssl_context()


class ServerError(Exception):
    """The server could not be reached, refused the request, or answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def server_message(response: httpx.Response) -> str:
    """The server's own explanation, on one line."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = body.get("message") or body.get("error") or json.dumps(body)
    text = " ".join(str(body).split()) or response.reason_phrase
    return text[:300]


def token_expiry(token: str) -> float | None:
    """The `exp` claim (seconds since the epoch) of a JWT, read without verifying it: only to renew in time."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    return float(expiry) if isinstance(expiry, int | float) and not isinstance(expiry, bool) else None


def renew_at(token: str, now: float) -> float:
    """When to fetch the next token (time.time() seconds): before it expires, and within the maximum age."""
    latest = now + TOKEN_MAX_AGE_SECONDS
    expiry = token_expiry(token)
    if expiry is None:
        return latest
    early = min(TOKEN_RENEW_EARLY_SECONDS, max(expiry - now, 0.0) / 5)
    return min(latest, expiry - early)


def body_string(response: httpx.Response, key: str) -> str | None:
    """The non-empty string at `key` of a JSON object body, if the body is one and has it."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


def auth_error(response: httpx.Response) -> str | None:
    """The `error` code of a 401 body, e.g. EXPIRED_TOKEN."""
    return body_string(response, "error")


class ConductorClient:
    def __init__(self, settings: Settings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        http2 = http2_enabled()
        self._http = httpx.Client(timeout=timeout, verify=tls_context(http2), http2=http2)
        self._token: str | None = None
        self._token_fetched = False
        self._renew_at = 0.0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ConductorClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ServerError(
                f"cannot reach Conductor at {self.settings.server_url} ({reason}); check CONDUCTOR_SERVER_URL"
            ) from None

    def fetch_token(self) -> httpx.Response:
        """POST /token with the key id and secret. A 404 means a server without auth (Conductor OSS)."""
        return self._send(
            "POST",
            f"{self.settings.server_url}/token",
            json={"keyId": self.settings.auth_key, "keySecret": self.settings.auth_secret},
        )

    def token(self) -> str | None:
        """The current token, fetched the first time and renewed when due; None without auth."""
        if not self.settings.has_credentials:
            return None
        if self._token_fetched and (self._token is None or time.time() < self._renew_at):
            return self._token
        response = self.fetch_token()
        if response.status_code in (401, 403):
            raise ServerError(
                f"the server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET "
                f"(HTTP {response.status_code}: {server_message(response)})",
                response.status_code,
            )
        if response.status_code == 200:
            self._token = body_string(response, "token")
            if self._token is None:
                kind = response.headers.get("content-type", "no content type").split(";")[0]
                raise ServerError(
                    f"POST /token answered HTTP 200 without a token ({kind}); CONDUCTOR_SERVER_URL must be "
                    "the API's base URL, e.g. http://localhost:8080/api"
                )
            self._renew_at = renew_at(self._token, time.time())
        elif response.status_code != 404:
            raise ServerError(f"POST /token failed (HTTP {response.status_code}: {server_message(response)})")
        self._token_fetched = True
        return self._token

    def _send_authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = self.token()
        headers = {"X-Authorization": token} if token else {}
        return self._send(method, f"{self.settings.server_url}{path}", headers=headers, **kwargs)

    def request(self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        """Call `<CONDUCTOR_SERVER_URL><path>`; statuses >= 400 raise unless listed in `allow`."""
        response = self._send_authorized(method, path, **kwargs)
        if response.status_code == 401 and self._token is not None and auth_error(response) in RENEWABLE_AUTH_ERRORS:
            self._renew_at = 0.0  # expired or revoked early: one new token, one retry
            response = self._send_authorized(method, path, **kwargs)
        if response.status_code >= 400 and response.status_code not in allow:
            hint = ""
            if response.status_code == 401:
                hint = (
                    "; the server refused a fresh token for CONDUCTOR_AUTH_KEY"
                    if self.settings.has_credentials
                    else "; set CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET"
                )
            elif response.status_code == 403:
                hint = "; the application needs permission for this (see the README's troubleshooting)"
            raise ServerError(
                f"{method} {path} failed (HTTP {response.status_code}: {server_message(response)}){hint}",
                response.status_code,
            )
        return response

    def task_definition(self, name: str) -> dict[str, Any] | None:
        """The server's definition of task `name`, or None when it has none (404, or an empty answer)."""
        response = self.request("GET", f"/metadata/taskdefs/{name}", allow=(404,))
        found = response.json() if response.status_code != 404 and response.content else None
        return found if isinstance(found, dict) else None

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The server's record of one task (type, input, output, status, reason), or None when it has none."""
        response = self.request("GET", f"/tasks/{quote(task_id, safe='')}", allow=(404,))
        found = response.json() if response.status_code != 404 and response.content else None
        return found if isinstance(found, dict) else None

    def health(self) -> httpx.Response:
        return self._send("GET", f"{self.settings.server_root}/health")

    def check_is_conductor(self) -> None:
        """Raise ServerError, in one line, unless CONDUCTOR_SERVER_URL answers as a Conductor API.

        Any web server answers something; only Conductor answers a queue-size query for a task type with
        `{"<task type>": <count>}`. A 401 or 403 in JSON is Conductor asking for credentials (checked next).
        """
        try:
            token = self.token()
        except ServerError:
            token = None  # rejected credentials are reported on their own; a Conductor says 401 without them
        response = self._send(
            "GET",
            f"{self.settings.server_url}/tasks/queue/sizes",
            params={"taskType": IDENTITY_PROBE_TASK},
            headers={"X-Authorization": token} if token else {},
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get(IDENTITY_PROBE_TASK), int):
            return
        if response.status_code in (401, 403) and isinstance(body, dict):
            return
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise ServerError(
            f"{self.settings.server_url} does not answer like a Conductor API (GET /tasks/queue/sizes: "
            f"HTTP {response.status_code}, {kind}); CONDUCTOR_SERVER_URL must be the API's base URL, e.g. "
            "http://localhost:8080/api",
            response.status_code,
        )


def check_server(settings: Settings) -> None:
    """What the `worker` command checks before any worker process polls: raise ServerError, in one line,
    if CONDUCTOR_SERVER_URL does not answer as Conductor or rejects the credentials.

    Without it both would only show as endless poll errors; once running, the SDK rides out server
    outages by itself with backoff.
    """
    with ConductorClient(settings) as server:
        server.check_is_conductor()
        server.token()
