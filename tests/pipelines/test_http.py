"""The shared client: retries, backoff, Retry-After, error taxonomy, redaction."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest

from pipelines.errors import (
    AuthError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from pipelines.http import ClientSettings, VendorClient, VendorProfile, parse_retry_after
from pipelines.redaction import Secret, redact

SECRET = "sk_live_very_secret_0123"
FAST = ClientSettings(max_attempts=4, backoff_base=0.01, requests_per_second=None)
BEARER = VendorProfile(name="acme", credits_per_request=1.0)
QUERY = VendorProfile(name="acme", auth="query", cost_header="units_charged")


def client_for(responses, profile=BEARER, settings=FAST, sleeps=None):
    """A client whose transport answers from a list (a callable item may raise)."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if callable(item):
            return item(request)
        return item

    client = VendorClient(
        profile,
        "http://vendor.test/api",
        SECRET,
        settings,
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )
    return client, seen


def ok(body=None, **kw):
    return httpx.Response(200, json={"code": 0, "data": [] if body is None else body}, **kw)


def test_bearer_header_and_base_path_are_used():
    client, seen = client_for([ok([1])])
    response = client.get("/v1/thing", {"a": 1})
    assert response.body["data"] == [1]
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"
    assert str(seen[0].url) == "http://vendor.test/api/v1/thing?a=1"
    assert client.stats.requests == 1 and client.stats.credits == 1.0


def test_query_token_auth_and_units_header_are_counted():
    client, seen = client_for([ok(headers={"units_charged": "3"})], profile=QUERY)
    client.get("/tt/hashtag/posts", {"name": "fyp"})
    assert seen[0].url.params["token"] == SECRET
    assert "authorization" not in seen[0].headers
    assert client.stats.credits == 3.0


def test_an_unreadable_units_header_counts_the_documented_price_not_zero(caplog):
    priced = VendorProfile(name="acme", auth="query", cost_header="units_charged",
                           credits_per_request=2.0)  # fmt: skip
    client, _ = client_for([ok(headers={"units_charged": "n/a"})], profile=priced)
    client.get("/tt/hashtag/posts")
    assert client.stats.credits == 2.0
    assert "unreadable units_charged header 'n/a'" in caplog.text


def test_retries_429_honouring_retry_after_then_succeeds():
    sleeps: list[float] = []
    client, seen = client_for(
        [
            httpx.Response(429, json={"message": "qps"}, headers={"Retry-After": "2"}),
            httpx.Response(503, json={"message": "busy"}),
            ok([7]),
        ],
        sleeps=sleeps,
    )
    assert client.get("/x").body["data"] == [7]
    assert len(seen) == 3
    assert 2.0 <= sleeps[0] <= 2.2, "Retry-After is honoured (plus a little jitter)"
    assert sleeps[1] < 1.0, "no Retry-After: exponential backoff from a small base"
    assert client.stats.retries == 2
    assert client.stats.statuses == {"429": 1, "503": 1, "200": 1}


def test_backoff_grows_exponentially_with_jitter():
    sleeps: list[float] = []
    settings = ClientSettings(
        max_attempts=5, backoff_base=1.0, backoff_max=100, requests_per_second=None
    )
    client, _ = client_for([httpx.Response(500)] * 5, settings=settings, sleeps=sleeps)
    with pytest.raises(ServerError):
        client.get("/x")
    assert len(sleeps) == 4
    for attempt, slept in enumerate(sleeps, start=1):
        ceiling = 2 ** (attempt - 1)
        assert ceiling / 2 <= slept <= ceiling


def test_exhausted_rate_limit_raises_rate_limited():
    client, seen = client_for([httpx.Response(429, json={"message": "qps limit exceeded"})] * 4)
    with pytest.raises(RateLimited, match="qps limit exceeded"):
        client.get("/x")
    assert len(seen) == FAST.max_attempts


def test_retry_after_beyond_the_cap_fails_fast_with_advice():
    client, seen = client_for([httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(RateLimited, match="wait 3600s"):
        client.get("/x")
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("status", "error", "retried"),
    [
        (401, AuthError, False),
        (403, AuthError, False),
        (402, QuotaExhausted, False),
        (400, InvalidRequest, False),
        (422, InvalidRequest, False),
        (500, ServerError, True),
        (520, ServerError, True),
    ],
)
def test_status_maps_onto_the_taxonomy(status, error, retried):
    body = {"code": status, "data": None, "message": "vendor says no", "requestId": "req-42"}
    client, seen = client_for([httpx.Response(status, json=body)] * 4)
    with pytest.raises(error) as info:
        client.get("/v1/x")
    assert len(seen) == (FAST.max_attempts if retried else 1)
    assert info.value.status == status
    assert info.value.request_id == "req-42"
    assert "vendor says no" in str(info.value) and "GET /v1/x" in str(info.value)


def test_auth_error_names_the_setting_to_fix():
    client, _ = client_for([httpx.Response(401, json={"message": "apiKey is invalid"})])
    with pytest.raises(AuthError, match="SOURCES__ACME__API_KEY"):
        client.get("/x")


def test_quota_marker_in_a_429_is_quota_not_rate_limit():
    profile = VendorProfile(name="research", quota_markers=("daily_quota_limit_exceeded",))
    body = {
        "error": {"code": "daily_quota_limit_exceeded", "message": "daily_quota_limit_exceeded"}
    }
    client, seen = client_for([httpx.Response(429, json=body)], profile=profile)
    with pytest.raises(QuotaExhausted):
        client.get("/x")
    assert len(seen) == 1


def test_error_inside_a_200_envelope_is_mapped():
    profile = VendorProfile(
        name="keyapi",
        envelope_error=lambda b: (b["code"], b["message"]) if b.get("code") else None,
    )
    client, _ = client_for(
        [httpx.Response(200, json={"code": 402, "message": "quota", "data": None})], profile=profile
    )
    with pytest.raises(QuotaExhausted):
        client.get("/x")


def test_truncated_json_is_retried_then_reported_as_malformed():
    cut = httpx.Response(200, content=b'{"code": 0, "data": [{"video_id": "76')
    client, seen = client_for([cut, ok([1])])
    assert client.get("/x").body["data"] == [1]
    client, seen = client_for([cut] * 4)
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        client.get("/x")
    assert len(seen) == 4


def test_timeouts_and_connection_errors_are_retried():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request):
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_for([timeout, refused, ok([3])])
    assert client.get("/x").body["data"] == [3]
    assert client.stats.statuses["timeout"] == 1 and client.stats.statuses["connection_error"] == 1


