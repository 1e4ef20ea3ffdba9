"""Every scenario reaches the same verdict with a quarter of its AWS requests failing transiently.

Throttling (400 and bare 429), 500, 503, connection resets and truncated bodies are injected
between the CLI and moto by tests/faults/proxy.py, plus latency on some of the rest. botocore
(standard mode, 5 attempts) and the runner (4 more rounds) must absorb all of it: same exit code,
same text, a valid JUnit file, and never a pass where the scenario fails.

The suite runs 2 repetitions per scenario; scripts/fault_soak.py runs 30+ and prints the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.proxy import TRANSIENT_ERRORS
from faults.soak import SoakRun, injected_by_kind, render, soak, table
from soc2gate.demo.scenarios import SCENARIOS

REPS = 2
#: A bit above the 20 % the issue asks for, so that the measured share stays above it.
RATE = 0.25
LATENCY_RATE = 0.1


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[SoakRun]:
    result = soak(list(SCENARIOS), REPS, rate=RATE, latency_rate=LATENCY_RATE, workers=4)
    text = render(table(result, list(SCENARIOS)))
    text += f"\ninjected by kind: {injected_by_kind(result)}\n"
    report = Path(tmp_path_factory.mktemp("faults")) / "transient-faults.txt"
    report.write_text(text, encoding="utf-8")
    print(f"\n{text}(also in {report})")
    return result


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_verdict_survives_transient_faults(name: str, runs: list[SoakRun]) -> None:
    mine = [r for r in runs if r.scenario == name]
    assert len(mine) == REPS
    for run in mine:
        assert not run.false_pass, f"FALSE PASS (seed {run.seed}):\n{run.tail}"
        assert run.code == run.expected_exit, f"exit {run.code} (seed {run.seed}):\n{run.tail}"
        assert run.text_ok, f"expected text missing (seed {run.seed}):\n{run.tail}"
        assert run.junit_ok, f"JUnit file invalid (seed {run.seed})"
        assert not run.crashed, f"traceback on stderr (seed {run.seed}):\n{run.tail}"


def test_faults_were_really_injected(runs: list[SoakRun]) -> None:
    faults = sum(r.faults for r in runs)
    requests = sum(r.requests for r in runs)
    assert faults / requests >= 0.20, f"only {faults} of {requests} requests were faulted"
    kinds = injected_by_kind(runs)
    assert set(TRANSIENT_ERRORS) <= set(kinds), f"a kind was never injected: {kinds}"
