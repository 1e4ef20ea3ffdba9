"""The runner: polling with injected sleep/clock, one deadline, errors -> ERROR, exit codes."""

from __future__ import annotations

import random
import re
import signal
import sys
import threading
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws
from unit_fakes import (
    ENDPOINT,
    REPO,
    FakeClock,
    StubbedAws,
    run_one,
    sm_endpoint,
)

from soc2gate.config import GateConfig
from soc2gate.exitcodes import ExitCode
from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.registry import all_checks
from soc2gate.runner import MAX_TRANSIENT_ERRORS, run_gate

STATUS_CHECK = "sagemaker-endpoint-status"
ENDPOINT_ONLY = GateConfig(endpoint=ENDPOINT, timeout=1800.0, poll_min=2.0, poll_max=6.0)


def gate(config: GateConfig, aws, clock: FakeClock, **kw) -> GateReport:
    return run_gate(config, clients=aws, sleep=clock.sleep, clock=clock, environ={}, **kw)


def endpoint_states(aws: StubbedAws, *states: str) -> None:
    for state in states:
        aws.respond(
            "sagemaker", "describe_endpoint", sm_endpoint(status=state), {"EndpointName": ENDPOINT}
        )


# (case, poll_min, poll_max, number of Creating answers before InService)
POLL_CASES = [
    ("defaults", 2.0, 6.0, 2),
    ("many-polls-cap-at-max", 2.0, 6.0, 9),
    ("fixed-interval", 1.0, 1.0, 5),
    ("slow-polling", 5.0, 30.0, 7),
]


@pytest.mark.parametrize(
    ("poll_min", "poll_max", "pending"),
    [c[1:] for c in POLL_CASES],
    ids=[c[0] for c in POLL_CASES],
)
def test_pending_check_is_polled_until_it_passes(
    aws: StubbedAws, clock: FakeClock, poll_min, poll_max, pending
) -> None:
    endpoint_states(aws, *["Creating"] * pending, "InService")
    lines: list[str] = []
    config = replace(ENDPOINT_ONLY, poll_min=poll_min, poll_max=poll_max)
    report = gate(replace(config, only=(STATUS_CHECK,)), aws, clock, progress=lines.append)
    (result,) = report.by_status(Status.PASS)
    assert result.check_id == STATUS_CHECK
    assert aws.calls == ["DescribeEndpoint"] * (pending + 1)
    assert len(clock.sleeps) == pending
    assert all(poll_min <= s <= poll_max for s in clock.sleeps), clock.sleeps
    assert result.duration == pytest.approx(sum(clock.sleeps))
    assert report.exit_code == ExitCode.PASSED
    # One progress line when the state is first seen, not one per poll.
    assert sum("Creating: endpoint" in line for line in lines) == 1
    aws.assert_done()


def test_backoff_grows_towards_poll_max(aws: StubbedAws, clock: FakeClock) -> None:
    random.seed(20240501)  # tenacity's jitter draws from the global generator
    endpoint_states(aws, *["Creating"] * 12, "InService")
    gate(replace(ENDPOINT_ONLY, poll_min=1.0, poll_max=60.0, only=(STATUS_CHECK,)), aws, clock)
    # Exponential from 1s: the upper bound of the n-th wait is 2**(n-1) (capped at 60s).
    assert all(1.0 <= s <= min(60.0, 2.0**i) for i, s in enumerate(clock.sleeps))
    assert max(clock.sleeps) > 8.0  # it did back off, not poll every second


# (case, states AWS reports, timeout, the last state named in the FAIL)
DEADLINE_CASES = [
    ("still-creating", ["Creating"] * 40, 60.0, "Creating"),
    ("state-changed-before-deadline", ["Creating"] * 3 + ["Updating"] * 40, 60.0, "Updating"),
    ("timeout-below-poll-min", ["Creating"] * 3, 1.0, "Creating"),
]