def test_a_corrupt_compressed_body_is_retried_and_never_escapes_as_a_raw_httpx_error():
    def corrupt(request):
        return httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})

    client, seen = client_for([corrupt, ok([5])], profile=QUERY)
    assert client.get("/x").body["data"] == [5]
    client, seen = client_for([corrupt] * 4, profile=QUERY)
    with pytest.raises(MalformedResponse, match="could not be decoded") as caught:
        client.get("/x")
    assert len(seen) == 4 and SECRET in str(seen[0].url), "the token was in the URL it used"
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None


def test_other_httpx_errors_become_server_errors_without_the_token():
    def loop(request):
        raise httpx.TooManyRedirects(f"redirect loop at {request.url}", request=request)

    client, _ = client_for([loop], profile=QUERY)
    with pytest.raises(ServerError, match="TooManyRedirects") as caught:
        client.get("/x")
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None


def test_secret_never_appears_in_errors_logs_or_reprs(caplog):
    def leaky(request):
        raise httpx.ConnectError(f"failed for {request.url}", request=request)

    caplog.set_level(logging.DEBUG)
    client, _ = client_for([leaky] * 4, profile=QUERY)
    with pytest.raises(ServerError) as info:
        client.get("/x")
    logging.getLogger("httpx").info("HTTP Request: GET http://v/x?token=%s", SECRET)
    texts = [str(info.value), repr(info.value), repr(client), caplog.text]
    texts.append(str(pickle.loads(pickle.dumps(info.value))))
    assert info.value.__cause__ is None, "the httpx error (full URL) is not chained"
    for text in texts:
        assert SECRET not in text
    assert "***" in caplog.text
    assert repr(Secret(SECRET)) == "Secret(***)"
    assert redact(f"key={SECRET}") == "key=***"


def test_missing_key_fails_before_any_request():
    with pytest.raises(AuthError, match="SOURCES__ACME__API_KEY"):
        VendorClient(BEARER, "http://vendor.test", None)


def test_rate_limit_spaces_requests(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("pipelines.http.time.sleep", slept.append)
    settings = ClientSettings(requests_per_second=10, max_attempts=1)
    client, _ = client_for([ok(), ok(), ok()], settings=settings)
    for _ in range(3):
        client.get("/x")
    assert len(slept) == 2
    assert 0.05 < slept[0] <= 0.1 and 0.15 < slept[1] <= 0.2, "10 rps: one slot each 0.1 s"


def test_parse_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("garbage") is None


class _Tokens:
    """An AuthProvider handing out tok-1, tok-2, ...; `invalidate` forces the next one."""

    def __init__(self) -> None:
        self.issued, self.current = 0, None

    def header(self) -> str:
        if self.current is None:
            self.issued += 1
            self.current = f"tok-{self.issued}"
        return f"Bearer {self.current}"

    def invalidate(self) -> None:
        self.current = None


def test_auth_provider_header_is_used_and_a_401_refreshes_it_once():
    tokens = _Tokens()
    seen: list[httpx.Request] = []
    queue = [httpx.Response(401, json={"message": "expired"}), ok([1]), ok([2])]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    profile = VendorProfile(name="acme", auth="none")
    client = VendorClient(
        profile, "http://vendor.test", None, FAST,
        transport=httpx.MockTransport(handler), auth_provider=tokens,
    )  # fmt: skip
    assert client.get("/x").body["data"] == [1]
    assert client.get("/y").body["data"] == [2]
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"
    ]  # fmt: skip


def test_auth_provider_refused_twice_raises_auth_error():
    tokens = _Tokens()
    refused = httpx.Response(401, json={"message": "nope"})
    client = VendorClient(
        VendorProfile(name="acme", auth="none"), "http://vendor.test", None, FAST,
        transport=httpx.MockTransport(lambda r: refused), auth_provider=tokens,
    )  # fmt: skip
    with pytest.raises(AuthError):
        client.get("/x")
    assert tokens.issued == 2


def test_auth_none_sends_no_credential_and_form_bodies_are_encoded():
    client, seen = client_for([ok()], profile=VendorProfile(name="acme", auth="none"))
    client.request("POST", "/token", form={"grant_type": "client_credentials", "a": "b c"})
    assert "authorization" not in seen[0].headers
    assert seen[0].content == b"grant_type=client_credentials&a=b+c"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
