"""Fixtures of the unit tests: the database of the store's tests.

A SQLite temp file, and PostgreSQL too when ``PAYSIM_TEST_POSTGRES_URL`` is set (the
backends are parametrized from what is configured, nothing is skipped). A test module
that needs its own tables defines its own ``engine``.

Hypothesis settings for the property tests: modest by default, so the suite stays fast.
``PAYSIM_HYPOTHESIS_PROFILE=thorough`` runs ten times the examples (a soak before a
release); ``deadline`` is off in both, because a shared CI machine's timing is not a
property of the code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.schema import metadata as store_metadata

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("PAYSIM_HYPOTHESIS_PROFILE", "default"))

POSTGRES_URL = os.environ.get("PAYSIM_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "payment.db")
    assert POSTGRES_URL is not None
    return POSTGRES_URL


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine_for(url)
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            store_metadata.drop_all(connection)
    create_schema(engine)
    yield engine
    engine.dispose()
