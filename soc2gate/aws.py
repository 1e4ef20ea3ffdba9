"""AWS client factory and the classification of AWS errors (transient, access, other).

Standard configuration just works: AWS_REGION / AWS_DEFAULT_REGION, AWS_PROFILE, the credential
chain, and AWS_ENDPOINT_URL (botocore reads it itself), so tests and the demo point the gate at a
moto server without any special flag.
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import botocore.exceptions

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
    "DescribeImageSigningStatus": "ecr",
    "ListImageReferrers": "ecr",
    "GetRevocationStatus": "signer-data",
    "DescribeEndpoint": "sagemaker",
    "DescribeEndpointConfig": "sagemaker",
    "DescribeModel": "sagemaker",
    "DescribeModelPackage": "sagemaker",
    "ListInferenceComponents": "sagemaker",
    "DescribeInferenceComponent": "sagemaker",
    "ListModels": "sagemaker",
    "DescribeModelCard": "sagemaker",
    "DescribeAlarms": "cloudwatch",
    "DescribeScalableTargets": "application-autoscaling",
    "DescribeKey": "kms",
    "DescribeLogStreams": "logs",
    "GetLogEvents": "logs",
    "ListCoverage": "inspector2",
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
#: Codes botocore's standard mode also treats as transient (besides throttling and 5xx).
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
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


class TruncatedResponseError(botocore.exceptions.IncompleteReadError):
    """The response body ended before its Content-Length: the connection dropped mid-answer.

    botocore reads bodies with urllib3's length check off, so a cut-off JSON answer would
    otherwise be parsed as ``{"message": "<half a body>"}``, a response with every field
    missing, and the check would fail on a KeyError (or worse, read "nothing there").
    """

    fmt = (
        "the {operation} response was cut off after {actual_bytes} of {expected_bytes} bytes "
        "(connection dropped)"
    )


class MalformedResponseError(botocore.exceptions.BotoCoreError):
    """A 2xx answer the gate cannot read: not a JSON object, or values of the wrong type for the
    operation's output shape. AWS never sends that; a wrong AWS_ENDPOINT_URL, a captive portal
    or a broken proxy in between does. botocore would hand a non-JSON body on as
    ``{"message": body}`` (every field missing), and crash deep in its parser on a wrong type;
    the gate refuses to read anything from such an answer and says which call it was."""

    fmt = (
        "{operation} answered HTTP {status} with a body that is not the AWS JSON it should be "
        "({problem}): check AWS_ENDPOINT_URL and any HTTP proxy between the gate and AWS"
    )


TRIAL_PARSE_LIMIT = 64 * 1024


#: Operations whose decoded JSON is handed on as is, without botocore's shape parsing: pages of
#: up to 1,000 findings, where botocore would walk every member and build 4 datetimes per
#: finding that the gate never reads (BENCHMARKS.md, row 4b).
RAW_JSON_OPERATIONS = frozenset({"DescribeImageScanFindings"})


def _check_response_body(
    operation_model: Any, response_dict: Any, customized_response_dict: Any = None, **_: Any
) -> None:
    """botocore ``before-parse`` hook: refuse truncated and unreadable successful bodies."""
    if operation_model.has_streaming_output:
        return
    body = response_dict.get("body")
    if not isinstance(body, (bytes, bytearray)):
        return
    headers = response_dict.get("headers") or {}
    declared = str(headers.get("content-length", "")).strip()
    encoding = str(headers.get("content-encoding", "") or "identity").lower()
    if declared.isdigit() and len(body) < int(declared) and encoding == "identity":
        raise TruncatedResponseError(
            operation=operation_model.name, actual_bytes=len(body), expected_bytes=int(declared)
        )
    status = int(response_dict.get("status_code") or 0)
    protocol = operation_model.service_model.protocol
    if status >= 400 and protocol == "query" and b"<Error>" not in body[:512]:
        # A load balancer's or proxy's own error page in front of STS (a bare 429 "Too Many
        # Requests", an HTML page): botocore's XML parser would raise ResponseParserError,
        # which neither it nor the gate retries, or find no error code. Read it as the HTTP
        # error it is.
        response_dict["body"] = _query_error(status, bytes(body))
        return
    if not (200 <= status < 300 and protocol == "json" and operation_model.output_shape):
        return

    def malformed(problem: str) -> MalformedResponseError:
        return MalformedResponseError(
            operation=operation_model.name, status=status, problem=problem
        )

    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise malformed(
            f"{type(exc).__name__} at byte {getattr(exc, 'pos', '?')} of {len(body)}"
        ) from None
    if not isinstance(parsed, dict):
        raise malformed(f"a JSON {type(parsed).__name__}, not an object")
    if operation_model.name in RAW_JSON_OPERATIONS and customized_response_dict is not None:
        # The fast path skips botocore's parser, so it checks every value's type against the
        # output shape itself: exactly as strict as the slow path, never looser (a list or
        # `false` where an object belongs must not read as "no findings").
        problem = shape_problem(operation_model.output_shape, parsed)
        if problem:
            raise malformed(problem)
        # botocore merges customized_response_dict into what it parsed (here: nothing).
        customized_response_dict.update(parsed)
        response_dict["body"] = b"{}"
        return
    # A value of the wrong type (a string where a list belongs...) makes botocore's parser
    # raise AttributeError/TypeError from deep inside; parse once here to name the call instead.
    # Only for small bodies: a trial parse doubles the CPU of a 1,000-finding page (BENCHMARKS.md),
    # and a large malformed body still fails closed, as an ERROR naming the exception.
    if len(body) > TRIAL_PARSE_LIMIT:
        return
    import botocore.parsers

    try:
        botocore.parsers.create_parser(protocol).parse(response_dict, operation_model.output_shape)
    except Exception as exc:
        raise malformed(f"{type(exc).__name__}: {exc}"[:200]) from None


def _query_error(status: int, body: bytes) -> bytes:
    """A query-protocol error document for a non-AWS error body: 429 reads as throttling, 5xx
    as an internal failure (both transient), anything else as ``HTTP<status>``."""
    from xml.sax.saxutils import escape

    code = (
        "TooManyRequestsException"
        if status == 429
        else "InternalFailure"
        if status >= 500
        else f"HTTP{status}"
    )
    said = body[:120].decode("utf-8", "replace").strip() or "(empty body)"
    message = escape(f"HTTP {status} without an AWS error document: {said}")
    return (
        f"<ErrorResponse><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        "</ErrorResponse>"
    ).encode()


#: Checks one JSON value at a path: the problem, or None.
_Validator = Callable[[Any, str], "str | None"]
_VALIDATORS: dict[int, _Validator] = {}


def shape_problem(shape: Any, value: Any) -> str | None:
    """The first value in ``value`` whose JSON type does not fit ``shape``, or None.

    Structures must be objects, lists arrays, maps objects, strings strings, integers integral
    numbers (not booleans), doubles numbers, booleans booleans, timestamps numbers or strings.
    ``null`` is accepted wherever botocore's parser accepts it (it parses to None); the code
    that reads a field treats None as "could not read". Unknown members are ignored, as
    botocore ignores them (AWS adds fields over time).
    """
    return _validator(shape)(value, shape.name)


def _validator(shape: Any) -> _Validator:
    cached = _VALIDATORS.get(id(shape))
    if cached is not None:
        return cached
    kind = shape.type_name

    def scalar(types: tuple[type, ...], what: str) -> _Validator:
        def check(value: Any, path: str) -> str | None:
            if value is None or (isinstance(value, types) and not isinstance(value, bool)):
                return None
            return f"{path} is {_json_type(value)}, expected {what}"

        return check

    validator: _Validator
    if kind == "structure":
        members: dict[str, _Validator] = {}

        def structure(value: Any, path: str) -> str | None:
            if value is None:
                return None
            if not isinstance(value, dict):
                return f"{path} is {_json_type(value)}, expected an object"
            for key, item in value.items():
                member = members.get(key)
                if member is not None:
                    problem = member(item, f"{path}.{key}")
                    if problem:
                        return problem
            return None

        validator = structure
        _VALIDATORS[id(shape)] = validator  # before recursing: shapes may be recursive
        members.update({name: _validator(m) for name, m in shape.members.items()})
        return validator
    if kind == "list":
        item_check: list[_Validator] = []

        def array(value: Any, path: str) -> str | None:
            if value is None:
                return None
            if not isinstance(value, list):
                return f"{path} is {_json_type(value)}, expected an array"
            check = item_check[0]
            for i, item in enumerate(value):
                problem = check(item, f"{path}[{i}]")
                if problem:
                    return problem
            return None

        validator = array
        _VALIDATORS[id(shape)] = validator
        item_check.append(_validator(shape.member))
        return validator
    if kind == "map":
        value_check: list[_Validator] = []

        def mapping(value: Any, path: str) -> str | None:
            if value is None:
                return None
            if not isinstance(value, dict):
                return f"{path} is {_json_type(value)}, expected an object"
            check = value_check[0]
            for key, item in value.items():
                problem = check(item, f"{path}.{key}")
                if problem:
                    return problem
            return None

        validator = mapping
        _VALIDATORS[id(shape)] = validator
        value_check.append(_validator(shape.value))
        return validator
    if kind in ("string", "blob"):
        validator = scalar((str,), "a string")
    elif kind in ("integer", "long"):
        validator = scalar((int,), "an integer")
    elif kind in ("float", "double"):
        validator = scalar((int, float), "a number")
    elif kind == "timestamp":
        number = scalar((int, float), "a timestamp")

        def timestamp(value: Any, path: str) -> str | None:
            if isinstance(value, str):
                # botocore's parser would parse it, and refuse text that is not a time.
                from botocore.utils import parse_timestamp

                try:
                    parse_timestamp(value)
                except Exception:
                    return f"{path} is {value[:40]!r}, not a timestamp"
                return None
            return number(value, path)

        validator = timestamp
    elif kind == "boolean":

        def boolean(value: Any, path: str) -> str | None:
            if value is None or isinstance(value, bool):
                return None
            return f"{path} is {_json_type(value)}, expected true or false"

        validator = boolean
    else:  # document and anything newer: no type to hold it to

        def anything(value: Any, path: str) -> str | None:
            return None

        validator = anything
    _VALIDATORS[id(shape)] = validator
    return validator


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


#: ``clients("ecr" + REGISTRY_SUFFIX)``: the client that reads the gated repository's registry.
REGISTRY_SUFFIX = "@registry"
#: ``clients(in_region("signer-data", "eu-west-1"))``: the service in another region (AWS
#: Signer answers for its own region's profiles only).
REGION_MARK = "@region:"


def in_region(service: str, region: str) -> str:
    """The ``clients`` key of ``service`` in ``region``."""
    return f"{service}{REGION_MARK}{region}"


def _registry_id_param(registry_id: str) -> Callable[..., None]:
    """botocore ``provide-client-params`` hook: name the registry on every call that takes a
    ``registryId`` (ECR's default is the caller's own registry)."""

    def add(params: dict[str, Any], model: Any, **_: Any) -> None:
        members = getattr(model.input_shape, "members", None) or {}
        if "registryId" in members:
            params.setdefault("registryId", registry_id)

    return add


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
        registry_id: str | None = None,
        registry_region: str | None = None,
        registry_role_arn: str | None = None,
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
        self._session_name = session_name
        self._assumed = False
        # Roles are assumed from the gate's own credentials (the profile or the chain), before
        # any target role: a central registry's role trusts the CI identity.
        self._base_session = self._session
        self.registry_id = registry_id
        #: The caller named the registry at all (a --registry-region equal to the region names
        #: the caller's own registry there: read as without it, never refused).
        self._registry_named = bool(registry_id or registry_region or registry_role_arn)
        self.registry_region = registry_region or self.region
        self.registry_role_arn = registry_role_arn
        self._registry_session: Any = None

    def _assume_role(self) -> None:
        """Switch the session to the target role's credentials."""
        self._session = self._assumed_session(str(self.role_arn), self._session_name)
        self._assumed = True

    def _assumed_session(self, role_arn: str, session_name: str) -> Any:
        """A session with ``role_arn``'s credentials, refreshed before they expire.

        AssumeRole credentials last an hour by default and --timeout has no cap, so a long
        wait must not outlive them: botocore's refreshable credentials call AssumeRole again
        when the current set is within 15 minutes of its expiry (the AWS CLI does the same).
        """
        import boto3
        import botocore.credentials
        import botocore.session

        base = self._base_session
        source = base.get_credentials()
        if source is None:
            raise botocore.exceptions.NoCredentialsError()

        def sts_client(service: str, **kwargs: Any) -> Any:
            # The STS client AssumeRole (and every refresh) runs on: the gate's retries and
            # answer checks, as for its other clients.
            client = base._session.create_client(service, config=self._config, **kwargs)
            client.meta.events.register("before-parse", _check_response_body)
            return client

        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=sts_client,
            source_credentials=source,
            role_arn=role_arn,
            extra_args={"RoleSessionName": session_name},
        )
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        core = botocore.session.Session()
        core._credentials = credentials
        return boto3.session.Session(botocore_session=core, region_name=self.region)

    def _registry_client(self, service: str) -> Any:
        """``service`` (ecr, inspector2) as it reads the gated registry: in the registry's region,
        with the registry role when there is one, and ``registryId`` on every call that takes it,
        so no read can fall back to the caller's own registry."""
        if not self._registry_named:
            # A factory built without the target's registry would read the caller's own.
            raise ConfigError(
                "these AWS clients were built without a registry (registry_id, "
                "registry_region, registry_role_arn), but a check asked for the gated "
                "registry's: build AwsClients with the target's registry settings"
            )
        session = self._session
        if self.registry_role_arn:
            if self._registry_session is None:
                name = f"{self._session_name}-registry"[:64]
                self._registry_session = self._assumed_session(self.registry_role_arn, name)
            session = self._registry_session
        client = session.client(service, region_name=self.registry_region, config=self._config)
        if self.registry_id:
            client.meta.events.register(
                f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}",
                _registry_id_param(self.registry_id),
            )
        return client

    def __call__(self, service: str) -> Any:
        """The client for ``service``; ``"<service>@registry"`` is the one that reads the gated
        repository's registry (see ``_registry_client``)."""
        with self._lock:
            if self.role_arn and not self._assumed:
                self._assume_role()
            client = self._clients.get(service)
            if client is None:
                if service.endswith(REGISTRY_SUFFIX):
                    client = self._registry_client(service.removesuffix(REGISTRY_SUFFIX))
                elif REGION_MARK in service:
                    name, region = service.split(REGION_MARK, 1)
                    client = self._session.client(name, region_name=region, config=self._config)
                else:
                    client = self._session.client(service, config=self._config)
                client.meta.events.register("before-parse", _check_response_body)
                self._clients[service] = client
                # A client brings hundreds of thousands of long-lived objects (service models,
                # botocore modules); taking them out of the collector's generations saves its
                # full scans about 0.1 s per gate process (BENCHMARKS.md).
                gc.freeze()
            return client


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


