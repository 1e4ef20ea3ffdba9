"""Issue 15 shapes, unit level: Model Registry models, inference components, Graviton.

Pure functions from plain tables; the fetchers through botocore Stubber (real service model).
"""

from __future__ import annotations

from typing import Any

import pytest
from unit_fakes import (
    ACCOUNT,
    ENDPOINT,
    REGION,
    REPO,
    T0,
    StubbedAws,
    make_ctx,
)

from soc2gate.checks.sagemaker._sagemaker import (
    ContainerEnv,
    Model,
    ModelPackage,
    UnreadableResponse,
    Variant,
    _package_containers,
    describe_model,
    endpoint_components,
    instance_architecture,
    variant_architecture,
)
from soc2gate.checks.sagemaker.sagemaker_model_env import SagemakerModelEnv, evaluate
from soc2gate.config import ConfigError, GateConfig, build_config, parse_mapping
from soc2gate.models import Status

CHECK = SagemakerModelEnv()
MARKERS = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}:soc2-dev-latest"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/pkg-group/3"
SECRET = "s3cr3t-value-never-shown"


# ---- Graviton ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("ml.c7g.xlarge", "arm64"),
        ("ml.m6g.large", "arm64"),
        ("ml.r6g.2xlarge", "arm64"),
        ("ml.c6g.large", "arm64"),
        ("ml.m7g.4xlarge", "arm64"),
        ("ml.r7g.large", "arm64"),
        ("ml.c6gn.xlarge", "arm64"),
        ("ml.r6gd.xlarge", "arm64"),
        ("ml.c8g.large", "arm64"),
        ("ml.c5.large", "amd64"),
        ("ml.g4dn.xlarge", "amd64"),
        ("ml.g5.xlarge", "amd64"),
        ("ml.g6e.xlarge", "amd64"),
        ("ml.inf2.xlarge", "amd64"),
        ("ml.p4d.24xlarge", "amd64"),
        ("ml.trn1.2xlarge", "amd64"),
        ("ml.m5d.large", "amd64"),
    ],
)
def test_instance_architecture(instance_type: str, arch: str) -> None:
    assert instance_architecture(instance_type) == arch


def _variant(**kw: Any) -> Variant:
    base: dict[str, Any] = dict(
        name="AllTraffic",
        model_name="m",
        instance_type="",
        serverless=False,
        pool_types=(),
        shadow=False,
    )
    return Variant(**{**base, **kw})


def test_variant_architecture() -> None:
    assert variant_architecture(_variant(instance_type="ml.m7g.large")) == "arm64"
    assert variant_architecture(_variant(serverless=True)) == "amd64"
    assert variant_architecture(_variant(pool_types=("ml.c7g.large", "ml.m7g.large"))) == "arm64"
    with pytest.raises(ValueError, match="no InstanceType"):
        variant_architecture(_variant())
    with pytest.raises(ValueError, match="mixes architectures"):
        variant_architecture(_variant(pool_types=("ml.c7g.large", "ml.c5.large")))


@pytest.mark.parametrize("value", ["linux/arm64", "linux/arm64/v8", "linux/amd64"])
def test_platform_option_accepts(value: str) -> None:
    assert (
        build_config(parse_mapping({"platform": value, "repository": "r"}, "test")).platform
        == value
    )


@pytest.mark.parametrize("value", ["arm64", "linux/", "/arm64", "a/b/c/d", ""])
def test_platform_option_refuses(value: str) -> None:
    with pytest.raises(ConfigError, match="platform"):
        build_config(parse_mapping({"platform": value, "repository": "r"}, "test"))


# ---- Model Registry: the merge ----------------------------------------------------------------


def _package(*containers: tuple[str, dict[str, str]], approval: str = "Approved"):
    return ModelPackage(
        name=PACKAGE_ARN, arn=PACKAGE_ARN, approval=approval, status="Completed",
        containers=tuple(containers),
    )  # fmt: skip


