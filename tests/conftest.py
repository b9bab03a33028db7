"""Shared test helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.mirror.server import MirrorServer

TESTS = Path(__file__).parent
DATA = TESTS / "data"


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorServer]:
    """The bundled replicas on 127.0.0.1, one server per test module (its request counts too)."""
    with MirrorServer() as server:
        yield server
