"""sagemaker-endpoint-status: every EndpointStatus, FailureReason, the not-found grace period."""

from __future__ import annotations

from dataclasses import replace

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from unit_fakes import ENDPOINT, FakeClock, StubbedAws, make_ctx, run_one, sm_endpoint

from soc2gate.checks.sagemaker.sagemaker_endpoint_status import SagemakerEndpointStatus
from soc2gate.config import GateConfig
from soc2gate.models import Status

CHECK = SagemakerEndpointStatus()
CONFIG = GateConfig(endpoint=ENDPOINT, endpoint_grace=600.0)
HEALTH = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)

# (case, EndpointStatus, FailureReason, expected status, expected words in the reason)
STATE_CASES = [
    ("in-service", "InService", None, Status.PASS, [f"{ENDPOINT} is InService"]),
    ("creating", "Creating", None, Status.PENDING, ["is Creating"]),
    ("updating", "Updating", None, Status.PENDING, ["is Updating"]),
    ("system-updating", "SystemUpdating", None, Status.PENDING, ["is SystemUpdating"]),
    ("failed", "Failed", HEALTH, Status.FAIL, ["is Failed", f"FailureReason: {HEALTH}"]),
    ("failed-no-reason", "Failed", None, Status.FAIL, ["AWS gave no FailureReason"]),
    (
        "rolling-back",
        "RollingBack",
        "Request to service failed. Rolling back.",
        Status.FAIL,
        ["is RollingBack", "FailureReason: Request to service failed. Rolling back."],
    ),
    ("rollback-failed", "UpdateRollbackFailed", None, Status.FAIL, ["is UpdateRollbackFailed"]),
    ("out-of-service", "OutOfService", None, Status.FAIL, ["is OutOfService"]),
    ("deleting", "Deleting", None, Status.FAIL, ["is Deleting"]),
    ("unknown", "Bogus", None, Status.ERROR, ["unknown status 'Bogus'", "known: "]),
]


@pytest.mark.parametrize(
    ("state", "failure", "expected", "words"),
    [case[1:] for case in STATE_CASES],
    ids=[case[0] for case in STATE_CASES],
)
def test_endpoint_status_table(aws: StubbedAws, state, failure, expected, words) -> None:
    response = sm_endpoint(status=state, failure=failure)
    response["ProductionVariants"] = [
        {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    ]
    aws.respond("sagemaker", "describe_endpoint", response, {"EndpointName": ENDPOINT})
    result = CHECK.run(make_ctx(replace(CONFIG, log_lines=0), aws))
    assert result.status is expected, result.reason
    for word in words:
        assert word in result.reason
    if expected is Status.PENDING:
        assert result.state == state
    assert result.evidence["EndpointStatus"] == state
    aws.assert_done()


def test_table_covers_every_endpoint_status_aws_defines() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    aws_states = set(model.shape_for("EndpointStatus").enum)
    assert aws_states == {case[1] for case in STATE_CASES if case[1] != "Bogus"}


# (case, seconds since the run started, expected status, expected words)
GRACE_CASES = [
    ("just-started", 0.0, Status.PENDING, "not found yet"),
    ("within-grace", 599.0, Status.PENDING, "not found yet"),
    ("grace-over", 600.0, Status.FAIL, "not found after waiting 10m00s"),
    ("long-after", 5000.0, Status.FAIL, "--endpoint-grace"),
]


@pytest.mark.parametrize(
    ("elapsed", "expected", "words"),
    [case[1:] for case in GRACE_CASES],
    ids=[case[0] for case in GRACE_CASES],
)
def test_missing_endpoint_waits_for_the_grace_period(
    aws: StubbedAws, clock: FakeClock, elapsed, expected, words
) -> None:
    aws.fail(
        "sagemaker",
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}".',
    )
    ctx = make_ctx(CONFIG, aws, clock)
    clock.advance(elapsed)
    result = CHECK.run(ctx)
    assert result.status is expected, result.reason
    assert words in result.reason
    if expected is Status.PENDING:
        assert result.state == "NotFound"


# (case, error code, message, IAM action or words the ERROR must name)
ERROR_CASES = [
    (
        "access-denied",
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ci/gate is not authorized to perform: "
        "sagemaker:DescribeEndpoint",
        "AccessDenied calling sagemaker:DescribeEndpoint",
    ),
    (
        "other-validation-error",
        "ValidationException",
        "1 validation error detected: Value 'bad name' at 'endpointName' failed to satisfy constraint",
        "DescribeEndpoint failed with ValidationException",
    ),
    ("expired-token", "ExpiredTokenException", "token expired", "credentials rejected"),
]


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_aws_errors_propagate_from_the_check_and_become_error(
    code, message, words, clock: FakeClock
) -> None:
    direct = StubbedAws().fail("sagemaker", "describe_endpoint", code, message)
    with pytest.raises(ClientError):
        CHECK.run(make_ctx(CONFIG, direct))

    gated = StubbedAws().fail("sagemaker", "describe_endpoint", code, message)
    result = run_one(CHECK.id, CONFIG, gated, clock)
    assert result.status is Status.ERROR
    assert words in result.reason
    gated.assert_done()


def _moto_clients(service: str):
    return boto3.client(service, region_name="us-east-1")


@mock_aws
def test_moto_endpoint_in_service_passes() -> None:
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
                "InstanceType": "ml.c5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="cfg-1")
    result = CHECK.run(make_ctx(CONFIG, _moto_clients))
    assert result.status is Status.PASS, result.reason
    assert result.evidence["EndpointConfigName"] == "cfg-1"


@mock_aws
def test_moto_missing_endpoint_is_pending_then_fails_after_grace(clock: FakeClock) -> None:
    ctx = make_ctx(CONFIG, _moto_clients, clock)
    assert CHECK.run(ctx).status is Status.PENDING
    clock.advance(CONFIG.endpoint_grace)
    assert CHECK.run(ctx).status is Status.FAIL
