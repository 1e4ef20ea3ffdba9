"""`soc2gate demo`: the embedded default, through the installed CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gate_e2e import SOC2GATE, validate_junit

from soc2gate.demo.scenarios import CRITICAL_CVE, SCENARIOS


def demo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    return subprocess.run(
        [SOC2GATE, "demo", *args],
        cwd=tmp_path,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_names_every_scenario_with_one_line(tmp_path: Path) -> None:
    proc = demo(tmp_path, "--list")
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)


@pytest.mark.parametrize(
    ("scenario", "expected_exit", "expected"),
    [
        ("healthy", 0, "soc2gate PASSED (exit 0)"),
        ("critical-finding", 1, f"{CRITICAL_CVE} CRITICAL"),
        ("endpoint-failed", 1, "FailureReason"),
    ],
)
def test_demo_replays_timeline_and_runs_the_gate(
    tmp_path: Path, scenario: str, expected_exit: int, expected: str
) -> None:
    # --speed 40 compresses the ~15 s timeline to well under a second.
    proc = demo(tmp_path, "--scenario", scenario, "--speed", "40")
    assert proc.returncode == expected_exit, proc.stdout + proc.stderr
    assert expected in proc.stdout
    assert "[aws] min 3: image pushed to ECR" in proc.stderr
    junit = tmp_path / "soc2gate-demo" / "junit.xml"
    validate_junit(junit)
    assert (tmp_path / "soc2gate-demo" / "summary.md").read_text().startswith("## soc2gate")
    last = proc.stdout.strip().splitlines()[-2:]
    assert "soc2gate-demo" in last[0] and f"Exit code {expected_exit}" in last[1]


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    proc = demo(tmp_path, "--scenario", "critical")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "soc2gate: error: demo: unknown scenario 'critical' (did you mean 'critical-finding'?); "
        "see soc2gate demo --list"
    ]


def test_missing_moto_says_which_install_fixes_it(tmp_path: Path) -> None:
    # A `moto` package that cannot be imported, first on the path: as if the extra were absent.
    fake = tmp_path / "no-moto" / "moto"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('moto is not installed')\n")
    proc = demo(tmp_path, env={"PYTHONPATH": str(fake.parent)})
    assert proc.returncode == 2
    assert "pip install 'soc2gate[demo]'" in proc.stderr
    assert "Traceback" not in proc.stderr
