"""Shared test helpers, and the hypothesis profiles of the property tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from crawler.mirror.server import MirrorServer

TESTS = Path(__file__).parent
DATA = TESTS / "data"

# Property tests (tests/test_properties_*.py). `ci`, the default, is what `make test`
# runs: a fixed, small budget of examples, derandomized so every run tries the same
# ones. `long` searches far wider, with fresh examples each run:
#     HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/test_properties_*.py
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "long", max_examples=5_000, deadline=None, print_blob=True, suppress_health_check=_SLOW_IS_FINE
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorServer]:
    """The bundled replicas on 127.0.0.1, one server per test module (its request counts too)."""
    with MirrorServer() as server:
        yield server
