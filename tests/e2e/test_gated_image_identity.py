"""Issue 19, through the CLI against a moto server: every check about "the gated image" judges
the digest ecr-scan-findings judged (item 1), a failed endpoint never passes (item 5),
--registry-region equal to --region reads as without it (item 9), an omitted model package
Environment is empty (item 10), and one cause counts once (item 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_e2e import run_cli, validate_junit
from junitparser import Failure, JUnitXml, Skipped

from soc2gate.demo.scenarios import (
    BASIC_FINDINGS,
    COMMIT_SHA,
    ENDPOINT,
    INSTANCE_TYPE,
    REPOSITORY,
    SCENARIOS,
    TAG_DEV_SHA,
    TAGS,
)
from soc2gate.demo.world import MotoWorld, aws_error, fail_calls

#: A rebuild of the same commit (another build time, so another digest) whose image runs as root.
REBUILD_CREATED = "2026-11-26T09:40:00Z"


def _cases(junit: Path) -> dict[str, object]:
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    return {c.name: (c.result[0] if c.result else None) for c in suite}


# ---- item 1: the image judged is the image scanned ----------------------------------------------


def _rebuild_takes_the_tags_while_the_gate_waits(world: MotoWorld, user: str) -> dict[str, str]:
    """Build 1 (UID 1000) holds every tag, its scan IN_PROGRESS. While the gate waits, a rebuild
    of the same commit running as ``user`` takes the tags, scans clean and is deployed."""
    scenario = SCENARIOS["healthy"]
    scenario.setup(world)
    digests = {"first": world.resolve_digest(REPOSITORY, TAG_DEV_SHA)}

    def rebuild(w: MotoWorld) -> None:
        digests["rebuild"] = w.push_image(
            REPOSITORY, list(TAGS), user, revision=COMMIT_SHA, created=REBUILD_CREATED
        )
        w.set_scan(REPOSITORY, digests["rebuild"], "IN_PROGRESS")

    def rebuild_scanned_and_deployed(w: MotoWorld) -> None:
        w.set_scan(REPOSITORY, digests["rebuild"], "COMPLETE", findings=BASIC_FINDINGS)
        deployed = w.deployed_image(REPOSITORY, TAG_DEV_SHA, digest=digests["rebuild"])
        w.set_endpoint(ENDPOINT, status="InService", deployed_images=[deployed])

    world.on_call("DescribeImageScanFindings", 2, rebuild)
    world.on_call("DescribeImageScanFindings", 4, rebuild_scanned_and_deployed)
    return digests


def test_a_root_rebuild_that_takes_the_tag_during_the_wait_is_the_image_judged(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: ecr-image-user read the tag once at the start (build 1, UID 1000) and passed,
    the scan passed the rebuild, the endpoint served the rebuild: exit 0 with root serving."""
    digests = _rebuild_takes_the_tags_while_the_gate_waits(world, user="")
    args = ["run", *SCENARIOS["healthy"].gate_args(world), "--enable", "ecr-image-user"]
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    cases = _cases(run.junit)
    user = cases["ecr-image-user"]
    assert isinstance(user, Failure), user
    assert digests["rebuild"][7:19] in (user.message or "")
    assert "runs as root" in (user.message or "")
    # The tag's move is in the report, with both digests, where the scan's verdict is.
    assert "tag moved during the run" in run.stdout
    for digest in digests.values():
        assert digest in run.junit.read_text()
    # Everything else judged the same (rebuilt, scanned, deployed) image, so it passes.
    for check in ("ecr-scan-findings", "ecr-image-tags", "deployed-image-scanned"):
        assert cases[check] is None, (check, cases[check])
    validate_junit(run.junit)


