"""Model Registry packages and inference components on the wire (issue 19), through the real gate.

The two deployment shapes the fuzz layer has baselines for: the guide's model created from an
Approved package version (``GUIDE_MODEL_PACKAGE``: DescribeModel names ModelPackageName, the
image and the markers are the package container's), and the guide's image served by inference
components (``GUIDE_INFERENCE_COMPONENTS``: the endpoint config's variant names no model;
ListInferenceComponents lists two, one deploying the guide's model, one the image with its own
Environment). Each passes as recorded; these tests pin what in them the verdict depends on.
"""

from __future__ import annotations

from typing import Any

import pytest

from realshape.wire import (
    DIGEST,
    GUIDE_INFERENCE_COMPONENTS,
    GUIDE_MODEL_PACKAGE,
    Run,
    WireWorld,
    guide_config,
    modified,
    run_gate_on,
    with_answers,
)

ENV_CHECK = "sagemaker-model-env"
DEPLOYED_CHECK = "deployed-image-scanned"
PACKAGE = "sagemaker/DescribeModelPackage.guide-approved.json"
MODEL_IC = "sagemaker/DescribeInferenceComponent.guide-model.json"
IMAGE_IC = "sagemaker/DescribeInferenceComponent.guide-image.json"


def run(scenario: dict[str, Any], **config: Any) -> Run:
    return run_gate_on(WireWorld(scenario), guide_config(**config))


def assert_passes(result: Run) -> None:
    assert result.exit_code == 0, "expected PASS (exit 0):\n" + result.table()


def assert_not_pass(result: Run, check_id: str, *statuses: str) -> None:
    status = result.status(check_id)
    wanted = statuses or ("FAIL", "ERROR")
    assert result.exit_code != 0 and status in wanted, (
        f"expected {check_id} to be {'/'.join(wanted)} and the run not to pass, got {status} "
        f"(exit {result.exit_code}):\n" + result.table()
    )


def package(edit: Any) -> dict[str, Any]:
    return with_answers(GUIDE_MODEL_PACKAGE, DescribeModelPackage=modified(PACKAGE, edit))


def components(model_ic: Any = None, image_ic: Any = None) -> dict[str, Any]:
    docs = [
        modified(MODEL_IC, model_ic) if model_ic else MODEL_IC,
        modified(IMAGE_IC, image_ic) if image_ic else IMAGE_IC,
    ]
    return with_answers(GUIDE_INFERENCE_COMPONENTS, DescribeInferenceComponent=docs)


# ---- Model Registry package ---------------------------------------------------------------------


def test_model_from_an_approved_package_passes_judged_on_the_package_container() -> None:
    result = run(GUIDE_MODEL_PACKAGE, require_model_approval=True)
    assert_passes(result)
    env = result.result(ENV_CHECK)
    assert env.reason.startswith("model package Approved: "), env.reason
    assert env.evidence["modelPackages"][0]["ModelApprovalStatus"] == "Approved"
    asked = [c.params for c in result.world.calls if c.op == "sagemaker:DescribeModelPackage"]
    assert asked == [
        {
            "ModelPackageName": "arn:aws:sagemaker:us-east-1:438465156498:model-package/"
            "defenderimageanalyzersoc2hardened-packages/3"
        }
    ]
    deployed = result.result(DEPLOYED_CHECK)
    assert "model package" in str(deployed.evidence["modelImages"][0]["container"])
    assert deployed.evidence["modelImages"][0]["digest"] == DIGEST


def test_package_container_without_environment_has_no_markers() -> None:
    # AWS omits an empty Environment (the documented abalone package has none).
    def edit(response: dict[str, Any]) -> None:
        del response["InferenceSpecification"]["Containers"][0]["Environment"]

    result = run(package(edit))
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert "SOC2_COMPLIANT is missing" in result.result(ENV_CHECK).reason