@pytest.mark.parametrize(
    ("states", "timeout", "last"),
    [c[1:] for c in DEADLINE_CASES],
    ids=[c[0] for c in DEADLINE_CASES],
)
def test_pending_at_the_deadline_fails_with_the_last_state(
    aws: StubbedAws, clock: FakeClock, states, timeout, last
) -> None:
    endpoint_states(aws, *states)
    start = clock()
    report = gate(replace(ENDPOINT_ONLY, timeout=timeout, only=(STATUS_CHECK,)), aws, clock)
    (result,) = report.by_status(Status.FAIL)
    assert result.reason.startswith(f"still {last} at the deadline after waiting")
    assert f"endpoint {ENDPOINT} is {last}" in result.reason
    assert "raise --timeout" in result.reason
    assert result.evidence["EndpointStatus"] == last  # the last response, as botocore keeps it
    assert clock() - start == pytest.approx(timeout)  # the final wait is cut to the deadline
    assert all(s <= ENDPOINT_ONLY.poll_max for s in clock.sleeps)
    assert all(s >= ENDPOINT_ONLY.poll_min for s in clock.sleeps[:-1])
    assert len(aws.calls) == len(clock.sleeps) + 1  # polled once more at the deadline itself
    assert report.exit_code == ExitCode.FAILED


# (case, errors before success as (code, HTTP status))
TRANSIENT_CASES = [
    ("throttled-once", [("ThrottlingException", 400)]),
    ("throttled-max-times", [("ThrottlingException", 400)] * MAX_TRANSIENT_ERRORS),
    ("service-unavailable", [("ServiceUnavailable", 503)]),
    ("too-many-requests", [("TooManyRequestsException", 429)]),
    ("internal-error", [("InternalFailure", 500), ("ThrottlingException", 400)]),
]


@pytest.mark.parametrize(
    "errors", [c[1] for c in TRANSIENT_CASES], ids=[c[0] for c in TRANSIENT_CASES]
)
def test_transient_errors_then_success_pass(aws: StubbedAws, clock: FakeClock, errors) -> None:
    for code, status in errors:
        aws.fail("sagemaker", "describe_endpoint", code, "Rate exceeded", status=status)
    endpoint_states(aws, "InService")
    result = run_one(STATUS_CHECK, ENDPOINT_ONLY, aws, clock)
    assert result.status is Status.PASS, result.reason
    assert len(aws.calls) == len(errors) + 1
    assert len(clock.sleeps) == len(errors)
    aws.assert_done()


def test_transient_counter_resets_after_a_good_answer(aws: StubbedAws, clock: FakeClock) -> None:
    # 4 throttles, a real answer, 4 more throttles: never 5 in a row, so no ERROR.
    for _ in range(MAX_TRANSIENT_ERRORS):
        aws.fail("sagemaker", "describe_endpoint", "ThrottlingException", "Rate exceeded")
    endpoint_states(aws, "Creating")
    for _ in range(MAX_TRANSIENT_ERRORS):
        aws.fail("sagemaker", "describe_endpoint", "ThrottlingException", "Rate exceeded")
    endpoint_states(aws, "InService")
    assert run_one(STATUS_CHECK, ENDPOINT_ONLY, aws, clock).status is Status.PASS
    aws.assert_done()


def test_persistent_throttling_is_an_error(aws: StubbedAws, clock: FakeClock) -> None:
    tries = MAX_TRANSIENT_ERRORS + 1
    for _ in range(tries):
        aws.fail("sagemaker", "describe_endpoint", "ThrottlingException", "Rate exceeded")
    endpoint_states(aws, "InService")  # would pass, if the runner kept trying
    result = run_one(STATUS_CHECK, ENDPOINT_ONLY, aws, clock)
    assert result.status is Status.ERROR
    assert result.reason.startswith(f"AWS kept failing after {tries} tries")
    assert "ThrottlingException" in result.reason
    assert "sagemaker:DescribeEndpoint" in result.reason
    assert len(aws.calls) == tries


# (error code, message, words in the ERROR), with the case as the param id
HARD_ERROR_CASES = [
    pytest.param(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/gate/ci is not authorized to perform: "
        "sagemaker:DescribeEndpoint on resource: endpoint/x",
        [
            "AccessDenied calling sagemaker:DescribeEndpoint",
            "grant sagemaker:DescribeEndpoint",
            "examples/iam-policy.json",
        ],
        id="access-denied",
    ),
    pytest.param(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        ["credentials rejected (UnrecognizedClientException)"],
        id="unrecognized-client",
    ),
    pytest.param(
        "ExpiredTokenException",
        "The security token included in the request is expired",
        ["credentials rejected (ExpiredTokenException)", "refresh the session"],
        id="expired-token",
    ),
]