def test_a_non_root_rebuild_passes_and_says_the_tag_moved(world: MotoWorld, tmp_path: Path) -> None:
    """The same moves with a UID 1000 rebuild: a pass, judged on the rebuild's digest."""
    digests = _rebuild_takes_the_tags_while_the_gate_waits(world, user="1000")
    evidence = tmp_path / "evidence.json"
    args = [
        "run",
        *SCENARIOS["healthy"].gate_args(world),
        "--enable",
        "ecr-image-user",
        "--evidence",
        str(evidence),
    ]
    run = run_cli(world, args, tmp_path)
    assert run.code == 0, run.output
    record = evidence.read_text()
    assert '"gatedTagHistory"' in record
    assert '"judgedDigestOf": "ecr-scan-findings"' in record
    assert digests["rebuild"] in record


def test_required_tags_that_move_after_the_scan_fail(world: MotoWorld, tmp_path: Path) -> None:
    """ecr-image-tags reads the tags after the scan was judged: a required tag that left the
    scanned digest (here: the whole set moves to another build once the scan is read) fails,
    naming both digests."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    moved: dict[str, str] = {}

    def move_tags(w: MotoWorld) -> None:
        moved["to"] = w.push_image(REPOSITORY, ["soc2-latest"], "1000", revision="another-build")

    # The scan is COMPLETE on the 2nd read; the tags move right before the scan check's 3rd
    # DescribeImages (the image-tags check reads them after it).
    world.on_call("DescribeImages", 3, move_tags)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    tags = _cases(run.junit)["ecr-image-tags"]
    assert isinstance(tags, Failure), tags
    assert "2 different images" in (tags.message or "") or "moved" in (tags.message or "")
    assert moved["to"][7:19] in (tags.message or "")


# ---- item 5: a failed endpoint never passes ------------------------------------------------------


@pytest.mark.parametrize("state", ["Failed", "RollingBack", "OutOfService", "UpdateRollbackFailed"])
def test_deployed_image_scanned_alone_fails_a_failed_endpoint(
    state: str, world: MotoWorld, tmp_path: Path
) -> None:
    """--only ecr-scan-findings,deployed-image-scanned: DeployedImages holds the scanned digest,
    but the endpoint is not serving. Before: PASS, exit 0."""
    scenario = SCENARIOS["healthy"]
    scenario.setup(world)
    world.on_call("DescribeImageScanFindings", 2, scenario.triggers[0][2])

    def broken(w: MotoWorld) -> None:
        deployed = w.deployed_image(REPOSITORY, TAG_DEV_SHA)
        w.set_endpoint(ENDPOINT, status=state, deployed_images=[deployed])

    world.on_call("DescribeEndpoint", 1, broken)
    args = [
        "run",
        *scenario.gate_args(world),
        "--only",
        "ecr-scan-findings,deployed-image-scanned",
    ]
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    deployed = _cases(run.junit)["deployed-image-scanned"]
    assert isinstance(deployed, Failure), deployed
    assert f"is {state}" in (deployed.message or "")
    assert deployed.type == "EndpointNotInService"


# ---- item 9: --registry-region equal to --region ------------------------------------------------


def test_registry_region_equal_to_the_region_reads_as_without_it(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: every ECR check ERROR "configuration error: ... built without a registry"."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    args = ["run", *scenario.gate_args(world), "--registry-region", world.region]
    run = run_cli(world, args, tmp_path)
    assert run.code == 0, run.output
    assert "configuration error" not in run.output
    assert 'name="registry"' not in run.junit.read_text()  # the caller's own registry


# ---- item 10: an omitted Environment is empty ---------------------------------------------------


def test_a_model_package_container_without_environment_misses_the_markers(
    world: MotoWorld, tmp_path: Path
) -> None:
    """The documented shape: a package container registered without variables, and a model
    container naming it without its own, are answered without an Environment key. Before:
    "could not read the Environment", exit 3. Now: FAIL, exit 1, naming the missing markers."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    image = world.image_uri(REPOSITORY, tag=TAG_DEV_SHA)
    package = world.create_model_package("no-environment", image, None)
    world.create_model_from_package("model-no-environment", package, None)
    world.create_endpoint_config("config-no-environment", [("model-no-environment", INSTANCE_TYPE)])
    world.on_call(
        "DescribeEndpoint",
        1,
        lambda w: w.set_endpoint(ENDPOINT, config_name="config-no-environment"),
    )
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    env = _cases(run.junit)["sagemaker-model-env"]
    assert isinstance(env, Failure), env
    assert "SOC2_COMPLIANT is missing" in (env.message or "")
    assert "could not read" not in run.output


