"""Issue 19, item 11, through the CLI against a moto server: advice names what is really
missing, an answer that cannot be read is said to be one, and a basic scan older than the push
is said to be so without asking Amazon Inspector."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from gate_e2e import run_cli
from junitparser import Error, Failure, JUnitXml

from soc2gate.demo.scenarios import BASIC_FINDINGS, REPOSITORY, SCENARIOS, TAG_DEV_SHA
from soc2gate.demo.world import Fault, MotoWorld, aws_error, fail_calls

#: What ECR answers DescribeImageScanFindings under enhanced scanning when the caller may not
#: call Amazon Inspector (the text of a live run, as a public repository quotes it).
INSPECTOR_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/github-actions-ecr-push/ssd-ecr-push-scan "
    "is not authorized to perform: inspector2:ListCoverage on resource: "
    "arn:aws:inspector2:us-east-1:123456789012:/coverage/list"
)


def _outcome(junit: Path, check: str) -> object:
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    (case,) = [c for c in suite if c.name == check]
    return case.result[0] if case.result else None


def test_enhanced_scan_denied_for_inspector_names_the_inspector_action(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: "grant ecr:DescribeImageScanFindings", which the role has."""
    scenario = SCENARIOS["enhanced-paged"]
    scenario.prepare(world)
    world.inject(
        "DescribeImageScanFindings",
        fail_calls(None, aws_error("AccessDeniedException", INSPECTOR_DENIED)),
    )
    args = ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings"]
    run = run_cli(world, args, tmp_path)
    assert run.code == 3, run.output
    outcome = _outcome(run.junit, "ecr-scan-findings")
    assert isinstance(outcome, Error), outcome
    message = outcome.message or ""
    assert "grant inspector2:ListCoverage to the gate's role" in message
    assert "grant ecr:DescribeImageScanFindings" not in message
    assert outcome.type == "AccessDenied"


def test_a_repeated_next_token_is_an_answer_that_could_not_be_read(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: "internal error ... RuntimeError", advice "a bug in soc2gate"."""
    scenario = SCENARIOS["enhanced-paged"]
    scenario.prepare(world)
    digest = world.resolve_digest(REPOSITORY, TAG_DEV_SHA)
    page = {
        "registryId": world.account_id,
        "repositoryName": REPOSITORY,
        "imageId": {"imageDigest": digest, "imageTag": TAG_DEV_SHA},
        "imageScanStatus": {"status": "ACTIVE", "description": "Continuous scan is selected."},
        "imageScanFindings": {"enhancedFindings": [], "findingSeverityCounts": {}},
        "nextToken": "the-same-token",
    }
    world.inject(
        "DescribeImageScanFindings",
        fail_calls(
            None,
            Fault(
                200,
                json.dumps(page).encode(),
                {"Content-Type": "application/x-amz-json-1.1"},
            ),
        ),
    )
    args = ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings"]
    run = run_cli(world, args, tmp_path)
    assert run.code == 3, run.output
    outcome = _outcome(run.junit, "ecr-scan-findings")
    assert isinstance(outcome, Error), outcome
    assert "same nextToken twice" in (outcome.message or "")
    assert outcome.type == "UnreadableAnswer"
    assert "internal error" not in run.output and "A bug in soc2gate" not in run.output


def test_a_basic_scan_completed_before_the_push_says_so_and_never_asks_inspector(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: the gate asked Amazon Inspector (which knows nothing of basic scans) and ended on
    "Amazon Inspector has no coverage record"."""
    scenario = SCENARIOS["healthy"]
    scenario.setup(world)
    now = datetime.now(timezone.utc)
    world.set_pushed_at(REPOSITORY, TAG_DEV_SHA, now)
    world.set_scan(
        REPOSITORY,
        TAG_DEV_SHA,
        "COMPLETE",
        findings=BASIC_FINDINGS,
        completed_at=now - timedelta(days=2),
    )
    args = [
        "run",
        *scenario.gate_args(world),
        "--only",
        "ecr-scan-findings",
        "--timeout",
        "1s",
    ]
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    outcome = _outcome(run.junit, "ecr-scan-findings")
    assert isinstance(outcome, Failure), outcome
    assert "before the image was pushed" in (outcome.message or "")
    assert "it is not a scan of this push" in (outcome.message or "")
    assert "Inspector" not in (outcome.message or "")
    assert world.calls["ListCoverage"] == 0
