"""The vendor-independent server: mounting a vendor, token auth, faults config, admin API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulator.faults import FaultConfig, FaultInjector
from simulator.server import VENDORS, Simulator
from simulator.vendor import ErrorKind, Request, Route, Vendor

# Every real vendor the server mounts, then the test's own "echo" vendor.
MOUNTED = [*(vendor.name for vendor in VENDORS), "echo"]


def _error(kind: ErrorKind, request_id: str) -> tuple[int, Any]:
    status = {"auth_missing": 495, "auth_invalid": 491, "quota": 493}.get(kind, 500)
    return status, {"detail": kind, "id": request_id}


def _post(request: Request) -> tuple[int, Any]:
    return 200, {"data": [{"aweme_id": request.path_params["post_id"], "plays": 5, "desc": "x"}]}


# A made-up vendor in EnsembleData's style: token in the query, path parameters, own errors.
ECHO = Vendor(
    name="echo",
    routes={
        ("GET", "/tt/post/{post_id}"): Route(
            handler=_post,
            items=lambda body: body["data"],
            drop_field="desc",
            retype_field="plays",
            cost=2,
        )
    },
    error=_error,
    auth="query",
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(api_keys={"echo": "echo-token"})
    simulator.register(ECHO)
    with simulator:
        yield simulator


def test_a_registered_vendor_is_served_with_query_token_auth_and_path_params(
    sim: Simulator,
) -> None:
    base = sim.base_url("echo")
    assert base == f"{sim.url}/echo"
    ok = httpx.get(f"{base}/tt/post/7601397977986501919", params={"token": "echo-token"})
    assert ok.status_code == 200
    assert ok.json()["data"][0]["aweme_id"] == "7601397977986501919"
    missing = httpx.get(f"{base}/tt/post/1")
    wrong = httpx.get(f"{base}/tt/post/1", params={"token": "nope"})
    unknown = httpx.get(f"{base}/tt/nothing", params={"token": "echo-token"})
    assert (missing.status_code, missing.json()["detail"]) == (495, "auth_missing")
    assert (wrong.status_code, wrong.json()["detail"]) == (491, "auth_invalid")
    assert (unknown.status_code, unknown.json()["detail"]) == (500, "not_found")
    assert sim.stats("echo") == {
        "total": 4,
        "by_status": {200: 1, 491: 1, 495: 1, 500: 1},
        "faults": {},
        "billable": 1,
        "credits": 2,
    }


def test_the_access_log_masks_tokens(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG", logger="simulator.server"):
        httpx.get(f"{sim.base_url('echo')}/tt/post/1", params={"token": "echo-token"})
    lines = [r.getMessage() for r in caplog.records if "/tt/post/1" in r.getMessage()]
    assert lines and all("echo-token" not in line for line in lines)
    assert "token=***" in lines[0]


def test_source_env_points_every_vendor_at_the_simulator(sim: Simulator) -> None:
    env = sim.source_env()
    assert env["SOURCES__ECHO__BASE_URL"] == f"{sim.url}/echo"
    assert env["SOURCES__ECHO__API_KEY"] == "echo-token"
    assert env["SOURCES__TIKTOK_RESEARCH__CLIENT_KEY"] == "sim-tiktok_research-client"
    assert {name.split("__")[1].lower() for name in env} == set(MOUNTED)


def test_faults_use_the_vendors_own_error_bodies_and_ignore_the_token(sim: Simulator) -> None:
    sim.set_faults("echo", rate_500=1.0, max_consecutive_faults=2, quota_after=1)
    url = f"{sim.base_url('echo')}/tt/post/9"
    # Different tokens (one wrong would be a 491), same request: the fault count is shared.
    statuses = [
        httpx.get(url, params={"token": "echo-token", "x": "1"}).status_code,
        httpx.get(url, params={"x": "1", "token": "echo-token"}).status_code,
        httpx.get(url, params={"token": "echo-token", "x": "1"}).status_code,
        httpx.get(url, params={"token": "echo-token", "x": "1"}).status_code,
    ]
    assert statuses == [500, 500, 200, 493]  # the success spent the quota of 1


def test_drift_uses_the_routes_own_fields(sim: Simulator) -> None:
    url = f"{sim.base_url('echo')}/tt/post/9"
    sim.set_faults("echo", drift="missing_field")
    assert httpx.get(url, params={"token": "echo-token"}).json()["data"] == [
        {"aweme_id": "9", "plays": 5}
    ]
    sim.set_faults("echo", drift="type_change")
    assert httpx.get(url, params={"token": "echo-token"}).json()["data"][0]["plays"] == "n/a"


def test_the_admin_api_sets_faults_reads_stats_and_resets(sim: Simulator) -> None:
    admin = f"{sim.url}/_sim"
    put = httpx.put(f"{admin}/faults/keyapi", json={"rate_429": 1.0, "retry_after": 2})
    assert put.status_code == 200
    assert put.json()["faults"] == {**FaultConfig().to_dict(), "rate_429": 1.0, "retry_after": 2}
    ranking = f"{sim.base_url('keyapi')}/v1/tiktok/video/ranking/analytics"
    limited = httpx.get(ranking, headers={"Authorization": "Bearer sim-keyapi-key"})
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")

    stats = httpx.get(f"{admin}/stats").json()
    assert stats["keyapi"] == {
        "total": 1,
        "by_status": {"429": 1},
        "faults": {"429": 1},
        "billable": 0,
        "credits": 0,
    }
    assert list(stats) == MOUNTED

    assert httpx.delete(f"{admin}/faults").json() == {"reset": MOUNTED}
    after = httpx.get(ranking, headers={"Authorization": "Bearer sim-keyapi-key"})
    assert after.status_code == 400  # no fault any more: the real answer (missing params)

    health = httpx.get(f"{admin}/health").json()
    assert health["status"] == "ok" and health["seed"] == 42
    assert health["vendors"] == MOUNTED


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("PUT", "faults/keyapi", {"rate_429": 2}, 400, "fault rates must be numbers in [0, 1]"),
        ("PUT", "faults/keyapi", {"rate_42": 1}, 400, "unknown fault fields ['rate_42']"),
        ("PUT", "faults/keyapi", {"drift": "sideways"}, 400, "drift must be null or one of"),
        ("PUT", "faults/keyapi", {"script": ["418"]}, 400, "unknown script steps ['418']"),
        ("PUT", "faults/keyapi", [1], 400, "the body must be a JSON object"),
        ("PUT", "faults/nosuchvendor", {}, 404, "no vendor 'nosuchvendor'"),
        ("GET", "nothing", None, 404, "no admin route GET /_sim/nothing"),
    ],
)
def test_the_admin_api_rejects_bad_requests(
    sim: Simulator, method: str, path: str, body: object, status: int, error: str
) -> None:
    response = httpx.request(
        method, f"{sim.url}/_sim/{path}", content=json.dumps(body) if body is not None else None
    )
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


def test_an_unmounted_prefix_is_404(sim: Simulator) -> None:
    assert httpx.get(f"{sim.url}/nosuchvendor/v1/videos/stats").status_code == 404
    with pytest.raises(ValueError, match="no vendor 'nosuchvendor'"):
        sim.base_url("nosuchvendor")


def test_rates_are_validated_and_configs_round_trip_through_json() -> None:
    with pytest.raises(ValueError, match="sum to"):
        FaultConfig(rate_429=0.6, rate_500=0.6)
    with pytest.raises(ValueError, match="quota_after"):
        FaultConfig(quota_after=-1)
    config = FaultConfig(rate_503=0.2, script=("slow", "ok"), drift="added_field")
    assert FaultConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_an_injector_draws_the_same_faults_for_the_same_seed() -> None:
    def run() -> list[str | None]:
        injector = FaultInjector(FaultConfig(rate_429=0.3, rate_503=0.2, seed=5))
        return [injector.draw(f"GET /page/{n}") for n in range(200)]

    first = run()
    assert first == run()
    assert 40 < first.count("429") < 80 and 20 < first.count("503") < 60


def test_stop_frees_the_port_and_a_stopped_simulator_has_no_url() -> None:
    sim = Simulator().start()
    url = sim.url
    assert httpx.get(f"{url}/_sim/health").status_code == 200
    sim.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sim/health")
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.url