_DENIED_ACTION = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)")


def denied_action(message: str) -> str:
    """The IAM action an AccessDenied message says was refused ("... is not authorized to
    perform: inspector2:ListCoverage on resource: ..."), or ""."""
    match = _DENIED_ACTION.search(message or "")
    return match.group(1) if match else ""


#: Operations whose IAM action is not ``service:Operation`` (iam_actions.REVIEWED and the IAM
#: dataset say so; tests/unit/test_iam_policy.py checks they agree).
ACTION_OF_OPERATION = {
    "ListImageReferrers": "ecr:BatchGetImage",
    "GetRevocationStatus": "signer:GetRevocationStatus",
}


def iam_action(exc: BaseException) -> str:
    """``service:Operation`` of the call that raised, when known."""
    operation = getattr(exc, "operation_name", "") or ""
    if operation in ACTION_OF_OPERATION:
        return ACTION_OF_OPERATION[operation]
    service = OPERATION_SERVICE.get(operation)
    return f"{service}:{operation}" if service else operation


def is_transient(exc: BaseException) -> bool:
    """Worth another try: throttling, 5xx, 429, a dropped or truncated connection.

    Not transient: AccessDenied, bad token, validation errors, and an endpoint that refuses
    connections (botocore has already retried that; waiting longer would hide a wrong URL).
    """
    import botocore.exceptions as bex

    if isinstance(exc, bex.ClientError):
        code = error_code(exc)
        return (
            code in THROTTLING_CODES
            or code in TRANSIENT_CODES
            or http_status(exc) in (429, 500, 502, 503, 504)
        )
    transient_types: tuple[type[BaseException], ...] = (
        bex.ConnectionClosedError,
        bex.ReadTimeoutError,
        bex.ResponseStreamingError,
        bex.IncompleteReadError,
    )
    return isinstance(exc, transient_types)


