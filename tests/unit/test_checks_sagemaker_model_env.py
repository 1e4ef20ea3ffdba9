"""sagemaker-model-env: markers in every container; newest model by name; secrets never shown."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import (
    ENDPOINT,
    GOOD_ENV,
    FakeClock,
    StubbedAws,
    make_ctx,
    model_summary,
    run_one,
    sm_endpoint,
    sm_model,
    stub_endpoint_models,
)

from soc2gate.checks.sagemaker.sagemaker_model_env import SagemakerModelEnv
from soc2gate.config import GateConfig
from soc2gate.models import GateReport, Status
from soc2gate.report import junit

CHECK = SagemakerModelEnv()
CONFIG = GateConfig(endpoint=ENDPOINT)


def in_service(config: str = "cfg-1") -> dict:
    """DescribeEndpoint of an endpoint InService and settled on ``config``."""
    out = sm_endpoint(config=config)
    out["ProductionVariants"] = [
        {"VariantName": "v0", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    ]
    return out


PREFIX = "defenderImageAnalyzerSOC2Hardened"
SECRET = "hunter2-Pr0d-DB-s3cret"

# (case, {model name: DescribeModel response}, require_env or None, expected, words, not words)
ENV_CASES = [
    (
        "primary-good",
        {"model-1": sm_model("model-1", GOOD_ENV)},
        None,
        Status.PASS,
        ["SOC2_COMPLIANT=true, SECURITY_HARDENED=true present in 1 container(s) of model-1"],
        [],
    ),
    (
        "primary-missing-marker",
        {"model-1": sm_model("model-1", {"SOC2_COMPLIANT": "true"})},
        None,
        Status.FAIL,
        ["model-1 PrimaryContainer: SECURITY_HARDENED is missing"],
        ["SOC2_COMPLIANT"],
    ),
    (
        "primary-wrong-marker",
        {"model-1": sm_model("model-1", {**GOOD_ENV, "SOC2_COMPLIANT": "false"})},
        None,
        Status.FAIL,
        ["model-1 PrimaryContainer: SOC2_COMPLIANT='false', expected 'true'"],
        ["SECURITY_HARDENED"],
    ),
    (
        "marker-case-matters",
        {"model-1": sm_model("model-1", {**GOOD_ENV, "SECURITY_HARDENED": "True"})},
        None,
        Status.FAIL,
        ["SECURITY_HARDENED='True', expected 'true'"],
        [],
    ),
    (
        "no-environment",
        {"model-1": sm_model("model-1", {})},
        None,
        Status.FAIL,
        ["SOC2_COMPLIANT is missing", "SECURITY_HARDENED is missing"],
        [],
    ),
    (
        "containers-all-good",
        {"model-1": sm_model("model-1", containers=[GOOD_ENV, GOOD_ENV, GOOD_ENV])},
        None,
        Status.PASS,
        ["present in 3 container(s)"],
        [],
    ),
    (
        "second-container-missing",
        {"model-1": sm_model("model-1", containers=[GOOD_ENV, {"SECURITY_HARDENED": "true"}])},
        None,
        Status.FAIL,
        ["model-1 Containers[1]: SOC2_COMPLIANT is missing"],
        ["Containers[0]"],
    ),
    (
        "first-container-wrong",
        {
            "model-1": sm_model(
                "model-1", containers=[{**GOOD_ENV, "SOC2_COMPLIANT": "no"}, GOOD_ENV]
            )
        },
        None,
        Status.FAIL,
        ["model-1 Containers[0]: SOC2_COMPLIANT='no'"],
        ["Containers[1]"],
    ),
    (
        "no-container-definition",
        {"model-1": sm_model("model-1")},
        None,
        Status.FAIL,
        ["model-1 has no container definition to check"],
        [],
    ),
    (
        "second-model-bad",
        {
            "model-a": sm_model("model-a", GOOD_ENV),
            "model-b": sm_model("model-b", {"SOC2_COMPLIANT": "true"}),
        },
        None,
        Status.FAIL,
        ["model-b PrimaryContainer: SECURITY_HARDENED is missing"],
        ["model-a PrimaryContainer"],
    ),
    (
        "custom-marker",
        {"model-1": sm_model("model-1", {"DATA_CLASS": "internal"})},
        {"DATA_CLASS": "internal"},
        Status.PASS,
        ["DATA_CLASS=internal present in 1 container(s)"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("models", "require_env", "expected", "words", "absent"),
    [case[1:] for case in ENV_CASES],
    ids=[case[0] for case in ENV_CASES],
)
def test_model_env_behind_endpoint(
    aws: StubbedAws, models, require_env, expected, words, absent
) -> None:
    config = GateConfig(endpoint=ENDPOINT, require_env=require_env or dict(GOOD_ENV))
    stub_endpoint_models(aws, models, endpoint=in_service())
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    for word in absent:
        assert word not in result.reason
    assert result.evidence["models"] == list(models)
    aws.assert_done()


# (case, environment of the container, expected)
SECRET_CASES = [
    ("passing-model", {**GOOD_ENV, "DB_PASSWORD": SECRET}, Status.PASS),
    ("failing-model", {"SOC2_COMPLIANT": "false", "DB_PASSWORD": SECRET}, Status.FAIL),
]


@pytest.mark.parametrize(
    ("env", "expected"), [c[1:] for c in SECRET_CASES], ids=[c[0] for c in SECRET_CASES]
)
def test_secret_values_never_reach_the_result_or_the_report(
    env, expected, clock: FakeClock
) -> None:
    aws = StubbedAws()
    stub_endpoint_models(
        aws, {"model-1": sm_model("model-1", containers=[GOOD_ENV, env])}, endpoint=in_service()
    )
    result = run_one(CHECK.id, CONFIG, aws, clock)
    assert result.status is expected, result.reason
    evidence = json.dumps(result.evidence, default=str)
    junit_xml = junit.to_string(GateReport((result,), 1.0))
    shown = "\n".join([result.reason, *result.details, evidence, junit_xml])
    assert SECRET not in shown
    assert "DB_PASSWORD" not in shown


# ---- --model-name-contains ----------------------------------------------------------------

DAY = timedelta(days=1)


def _list_models_params(token: str | None = None) -> dict:
    params = {"NameContains": PREFIX, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if token:
        params["NextToken"] = token
    return params


# (case, pages of ModelSummary, newest matching name or None, how many matched)
NEWEST_CASES = [
    (
        "sorted-and-filtered-by-aws",
        [[model_summary(f"{PREFIX}-dev-2", 2 * DAY), model_summary(f"{PREFIX}-dev-1", DAY)]],
        f"{PREFIX}-dev-2",
        2,
    ),
    (
        "unsorted-unfiltered-across-pages",
        [
            [
                model_summary(f"{PREFIX}-dev-20240102", DAY),
                model_summary("someOtherModel-dev-99", 90 * DAY),  # newest, wrong name
                model_summary(f"{PREFIX}-dev-20240301", 60 * DAY),
            ],
            [model_summary(f"{PREFIX}-dev-20240201", 30 * DAY)],
        ],
        f"{PREFIX}-dev-20240301",
        3,
    ),
    (
        "newest-is-on-the-last-page",
        [
            [model_summary(f"{PREFIX}-a", DAY)],
            [model_summary(f"{PREFIX}-b", 2 * DAY)],
            [model_summary(f"{PREFIX}-c", 3 * DAY)],
        ],
        f"{PREFIX}-c",
        3,
    ),
    (
        # botocore gives CreationTime in the local time zone: across a DST change the UTC
        # offsets differ, and 01:10-05:00 (06:10Z) is later than 01:30-04:00 (05:30Z).
        "across-a-dst-change",
        [
            [
                model_summary(
                    f"{PREFIX}-before-dst-end",
                    datetime(2024, 11, 3, 1, 30, tzinfo=timezone(timedelta(hours=-4))),
                ),
                model_summary(
                    f"{PREFIX}-after-dst-end",
                    datetime(2024, 11, 3, 1, 10, tzinfo=timezone(timedelta(hours=-5))),
                ),
            ]
        ],
        f"{PREFIX}-after-dst-end",
        2,
    ),
]


@pytest.mark.parametrize(
    ("pages", "newest", "matched"),
    [case[1:] for case in NEWEST_CASES],
    ids=[case[0] for case in NEWEST_CASES],
)
def test_newest_model_by_name_is_chosen_client_side(
    aws: StubbedAws, pages, newest, matched
) -> None:
    config = GateConfig(model_name_contains=PREFIX)
    for i, models in enumerate(pages):
        response: dict = {"Models": models}
        if i + 1 < len(pages):
            response["NextToken"] = f"page-{i + 2}"
        aws.respond(
            "sagemaker",
            "list_models",
            response,
            _list_models_params(f"page-{i + 1}" if i else None),
        )
    aws.respond("sagemaker", "describe_model", sm_model(newest, GOOD_ENV), {"ModelName": newest})
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is Status.PASS, result.reason
    assert result.evidence["models"] == [newest]
    assert f"checked: newest of {matched} model(s) matching {PREFIX!r}" in result.details
    aws.assert_done()


def test_no_model_matching_the_name_fails(aws: StubbedAws) -> None:
    aws.respond(
        "sagemaker",
        "list_models",
        {"Models": [model_summary("someOtherModel", DAY)]},
        _list_models_params(),
    )
    result = CHECK.run(make_ctx(GateConfig(model_name_contains=PREFIX), aws))
    assert result.status is Status.FAIL
    assert f"no model name contains {PREFIX!r}" in result.reason


def test_missing_endpoint_is_pending_within_grace(aws: StubbedAws, clock: FakeClock) -> None:
    for _ in range(2):
        aws.fail("sagemaker", "describe_endpoint", "ValidationException", "Could not find endpoint")
    ctx = make_ctx(CONFIG, aws, clock)
    assert CHECK.run(ctx).status is Status.PENDING
    clock.advance(CONFIG.endpoint_grace + 1)
    assert CHECK.run(ctx).status is Status.FAIL


def test_endpoint_config_naming_no_model_is_an_error(aws: StubbedAws) -> None:
    # A variant names no model: which model serves there is not known...
    aws.respond("sagemaker", "describe_endpoint", in_service())
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        {
            "EndpointConfigName": "cfg-1",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/cfg-1",
            "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.c5.large"}],
            "CreationTime": datetime(2024, 1, 1, tzinfo=timezone.utc),
        },
    )
    # ... and serves no inference component either.
    aws.respond("sagemaker", "list_inference_components", {"InferenceComponents": []})
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.ERROR
    assert "cfg-1/AllTraffic name no model and serve no inference component" in result.reason


# (case, failing operation, IAM action named)
ERROR_CASES = [
    ("list-models-denied", "list_models", "sagemaker:ListModels"),
    ("describe-model-denied", "describe_model", "sagemaker:DescribeModel"),
]


@pytest.mark.parametrize(
    ("operation", "action"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_access_denied_is_error_naming_the_action(operation, action, clock: FakeClock) -> None:
    config = GateConfig(model_name_contains=PREFIX)

    def stub() -> StubbedAws:
        aws = StubbedAws()
        if operation == "describe_model":
            aws.respond("sagemaker", "list_models", {"Models": [model_summary(f"{PREFIX}-1", DAY)]})
        aws.fail("sagemaker", operation, "AccessDeniedException", f"not authorized: {action}")
        return aws

    with pytest.raises(ClientError):
        CHECK.run(make_ctx(config, stub()))
    result = run_one(CHECK.id, config, stub(), clock)
    assert result.status is Status.ERROR
    assert f"AccessDenied calling {action}" in result.reason


@mock_aws
@pytest.mark.parametrize(
    ("env", "expected"),
    [(GOOD_ENV, Status.PASS), ({"SOC2_COMPLIANT": "true"}, Status.FAIL)],
    ids=["markers-present", "marker-missing"],
)
def test_moto_newest_model_by_name(env, expected) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    for name, environment in (
        (f"{PREFIX}-dev-20240101000000", GOOD_ENV),
        ("unrelatedModel", {}),
        (f"{PREFIX}-dev-20240102000000", env),
    ):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-exec",
            PrimaryContainer={"Image": "img", "Environment": environment},
        )
    config = GateConfig(model_name_contains=PREFIX)
    result = CHECK.run(make_ctx(config, lambda s: boto3.client(s, region_name="us-east-1")))
    assert result.status is expected, result.reason
    assert result.evidence["models"] == [f"{PREFIX}-dev-20240102000000"]
