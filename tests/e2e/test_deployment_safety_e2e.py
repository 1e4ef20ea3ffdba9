"""The deployment safety checks' own reads, denied: ERROR naming the IAM action, never a pass.

The fault matrix (tests/faults/test_fault_matrix.py) runs the guide's default checks; these
reads are made only under --preset strict (or --enable), so their AccessDenied cases are here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_e2e import run_cli

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld, aws_error, fail_calls


@pytest.mark.parametrize(
    ("operation", "action", "check"),
    [
        ("DescribeAlarms", "cloudwatch:DescribeAlarms", "sagemaker-deployment-guardrails"),
        (
            "DescribeScalableTargets",
            "application-autoscaling:DescribeScalableTargets",
            "sagemaker-endpoint-availability",
        ),
        ("DescribeKey", "kms:DescribeKey", "sagemaker-endpoint-encryption"),
        ("DescribeModelCard", "sagemaker:DescribeModelCard", "sagemaker-model-card"),
    ],
)
def test_access_denied_on_a_safety_read_is_an_error(
    world: MotoWorld, tmp_path: Path, operation: str, action: str, check: str
) -> None:
    scenario = SCENARIOS["strict"]
    scenario.prepare(world)
    world.inject(operation, fail_calls(None, aws_error()))
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 3, run.output
    line = next(row for row in run.stdout.splitlines() if f" {check} " in row)
    assert line.startswith("ERROR"), line
    assert action in run.stdout, run.output
    assert world.calls[operation] >= 1
