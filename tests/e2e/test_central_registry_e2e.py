"""A central registry seen from the deploying account without the registry's role, through the
installed CLI against the moto server: what can only be read inside the registry's account is
never taken from the caller's own account instead.

Amazon Inspector shows an account its own resources only: a clean enhanced scan in another
account (no ``imageScanCompletedAt``, the coverage record invisible from here) must not pass.
It waits, then fails, naming the role that would let the gate see the record.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gate_e2e import run_cli, validate_junit

from soc2gate.demo.scenarios import (
    CENTRAL_REGISTRY_ACCOUNT,
    CENTRAL_REPOSITORY_URI,
    SCENARIOS,
)
from soc2gate.demo.world import MotoWorld


def test_enhanced_scan_in_another_account_is_not_passed_without_the_role(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = replace(
        SCENARIOS["central-registry-enhanced"],
        test_args=("--repository", CENTRAL_REPOSITORY_URI, "--timeout", "3s"),
    )
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    assert "FAIL    ecr-scan-findings" in run.stdout
    assert "Amazon Inspector has no coverage record" in run.stdout
    assert (
        f"the repository is in account {CENTRAL_REGISTRY_ACCOUNT}: Inspector shows its coverage "
        "only to that account"
    ) in run.stdout
    assert "ERROR   ecr-repository-config" in run.stdout
    assert "deployed-image-scanned" in run.stdout and "PASS    deployed-image-scanned" not in (
        run.stdout
    )
    # The gate read the scan across the boundary and asked Inspector, which showed it nothing.
    assert world.calls["DescribeImageScanFindings"] >= 1
    assert world.calls["ListCoverage"] >= 1
    validate_junit(run.junit)
