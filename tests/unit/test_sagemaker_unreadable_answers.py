"""Issue 10, hole 8 (audit): a SageMaker answer the verdict cannot read is ERROR "could not read".

A field the verdict reads that is missing, null or of the wrong type is never replaced by a
default ("" / [] / {}) that could pass or read as "nothing found". The answers come from moto
(``mock_aws``); a ``before-parse`` handler on the test's boto3 clients rewrites the JSON body
on its way in, as a broken proxy or a changed API would, and botocore's own parser then runs
on it (so only what botocore lets through is tested: missing keys, null list entries and map
values, scalars of the wrong type).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws
from unit_fakes import ENDPOINT, GOOD_ENV, FakeClock, run_one

from soc2gate.config import GateConfig
from soc2gate.models import Status

REGION = "us-east-1"
PREFIX = "defenderImageAnalyzerSOC2Hardened"
MODEL = f"{PREFIX}-dev-1"
CONFIG = GateConfig(endpoint=ENDPOINT, log_lines=0, timeout=60.0, poll_min=1.0, poll_max=1.0)
STATUS = "sagemaker-endpoint-status"
CONFIG_CHECK = "sagemaker-endpoint-config"
ENV_CHECK = "sagemaker-model-env"
SECRET = "s3cret-value-never-shown"

Rewrite = Callable[[dict[str, Any]], None]
#: One session for the module: service models are loaded once, not per client.
SESSION = boto3.session.Session(region_name=REGION)


def rewriting_clients(rewrites: Mapping[str, Rewrite]) -> Callable[[str], Any]:
    """A ``clients`` factory for moto whose answers to ``rewrites``' operations are rewritten."""
    made: dict[str, Any] = {}

    def rewrite(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        change = rewrites.get(operation_model.name)
        if change is None or response_dict.get("status_code") != 200:
            return
        body = json.loads(response_dict["body"])
        change(body)
        response_dict["body"] = json.dumps(body).encode()

    def clients(service: str) -> Any:
        if service not in made:
            client = SESSION.client(service)
            client.meta.events.register("before-parse", rewrite)
            made[service] = client
        return made[service]

    return clients


def seed(env: Mapping[str, str] | None = None) -> None:
    """A model, an endpoint config on ml.c5.large and an endpoint InService on it (moto)."""
    sm = SESSION.client("sagemaker")
    sm.create_model(
        ModelName=MODEL,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-exec",
        PrimaryContainer={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/r:latest",
            "Environment": dict(env or {**GOOD_ENV, "DB_PASSWORD": SECRET}),
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName="cfg-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": MODEL,
                "InstanceType": "ml.c5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="cfg-1")


def drop(*path: Any) -> Rewrite:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1], None)

    return change


def put(value: Any, *path: Any) -> Rewrite:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def updating_without_pending_name(body: dict[str, Any]) -> None:
    body["EndpointStatus"] = "Updating"
    body["PendingDeploymentSummary"] = {"StartTime": body["CreationTime"]}


VARIANT = ("ProductionVariants", 0)

# (case, check, operation, rewrite, words in the ERROR reason)
CASES = [
    (
        "endpoint-status-missing",
        STATUS,
        "DescribeEndpoint",
        drop("EndpointStatus"),
        [f"DescribeEndpoint {ENDPOINT!r}: EndpointStatus is missing"],
    ),
    (
        "endpoint-status-not-a-string",
        STATUS,
        "DescribeEndpoint",
        put(7, "EndpointStatus"),
        ["EndpointStatus is an integer, not a string"],
    ),
    (
        "endpoint-name-missing",
        STATUS,
        "DescribeEndpoint",
        drop("EndpointName"),
        ["EndpointName is missing"],
    ),
    (
        "variant-entry-null",
        STATUS,
        "DescribeEndpoint",
        put([None], "ProductionVariants"),
        ["ProductionVariants[0] is null, not an object"],
    ),
    (
        "production-variants-missing",
        STATUS,
        "DescribeEndpoint",
        drop("ProductionVariants"),
        ["could not read the variants", "reports no ProductionVariants"],
    ),
    (
        "instance-count-a-string",
        STATUS,
        "DescribeEndpoint",
        put("1", *VARIANT, "CurrentInstanceCount"),
        ["ProductionVariants[0].CurrentInstanceCount is a string, not an integer"],
    ),
    (
        "instance-count-negative",
        STATUS,
        "DescribeEndpoint",
        put(-1, *VARIANT, "CurrentInstanceCount"),
        ["CurrentInstanceCount is -1, below 0"],
    ),
    (
        "desired-count-missing",
        STATUS,
        "DescribeEndpoint",
        drop(*VARIANT, "DesiredInstanceCount"),
        ["could not read DesiredInstanceCount of variant AllTraffic"],
    ),
    (
        "failure-reason-not-a-string",
        STATUS,
        "DescribeEndpoint",
        put(5, "FailureReason"),
        ["FailureReason is an integer, not a string"],
    ),
    (
        "endpoint-config-name-missing",
        CONFIG_CHECK,
        "DescribeEndpoint",
        drop("EndpointConfigName"),
        ["could not read EndpointConfigName"],
    ),
    (
        "endpoint-config-name-missing-status",
        STATUS,
        "DescribeEndpoint",
        drop("EndpointConfigName"),
        ["could not read EndpointConfigName"],
    ),
    (
        "pending-summary-without-config-name",
        CONFIG_CHECK,
        "DescribeEndpoint",
        updating_without_pending_name,
        ["PendingDeploymentSummary.EndpointConfigName is missing"],
    ),
    (
        "config-variants-missing",
        CONFIG_CHECK,
        "DescribeEndpointConfig",
        drop("ProductionVariants"),
        ["DescribeEndpointConfig 'cfg-1': ProductionVariants is missing"],
    ),
    (
        "instance-type-a-number",
        CONFIG_CHECK,
        "DescribeEndpointConfig",
        put(5, *VARIANT, "InstanceType"),
        ["ProductionVariants[0].InstanceType is an integer, not a string"],
    ),
    (
        "instance-type-missing",
        CONFIG_CHECK,
        "DescribeEndpointConfig",
        drop(*VARIANT, "InstanceType"),
        ["could not read the InstanceType of cfg-1/AllTraffic"],
    ),
    (
        "environment-value-a-number",
        ENV_CHECK,
        "DescribeModel",
        put(5, "PrimaryContainer", "Environment", "SOC2_COMPLIANT"),
        ["PrimaryContainer.Environment holds an integer, not a string"],
    ),
    (
        "environment-value-null",
        ENV_CHECK,
        "DescribeModel",
        put(None, "PrimaryContainer", "Environment", "DB_PASSWORD"),
        ["PrimaryContainer.Environment holds null, not a string"],
    ),
    (
        "model-name-of-the-model-missing",
        ENV_CHECK,
        "DescribeModel",
        drop("ModelName"),
        [f"DescribeModel {MODEL!r}: ModelName is missing"],
    ),
]


@mock_aws
@pytest.mark.parametrize(
    ("check_id", "operation", "rewrite", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_unreadable_field_is_an_error_not_a_default(
    clock: FakeClock, check_id, operation, rewrite, words
) -> None:
    seed()
    result = run_one(check_id, CONFIG, rewriting_clients({operation: rewrite}), clock)
    assert result.status is Status.ERROR, result.reason
    assert "could not" in result.reason, result.reason
    for word in words:
        assert word in result.reason
    assert SECRET not in result.reason and "DB_PASSWORD" not in result.reason


@mock_aws
def test_a_variant_naming_no_model_is_read_as_inference_components(clock: FakeClock) -> None:
    """Without ModelName a variant hosts inference components, so the gate asks for them.
    In-process moto has no ListInferenceComponents: still an ERROR, never a pass. (MotoWorld
    serves the API: tests/e2e/test_deployment_shapes_e2e.py covers the verdicts.)"""
    seed()
    clients = rewriting_clients({"DescribeEndpointConfig": drop(*VARIANT, "ModelName")})
    result = run_one(ENV_CHECK, CONFIG, clients, clock)
    assert result.status is Status.ERROR, result.reason
    assert "list_inference_components" in result.reason
    assert SECRET not in result.reason


@mock_aws
def test_the_untouched_moto_answers_pass(clock: FakeClock) -> None:
    seed()
    clients = rewriting_clients({})
    for check_id in (STATUS, CONFIG_CHECK, ENV_CHECK):
        result = run_one(check_id, CONFIG, clients, clock)
        assert result.status is Status.PASS, (check_id, result.reason)


# (case, rewrite of the ListModels answer, words)
LIST_CASES = [
    ("models-missing", drop("Models"), "ListModels: Models is missing"),
    ("model-entry-null", put([None], "Models"), "ListModels: Models[0] is null, not an object"),
    (
        "creation-time-missing",
        drop("Models", 0, "CreationTime"),
        "Models[0].CreationTime is missing",
    ),
    ("model-name-missing", drop("Models", 0, "ModelName"), "Models[0].ModelName is missing"),
]


@mock_aws
@pytest.mark.parametrize(
    ("rewrite", "words"), [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES]
)
def test_newest_model_cannot_be_told_without_names_and_times(
    clock: FakeClock, rewrite, words
) -> None:
    seed()
    config = GateConfig(model_name_contains=PREFIX)
    result = run_one(ENV_CHECK, config, rewriting_clients({"ListModels": rewrite}), clock)
    assert result.status is Status.ERROR, result.reason
    assert result.reason.startswith("could not read the AWS answer: "), result.reason
    assert words in result.reason


@mock_aws
@pytest.mark.parametrize(
    "rewrite",
    [drop("PrimaryContainer", "Environment"), put(None, "PrimaryContainer", "Environment")],
    ids=["missing", "null"],
)
def test_an_omitted_environment_is_empty_so_the_markers_are_missing(
    clock: FakeClock, rewrite: Rewrite
) -> None:
    """Environment is optional and AWS omits it when empty (botocore drops a null member the
    same way): the markers are missing, a FAIL (exit 1), never "could not read" (issue 19,
    item 10)."""
    seed()
    result = run_one(ENV_CHECK, CONFIG, rewriting_clients({"DescribeModel": rewrite}), clock)
    assert result.status is Status.FAIL, result.reason
    assert f"{MODEL} PrimaryContainer: SOC2_COMPLIANT is missing" in result.reason
    assert "could not read" not in result.reason