@pytest.mark.parametrize(("code", "message", "words"), HARD_ERROR_CASES)
def test_non_transient_aws_errors_are_errors_at_once(
    aws: StubbedAws, clock: FakeClock, code, message, words
) -> None:
    aws.fail("sagemaker", "describe_endpoint", code, message)
    report = gate(replace(ENDPOINT_ONLY, only=(STATUS_CHECK,)), aws, clock)
    (result,) = report.by_status(Status.ERROR)
    for word in words:
        assert word in result.reason
    assert aws.calls == ["DescribeEndpoint"]  # not retried
    assert clock.sleeps == []
    assert report.exit_code == ExitCode.ERROR


def test_exception_inside_a_check_is_an_error(aws: StubbedAws, clock: FakeClock) -> None:
    # A response AWS's model allows but the check cannot use: the check raises IndexError.
    aws.respond("ecr", "describe_repositories", {"repositories": []})
    result = run_one("ecr-repository-config", GateConfig(repository=REPO), aws, clock)
    assert result.status is Status.ERROR
    assert result.reason.startswith(
        "internal error in check ecr-repository-config: RuntimeError: DescribeRepositories answered without the repository"
    )
    assert aws.calls == ["DescribeRepositories"]


def test_missing_endpoint_is_waited_for_then_passes(aws: StubbedAws, clock: FakeClock) -> None:
    for _ in range(3):
        aws.fail("sagemaker", "describe_endpoint", "ValidationException", "Could not find endpoint")
    endpoint_states(aws, "Creating", "InService")
    result = run_one(STATUS_CHECK, ENDPOINT_ONLY, aws, clock)
    assert result.status is Status.PASS
    assert len(aws.calls) == 5
    aws.assert_done()


def test_missing_endpoint_fails_when_grace_ends_before_the_deadline(
    aws: StubbedAws, clock: FakeClock
) -> None:
    for _ in range(40):
        aws.fail("sagemaker", "describe_endpoint", "ValidationException", "Could not find endpoint")
    config = replace(ENDPOINT_ONLY, endpoint_grace=30.0, timeout=600.0)
    start = clock()
    result = run_one(STATUS_CHECK, config, aws, clock)
    assert result.status is Status.FAIL
    assert "not found after waiting 30s" in result.reason
    assert 30.0 <= clock() - start <= 30.0 + config.poll_max  # stopped at grace, not deadline


def _result(status: Status, check_id: str = "ecr-image-tags") -> CheckResult:
    return CheckResult(check_id=check_id, status=status, reason=status.value.lower())


P, F, E, S, W = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED, Status.PENDING
# (case, statuses, interrupted, exit code, result word)
EXIT_CASES = [
    ("pass-only", [P, P], False, ExitCode.PASSED, "pass"),
    ("pass-and-skipped", [P, S, S], False, ExitCode.PASSED, "pass"),
    ("one-fail", [P, F], False, ExitCode.FAILED, "fail"),
    ("fail-beats-error", [E, F, P], False, ExitCode.FAILED, "fail"),
    ("error-without-fail", [P, E], False, ExitCode.ERROR, "error"),
    ("pending-left-over", [P, W], False, ExitCode.ERROR, "error"),
    ("all-skipped", [S, S, S], False, ExitCode.ERROR, "error"),
    ("nothing-at-all", [], False, ExitCode.ERROR, "error"),
    ("interrupted", [P, E], True, ExitCode.INTERRUPTED, "interrupted"),
]


@pytest.mark.parametrize(
    ("statuses", "interrupted", "code", "word"),
    [c[1:] for c in EXIT_CASES],
    ids=[c[0] for c in EXIT_CASES],
)
def test_exit_code_table(statuses, interrupted, code, word) -> None:
    report = GateReport(tuple(_result(s) for s in statuses), interrupted=interrupted)
    assert report.exit_code == code
    assert report.result == word


def test_exit_codes_are_distinct_and_documented() -> None:
    from soc2gate.exitcodes import EXIT_CODE_HELP

    values = [int(c) for c in ExitCode]
    assert len(values) == len(set(values))
    for code in ExitCode:
        assert re.search(rf"(^|\s){int(code)}\s", EXIT_CODE_HELP), code


ALL_IDS = [c.id for c in all_checks()]
ECR_IDS = ["ecr-repository-config", "ecr-image-tags", "ecr-scan-findings"]
USER_CHECK = "ecr-image-user"  # off by default: skipped unless --enable
OFF_BY_DEFAULT = {
    c.id: f"off by default: turn it on with --enable {c.id}"
    + (" (or --preset strict)" if c.strict else "")
    for c in all_checks()
    if not c.default_enabled
}
DEPLOYED = "deployed-image-scanned"
SM_IDS = ["sagemaker-model-env", "sagemaker-endpoint-config", "sagemaker-endpoint-status"]

