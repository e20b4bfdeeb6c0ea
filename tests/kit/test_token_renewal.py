"""When the REST client renews its token: before the expiry the token states, and within 45 minutes;
and what counts as a token at all."""

import base64
import json

import httpx
from conductor_worker_kit.conductor_client import TOKEN_MAX_AGE_SECONDS, body_string, renew_at, token_expiry

NOW = 1_800_000_000.0


def jwt(claims: dict[str, object]) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return ".".join([part(b'{"alg":"HS256"}'), part(json.dumps(claims).encode()), part(b"signature")])


def test_a_jwt_expiry_is_read_and_renewal_comes_before_it() -> None:
    token = jwt({"sub": "app", "exp": NOW + 3600})
    assert token_expiry(token) == NOW + 3600
    assert renew_at(token, NOW) == NOW + TOKEN_MAX_AGE_SECONDS  # 45 min comes before expiry minus a minute
    short = jwt({"exp": NOW + 10})
    assert NOW < renew_at(short, NOW) < NOW + 10  # a short-lived token is renewed early, not after it expired


def test_tokens_without_a_readable_expiry_are_renewed_after_the_maximum_age() -> None:
    for token in ("opaque-token", "a.b.c", jwt({"exp": "tomorrow"}), jwt({"exp": True}), ""):
        assert token_expiry(token) is None
        assert renew_at(token, NOW) == NOW + TOKEN_MAX_AGE_SECONDS


def test_only_a_json_object_with_a_token_is_a_token() -> None:
    """A web server that answers every request with 200 (a login page, a catch-all) gives no token."""
    assert body_string(httpx.Response(200, text="<html>welcome</html>"), "token") is None
    assert body_string(httpx.Response(200, json=["token"]), "token") is None
    assert body_string(httpx.Response(200, json={"token": ""}), "token") is None
    assert body_string(httpx.Response(200, json={"token": 42}), "token") is None
    assert body_string(httpx.Response(200, json={"token": "abc"}), "token") == "abc"
