"""A real simulator on a free loopback port, with its clock fixed so "published" is stable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from simulator.server import Simulator

NOW = datetime(2025, 7, 1, tzinfo=UTC)
KEYAPI_KEY = "sim-keyapi-key"
RANKING = "/v1/tiktok/video/ranking/analytics"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """One server per test module: the world's caches stay warm across its tests."""
    with Simulator(now=NOW) as simulator:
        yield simulator


@pytest.fixture
def keyapi(sim: Simulator) -> Iterator[httpx.Client]:
    """A client on the KeyAPI mount with the right key; faults are cleared around each test."""
    sim.reset_faults()
    with httpx.Client(
        base_url=sim.base_url("keyapi"),
        headers={"Authorization": f"Bearer {KEYAPI_KEY}"},
        timeout=5.0,
    ) as client:
        yield client
    sim.reset_faults()


def ranking_params(**overrides: object) -> dict[str, object]:
    """A valid daily views ranking request, page 1 of 10, with overrides."""
    return {
        "date": "2025-06-10",
        "region": "US",
        "video_rank_field": 1,
        "rank_type": 1,
        "page_num": 1,
        "page_size": 10,
        **overrides,
    }