# (case, config, {check id: words in the skip reason} for the checks that must be SKIPPED)
SKIP_CASES = [
    (
        "endpoint-only",
        GateConfig(endpoint=ENDPOINT),
        {
            **dict.fromkeys(ECR_IDS, "not configured: no --repository given"),
            **OFF_BY_DEFAULT,
            DEPLOYED: "not configured",
        },
    ),
    (
        "repository-without-tags",
        GateConfig(repository=REPO),
        {
            "ecr-image-tags": "not configured: no --require-tag given",
            "ecr-scan-findings": "not configured: no --scan-tag or --require-tag given",
            **dict.fromkeys(SM_IDS[1:], "not configured: no --endpoint given"),
            "sagemaker-model-env": "no --endpoint or --model-name-contains",
            **OFF_BY_DEFAULT,
            DEPLOYED: "not configured",
        },
    ),
    (
        "no-env-markers",
        GateConfig(endpoint=ENDPOINT, require_env={}, only=("sagemaker-model-env",)),
        {
            **{i: "not selected (--only)" for i in ALL_IDS},
            "sagemaker-model-env": "not configured: no --require-env markers",
        },
    ),
    (
        "only",
        GateConfig(endpoint=ENDPOINT, only=(STATUS_CHECK,)),
        {i: "not selected (--only)" for i in ALL_IDS if i != STATUS_CHECK},
    ),
    (
        "skip",
        GateConfig(endpoint=ENDPOINT, skip=("sagemaker-model-env", "sagemaker-endpoint-config")),
        {
            **dict.fromkeys(ECR_IDS, "not configured"),
            **dict.fromkeys(SM_IDS[:2], "--skip"),
            **OFF_BY_DEFAULT,
            DEPLOYED: "not configured",
        },
    ),
]


@pytest.mark.parametrize(
    ("config", "skipped"), [c[1:] for c in SKIP_CASES], ids=[c[0] for c in SKIP_CASES]
)
def test_unselected_or_unconfigured_checks_are_skipped_never_passed(
    clock: FakeClock, config, skipped
) -> None:
    # No AWS answers are stubbed: a check that runs ends ERROR (unstubbed call), never SKIPPED.
    aws = StubbedAws()
    report = gate(config, aws, clock)
    assert [r.check_id for r in report.results] == ALL_IDS  # report order is registry order
    by_id = {r.check_id: r for r in report.results}
    for check_id, words in skipped.items():
        assert by_id[check_id].status is Status.SKIPPED, (check_id, by_id[check_id].reason)
        assert words in by_id[check_id].reason
    for check_id in set(ALL_IDS) - set(skipped):
        assert by_id[check_id].status is not Status.SKIPPED


def test_a_run_where_everything_is_skipped_does_not_exit_zero(
    aws: StubbedAws, clock: FakeClock
) -> None:
    report = gate(GateConfig(repository=REPO, only=("ecr-image-tags",)), aws, clock)
    assert {r.status for r in report.results} == {Status.SKIPPED}
    assert report.exit_code == ExitCode.ERROR
    assert aws.calls == []


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")
def test_sigint_while_waiting_reports_interrupted(aws: StubbedAws, clock: FakeClock) -> None:
    # Ctrl-C reaches the main thread (as in the CLI); the waiting check stops and is an ERROR.
    endpoint_states(aws, *["Creating"] * 5)
    cancel = threading.Event()
    main = threading.main_thread().ident
    assert threading.current_thread() is threading.main_thread()

    def main_thread_waits_for_checks() -> bool:
        frame = sys._current_frames().get(main)
        while frame is not None:
            if frame.f_code.co_name == "wait" and "concurrent" in frame.f_code.co_filename:
                return True
            frame = frame.f_back
        return False

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        # Signal only once the main thread is inside run_gate's wait loop, as a user's Ctrl-C
        # during a long poll would be (a synchronisation, not a wait for time to pass).
        for _ in range(5000):
            if main_thread_waits_for_checks():
                break
            cancel.wait(0.001)
        signal.pthread_kill(main, signal.SIGINT)
        cancel.wait(5)  # the runner sets it when the main thread sees the KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        report = run_gate(
            replace(ENDPOINT_ONLY, only=(STATUS_CHECK,)),
            clients=aws,
            sleep=sleep,
            clock=clock,
            progress=None,
            environ={},
            cancel=cancel,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert report.interrupted
    assert report.exit_code == ExitCode.INTERRUPTED
    result = next(r for r in report.results if r.check_id == STATUS_CHECK)
    assert result.status is Status.ERROR
    assert result.reason.startswith(f"interrupted while endpoint {ENDPOINT} is Creating")


