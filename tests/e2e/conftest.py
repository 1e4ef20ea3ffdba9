"""End-to-end fixtures: a moto server on 127.0.0.1 in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from soc2gate.demo.world import MotoWorld


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        yield w