# ---- item 12: one cause counts once -------------------------------------------------------------


def test_an_endpoint_that_could_not_be_verified_is_one_error(
    world: MotoWorld, tmp_path: Path
) -> None:
    """DescribeEndpoint denied: sagemaker-endpoint-status is the ERROR; model-env and
    endpoint-config are not evaluated (before: two more ERRORs for the same cause)."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    world.inject("DescribeEndpoint", fail_calls(None, aws_error("AccessDeniedException", "no")))
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 3, run.output
    cases = _cases(run.junit)
    errors = [
        name for name, outcome in cases.items() if outcome is not None and outcome._tag == "error"
    ]
    assert errors == ["sagemaker-endpoint-status"], errors
    for dependent in ("sagemaker-model-env", "sagemaker-endpoint-config", "deployed-image-scanned"):
        outcome = cases[dependent]
        assert isinstance(outcome, Skipped), (dependent, outcome)
        assert (outcome.message or "").startswith(
            "not evaluated: sagemaker-endpoint-status could not be verified"
        )
    assert "1 errors, 3 not evaluated" in run.stdout


def test_a_missing_repository_is_one_failure_per_target(world: MotoWorld, tmp_path: Path) -> None:
    """No repository: ecr-repository-config FAILs; ecr-image-tags and ecr-scan-findings are not
    evaluated (before: two ERRORs RepositoryNotFoundException besides the FAIL)."""
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    args = ["run", *scenario.gate_args(world), "--repository", "no-such-repository"]
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    cases = _cases(run.junit)
    assert isinstance(cases["ecr-repository-config"], Failure)
    for dependent in ("ecr-image-tags", "ecr-scan-findings", "deployed-image-scanned"):
        outcome = cases[dependent]
        assert isinstance(outcome, Skipped), (dependent, outcome)
        assert "not evaluated" in (outcome.message or ""), outcome.message
    failures = [n for n, o in cases.items() if isinstance(o, Failure)]
    errors = [n for n, o in cases.items() if o is not None and o._tag == "error"]
    assert (failures, errors) == (["ecr-repository-config"], [])


def test_ecr_image_user_never_passes_on_a_failed_endpoints_config(
    world: MotoWorld, tmp_path: Path
) -> None:
    """--only ecr-scan-findings,ecr-image-user with --endpoint naming a Failed endpoint: the
    platform came from the config it failed to run, and the check passed (exit 0; review
    finding F7). Alone it now FAILs; beside sagemaker-endpoint-status it is not evaluated."""
    scenario = SCENARIOS["endpoint-failed"]
    scenario.setup(world)
    world.on_call("DescribeImageScanFindings", 2, scenario.triggers[0][2])  # the scan is done
    world.set_endpoint(ENDPOINT, status="Failed", failure_reason="the container did not start")
    only = ["--only", "ecr-scan-findings,ecr-image-user"]
    run = run_cli(world, ["run", *scenario.gate_args(world), *only], tmp_path)
    assert run.code == 1, run.output
    user = _cases(run.junit)["ecr-image-user"]
    assert isinstance(user, Failure), user
    assert "is Failed: nothing of it serves" in (user.message or "")
    assert user.type == "EndpointNotInService"

    both = tmp_path / "both"
    both.mkdir()
    world.reset_calls()
    world.on_call("DescribeImageScanFindings", 2, scenario.triggers[0][2])
    run = run_cli(world, ["run", *scenario.gate_args(world), "--enable", "ecr-image-user"], both)
    assert run.code == 1, run.output
    user = _cases(run.junit)["ecr-image-user"]
    assert isinstance(user, Skipped), user
    assert (user.message or "").startswith("not evaluated: sagemaker-endpoint-status failed")