@mock_aws
def test_whole_gate_against_moto_with_default_clients(clock: FakeClock) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(
        ModelName="model-1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-exec",
        PrimaryContainer={
            "Image": "img",
            "Environment": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        },
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
    config = GateConfig(region="us-east-1", repository=REPO, endpoint=ENDPOINT)
    report = run_gate(config, sleep=clock.sleep, clock=clock, progress=None, environ={})
    statuses = {r.check_id: r.status for r in report.results}
    assert statuses == {
        "ecr-repository-config": Status.PASS,
        "ecr-image-tags": Status.SKIPPED,
        "ecr-scan-findings": Status.SKIPPED,
        "sagemaker-model-env": Status.PASS,
        "sagemaker-endpoint-config": Status.PASS,
        "sagemaker-endpoint-status": Status.PASS,
        "ecr-image-user": Status.SKIPPED,  # off by default
        "deployed-image-scanned": Status.SKIPPED,  # no gated tag
        **{
            c.id: Status.SKIPPED
            for c in all_checks()
            if not c.default_enabled and c.id != "ecr-image-user"
        },
    }
    assert report.exit_code == ExitCode.PASSED


def test_a_callers_clients_do_not_collect_a_handler_per_run() -> None:
    # run_gate(clients=...) records calls through a botocore handler on each client it is
    # given; a caller that reuses its clients across runs must not pay for every past run.
    import boto3
    from moto import mock_aws

    with mock_aws():
        ecr = boto3.client("ecr", region_name="us-east-1")
        ecr.create_repository(repositoryName=REPO)
        config = GateConfig(repository=REPO, only=("ecr-repository-config",), region="us-east-1")
        for _ in range(3):
            run_gate(config, clients=lambda service: ecr, progress=None, environ={})
        handlers = ecr.meta.events._emitter._handlers
        recorded = [
            h
            for h in handlers.prefix_search("provide-client-params.ecr.DescribeRepositories")
            if getattr(h, "__name__", "") == "_record"
        ]
        assert recorded == [], f"{len(recorded)} recorder handlers left on the client"


@mock_aws
def test_an_interrupt_wakes_a_check_that_defers_to_an_unfinished_one(clock: FakeClock) -> None:
    """SIGTERM while ecr-repository-config is between retries and ecr-scan-findings, having
    found no repository, waits in _settle for it (its defers_to): the run must stop and report
    (before: the interrupted check never finished, the wait had no cancel, the process hung with
    no report; review finding F5)."""
    from botocore.awsrequest import AWSResponse

    made: dict[str, object] = {}
    images_read = threading.Event()

    def throttled(**_: object) -> tuple[AWSResponse, dict[str, object]]:
        error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        return AWSResponse("", 400, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    def clients(service: str) -> object:
        if service not in made:
            client = boto3.client(service, region_name="us-east-1")
            client.meta.events.register("before-call.ecr.DescribeRepositories", throttled)
            client.meta.events.register(
                "after-call.ecr.DescribeImages", lambda **_: images_read.set()
            )
            made[service] = client
        return made[service]

    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        # The repository check's retry wait: once the scan check has found no repository (and
        # waits on it), the user presses Ctrl-C / the runner sends SIGTERM.
        images_read.wait(5)
        cancel.wait(0.1)
        cancel.set()

    config = GateConfig(
        repository=REPO, scan_tag="latest", only=("ecr-repository-config", "ecr-scan-findings")
    )
    done: list[GateReport] = []
    worker = threading.Thread(
        target=lambda: done.append(
            run_gate(
                config,
                clients=clients,
                sleep=sleep,
                clock=clock,
                progress=None,
                environ={},
                cancel=cancel,
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the run hung after the interrupt"
    (report,) = done
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED
    statuses = {r.check_id: r.status for r in report.results if r.status is not Status.SKIPPED}
    assert statuses == {"ecr-repository-config": Status.ERROR, "ecr-scan-findings": Status.ERROR}
