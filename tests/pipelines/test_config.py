"""Watch validation every vendor shares: unknown keys and bad values name the watchlist key."""

from __future__ import annotations

import pytest

from pipelines.config import StrictModel, validate_watch
from pipelines.errors import ConfigError


class Shop(StrictModel):
    shop_id: str


class Watch(StrictModel):
    pages: int = 1
    shops: tuple[Shop, ...] = ()


def test_a_valid_watch_and_an_already_validated_one_pass_through():
    watch = validate_watch(Watch, {"pages": 3, "shops": [{"shop_id": "a"}]}, "acme")
    assert watch.pages == 3 and watch.shops[0].shop_id == "a"
    assert validate_watch(Watch, watch, "acme") is watch
    assert validate_watch(Watch, None, "acme") == Watch()


def test_every_problem_names_its_full_watchlist_key():
    with pytest.raises(ConfigError) as caught:
        validate_watch(Watch, {"pages": "many", "shops": [{"shop": "a"}]}, "acme")
    text = str(caught.value)
    assert text.startswith("acme watch is invalid: ")
    assert "acme.pages: Input should be a valid integer" in text
    assert "acme.shops.0.shop_id: Field required" in text
    assert "acme.shops.0.shop: Extra inputs are not permitted" in text
