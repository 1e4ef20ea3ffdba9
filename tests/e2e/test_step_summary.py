"""The step summary of real runs (issue 11): what was gated, the wait as a picture, what blocks."""

from __future__ import annotations

import re
from pathlib import Path

from gate_e2e import run_cli

from soc2gate.demo.scenarios import COMMIT_SHA, ENDPOINT, REPOSITORY, SCENARIOS, TAG_DEV_LATEST
from soc2gate.demo.world import MotoWorld


def summary_of(world: MotoWorld, tmp_path: Path, name: str) -> tuple[int, str]:
    scenario = SCENARIOS[name]
    scenario.prepare(world)
    path = tmp_path / "summary.md"
    run = run_cli(world, ["run", *scenario.gate_args(world), "--summary", str(path)], tmp_path)
    assert run.code == scenario.expected_exit, run.output
    return run.code, path.read_text(encoding="utf-8")


def test_a_passing_run_says_what_was_gated_and_draws_the_wait(
    world: MotoWorld, tmp_path: Path
) -> None:
    _code, text = summary_of(world, tmp_path, "healthy")
    lines = text.split("\n")
    assert lines[0] == "## soc2gate passed (exit 0)"
    header = lines[2]
    assert f"<code>{REPOSITORY}</code> tag <code>{TAG_DEV_LATEST}</code>" in header
    assert re.search(r"at <code>sha256:[0-9a-f]{12}</code>", header), header
    assert f"**Endpoint** {ENDPOINT}" in header and "**Region** us-east-1" in header
    assert f"<code>{COMMIT_SHA[:12]}</code>" in header and "took " in header
    chart = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "gantt" in chart
    assert re.search(r"section ecr-scan-findings\n    IN_PROGRESS : \d+, \d+\n    COMPLETE", chart)
    assert re.search(r"section sagemaker-endpoint-status\n    Creating : \d+, \d+\n", chart)
    assert "InService : milestone" in chart
    assert "### Passed" in text and "### What failed" not in text
    # Below-threshold findings of a passing scan are not presented as the problem.
    assert "block the release" not in text and "Findings that do not block" in text


def test_a_critical_finding_blocks_and_the_deployed_check_is_not_evaluated(
    world: MotoWorld, tmp_path: Path
) -> None:
    _code, text = summary_of(world, tmp_path, "critical-finding")
    blocking = text.split("### Top findings: these block the release", 1)[1].split("<details>")[0]
    assert "| CRITICAL | CVE-2024-5535 | openssl |" in blocking
    assert "MEDIUM" not in blocking
    assert "| ⏸️ NOT EVALUATED | <code>deployed\u2011image\u2011scanned</code> |" in text
    what_failed = text.split("### What failed and how to fix it", 1)[1].split("###", 1)[0]
    assert "deployed" not in what_failed
    assert "1 failed, 1 not evaluated" in text
    # Full digests only in the details, 12 hex digits in the table.
    table = text.split("| --- | --- | --- |", 1)[1].split("\n\n", 1)[0]
    assert not re.search(r"sha256:[0-9a-f]{13}", table)
    assert re.search(r"`sha256:[0-9a-f]{64}`", text.split("Digests in full", 1)[1])
