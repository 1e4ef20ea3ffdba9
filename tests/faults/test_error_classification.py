"""soc2gate.aws: which errors are retried, and what an AWS error message may not carry."""

from __future__ import annotations

import botocore.exceptions as bex
import pytest

from soc2gate.aws import (
    MalformedResponseError,
    TruncatedResponseError,
    describe_error,
    is_transient,
    redact,
)


def client_error(code: str, status: int = 400, message: str = "m") -> bex.ClientError:
    return bex.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "DescribeEndpoint",
    )


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("ThrottlingException"), True),
        (client_error("TooManyRequestsException"), True),
        (client_error("429", 429), True),
        (client_error("InternalFailure", 500), True),
        (client_error("503", 503), True),
        (client_error("RequestTimeout"), True),
        (client_error("RequestTimeoutException"), True),
        (bex.ConnectionClosedError(endpoint_url="http://x"), True),
        (bex.ReadTimeoutError(endpoint_url="http://x"), True),
        (TruncatedResponseError(operation="X", actual_bytes=1, expected_bytes=2), True),
        (client_error("AccessDeniedException"), False),
        (client_error("ExpiredTokenException"), False),
        (client_error("ValidationException"), False),
        (bex.EndpointConnectionError(endpoint_url="http://x"), False),
        (bex.NoCredentialsError(), False),
        (MalformedResponseError(operation="X", status=200, problem="p"), False),
        (KeyError("EndpointName"), False),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, bool) else str(v),
)
def test_transient_or_not(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should "
    "have been\n'POST\n/\n\nhost:ecr\nx-amz-security-token:FwoGZXIvYXdzEBAaDSECRET\n'\n\n"
    "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'"
)


@pytest.mark.parametrize(
    ("message", "kept", "gone"),
    [
        (SIGNATURE_MESSAGE, "does not match the signature", "FwoGZXIvYXdzEBAaDSECRET"),
        ("token x-amz-security-token: ABCSECRET is bad", "is bad", "ABCSECRET"),
        ('{"SessionToken": "ABCSECRET"}', "SessionToken", "ABCSECRET"),
        ("X-Amz-Security-Token=ABCSECRET&X-Amz-Date=1", "X-Amz-Date=1", "ABCSECRET"),
        ("User: arn:aws:sts::1:assumed-role/r is not authorized", "not authorized", "\n"),
    ],
)
def test_aws_messages_lose_credentials_and_signing_details(
    message: str, kept: str, gone: str
) -> None:
    text = redact(message)
    assert kept in text and gone not in text
    described = describe_error(client_error("InvalidSignatureException", message=message))
    assert gone not in described


def test_response_errors_describe_themselves() -> None:
    exc = MalformedResponseError(operation="DescribeModel", status=200, problem="a JSON list")
    assert describe_error(exc).startswith("DescribeModel answered HTTP 200")
    exc2 = TruncatedResponseError(operation="DescribeModel", actual_bytes=3, expected_bytes=9)
    assert describe_error(exc2) == (
        "the DescribeModel response was cut off after 3 of 9 bytes (connection dropped)"
    )
