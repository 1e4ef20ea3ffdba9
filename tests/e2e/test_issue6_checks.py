"""Issue 6 through the installed CLI against moto over HTTP: deployed digests, image user, logs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gate_e2e import CliRun, run_cli, validate_junit

from soc2gate.checks.ecr._ecr import short_digest
from soc2gate.demo.scenarios import (
    ENDPOINT,
    FIRST_BUILD_DIGEST,
    FOREIGN_REPOSITORY,
    GATED_DIGEST,
    REPOSITORY,
    SCENARIOS,
    SECRET_VALUE,
    TAG_DEV_LATEST,
)
from soc2gate.demo.world import MotoWorld, aws_error, fail_calls

DEPLOYED = "deployed-image-scanned"
USER = "ecr-image-user"
STATUS = "sagemaker-endpoint-status"


def gate(world: MotoWorld, tmp_path: Path, scenario: str, *extra: str) -> CliRun:
    chosen = SCENARIOS[scenario]
    chosen.prepare(world)
    run = run_cli(world, ["run", *chosen.gate_args(world), *extra], tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    validate_junit(run.junit)
    return run


def case(run: CliRun, check_id: str) -> tuple[str, str, str]:
    """(outcome tag or "pass", message, body) of one testcase in the JUnit file."""
    root = ET.parse(run.junit).getroot()
    for element in root.iter("testcase"):
        if element.get("name", "").split(" ")[0] == check_id:
            for tag in ("failure", "error", "skipped"):
                outcome = element.find(tag)
                if outcome is not None:
                    return tag, outcome.get("message", ""), outcome.text or ""
            out = element.find("system-out")
            return "pass", "", out.text if out is not None and out.text else ""
    raise AssertionError(f"no testcase {check_id}")


def test_healthy_with_the_image_user_check_passes_both_new_checks(
    world: MotoWorld, tmp_path: Path
) -> None:
    run = gate(world, tmp_path, "healthy", "--enable", USER)
    assert run.code == 0, run.output
    outcome, _, body = case(run, DEPLOYED)
    assert outcome == "pass" and short_digest(GATED_DIGEST) in body
    outcome, _, body = case(run, USER)
    assert outcome == "pass" and "runs as user '1000', not root" in body
    assert world.calls["BatchGetImage"] == 1 and world.calls["GetDownloadUrlForLayer"] == 1


def test_tag_moved_fails_and_shows_both_digests(world: MotoWorld, tmp_path: Path) -> None:
    run = gate(world, tmp_path, "tag-moved")
    assert run.code == 1, run.output
    first, gated = short_digest(FIRST_BUILD_DIGEST), short_digest(GATED_DIGEST)
    assert f"runs {first}, but ecr-scan-findings passed {gated}" in run.stdout
    outcome, message, body = case(run, DEPLOYED)
    assert outcome == "failure" and first in message and gated in message
    # The body carries the full digests for the audit trail.
    assert FIRST_BUILD_DIGEST in body and GATED_DIGEST in body
    assert case(run, "ecr-scan-findings")[0] == "pass"  # only the new check catches this


def test_foreign_image_fails_naming_the_other_repository(world: MotoWorld, tmp_path: Path) -> None:
    run = gate(world, tmp_path, "foreign-image")
    assert run.code == 1, run.output
    outcome, message, _ = case(run, DEPLOYED)
    assert outcome == "failure"
    assert "runs sha256:" in message and f"from {FOREIGN_REPOSITORY}, not the gated" in message
    assert f"points at {FOREIGN_REPOSITORY}, not the gated repository {REPOSITORY}" in run.stdout


def test_root_user_fails_only_when_enabled(world: MotoWorld, tmp_path: Path) -> None:
    run = gate(world, tmp_path, "root-user")
    assert run.code == 1, run.output
    outcome, message, _ = case(run, USER)
    assert outcome == "failure"
    assert f"{REPOSITORY}:{TAG_DEV_LATEST}" in message and "User is empty" in message
    assert case(run, DEPLOYED)[0] == "pass"


def test_tampered_config_blob_fails_closed(world: MotoWorld, tmp_path: Path) -> None:
    SCENARIOS["healthy"].prepare(world)
    digest = world.resolve_digest(REPOSITORY, TAG_DEV_LATEST)
    world.serve_blob(world.pushed(REPOSITORY, digest).config_digest, b'{"config":{"User":"0"}}')
    args = [*SCENARIOS["healthy"].gate_args(world), "--only", USER]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 1, run.output
    assert "not the image's config" in case(run, USER)[1]


def test_image_index_is_read_through_its_linux_amd64_entry(
    world: MotoWorld, tmp_path: Path
) -> None:
    SCENARIOS["healthy"].setup(world)
    amd64 = world.resolve_digest(REPOSITORY, TAG_DEV_LATEST)
    arm64 = world.push_image(REPOSITORY, ["arm64-build"], "0", revision="arm64")
    world.push_index(REPOSITORY, [TAG_DEV_LATEST], {"linux/arm64": arm64, "linux/amd64": amd64})
    args = [*SCENARIOS["healthy"].gate_args(world), "--only", USER]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 0, run.output
    assert f"linux/amd64 {short_digest(amd64)}" in case(run, USER)[2]
    assert world.calls["BatchGetImage"] == 2


def test_failed_endpoint_shows_redacted_log_lines_in_the_junit_failure(
    world: MotoWorld, tmp_path: Path
) -> None:
    run = gate(world, tmp_path, "endpoint-failed")
    assert run.code == 1, run.output
    outcome, _, body = case(run, STATUS)
    assert outcome == "failure"
    assert f"CloudWatch log lines (/aws/sagemaker/Endpoints/{ENDPOINT}):" in body
    assert "PermissionError: [Errno 13] Permission denied" in body
    assert "[ERROR] Reason: Worker failed to boot." in body
    assert "DB_PASSWORD=***" in body and "feature store as svc-analyzer with ***" in body
    assert SECRET_VALUE not in run.junit.read_text() and SECRET_VALUE not in run.output
    assert world.calls["GetLogEvents"] >= 1


def test_log_lines_flag_sets_how_many_lines(world: MotoWorld, tmp_path: Path) -> None:
    run = gate(world, tmp_path, "endpoint-failed", "--log-lines", "2")
    assert run.code == 1, run.output
    body = case(run, STATUS)[2]
    assert "last 2 CloudWatch log lines" in body
    assert "[ERROR] Shutting down: Master\n  [ERROR] Reason: Worker failed to boot." in body


def test_unreadable_logs_are_noted_and_the_verdict_stands(world: MotoWorld, tmp_path: Path) -> None:
    denied = aws_error(
        "AccessDeniedException", "not authorized to perform: logs:DescribeLogStreams"
    )
    world.inject("DescribeLogStreams", fail_calls(None, denied))
    run = gate(world, tmp_path, "endpoint-failed")
    assert run.code == 1, run.output
    outcome, message, body = case(run, STATUS)
    assert outcome == "failure" and "did not pass the ping health check" in message
    assert "CloudWatch logs not attached" in body
    assert "AccessDenied calling logs:DescribeLogStreams" in body


def test_deployed_check_alone_cannot_pass_without_the_scan(
    world: MotoWorld, tmp_path: Path
) -> None:
    SCENARIOS["healthy"].prepare(world)
    args = [*SCENARIOS["healthy"].gate_args(world), "--only", DEPLOYED]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 3, run.output
    assert "ecr-scan-findings was skipped" in case(run, DEPLOYED)[1]
    assert world.calls["DescribeEndpoint"] == 0
