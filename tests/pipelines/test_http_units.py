"""The shared client's credit accounting: every answer that states a cost is counted."""

from __future__ import annotations

import httpx
import pytest

from pipelines.errors import InvalidRequest, MalformedResponse
from pipelines.http import ClientSettings, VendorClient, VendorProfile

FAST = ClientSettings(max_attempts=3, backoff_base=0.01, requests_per_second=None)
UNITS = VendorProfile(name="acme", auth="query", cost_header="units_charged")
PRICED = VendorProfile(name="acme", credits_per_request=1.0)
TRUNCATED = b'{"data": [1, 2'


def client_for(answers: list[httpx.Response], profile: VendorProfile) -> VendorClient:
    queue = list(answers)
    return VendorClient(
        profile,
        "http://vendor.test/api",
        "units-test-secret-key",
        FAST,
        transport=httpx.MockTransport(lambda request: queue.pop(0)),
        sleep=lambda _: None,
    )


def billed(units: str, content: bytes = b'{"data": [1]}', status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"units_charged": units})


def test_a_billed_answer_whose_body_failed_to_parse_and_was_retried_counts():
    client = client_for([billed("3", TRUNCATED), billed("2", TRUNCATED), billed("3")], UNITS)
    assert client.get("/x").body == {"data": [1]}
    stats = client.stats
    assert (stats.credits, stats.billed, stats.requests, stats.retries) == (8.0, 3, 3, 2)


def test_billed_answers_count_even_when_the_retries_run_out():
    client = client_for([billed("1", TRUNCATED)] * 3, UNITS)
    with pytest.raises(MalformedResponse):
        client.get("/x")
    assert client.stats.credits == 3.0 and client.stats.billed == 3


def test_a_billed_refusal_counts():
    client = client_for([billed("1", b'{"detail": "no such user"}', status=422)], UNITS)
    with pytest.raises(InvalidRequest):
        client.get("/x")
    assert client.stats.credits == 1.0 and client.stats.statuses == {"422": 1}


def test_an_answer_without_the_header_costs_nothing_unless_a_decoded_success_is_priced():
    unpriced = client_for([httpx.Response(200, content=TRUNCATED), billed("2")], UNITS)
    unpriced.get("/x")
    assert unpriced.stats.credits == 2.0
    priced = client_for(
        [httpx.Response(200, content=TRUNCATED), httpx.Response(200, json={"data": []})], PRICED
    )
    priced.get("/x")
    assert priced.stats.credits == 1.0 and priced.stats.billed == 1


@pytest.mark.parametrize("header", ["nan", "inf", "-2", "n/a"])
def test_an_impossible_cost_counts_the_documented_price(header):
    profile = VendorProfile(
        name="acme", auth="query", cost_header="units_charged", credits_per_request=1.0
    )
    client = client_for([billed(header)], profile)
    client.get("/x")
    assert client.stats.credits == 1.0
