"""AWS client factory and the classification of AWS errors (transient, access, other).

Standard configuration just works: AWS_REGION / AWS_DEFAULT_REGION, AWS_PROFILE, the credential
chain, and AWS_ENDPOINT_URL (botocore reads it itself), so tests and the demo point the gate at a
moto server without any special flag.
"""

from __future__ import annotations

import threading
from typing import Any

from soc2gate import __version__
from soc2gate.errors import ConfigError

# The IAM prefix of every operation the gate calls. Used to name the IAM action in an
# AccessDenied message, and kept in step with examples/iam-policy.json by a test.
OPERATION_SERVICE = {
    "DescribeRepositories": "ecr",
    "GetRegistryScanningConfiguration": "ecr",
    "BatchGetRepositoryScanningConfiguration": "ecr",
    "DescribeImages": "ecr",
    "DescribeImageScanFindings": "ecr",
    "BatchGetImage": "ecr",
    "GetDownloadUrlForLayer": "ecr",
    "DescribeEndpoint": "sagemaker",
    "DescribeEndpointConfig": "sagemaker",
    "DescribeModel": "sagemaker",
    "ListModels": "sagemaker",
    "DescribeLogStreams": "logs",
    "GetLogEvents": "logs",
    "AssumeRole": "sts",
}

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
    }
)
TOKEN_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "RequestExpired",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)


class AwsClients:
    """Creates one boto3 client per service, lazily and thread-safely, from one session.

    boto3 sessions are not thread-safe but clients are, so clients are made under a lock and
    then shared by the checks that run concurrently.
    """

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        max_attempts: int = 5,
        role_arn: str | None = None,
        session_name: str = "soc2gate",
    ) -> None:
        import os

        import boto3
        import botocore.config
        import botocore.exceptions

        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the AWS SDKs, CodeBuild and
        # aws-actions/configure-aws-credentials set, so both are honoured.
        region = region or os.environ.get("AWS_REGION") or None
        try:
            self._session = boto3.session.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise ConfigError(f"AWS profile not found: {exc.kwargs.get('profile')}") from None
        self.region = self._session.region_name
        if not self.region:
            raise ConfigError(
                "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"
            )
        self._config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra=f"soc2gate/{__version__}",
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.role_arn = role_arn
        if role_arn:
            # Fleets: a target in another account. The STS call runs on first use, inside a
            # check, so a refused AssumeRole is that target's ERROR, not a crash of the run.
            self._session_name = session_name
            self._assumed = False

    def _assume_role(self) -> None:
        import boto3

        sts = self._session.client("sts", config=self._config)
        creds = sts.assume_role(RoleArn=self.role_arn, RoleSessionName=self._session_name)[
            "Credentials"
        ]
        self._session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        )
        self._assumed = True

    def __call__(self, service: str) -> Any:
        with self._lock:
            if self.role_arn and not self._assumed:
                self._assume_role()
            client = self._clients.get(service)
            if client is None:
                client = self._session.client(service, config=self._config)
                self._clients[service] = client
            return client


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def iam_action(exc: BaseException) -> str:
    """``service:Operation`` of the call that raised, when known."""
    operation = getattr(exc, "operation_name", "") or ""
    service = OPERATION_SERVICE.get(operation)
    return f"{service}:{operation}" if service else operation


def is_transient(exc: BaseException) -> bool:
    """Worth another try: throttling, 5xx, 429, a dropped or truncated connection.

    Not transient: AccessDenied, bad token, validation errors, and an endpoint that refuses
    connections (botocore has already retried that; waiting longer would hide a wrong URL).
    """
    import botocore.exceptions as bex

    if isinstance(exc, bex.ClientError):
        return error_code(exc) in THROTTLING_CODES or http_status(exc) in (429, 500, 502, 503, 504)
    transient_types: tuple[type[BaseException], ...] = (
        bex.ConnectionClosedError,
        bex.ReadTimeoutError,
        bex.ResponseStreamingError,
        bex.IncompleteReadError,
    )
    return isinstance(exc, transient_types)


def describe_error(exc: BaseException) -> str:
    """One line that says what went wrong with an AWS call and what to do about it."""
    import botocore.exceptions as bex

    if isinstance(exc, bex.ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        action = iam_action(exc)
        if code in ACCESS_CODES:
            return (
                f"AccessDenied calling {action}: grant {action} to the gate's role "
                f"(see examples/iam-policy.json). AWS said: {message or code}"
            )
        if code in TOKEN_CODES:
            return (
                f"AWS credentials rejected ({code}) calling {action}: refresh the session "
                f"(expired or invalid token). AWS said: {message or code}"
            )
        return f"{action} failed with {code or 'HTTP ' + str(http_status(exc))}: {message}"
    if isinstance(exc, bex.NoCredentialsError):
        return (
            "no AWS credentials found: configure them the standard way (environment, profile, "
            "aws-actions/configure-aws-credentials, or the CodeBuild role)"
        )
    if isinstance(exc, bex.EndpointConnectionError):
        return f"cannot reach the AWS endpoint: {exc} (check AWS_ENDPOINT_URL, region, network)"
    if isinstance(exc, bex.ParamValidationError):
        return f"invalid request parameters: {exc}"
    if isinstance(exc, bex.BotoCoreError):
        return f"AWS call failed: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