def test_rejected_package_fails_only_with_require_model_approval() -> None:
    def edit(response: dict[str, Any]) -> None:
        response["ModelApprovalStatus"] = "Rejected"

    assert_passes(run(package(edit)))
    result = run(package(edit), require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert "which is Rejected, not Approved" in result.result(ENV_CHECK).reason


# ---- inference components -------------------------------------------------------------------------


def test_endpoint_serving_inference_components_passes_judging_each() -> None:
    result = run(GUIDE_INFERENCE_COMPONENTS)
    assert_passes(result)
    described = sorted(
        c.params["InferenceComponentName"]
        for c in result.world.calls
        if c.op == "sagemaker:DescribeInferenceComponent"
    )
    assert set(described) == {
        "defenderImageAnalyzer-image-ic-20261126093000",
        "defenderImageAnalyzer-model-ic-20261126093000",
    }
    deployed = result.result(DEPLOYED_CHECK)
    assert [
        c["resolvedImage"].rsplit("@", 1)[1] for c in deployed.evidence["inferenceComponents"]
    ] == [
        DIGEST,
        DIGEST,
    ]
    # The model-based component's model is judged, and the image-based one's own Environment.
    assert deployed.evidence["modelImages"][0]["digest"] == DIGEST
    assert "inference component defenderImageAnalyzer-image-ic" in result.result(ENV_CHECK).reason


def test_component_container_without_the_markers_fails() -> None:
    def edit(response: dict[str, Any]) -> None:
        response["Specification"]["Container"]["Environment"]["SECURITY_HARDENED"] = "false"

    result = run(components(image_ic=edit))
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert "SECURITY_HARDENED='false', expected 'true'" in result.result(ENV_CHECK).reason


def test_component_running_another_digest_fails() -> None:
    def edit(response: dict[str, Any]) -> None:
        deployed = response["Specification"]["Container"]["DeployedImage"]
        deployed["ResolvedImage"] = deployed["ResolvedImage"].replace(DIGEST[-12:], "0" * 12)

    assert_not_pass(run(components(model_ic=edit)), DEPLOYED_CHECK, "FAIL")


def test_failed_component_fails() -> None:
    def edit(response: dict[str, Any]) -> None:
        response["InferenceComponentStatus"] = "Failed"
        response["FailureReason"] = "CUDA out of memory"

    result = run(components(image_ic=edit))
    assert_not_pass(result, DEPLOYED_CHECK, "FAIL")
    assert "CUDA out of memory" in result.result(DEPLOYED_CHECK).reason


# ---- fuzz findings (each failed before its fix) ----------------------------------------------------

MODEL_FROM_PACKAGE = "sagemaker/DescribeModel.model-package.json"


def _names_spec(name: str) -> Any:
    def edit(response: dict[str, Any]) -> None:
        response["PrimaryContainer"]["InferenceSpecificationName"] = name

    return edit


def _with_neo_spec(response: dict[str, Any]) -> None:
    # SageMaker Neo's compiled artifacts, as an additional inference specification: another
    # container, without the markers.
    container = dict(response["InferenceSpecification"]["Containers"][0])
    del container["Environment"]
    response["AdditionalInferenceSpecifications"] = [
        {
            "Name": "neo-c5",
            "Containers": [container],
            "SupportedContentTypes": ["application/x-image"],
        }
    ]


def test_model_naming_an_additional_inference_specification_is_judged_on_it() -> None:
    scenario = with_answers(
        GUIDE_MODEL_PACKAGE,
        DescribeModel=[modified(MODEL_FROM_PACKAGE, _names_spec("neo-c5"))],
        DescribeModelPackage=modified(PACKAGE, _with_neo_spec),
    )
    result = run(scenario, require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert "SOC2_COMPLIANT is missing" in result.result(ENV_CHECK).reason


def test_model_naming_an_inference_specification_the_package_lacks_is_an_error() -> None:
    scenario = with_answers(
        GUIDE_MODEL_PACKAGE, DescribeModel=[modified(MODEL_FROM_PACKAGE, _names_spec("gpu"))]
    )
    result = run(scenario, require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "ERROR")
    assert "'gpu'" in result.result(ENV_CHECK).reason


def test_model_container_naming_a_package_and_another_image_is_an_error() -> None:
    # Which of the two serves cannot be told from the answers: neither is judged alone.
    def edit(response: dict[str, Any]) -> None:
        response["PrimaryContainer"]["Image"] = (
            "438465156498.dkr.ecr.us-east-1.amazonaws.com/unscanned:latest"
        )

    scenario = with_answers(GUIDE_MODEL_PACKAGE, DescribeModel=[modified(MODEL_FROM_PACKAGE, edit)])
    result = run(scenario, require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "ERROR")
    reason = result.result(ENV_CHECK).reason
    assert "PrimaryContainer.Image names" in reason and "beside ModelPackageName" in reason
    assert result.status(DEPLOYED_CHECK) in ("FAIL", "ERROR"), result.table()


def test_model_container_naming_a_package_and_its_own_image_passes() -> None:
    # An answer that repeats the package container's Image beside ModelPackageName says nothing new.
    def edit(response: dict[str, Any]) -> None:
        response["PrimaryContainer"]["Image"] = (
            "438465156498.dkr.ecr.us-east-1.amazonaws.com/defender-image-analyzer-soc2:"
            "soc2-dev-3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e"
        )

    scenario = with_answers(GUIDE_MODEL_PACKAGE, DescribeModel=[modified(MODEL_FROM_PACKAGE, edit)])
    assert_passes(run(scenario, require_model_approval=True))


def _package_status(status: Any) -> Any:
    def edit(response: dict[str, Any]) -> None:
        if status is None:
            del response["ModelPackageStatus"]
        else:
            response["ModelPackageStatus"] = status

    return edit


@pytest.mark.parametrize("status", ["Failed", "Deleting", "InProgress", "Archived"])
def test_approved_package_version_that_is_not_completed_is_not_approved(status: str) -> None:
    # --require-model-approval asks for an approved registered version: one whose registration
    # failed, is being deleted, or is in a state AWS does not document is not one.
    result = run(package(_package_status(status)), require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert f"ModelPackageStatus {status}, not Completed" in result.result(ENV_CHECK).reason


def test_package_without_model_package_status_could_not_be_read() -> None:
    # A required member of DescribeModelPackage's answer.
    result = run(package(_package_status(None)), require_model_approval=True)
    assert_not_pass(result, ENV_CHECK, "ERROR")
    assert "ModelPackageStatus is missing" in result.result(ENV_CHECK).reason


def test_in_service_component_with_a_failure_reason_is_not_a_pass() -> None:
    # As an endpoint InService with a FailureReason: an update of it failed (and was rolled
    # back), so it does not serve what was deployed.
    def edit(response: dict[str, Any]) -> None:
        response["FailureReason"] = " Rolling update failed: copies did not pass health checks"

    result = run(components(image_ic=edit))
    assert_not_pass(result, DEPLOYED_CHECK, "FAIL")
    reason = result.result(DEPLOYED_CHECK).reason
    assert "InService with FailureReason: Rolling update failed" in reason, reason


@pytest.mark.parametrize("keep_specification", [False, True], ids=["as-documented", "both"])
def test_component_with_one_specification_per_instance_type_is_an_error(
    keep_specification: bool,
) -> None:
    # Created with several specifications, a component reports Specifications (one per instance
    # type) and no Specification; each may run another image. The gate reads one.
    def edit(response: dict[str, Any]) -> None:
        spec = response["Specification"] if keep_specification else response.pop("Specification")
        other = {**spec, "InstanceType": "ml.g5.xlarge"}
        other["Container"] = {
            "DeployedImage": {
                "SpecifiedImage": "438465156498.dkr.ecr.us-east-1.amazonaws.com/unscanned:gpu",
                "ResolvedImage": "438465156498.dkr.ecr.us-east-1.amazonaws.com/unscanned@"
                + DIGEST.replace("6940", "0000"),
            }
        }
        response["Specifications"] = [{**spec, "InstanceType": "ml.c5.large"}, other]

    result = run(components(image_ic=edit))
    for check in (ENV_CHECK, DEPLOYED_CHECK):
        assert_not_pass(result, check, "ERROR")
        assert "Specifications" in result.result(check).reason, result.table()


def test_every_component_on_the_endpoint_is_judged_whatever_variant_it_names() -> None:
    # ListInferenceComponents lists it on this endpoint; its own answer names a variant the
    # endpoint config lacks. It runs on this endpoint: it is judged like the others.
    def edit(response: dict[str, Any]) -> None:
        response["VariantName"] = "Canary"
        response["Specification"]["Container"]["Environment"]["SOC2_COMPLIANT"] = "false"
        deployed = response["Specification"]["Container"]["DeployedImage"]
        deployed["ResolvedImage"] = deployed["ResolvedImage"].replace(DIGEST[-12:], "0" * 12)

    result = run(components(image_ic=edit))
    assert_not_pass(result, ENV_CHECK, "FAIL")
    assert "SOC2_COMPLIANT='false'" in result.result(ENV_CHECK).reason
    assert_not_pass(result, DEPLOYED_CHECK, "FAIL")
    assert "defenderImageAnalyzer-image-ic" in result.result(DEPLOYED_CHECK).reason


@pytest.mark.parametrize(
    ("base", "passes"),
    [("defenderImageAnalyzer-model-ic-20261126093000", True), ("llama-base-ic", False)],
    ids=["base-listed", "base-not-listed"],
)
def test_adapter_component_runs_in_a_base_component_that_must_be_judged(
    base: str, passes: bool
) -> None:
    # An adapter component runs inside its base component's container: the base must be one of
    # the components listed on the endpoint (and so judged), else what serves is unknown.
    def edit(response: dict[str, Any]) -> None:
        response["Specification"]["BaseInferenceComponentName"] = base

    result = run(components(image_ic=edit))
    if passes:
        assert_passes(result)
        return
    for check in (ENV_CHECK, DEPLOYED_CHECK):
        assert_not_pass(result, check, "ERROR")
        assert "base inference component 'llama-base-ic'" in result.result(check).reason
