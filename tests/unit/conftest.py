"""Fixtures for unit tests: a fake clock and stubbed AWS clients (see unit_fakes.py)."""

from __future__ import annotations

import pytest
from unit_fakes import FakeClock, StubbedAws


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CI job sets these; unit tests pass their own environ and must not see the job's.
    for name in ("AWS_ENDPOINT_URL", "GITHUB_SHA", "CODEBUILD_RESOLVED_SOURCE_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws() -> StubbedAws:
    return StubbedAws()
