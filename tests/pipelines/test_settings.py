"""Vendor settings are checked before any request: named, with the value and the fix."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.config import configured_source, spec_source
from pipelines.ensembledata import ensembledata_source
from pipelines.errors import ConfigError
from pipelines.http import ClientSettings
from pipelines.influtics import influtics_source
from pipelines.keyapi import keyapi_source
from pipelines.tiktok_research import tiktok_research_source
from pipelines.trendtrack import trendtrack_source

SOURCES = {
    "keyapi": keyapi_source,
    "tiktok_research": tiktok_research_source,
    "trendtrack": trendtrack_source,
    "influtics": influtics_source,
    "ensembledata": ensembledata_source,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", 2.5),
        ("read_timeout", -1.0),
        ("read_timeout", float("inf")),
        ("connect_timeout", 0),
        ("backoff_base", -0.1),
        ("requests_per_second", -1),
    ],
)
def test_client_settings_refuse_values_the_client_cannot_work_with(field, value):
    with pytest.raises(ConfigError) as caught:
        ClientSettings(**{field: value})
    assert f"{field}={value!r} must be" in str(caught.value)


def test_client_settings_accept_the_edges():
    settings = ClientSettings(max_attempts=1, backoff_base=0, requests_per_second=0)
    assert (settings.max_attempts, settings.requests_per_second) == (1, 0)
    assert ClientSettings(requests_per_second=None).requests_per_second is None


@pytest.mark.parametrize("vendor", sorted(SOURCES))
@pytest.mark.parametrize(
    ("name", "value", "shown", "requirement", "default"),
    [
        ("MAX_ATTEMPTS", "0", "0", "a whole number of at least 1", "6"),
        ("READ_TIMEOUT", "-1", "-1", "a number of seconds above 0", "30"),
        ("BACKOFF_BASE", "-2", "-2", "a number of seconds of at least 0", "0.5"),
        ("REQUESTS_PER_SECOND", "fast", "'fast'", "a number of at least 0", None),
        ("BASE_URL", "ftp://host", "'ftp://host'", "an http(s) URL", None),
    ],
)
def test_every_vendor_names_a_bad_setting_its_value_and_the_fix(
    monkeypatch, vendor, name, value, shown, requirement, default
):
    setting = f"SOURCES__{vendor.upper()}__{name}"
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigError) as caught:
        configured_source(SOURCES[vendor])
    text = str(caught.value)
    assert f"{setting}={shown}" in text and requirement in text
    assert f"{name.lower()} under [sources.{vendor}] in .dlt/config.toml" in text
    assert "unset it to use the default" in text
    if default is not None:
        assert text.endswith(f"the default {default}")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DAILY_QUOTA", "0", "DAILY_QUOTA=0 must be a whole number of requests of at least 1"),
        ("DAILY_QUOTA", "lots", "DAILY_QUOTA='lots' refused before any request: it is not a whole"),
        ("TASK_POLL_SECONDS", "-3", "TASK_POLL_SECONDS=-3 must be a number of seconds above 0"),
    ],
)
def test_research_only_settings_are_checked(monkeypatch, name, value, message):
    monkeypatch.setenv(f"SOURCES__TIKTOK_RESEARCH__{name}", value)
    with pytest.raises(ConfigError, match=message):
        configured_source(tiktok_research_source)


@pytest.mark.parametrize("value", ["0", "17"])
def test_keyapi_pages_in_flight_are_bounded(monkeypatch, value):
    monkeypatch.setenv("SOURCES__KEYAPI__MAX_IN_FLIGHT", value)
    with pytest.raises(
        ConfigError,
        match=f"MAX_IN_FLIGHT={value} must be a whole number of "
        "requests from 1 .one at a time. to 16",
    ):
        configured_source(keyapi_source)


def test_every_bad_setting_is_listed_at_once_and_no_secret_is_shown(monkeypatch):
    monkeypatch.setenv("SOURCES__KEYAPI__API_KEY", "ka-live-0123456789abcdef")
    monkeypatch.setenv("SOURCES__KEYAPI__MAX_ATTEMPTS", "0")
    monkeypatch.setenv("SOURCES__KEYAPI__READ_TIMEOUT", "0")
    with pytest.raises(ConfigError) as caught:
        configured_source(keyapi_source)
    text = str(caught.value)
    assert "SOURCES__KEYAPI__MAX_ATTEMPTS=0" in text and "SOURCES__KEYAPI__READ_TIMEOUT=0" in text
    assert "0123456789abcdef" not in text


def test_an_explicit_argument_wins_over_a_bad_setting(monkeypatch):
    monkeypatch.setenv("SOURCES__KEYAPI__PAGES", "many")
    with pytest.raises(ConfigError, match="SOURCES__KEYAPI__PAGES='many'"):
        configured_source(keyapi_source)
    source = configured_source(keyapi_source, period="week", dates=[date(2026, 3, 2)], pages=1)
    assert list(source.resources) == ["video_rankings_weekly"]


def test_spec_sources_read_no_setting_at_all(monkeypatch):
    for vendor in SOURCES:
        for name, value in (("REQUESTS_PER_SECOND", "fast"), ("MAX_ATTEMPTS", "0")):
            monkeypatch.setenv(f"SOURCES__{vendor.upper()}__{name}", value)
    monkeypatch.setenv("SOURCES__KEYAPI__PERIOD", "decade")
    tables = {vendor: sorted(spec_source(source).resources) for vendor, source in SOURCES.items()}
    assert tables["keyapi"] == ["video_rankings_daily"]
    assert tables["tiktok_research"] == ["videos"]
    assert all(tables.values())
    with pytest.raises(ConfigError):
        configured_source(keyapi_source)


def test_a_source_built_directly_refuses_zero_attempts_before_any_request(sim, monkeypatch):
    monkeypatch.setenv("SOURCES__KEYAPI__MAX_ATTEMPTS", "0")
    before = sim.stats("keyapi")["total"]
    with pytest.raises(ConfigError, match=r"max_attempts=0 must be a whole number of at least 1"):
        keyapi_source(dates=[date(2026, 3, 3)])
    assert sim.stats("keyapi")["total"] == before
