"""Every scenario of the shared library, through the real CLI against moto over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_e2e import run_cli, validate_junit
from junitparser import JUnitXml

from soc2gate.demo.scenarios import SCENARIOS, SECRET_VALUE
from soc2gate.demo.world import MotoWorld
from soc2gate.registry import all_checks


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_verdict_exit_code_and_report(name: str, world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)

    assert run.code == scenario.expected_exit, run.output
    assert scenario.expected_text in run.stdout, run.stdout
    assert "Traceback" not in run.stderr  # (endpoint logs may quote the container's own)
    # The model environment holds a secret next to the markers: it must never be printed.
    assert SECRET_VALUE not in run.output
    assert SECRET_VALUE not in run.junit.read_text()

    validate_junit(run.junit)
    suites = list(JUnitXml.fromfile(str(run.junit)))
    assert len(suites) == 1 and suites[0].name == "soc2gate"
    cases = list(suites[0])
    assert suites[0].tests == len(cases) == len(all_checks())
    ids = [c.name.split(" ")[0] for c in cases]
    assert ids == [c.id for c in all_checks()]
    failed = [c.name for c in cases if c.result and c.result[0]._tag == "failure"]
    assert bool(failed) == (scenario.expected_exit == 1)
    assert suites[0].failures == len(failed)


def test_waiting_states_are_reported_then_settle(world: MotoWorld, tmp_path: Path) -> None:
    """Scan IN_PROGRESS -> COMPLETE and endpoint Creating -> InService, seen by the gate."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 0, run.output
    assert "ecr-scan-findings: IN_PROGRESS" in run.stderr
    assert "sagemaker-endpoint-status: Creating" in run.stderr
    assert "sagemaker-endpoint-status: PASS after" in run.stderr
    assert world.calls["DescribeEndpoint"] >= 4
    assert world.calls["DescribeImageScanFindings"] >= 2


def test_enhanced_scan_reads_every_page_by_digest(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["enhanced-paged-high"]
    scenario.prepare(world)
    run = run_cli(
        world, ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings"], tmp_path
    )
    assert run.code == 1, run.output
    assert "HIGH 1" in run.stdout
    # 11 findings in pages of 4: the HIGH one is only on the third page.
    assert world.calls["DescribeImageScanFindings"] >= 3


def test_failed_endpoint_quotes_failure_reason(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["endpoint-failed"]
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1
    assert "is Failed: FailureReason: The primary container" in run.stdout
    assert "::error" not in run.stdout  # annotations only under GitHub Actions


def test_unknown_endpoint_status_is_an_error_not_a_wait(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["healthy"]
    scenario.setup(world)
    world.set_endpoint("defenderImageAnalyzerSOC2HardenedDev", status="Bogus")
    args = [*scenario.gate_args(world), "--only", "sagemaker-endpoint-status", "--timeout", "30s"]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 3, run.output
    assert "unknown status 'Bogus'" in run.stdout
    assert world.calls["DescribeEndpoint"] == 1  # asked once, never looped on


def test_github_mode_writes_summary_outputs_and_annotations(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["critical-finding"]
    scenario.prepare(world)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
    }
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path, extra_env=env)
    assert run.code == 1
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert errors and errors[0].startswith("::error title=ecr-scan-findings (FAIL)::")
    assert "CVE-2024-5535" in errors[0]
    text = summary.read_text()
    # Check ids in <code> with non-breaking hyphens: they never wrap in the table (issue 11).
    assert "| ❌ FAIL | <code>ecr\u2011scan\u2011findings</code> |" in text
    assert "| CRITICAL | CVE-2024-5535 | openssl |" in text
    out = outputs.read_text()
    assert "result<<" in out and "\nfail\n" in out
    failed = out.split("failed-checks<<", 1)[1].split("\n")[1].split(",")
    assert failed[0] == "ecr-scan-findings"
