"""CloudWatch log excerpts: redaction, reading the newest streams, and never changing a verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from unit_fakes import (
    ACCOUNT,
    ENDPOINT,
    GOOD_ENV,
    REGION,
    FakeClock,
    StubbedAws,
    make_ctx,
    run_one,
    sm_endpoint,
    sm_endpoint_config,
    sm_model,
    variant,
)

from soc2gate.checks.sagemaker import _logs
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import SagemakerEndpointStatus
from soc2gate.config import GateConfig
from soc2gate.models import Status

GROUP = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
CHECK = SagemakerEndpointStatus()
CONFIG = GateConfig(endpoint=ENDPOINT)
HEALTH = (
    "The primary container for production variant AllTraffic did not pass the ping health check."
)
DB_SECRET = "Pr0d-db-s3cret-value"

# (case, line, expected after redaction)
REDACT_CASES = [
    ("env-assignment", f"DB_PASSWORD={DB_SECRET} rest", "DB_PASSWORD=*** rest"),
    ("lower-case", "db_password = hunter22", "db_password = ***"),
    ("colon", "Token: abc.def.ghi", "Token: ***"),
    ("json", '{"api_key": "sk-live-123", "n": 1}', '{"api_key": "***", "n": 1}'),
    ("quoted-with-spaces", 'secret="two words" next', 'secret="***" next'),
    ("aws-key-name", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=***"),
    (
        "credential-in-url",
        "GET /x?X-Amz-Credential=abc%2F2024 HTTP/1.1",
        "GET /x?X-Amz-Credential=*** HTTP/1.1",
    ),
    ("access-key-id", "using AKIAIOSFODNN7EXAMPLE now", "using *** now"),
    ("session-key-id", "ASIAY34FZKBOKMUTVV7A", "***"),
    ("bearer", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Authorization: Bearer ***"),
    (
        "url-password",
        "postgresql://app:hunter22@db:5432/models",
        "postgresql://app:***@db:5432/models",
    ),
    ("private-key", "-----BEGIN RSA PRIVATE KEY----- MIIEow", "-----BEGIN PRIVATE KEY----- ***"),
    # Not secrets: exception names and ordinary text stay readable for troubleshooting.
    ("key-error", "KeyError: 'model_path'", "KeyError: 'model_path'"),
    (
        "plain",
        "[ERROR] Worker (pid:27) exited with code 3",
        "[ERROR] Worker (pid:27) exited with code 3",
    ),
    ("known-value", f"connecting with {DB_SECRET} now", "connecting with *** now"),
]


@pytest.mark.parametrize(
    ("line", "expected"), [c[1:] for c in REDACT_CASES], ids=[c[0] for c in REDACT_CASES]
)
def test_redact(line: str, expected: str) -> None:
    assert _logs.redact(line, {DB_SECRET}) == expected


def test_model_secrets_are_every_non_marker_value_long_enough_to_be_one() -> None:
    envs = [
        {**GOOD_ENV, "DB_PASSWORD": DB_SECRET, "MODEL_SERVER_WORKERS": "2", "FLAG": "false"},
        {"API_URL": "https://feature-store.internal", "SHORT": "abc", "PORT": "80808080"},
    ]
    assert _logs.model_secrets(envs, GOOD_ENV) == {DB_SECRET, "https://feature-store.internal"}


# ---- reading the log group ----------------------------------------------------------------------


def streams(*names: str) -> dict[str, Any]:
    return {
        "logStreams": [
            {"logStreamName": n, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:{n}"}
            for n in names
        ]
    }


def events(*messages: tuple[int, str]) -> dict[str, Any]:
    return {
        "events": [{"timestamp": t, "message": m, "ingestionTime": t} for t, m in messages],
        "nextForwardToken": "f/1",
        "nextBackwardToken": "b/1",
    }


def streams_params() -> dict[str, Any]:
    return {
        "logGroupName": GROUP,
        "orderBy": "LastEventTime",
        "descending": True,
        "limit": _logs.MAX_STREAMS,
    }


def events_params(stream: str, limit: int) -> dict[str, Any]:
    return {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": False, "limit": limit}


def test_last_lines_of_the_newest_stream(aws: StubbedAws) -> None:
    aws.respond("logs", "describe_log_streams", streams("AllTraffic/i-new"), streams_params())
    lines = [(1000 + i, f"line {i}") for i in range(5)]
    aws.respond("logs", "get_log_events", events(*lines), events_params("AllTraffic/i-new", 3))
    out = _logs.excerpt(aws("logs"), ENDPOINT, 3)
    assert out == [f"last 3 CloudWatch log lines ({GROUP}):", "  line 2", "  line 3", "  line 4"]
    aws.assert_done()


def test_streams_are_read_newest_first_until_enough_lines_and_merged_by_time(
    aws: StubbedAws,
) -> None:
    aws.respond(
        "logs", "describe_log_streams", streams("A/i-1", "A/i-2", "A/i-3"), streams_params()
    )
    aws.respond(
        "logs", "get_log_events", events((10, "one-a"), (30, "one-b")), events_params("A/i-1", 3)
    )
    aws.respond("logs", "get_log_events", events((20, "two-a")), events_params("A/i-2", 1))
    out = _logs.excerpt(aws("logs"), ENDPOINT, 3)
    # The third stream is never read: three lines were enough.
    assert out[1:] == ["  [A/i-1] one-a", "  [A/i-2] two-a", "  [A/i-1] one-b"]
    aws.assert_done()


def test_multi_line_events_count_as_lines_and_control_characters_are_removed(
    aws: StubbedAws,
) -> None:
    aws.respond("logs", "describe_log_streams", streams("s"), streams_params())
    message = "Traceback:\n  File x\x1b[31m\x07\nValueError: DB_PASSWORD=abc"
    aws.respond("logs", "get_log_events", events((1, message)), events_params("s", 2))
    out = _logs.excerpt(aws("logs"), ENDPOINT, 2)
    assert out[1:] == ["    File x", "  ValueError: DB_PASSWORD=***"]


def test_an_empty_page_with_a_new_token_is_read_past(aws: StubbedAws) -> None:
    aws.respond("logs", "describe_log_streams", streams("s"), streams_params())
    aws.respond(
        "logs", "get_log_events", {"events": [], "nextBackwardToken": "b/2"}, events_params("s", 5)
    )
    aws.respond(
        "logs", "get_log_events", events((5, "late")), {**events_params("s", 5), "nextToken": "b/2"}
    )
    assert _logs.excerpt(aws("logs"), ENDPOINT, 5)[1:] == ["  late"]
    aws.assert_done()


# (case, how DescribeLogStreams answers, the note's words)
UNREADABLE_CASES = [
    (
        "no-group",
        ("fail", "ResourceNotFoundException", "The specified log group does not exist."),
        "the log group does not exist",
    ),
    (
        "access-denied",
        ("fail", "AccessDeniedException", "not authorized to perform: logs:DescribeLogStreams"),
        "AccessDenied calling logs:DescribeLogStreams",
    ),
    ("no-streams", ("respond", {"logStreams": []}), "no CloudWatch log streams"),
]


@pytest.mark.parametrize(
    ("answer", "words"), [c[1:] for c in UNREADABLE_CASES], ids=[c[0] for c in UNREADABLE_CASES]
)
def test_unreadable_logs_become_one_note(aws: StubbedAws, answer, words) -> None:
    if answer[0] == "fail":
        aws.fail("logs", "describe_log_streams", answer[1], answer[2])
    else:
        aws.respond("logs", "describe_log_streams", answer[1])
    out = _logs.excerpt(aws("logs"), ENDPOINT, 50)
    assert len(out) == 1 and words in out[0]


def test_zero_lines_reads_nothing(aws: StubbedAws) -> None:
    assert _logs.excerpt(aws("logs"), ENDPOINT, 0) == []
    assert aws.calls == []


# ---- sagemaker-endpoint-status attaches them -------------------------------------------------


def stub_failed_endpoint(aws: StubbedAws, status: str = "Failed") -> None:
    aws.respond(
        "sagemaker",
        "describe_endpoint",
        sm_endpoint(status=status, failure=HEALTH),
        {"EndpointName": ENDPOINT},
    )


def stub_models(aws: StubbedAws, env: dict[str, str]) -> None:
    aws.respond(
        "sagemaker",
        "describe_endpoint_config",
        sm_endpoint_config("cfg-1", [variant(model="model-1")]),
        {"EndpointConfigName": "cfg-1"},
    )
    aws.respond("sagemaker", "describe_model", sm_model("model-1", env), {"ModelName": "model-1"})


FAILURE_LINES = (
    (1, "[INFO] Booting worker with pid: 27"),
    (2, f"[DEBUG] env DB_PASSWORD={DB_SECRET}"),
    (3, f"[INFO] feature store login with {DB_SECRET}"),
    (4, "[ERROR] Reason: Worker failed to boot."),
)


def test_failed_endpoint_gets_the_redacted_log_lines(aws: StubbedAws) -> None:
    stub_failed_endpoint(aws)
    stub_models(aws, {**GOOD_ENV, "DB_PASSWORD": DB_SECRET})
    aws.respond("logs", "describe_log_streams", streams("AllTraffic/i-1"), streams_params())
    aws.respond(
        "logs", "get_log_events", events(*FAILURE_LINES), events_params("AllTraffic/i-1", 50)
    )
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.FAIL
    assert result.reason.endswith(f"FailureReason: {HEALTH}")
    assert result.details == (
        f"last 4 CloudWatch log lines ({GROUP}):",
        "  [INFO] Booting worker with pid: 27",
        "  [DEBUG] env DB_PASSWORD=***",
        "  [INFO] feature store login with ***",
        "  [ERROR] Reason: Worker failed to boot.",
    )
    assert DB_SECRET not in repr(result)
    aws.assert_done()


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AccessDeniedException", "AccessDenied calling logs:DescribeLogStreams"),
        ("ResourceNotFoundException", "the log group does not exist"),
    ],
)
def test_unreadable_logs_never_change_the_verdict(clock: FakeClock, code: str, words: str) -> None:
    aws = StubbedAws()
    stub_failed_endpoint(aws)
    stub_models(aws, GOOD_ENV)
    aws.fail("logs", "describe_log_streams", code, "no")
    result = run_one(CHECK.id, CONFIG, aws, clock)
    assert result.status is Status.FAIL
    assert result.reason.endswith(f"FailureReason: {HEALTH}")
    assert len(result.details) == 1
    assert result.details[0].startswith(f"CloudWatch logs not attached: could not read {GROUP}")
    assert words in result.details[0]


def test_unreadable_models_still_redact_by_pattern(aws: StubbedAws) -> None:
    stub_failed_endpoint(aws)
    aws.fail("sagemaker", "describe_endpoint_config", "AccessDeniedException", "no")
    aws.respond("logs", "describe_log_streams", streams("s"), streams_params())
    aws.respond("logs", "get_log_events", events(*FAILURE_LINES), events_params("s", 50))
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.status is Status.FAIL
    assert "  [DEBUG] env DB_PASSWORD=***" in result.details


@pytest.mark.parametrize("status", ["InService", "Creating"])
def test_no_logs_are_read_unless_the_endpoint_failed(aws: StubbedAws, status: str) -> None:
    aws.respond(
        "sagemaker", "describe_endpoint", sm_endpoint(status=status), {"EndpointName": ENDPOINT}
    )
    result = CHECK.run(make_ctx(CONFIG, aws))
    assert result.details == ()
    assert aws.calls == ["DescribeEndpoint"]


def test_log_lines_zero_turns_the_excerpt_off(aws: StubbedAws) -> None:
    stub_failed_endpoint(aws)
    result = CHECK.run(make_ctx(replace(CONFIG, log_lines=0), aws))
    assert result.status is Status.FAIL and result.details == ()
    assert aws.calls == ["DescribeEndpoint"]
