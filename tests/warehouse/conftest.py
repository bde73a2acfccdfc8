"""Fixtures: a connection to the test warehouse holding empty raw keyapi tables, the models."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb
import pytest

from assets.resources import WarehouseResource
from tests.warehouse.raw_data import create_raw_tables
from warehouse.models import Model, build_model, load_models


@pytest.fixture
def con(warehouse: WarehouseResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """The temporary warehouse file, with the three raw ranking tables created and empty."""
    connection = warehouse.connect()
    create_raw_tables(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def models() -> dict[str, Model]:
    """The project's models by relation name, in load_models' (dependency) order."""
    return {model.relation: model for model in load_models()}


@pytest.fixture
def build_all(con: duckdb.DuckDBPyConnection, models: dict[str, Model]) -> Callable[[], None]:
    """Build every model into the test warehouse, dependencies first."""

    def build() -> None:
        for model in models.values():
            build_model(con, model)

    return build
