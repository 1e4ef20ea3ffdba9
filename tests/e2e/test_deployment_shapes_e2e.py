"""Issue 15 shapes end to end: the installed CLI against the MotoWorld server.

The scenarios (soc2gate/demo/scenarios.py) cover the plain pass and fail of each shape through
test_scenarios.py; these add the messages, the overrides and the shapes the gate cannot read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_e2e import run_cli

from soc2gate.demo.scenarios import (
    ENDPOINT_CONFIG,
    GRAVITON_INSTANCE_TYPE,
    INFERENCE_COMPONENT,
    MODEL_NAME,
    SCENARIOS,
    SECRET_VALUE,
)
from soc2gate.demo.world import MotoWorld, aws_error, fail_calls

IMAGE_USER = ("--only", "ecr-image-user", "--enable", "ecr-image-user")


def _row(stdout: str, check: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if f" {check} " in ln]
    return line


def test_graviton_reads_the_arm64_image_and_says_why(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["graviton-root-user"]
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world), *IMAGE_USER], tmp_path)
    assert run.code == 1, run.output
    assert "FAIL ecr-image-user: linux/arm64 sha256:" in run.stdout
    assert "runs as root" in run.stdout
    assert world.calls["DescribeEndpointConfig"] >= 1


def test_platform_flag_overrides_the_endpoint(world: MotoWorld, tmp_path: Path) -> None:
    # The same index: its linux/amd64 image runs as UID 1000.
    scenario = SCENARIOS["graviton-root-user"]
    scenario.prepare(world)
    args = [*scenario.gate_args(world), *IMAGE_USER, "--platform", "linux/amd64"]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 0, run.output
    assert "linux/amd64 sha256:" in _row(run.stdout, "ecr-image-user")
    assert world.calls["DescribeEndpoint"] == 0  # --platform: the endpoint is not needed


def test_index_without_the_endpoints_platform_fails_naming_both(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["graviton"]
    scenario.prepare(world)
    args = [*scenario.gate_args(world), *IMAGE_USER, "--platform", "linux/s390x"]
    run = run_cli(world, ["run", *args], tmp_path)
    assert run.code == 1, run.output
    assert "without a linux/s390x image (platforms: linux/amd64, linux/arm64)" in run.stdout
    assert "linux/s390x from --platform" in run.stdout


def test_graviton_endpoint_without_instance_type_is_an_error(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["graviton"]
    scenario.prepare(world)
    # An instance pool mixing Graviton and x86 types: which image runs cannot be told.
    with world._lock:
        config = world._sagemaker_backend().endpoint_configs[ENDPOINT_CONFIG]
        config.production_variants[0].pop("InstanceType")
        config.production_variants[0]["InstancePools"] = [
            {"InstanceType": GRAVITON_INSTANCE_TYPE, "Priority": 1},
            {"InstanceType": "ml.c5.large", "Priority": 2},
        ]
    run = run_cli(world, ["run", *scenario.gate_args(world), *IMAGE_USER], tmp_path)
    assert run.code == 3, run.output
    assert "instance pool mixes architectures" in run.stdout
    assert "pass --platform" in run.stdout


def test_registry_model_without_approval_flag_passes_and_reports_it(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["model-registry-unapproved"]
    scenario.prepare(world)
    args = [a for a in scenario.gate_args(world) if a != "--require-model-approval"]
    evidence = tmp_path / "evidence.json"
    run = run_cli(world, ["run", *args, "--evidence", str(evidence)], tmp_path)
    assert run.code == 0, run.output
    assert "model package PendingManualApproval" in _row(run.stdout, "sagemaker-model-env")
    assert '"ModelApprovalStatus": "PendingManualApproval"' in evidence.read_text()
    assert world.calls["DescribeModelPackage"] == 1  # memoised: a version cannot change
    assert SECRET_VALUE not in run.output + evidence.read_text()


def test_registry_model_overriding_a_marker_fails(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["model-registry"]
    scenario.prepare(world)
    with world._lock:  # the model's own Environment says otherwise than the package's
        model = world._sagemaker_backend()._models[MODEL_NAME]
        model.primary_container["Environment"]["SECURITY_HARDENED"] = "false"
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    assert (
        "SECURITY_HARDENED is set to different values by the model and by model package"
        in run.stdout
    )
    assert SECRET_VALUE not in run.output


def test_failed_inference_component_fails_with_its_reason(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["inference-components"]
    scenario.prepare(world)
    # Right after the endpoint goes InService (same call, hooks run in order), the component fails.
    world.on_call(
        "DescribeEndpoint",
        4,
        lambda w: w.set_inference_component(
            INFERENCE_COMPONENT, status="Failed", failure_reason="CUDA out of memory"
        ),
    )
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    assert f"inference component {INFERENCE_COMPONENT} (variant AllTraffic) is Failed" in (
        run.stdout
    )
    assert "CUDA out of memory" in run.stdout


def test_component_variant_serving_nothing_is_an_error(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["inference-components"]
    scenario.prepare(world)
    # Once the endpoint is InService, its only component is deleted.
    world.on_call(
        "DescribeEndpoint", 4, lambda w: w.delete_inference_component(INFERENCE_COMPONENT)
    )
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 3, run.output
    assert f"{ENDPOINT_CONFIG}/AllTraffic name no model and serve no inference component" in (
        run.stdout
    )
    assert world.calls["ListInferenceComponents"] >= 2  # model-env and deployed-image-scanned


def test_component_container_environment_is_judged(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["inference-components"]
    scenario.prepare(world)
    with world._lock:
        container = world._components[INFERENCE_COMPONENT]["Specification"]["Container"]
        container["Environment"] = {"SOC2_COMPLIANT": "false", "DB_PASSWORD": SECRET_VALUE}
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    assert f"inference component {INFERENCE_COMPONENT} Specification.Container" in run.stdout
    assert "SOC2_COMPLIANT='false', expected 'true'" in run.stdout
    assert SECRET_VALUE not in run.output


@pytest.mark.parametrize(
    ("scenario", "operation", "action"),
    [
        ("model-registry", "DescribeModelPackage", "sagemaker:DescribeModelPackage"),
        ("inference-components", "ListInferenceComponents", "sagemaker:ListInferenceComponents"),
        (
            "inference-components",
            "DescribeInferenceComponent",
            "sagemaker:DescribeInferenceComponent",
        ),
    ],
)
def test_access_denied_on_a_shape_call_is_an_error(
    world: MotoWorld, tmp_path: Path, scenario: str, operation: str, action: str
) -> None:
    SCENARIOS[scenario].prepare(world)
    world.inject(operation, fail_calls(None, aws_error()))
    run = run_cli(world, ["run", *SCENARIOS[scenario].gate_args(world)], tmp_path)
    assert run.code == 3, run.output
    assert action in run.stdout
    assert world.calls[operation] >= 1