def test_package_environment_is_merged_with_the_models_own() -> None:
    package = _package((IMAGE, {"SOC2_COMPLIANT": "true", "A": "1"}), ("other:1", {}))
    first, second = _package_containers("PrimaryContainer", {"SECURITY_HARDENED": "true"}, package)
    assert first.image == IMAGE and first.package == PACKAGE_ARN
    assert first.environment == {"SOC2_COMPLIANT": "true", "A": "1", "SECURITY_HARDENED": "true"}
    assert first.conflicts == frozenset()
    assert first.where == f"PrimaryContainer model package {PACKAGE_ARN} Containers[0]"
    # The second package container reports no Environment: the model's own is all there is.
    assert second.environment == {"SECURITY_HARDENED": "true"}


def test_a_key_set_differently_by_model_and_package_is_a_conflict() -> None:
    package = _package((IMAGE, {"SOC2_COMPLIANT": "true", "X": "same"}))
    (c,) = _package_containers(
        "PrimaryContainer", {"SOC2_COMPLIANT": "false", "X": "same"}, package
    )
    assert c.conflicts == frozenset({"SOC2_COMPLIANT"})


def test_neither_environment_is_an_empty_environment() -> None:
    """AWS omits an empty Environment: a package container and a model container without one
    run with no variables, so the markers are missing (issue 19, item 10), not unreadable."""
    (c,) = _package_containers("PrimaryContainer", {}, _package((IMAGE, {})))
    assert c.environment == {} and c.conflicts == frozenset()


def _model(package: ModelPackage, own: dict[str, str]) -> Model:
    return Model(
        name="m1",
        arn="arn:m1",
        containers=tuple(_package_containers("PrimaryContainer", own, package)),
        packages=(package,),
    )


@pytest.mark.parametrize(
    ("package_env", "own", "approval", "require", "status", "words"),
    [
        (MARKERS, {"DB_PASSWORD": SECRET}, "Approved", True, Status.PASS, "model package Approved"),
        (
            MARKERS,
            {},
            "PendingManualApproval",
            False,
            Status.PASS,
            "model package PendingManualApproval",
        ),
        (
            MARKERS,
            {},
            "PendingManualApproval",
            True,
            Status.FAIL,
            "PendingManualApproval, not Approved (--require-model-approval)",
        ),
        (MARKERS, {}, "Rejected", True, Status.FAIL, "Rejected, not Approved"),
        (MARKERS, {}, "", True, Status.FAIL, "no ModelApprovalStatus, not Approved"),
        (
            MARKERS,
            {"SECURITY_HARDENED": "false"},
            "Approved",
            False,
            Status.FAIL,
            "SECURITY_HARDENED is set to different values by the model and by model package",
        ),
        (
            {"SOC2_COMPLIANT": "true"},
            {"SECURITY_HARDENED": "true"},
            "Approved",
            True,
            Status.PASS,
            "present in 1 container(s)",
        ),
        (
            {"SOC2_COMPLIANT": "true"},
            {"DB_PASSWORD": SECRET},
            "Approved",
            True,
            Status.FAIL,
            "SECURITY_HARDENED is missing",
        ),
        # AWS omits an empty Environment: neither has one, so the markers are missing (FAIL).
        ({}, {}, "Approved", False, Status.FAIL, "SOC2_COMPLIANT is missing"),
    ],
)
def test_model_env_judges_registry_models(
    package_env: dict[str, str] | None,
    own: dict[str, str] | None,
    approval: str,
    require: bool,
    status: Status,
    words: str,
) -> None:
    model = _model(_package((IMAGE, package_env), approval=approval), own)
    result = evaluate(CHECK, [model], MARKERS, "test", require_approval=require)
    assert result.status is status, result.reason
    assert words in result.reason
    text = result.reason + " ".join(result.details) + repr(result.evidence)
    assert SECRET not in text
    assert result.evidence["modelPackages"] == [
        {"modelPackage": PACKAGE_ARN, "arn": PACKAGE_ARN, "ModelApprovalStatus": approval}
    ]


# ---- Model Registry: the fetch (Stubber, the real service model) -------------------------------


