"""SIGINT / SIGTERM while the gate waits: JUnit still written (valid, unfinished checks as
<error>), exit 130 / 143, and the GitHub outputs say so.

The endpoint stays Creating and the scan IN_PROGRESS (the healthy scenario without its
call-count triggers), so the gate is waiting when the signal arrives: the test sends it as soon
as stderr shows the "Creating" progress line.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults.harness import FAST, SOC2GATE, base_env, validate_junit
from junitparser import JUnitXml

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

WAITING_LINE = "sagemaker-endpoint-status: Creating"


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        SCENARIOS["healthy"].setup(w)  # no triggers: nothing ever settles
        yield w


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_wait_writes_junit_and_exits(
    signum: signal.Signals, expected: int, world: MotoWorld, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    outputs = tmp_path / "github-output.txt"
    env = base_env(world.endpoint_url)
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
    )
    args = [*SCENARIOS["healthy"].gate_args(world), *FAST, "--timeout", "60s"]
    proc = subprocess.Popen(
        [SOC2GATE, "run", *args, "--junit", str(junit)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr.append(line)
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while True:
            line = lines.get(timeout=30)  # the only wait: for the subprocess's progress line
            if WAITING_LINE in line:
                break
        assert proc.poll() is None, "the gate finished before it could be interrupted"
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    output = stdout + "".join(stderr)

    assert code == expected, output
    assert "Traceback" not in "".join(stderr), output
    assert "soc2gate INTERRUPTED" in stdout, stdout
    validate_junit(junit)
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    results = {case.name.split(" ")[0]: case.result for case in suite}
    for check in ("sagemaker-endpoint-status", "ecr-scan-findings"):
        assert results[check] and results[check][0]._tag == "error", (check, results[check])
        assert "interrupted" in (results[check][0].message or ""), results[check][0].message
    # Checks that finished before the signal keep their verdict.
    assert results["ecr-image-tags"] == [], results["ecr-image-tags"]
    assert suite.errors >= 2 and suite.failures == 0
    text = outputs.read_text(encoding="utf-8")
    assert f"\n{expected}\n" in text, text
