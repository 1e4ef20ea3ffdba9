"""sagemaker-endpoint-config: allowed instance types on every variant of the current config(s)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import (
    ENDPOINT,
    FakeClock,
    StubbedAws,
    make_ctx,
    run_one,
    sm_endpoint,
    sm_endpoint_config,
    variant,
)

from soc2gate.checks.sagemaker.sagemaker_endpoint_config import SagemakerEndpointConfig
from soc2gate.config import GateConfig
from soc2gate.models import Status

CHECK = SagemakerEndpointConfig()
CONFIG = GateConfig(endpoint=ENDPOINT)  # allowed: ml.c5.large (the default)


def in_service(config: str = "cfg-1") -> dict:
    """DescribeEndpoint of an endpoint InService and settled on ``config``."""
    out = sm_endpoint(config=config)
    out["ProductionVariants"] = [
        {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    ]
    return out


# (case, production variants, shadow variants, allowed types, expected, words in the reason)
VARIANT_CASES = [
    ("allowed", [variant()], [], None, Status.PASS, ["all 1 variant(s)", "ml.c5.large"]),
    (
        "two-allowed",
        [variant("A"), variant("B", instance_type="ml.m5.large")],
        [],
        ("ml.c5.large", "ml.m5.large"),
        Status.PASS,
        ["all 2 variant(s)"],
    ),
    (
        "gpu-not-allowed",
        [variant(instance_type="ml.g5.xlarge")],
        [],
        None,
        Status.FAIL,
        ["cfg-1/AllTraffic uses ml.g5.xlarge", "(allowed: ml.c5.large)"],
    ),
    (
        "one-of-two-bad",
        [variant("A"), variant("B", instance_type="ml.p3.2xlarge")],
        [],
        None,
        Status.FAIL,
        ["cfg-1/B uses ml.p3.2xlarge"],
    ),
    (
        "serverless",
        [variant(serverless=True)],
        [],
        None,
        Status.FAIL,
        ["cfg-1/AllTraffic is serverless"],
    ),
    (
        "instance-pool-bad",
        [variant(pools=("ml.c5.large", "ml.p4d.24xlarge"))],
        [],
        None,
        Status.FAIL,
        ["cfg-1/AllTraffic uses instance pool ml.p4d.24xlarge"],
    ),
    (
        "instance-pool-allowed",
        [variant(pools=("ml.c5.large",))],
        [],
        None,
        Status.PASS,
        ["all 1 variant(s)"],
    ),
    (
        "shadow-bad",
        [variant()],
        [variant("Shadow", instance_type="ml.g5.xlarge")],
        None,
        Status.FAIL,
        ["cfg-1/Shadow (shadow) uses ml.g5.xlarge"],
    ),
    (
        "no-instance-type",
        [variant(instance_type=None)],
        [],
        None,
        Status.ERROR,
        ["could not read the InstanceType of cfg-1/AllTraffic"],
    ),
    (
        "bad-type-and-unreadable-type",
        [variant("A", instance_type="ml.g5.xlarge"), variant("B", instance_type=None)],
        [],
        None,
        Status.FAIL,
        ["cfg-1/A uses ml.g5.xlarge", "could not read the InstanceType of cfg-1/B"],
    ),
]


@pytest.mark.parametrize(
    ("variants", "shadow", "allowed", "expected", "words"),
    [case[1:] for case in VARIANT_CASES],
    ids=[case[0] for case in VARIANT_CASES],
)
def test_endpoint_config_table(aws: StubbedAws, variants, shadow, allowed, expected, words) -> None:
    config = GateConfig(endpoint=ENDPOINT, instance_types=allowed or CONFIG.instance_types)
    aws.respond("sagemaker", "describe_endpoint", in_service(), {"EndpointName": ENDPOINT})
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-1", variants, shadow),
        {"EndpointConfigName": "cfg-1"},
    )
    result = CHECK.run(make_ctx(config, aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert result.evidence["EndpointConfigNames"] == ["cfg-1"]
    aws.assert_done()


# (case, pending config variants, expected, words). While Updating, only the config being
# deployed (PendingDeploymentSummary) is judged: a bad one FAILs at once, a good one waits for
# InService; the current config, about to stop serving, is not judged.
UPDATE_CASES = [
    (
        "pending-config-disallowed",
        [variant(instance_type="ml.g5.12xlarge")],
        Status.FAIL,
        ["cfg-2/AllTraffic uses ml.g5.12xlarge"],
    ),
    (
        "pending-config-allowed",
        [variant()],
        Status.PENDING,
        ["is Updating (deploying endpoint config cfg-2)", "judged again once InService"],
    ),
]


@pytest.mark.parametrize(
    ("pending", "expected", "words"),
    [case[1:] for case in UPDATE_CASES],
    ids=[case[0] for case in UPDATE_CASES],
)
def test_config_being_deployed_during_an_update_is_judged_early(
    aws: StubbedAws, pending, expected, words
) -> None:
    aws.respond(
        "sagemaker",
        "describe_endpoint",
        sm_endpoint(status="Updating", config="cfg-1", pending_config="cfg-2"),
    )
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-2", pending),
        {"EndpointConfigName": "cfg-2"},
    )
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    assert result.evidence["EndpointConfigNames"] == ["cfg-2"]
    assert aws.calls == ["DescribeEndpoint", "DescribeEndpointConfig"]  # cfg-1 is not read
    aws.assert_done()


def test_endpoint_config_is_read_once_per_run(aws: StubbedAws) -> None:
    # Endpoint configs are immutable, so a second poll in the same run reuses the first answer.
    aws.respond("sagemaker", "describe_endpoint", in_service())
    aws.respond("sagemaker", "describe_endpoint_config", sm_endpoint_config())
    aws.respond("sagemaker", "describe_endpoint", in_service())
    ctx = make_ctx(CONFIG, aws)
    assert CHECK.run(ctx).status is Status.PASS
    assert CHECK.run(ctx).status is Status.PASS
    assert aws.calls == ["DescribeEndpoint", "DescribeEndpointConfig", "DescribeEndpoint"]
    aws.assert_done()


def test_missing_endpoint_is_pending_within_grace(aws: StubbedAws, clock: FakeClock) -> None:
    aws.fail("sagemaker", "describe_endpoint", "ValidationException", "Could not find endpoint x")
    aws.fail("sagemaker", "describe_endpoint", "ValidationException", "Could not find endpoint x")
    ctx = make_ctx(CONFIG, aws, clock)
    pending = CHECK.run(ctx)
    assert (pending.status, pending.state) == (Status.PENDING, "NotFound")
    clock.advance(CONFIG.endpoint_grace)
    assert CHECK.run(ctx).status is Status.FAIL


# (case, failing operation, IAM action the ERROR names)
ERROR_CASES = [
    ("describe-endpoint-denied", "describe_endpoint", "sagemaker:DescribeEndpoint"),
    ("describe-config-denied", "describe_endpoint_config", "sagemaker:DescribeEndpointConfig"),
]


@pytest.mark.parametrize(
    ("operation", "action"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_access_denied_is_error_naming_the_action(operation, action, clock: FakeClock) -> None:
    def stub() -> StubbedAws:
        aws = StubbedAws()
        if operation == "describe_endpoint_config":
            aws.respond("sagemaker", "describe_endpoint", in_service())
        aws.fail("sagemaker", operation, "AccessDeniedException", f"not authorized: {action}")
        return aws

    with pytest.raises(ClientError):
        CHECK.run(make_ctx(CONFIG, stub()))
    result = run_one(CHECK.id, CONFIG, stub(), clock)
    assert result.status is Status.ERROR
    assert f"AccessDenied calling {action}" in result.reason


@mock_aws
@pytest.mark.parametrize(
    ("instance_type", "expected"), [("ml.c5.large", Status.PASS), ("ml.g4dn.xlarge", Status.FAIL)]
)
def test_moto_endpoint_config(instance_type, expected) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(
        ModelName="model-1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-exec",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/r:latest"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="cfg-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-1",
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="cfg-1")
    result = CHECK.run(make_ctx(CONFIG, lambda s: boto3.client(s, region_name="us-east-1")))
    assert result.status is expected, result.reason
    assert instance_type in result.reason