def _describe_model_with_package(env: dict[str, str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"ModelPackageName": PACKAGE_ARN}
    if env is not None:
        container["Environment"] = env
    return {
        "ModelName": "m1",
        "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m1",
        "CreationTime": T0,
        "PrimaryContainer": container,
    }


def _package_answer(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ModelPackageName": "pkg-group",
        "ModelPackageGroupName": "pkg-group",
        "ModelPackageVersion": 3,
        "ModelPackageArn": PACKAGE_ARN,
        "CreationTime": T0,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": IMAGE, "Environment": dict(MARKERS)}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }
    out.update(overrides)
    return {k: v for k, v in out.items() if v is not None}


def test_describe_model_follows_the_model_package(aws: StubbedAws) -> None:
    aws.respond("sagemaker", "describe_model", _describe_model_with_package({"A": "1"}))
    aws.respond(
        "sagemaker",
        "describe_model_package",
        _package_answer(),
        {"ModelPackageName": PACKAGE_ARN},
    )
    model = describe_model(make_ctx(GateConfig(), aws), "m1")
    (container,) = model.containers
    assert container == ContainerEnv(
        f"PrimaryContainer model package {PACKAGE_ARN} Containers[0]",
        IMAGE,
        {**MARKERS, "A": "1"},
        package=PACKAGE_ARN,
    )
    assert [p.approval for p in model.packages] == ["Approved"]
    aws.assert_done()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"InferenceSpecification": None}, "InferenceSpecification is missing"),
    ],
)
def test_an_unreadable_model_package_raises(
    aws: StubbedAws, overrides: dict[str, Any], words: str
) -> None:
    aws.respond("sagemaker", "describe_model", _describe_model_with_package())
    aws.respond("sagemaker", "describe_model_package", _package_answer(**overrides))
    with pytest.raises(UnreadableResponse, match=words):
        describe_model(make_ctx(GateConfig(), aws), "m1")


# ---- inference components: the fetch ----------------------------------------------------------


def _summary(name: str, variant: str = "AllTraffic") -> dict[str, Any]:
    return {
        "CreationTime": T0,
        "InferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}",
        "InferenceComponentName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT.lower()}",
        "EndpointName": ENDPOINT,
        "VariantName": variant,
        "InferenceComponentStatus": "InService",
        "LastModifiedTime": T0,
    }


def _component(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = _summary(name)
    del out["InferenceComponentStatus"]
    return {**out, "Specification": spec, "InferenceComponentStatus": "InService"}


def test_endpoint_components_reads_every_page(aws: StubbedAws) -> None:
    aws.respond(
        "sagemaker",
        "list_inference_components",
        {"InferenceComponents": [_summary("ic-1")], "NextToken": "t"},
        {"EndpointNameEquals": ENDPOINT},
    )
    aws.respond(
        "sagemaker",
        "list_inference_components",
        {"InferenceComponents": [_summary("ic-2")]},
        {"EndpointNameEquals": ENDPOINT, "NextToken": "t"},
    )
    resolved = IMAGE.rsplit(":", 1)[0] + "@sha256:" + "a" * 64
    aws.respond(
        "sagemaker",
        "describe_inference_component",
        _component(
            "ic-1",
            {
                "ModelName": "m1",
                "Container": {
                    "DeployedImage": {"SpecifiedImage": IMAGE, "ResolvedImage": resolved},
                    "Environment": {"SOC2_COMPLIANT": "true"},
                },
            },
        ),
        {"InferenceComponentName": "ic-1"},
    )
    aws.respond(
        "sagemaker",
        "describe_inference_component",
        _component("ic-2", {"ModelName": "m2"}),
        {"InferenceComponentName": "ic-2"},
    )
    first, second = endpoint_components(make_ctx(GateConfig(), aws), ENDPOINT)
    assert (first.model_name, first.resolved_image, first.specified_image) == (
        "m1",
        resolved,
        IMAGE,
    )
    assert first.container is not None
    assert first.container.environment == {"SOC2_COMPLIANT": "true"}
    assert (second.model_name, second.container, second.resolved_image) == ("m2", None, "")
    aws.assert_done()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (None, "Specification is missing"),
        ({"InstanceType": "ml.c5.large"}, "ModelName and Container are both missing"),
    ],
)
def test_an_unreadable_component_raises(aws: StubbedAws, spec: Any, words: str) -> None:
    aws.respond("sagemaker", "list_inference_components", {"InferenceComponents": [_summary("c")]})
    answer = _component("c", spec or {})
    if spec is None:
        del answer["Specification"]
    aws.respond("sagemaker", "describe_inference_component", answer)
    with pytest.raises(UnreadableResponse, match=words):
        endpoint_components(make_ctx(GateConfig(), aws), ENDPOINT)