# AWS's SignatureDoesNotMatch / InvalidSignatureException messages quote the canonical request,
# and with it the x-amz-security-token header of the call: the session token must not reach a
# CI log or a JUnit artifact. Everything from "The Canonical String ..." on is dropped, and any
# token value that is left is replaced.
_SIGNING_DETAILS = re.compile(
    r"\s*The (?:Canonical String|String-to-Sign) for this request should have been.*",
    re.IGNORECASE | re.DOTALL,
)
_TOKEN_VALUE = re.compile(
    r"((?:x-amz-security-token|X-Amz-Security-Token|SessionToken|aws_session_token)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s'\"&,;]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """An AWS error message without the signing details and credential values it may quote."""
    return _TOKEN_VALUE.sub(r"\1<redacted>", _SIGNING_DETAILS.sub("", text)).strip()


def aws_message(exc: BaseException) -> str:
    """The message AWS sent with a ClientError, redacted (see ``redact``)."""
    response = getattr(exc, "response", None) or {}
    return redact(str(response.get("Error", {}).get("Message", "")))


def describe_error(exc: BaseException) -> str:
    """One line that says what went wrong with an AWS call and what to do about it."""
    import botocore.exceptions as bex

    if isinstance(exc, bex.ClientError):
        code = error_code(exc)
        message = aws_message(exc)
        action = iam_action(exc)
        if code in ACCESS_CODES:
            needed = denied_action(message)
            if needed and needed.lower() != action.lower():
                # The call was refused for another action it needs (DescribeImageScanFindings
                # under enhanced scanning needs inspector2:ListCoverage): grant that one, which
                # the role lacks, not the one it called, which it may well have.
                return (
                    f"AccessDenied calling {action}: AWS refused {needed}, which that call "
                    f"needs: grant {needed} to the gate's role (see examples/iam-policy.json). "
                    f"AWS said: {message}"
                )
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
    if isinstance(exc, (TruncatedResponseError, MalformedResponseError)):
        return str(exc)
    if isinstance(exc, bex.ParamValidationError):
        return f"invalid request parameters: {exc}"
    if isinstance(exc, bex.BotoCoreError):
        return f"AWS call failed: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
