"""CheckContext.memo: one fetch per key, shared by concurrent checks, calls credited to each."""

from __future__ import annotations

import threading
import time

import pytest

from soc2gate.checks.base import CheckContext
from soc2gate.config import GateConfig


def context() -> CheckContext:
    return CheckContext(
        config=GateConfig(endpoint="e"), clients=lambda s: None, clock=time.monotonic, environ={}
    )


def test_concurrent_callers_share_one_fetch() -> None:
    ctx = context()
    started, release = threading.Event(), threading.Event()
    fetches: list[int] = []

    def fetch() -> str:
        fetches.append(1)
        started.set()
        release.wait(5)
        return "value"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(ctx.memo("k", fetch)))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.append(ctx.memo("k", fetch)))
    second.start()
    second.join(0.2)
    assert second.is_alive(), "the second caller must wait for the fetch in flight"
    release.set()
    first.join(5)
    second.join(5)
    assert results == ["value", "value"] and len(fetches) == 1


def test_a_failed_fetch_is_not_cached_and_the_next_caller_fetches() -> None:
    ctx = context()

    def broken() -> str:
        raise RuntimeError("AWS said no")

    with pytest.raises(RuntimeError):
        ctx.memo("k", broken)
    assert ctx.memo("k", lambda: "second try") == "second try"
