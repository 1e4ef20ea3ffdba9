"""Faults that must end as ERROR (exit 3) or FAIL (exit 1) with a message naming the cause.

Every case runs the installed CLI against one settled, healthy deployment (the baseline passes)
through its own FaultProxy that breaks one thing: AccessDenied on each API the default checks
call, no credentials, an expired token, an unreachable endpoint, unknown enum values, malformed
and truncated bodies, persistent 5xx and resets, and responses that make a check raise. A run
that exits 0 is a false pass; the matrix counts them (there must be none), and is printed and
written to a file so it shows without ``-s``.

The cases run concurrently (each is a subprocess waiting on loopback), which keeps the file
well under a minute even though botocore retries some of them with backoff.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faults.harness import FAST, CliRun, run_cli, validate_junit
from faults.proxy import (
    EXPIRED_TOKEN,
    FaultProxy,
    access_denied,
    aws_error,
    raw_reply,
)
from soc2gate.aws import OPERATION_SERVICE
from soc2gate.demo.scenarios import (
    BASIC_FINDINGS,
    ENDPOINT,
    ENDPOINT_CONFIG,
    FAILURE_LOGS,
    HEALTH_CHECK_FAILURE,
    MODEL_PREFIX,
    REPOSITORY,
    SCENARIOS,
    TAG_DEV_SHA,
)
from soc2gate.demo.world import MotoWorld

#: Operations of checks that are off by default or of features not used here; every other
#: operation in aws.OPERATION_SERVICE is one the six default checks call, and gets an
#: AccessDenied case. (test_baseline_calls_every_matrix_operation keeps this list honest.)
NOT_DEFAULT = {
    "BatchGetImage": "ecr-image-user (off by default)",
    "GetDownloadUrlForLayer": "ecr-image-user (off by default)",
    "AssumeRole": "--role / fleets only",
    # The settled basic-scan deployment here never needs Inspector's record; the AccessDenied
    # case is tests/unit/test_ecr_real_answers.py::test_inspector_access_denied_is_an_error...
    "ListCoverage": "enhanced scans without imageScanCompletedAt only",
    # Issue 15 shapes the guide's deployment does not have; their AccessDenied cases are in
    # tests/e2e/test_deployment_shapes_e2e.py::test_access_denied_on_a_shape_call_is_an_error.
    "DescribeModelPackage": "Model Registry models (ModelPackageName) only",
    "ListInferenceComponents": "inference-component endpoints only",
    "DescribeInferenceComponent": "inference-component endpoints only",
    # The deployment safety checks' reads (off by default, --preset strict); their AccessDenied
    # cases are tests/e2e/test_deployment_safety_e2e.py.
    "DescribeAlarms": "sagemaker-deployment-guardrails (off by default)",
    "DescribeScalableTargets": "sagemaker-endpoint-availability --require-autoscaling only",
    "DescribeKey": "--allowed-kms-key only",
    "DescribeModelCard": "sagemaker-model-card --model-card only",
    # deployed-image-signed is off by default; its AccessDenied cases are in
    # tests/e2e/test_deployed_image_signed_e2e.py::test_access_denied_on_a_signature_read_is_an_error.
    "DescribeImageSigningStatus": "deployed-image-signed (off by default)",
    "ListImageReferrers": "deployed-image-signed (off by default)",
    "GetRevocationStatus": "deployed-image-signed (off by default)",
}
#: Operations only some configurations reach, and the extra flags that reach them.
REACHED_BY = {
    "ListModels": ("--model-name-contains", MODEL_PREFIX),
    "DescribeLogStreams": ("--endpoint", "failedEndpoint"),
    "GetLogEvents": ("--endpoint", "failedEndpoint"),
}
FAILED_ENDPOINT = "failedEndpoint"
MATRIX_OPS = [op for op in OPERATION_SERVICE if op not in NOT_DEFAULT]
#: Small deadline and fast polls: nothing here should wait long.
QUICK = (*FAST, "--timeout", "20s")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _set(path: str, value: Any) -> Callable[[Any], None]:
    """A rewrite setting ``a.b.c`` in a JSON response."""
    keys = path.split(".")

    def rewrite(data: Any) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return rewrite


def _drop(path: str) -> Callable[[Any], None]:
    keys = path.split(".")

    def rewrite(data: Any) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node.pop(keys[-1], None)

    return rewrite


@dataclass(frozen=True)
class Case:
    id: str
    fault: str
    #: Substring of stdout that names the cause.
    expect: str
    arrange: Callable[[FaultProxy], Any] = lambda proxy: None
    exits: frozenset[int] = frozenset({3})
    args: tuple[str, ...] = ()
    env: Mapping[str, str | None] = field(default_factory=dict)
    #: Talk to this URL instead of the proxy (the unreachable endpoint).
    direct_url: str | None = None
    #: The check that must not pass (None: judged by the exit code only).
    check: str | None = None
    #: The proxy must have seen no request at all (nothing was sent unsigned).
    no_requests: bool = False
    #: A known bug in a file this suite does not own: "file:line what is wrong" (strict xfail).
    known_bug: str | None = None


def _access_denied_case(op: str) -> Case:
    service = OPERATION_SERVICE[op]
    args = REACHED_BY.get(op, ())
    # On the failed endpoint the check fails anyway; logs are best effort and must say why
    # they are missing, naming the action, without turning the FAIL into anything else.
    exits = frozenset({1}) if op in ("DescribeLogStreams", "GetLogEvents") else frozenset({3})
    return Case(
        id=f"access-denied-{op}",
        fault=f"AccessDenied on {service}:{op}",
        expect=f"{service}:{op}",
        arrange=lambda proxy: proxy.always(op, access_denied()),
        exits=exits,
        args=args,
    )


def _signature_mismatch(request: Any) -> Any:
    return aws_error(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
    )


CASES: list[Case] = [
    *(_access_denied_case(op) for op in MATRIX_OPS),
    Case(
        id="no-credentials",
        fault="no credentials anywhere (env, files, IMDS off)",
        expect="no AWS credentials found",
        env={
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_EC2_METADATA_DISABLED": "true",
            # Belt and braces: were IMDS asked anyway, it would be a closed local port.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
        },
        no_requests=True,
    ),
    Case(
        id="expired-token",
        fault="ExpiredTokenException on every call",
        expect="AWS credentials rejected (ExpiredTokenException)",
        arrange=lambda proxy: proxy.always("*", EXPIRED_TOKEN),
    ),
    Case(
        id="bad-signature",
        fault="InvalidSignatureException on every call",
        expect="AWS credentials rejected (InvalidSignatureException)",
        arrange=lambda proxy: proxy.always("*", _signature_mismatch),
    ),
    Case(
        id="unreachable",
        fault="AWS_ENDPOINT_URL is a closed port",
        expect="cannot reach the AWS endpoint",
        direct_url=f"http://127.0.0.1:{_closed_port()}",
    ),
    Case(
        id="unknown-endpoint-status",
        fault='DescribeEndpoint EndpointStatus "Bogus"',
        expect="unknown status 'Bogus'",
        arrange=lambda proxy: proxy.rewrite("DescribeEndpoint", _set("EndpointStatus", "Bogus")),
        check="sagemaker-endpoint-status",
    ),
    Case(
        id="unknown-scan-status",
        fault='scan status "WEIRD"',
        expect="unknown scan status 'WEIRD'",
        arrange=lambda proxy: proxy.rewrite(
            "DescribeImageScanFindings", _set("imageScanStatus.status", "WEIRD")
        ),
        check="ecr-scan-findings",
    ),
    Case(
        id="malformed-json",
        fault="DescribeEndpoint 200 with half a JSON object",
        expect="DescribeEndpoint answered HTTP 200 with a body that is not the AWS JSON",
        arrange=lambda proxy: proxy.always(
            "DescribeEndpoint", raw_reply(b'{"EndpointName": "x", "EndpointStatus": "InSer')
        ),
        check="sagemaker-endpoint-status",
    ),
    Case(
        id="html-200",
        fault="every call 200 text/html (a captive portal)",
        expect="DescribeRepositories answered HTTP 200 with a body that is not the AWS JSON",
        arrange=lambda proxy: proxy.always(
            "*", raw_reply(b"<html><body>Welcome</body></html>", content_type="text/html")
        ),
    ),
    Case(
        id="json-not-object",
        fault="DescribeModel 200 with a JSON list",
        expect="DescribeModel answered HTTP 200 with a body that is not the AWS JSON",
        arrange=lambda proxy: proxy.always("DescribeModel", raw_reply(b"[]")),
        check="sagemaker-model-env",
    ),
    Case(
        id="truncated-always",
        fault="DescribeModel body always cut off",
        expect="response was cut off",
        arrange=lambda proxy: proxy.always("DescribeModel", "truncate"),
        check="sagemaker-model-env",
    ),
    Case(
        id="503-always",
        fault="DescribeEndpointConfig always 503",
        expect="AWS kept failing after",
        arrange=lambda proxy: proxy.always("DescribeEndpointConfig", "503"),
        check="sagemaker-endpoint-config",
    ),
    Case(
        id="reset-always",
        fault="DescribeImages connection always reset",
        expect="AWS kept failing after",
        arrange=lambda proxy: proxy.always("DescribeImages", "reset"),
        check="ecr-image-tags",
    ),
    Case(
        id="missing-required-field",
        fault="DescribeEndpoint without EndpointName",
        expect="EndpointName",
        arrange=lambda proxy: proxy.rewrite("DescribeEndpoint", _drop("EndpointName")),
        check="sagemaker-endpoint-status",
    ),
    Case(
        id="wrong-type-count",
        fault='findingSeverityCounts {"HIGH": "many"}',
        # The fast path holds the answer to the service model's types: the message names the
        # field and its type, not an internal error.
        expect="findingSeverityCounts.HIGH is a string, expected an integer",
        arrange=lambda proxy: proxy.rewrite(
            "DescribeImageScanFindings",
            _set("imageScanFindings.findingSeverityCounts.HIGH", "many"),
        ),
        check="ecr-scan-findings",
    ),
    Case(
        id="wrong-type-variants",
        fault="DescribeEndpointConfig ProductionVariants is a string",
        expect="DescribeEndpointConfig answered HTTP 200 with a body that is not the AWS JSON",
        arrange=lambda proxy: proxy.rewrite(
            "DescribeEndpointConfig", _set("ProductionVariants", "ml.c5.large")
        ),
        check="sagemaker-endpoint-config",
    ),
    Case(
        id="empty-repositories",
        fault="DescribeRepositories answers repositories: []",
        expect="internal error in check ecr-repository-config: RuntimeError: DescribeRepositories answered without the repository",
        arrange=lambda proxy: proxy.rewrite("DescribeRepositories", _set("repositories", [])),
        check="ecr-repository-config",
    ),
    Case(
        id="scan-findings-missing",
        fault="COMPLETE scan without imageScanFindings",
        expect="imageScanFindings",
        arrange=lambda proxy: proxy.rewrite(
            "DescribeImageScanFindings", _drop("imageScanFindings")
        ),
        check="ecr-scan-findings",
    ),
]
CASE_BY_ID = {case.id: case for case in CASES}
KNOWN_BUGS = {case.id for case in CASES if case.known_bug}


def _params() -> list[Any]:
    return [
        pytest.param(
            case.id,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.known_bug)] if case.known_bug else [],
        )
        for case in CASES
    ]


@dataclass
class Outcome:
    case: Case
    run: CliRun
    requests: int
    injected: int
    proxy_errors: list[BaseException]
    junit_error: str = ""

    @property
    def verdict(self) -> str:
        return {0: "PASS", 1: "FAIL", 3: "ERROR"}.get(self.run.code, f"exit {self.run.code}")

    def check_line(self) -> str:
        """The result line of the case's check (or the first FAIL/ERROR line)."""
        pattern = re.compile(r"^(PASS|FAIL|ERROR|SKIP)\s+(\S+)\s")
        for line in self.run.stdout.splitlines():
            match = pattern.match(line)
            if not match:
                continue
            if self.case.check is None:
                if match[1] in ("FAIL", "ERROR"):
                    return line
            elif match[2] == self.case.check:
                return line
        return ""

    def cause(self) -> str:
        """The console's detail line ("ERROR check: reason") naming the cause, or the first."""
        details = [
            line for line in self.run.stdout.splitlines() if re.match(r"^(ERROR|FAIL) \S+: ", line)
        ]
        named = [line for line in details if self.case.expect in line]
        anywhere = [
            line.strip() for line in self.run.stdout.splitlines() if self.case.expect in line
        ]
        for lines in (named, anywhere, details):
            if lines:
                return lines[0]
        return ""


def settle(world: MotoWorld) -> None:
    """The healthy scenario, finished: scan COMPLETE, endpoint InService. Plus a Failed
    endpoint with logs, for the cases about reading CloudWatch logs."""
    SCENARIOS["healthy"].setup(world)
    digest = world.resolve_digest(REPOSITORY, TAG_DEV_SHA)
    world.set_scan(REPOSITORY, digest, "COMPLETE", findings=BASIC_FINDINGS)
    deployed = [world.deployed_image(REPOSITORY, TAG_DEV_SHA)]
    world.set_endpoint(ENDPOINT, status="InService", deployed_images=deployed)
    world.create_endpoint(FAILED_ENDPOINT, ENDPOINT_CONFIG, status="Failed")
    world.set_endpoint(FAILED_ENDPOINT, status="Failed", failure_reason=HEALTH_CHECK_FAILURE)
    world.put_endpoint_logs(FAILED_ENDPOINT, FAILURE_LOGS)


def _base_args(world: MotoWorld) -> list[str]:
    return ["run", *SCENARIOS["healthy"].gate_args(world), *QUICK]


def _execute(world: MotoWorld, case: Case, tmp: Path) -> Outcome:
    args = [*_base_args(world), *case.args]
    with FaultProxy(world.endpoint_url) as proxy:
        case.arrange(proxy)
        run = run_cli(
            args, tmp, endpoint_url=case.direct_url or proxy.url, extra_env=case.env, timeout=60
        )
    outcome = Outcome(case, run, sum(proxy.calls.values()), proxy.total_injected, proxy.errors)
    try:
        validate_junit(run.junit)
    except Exception as exc:
        outcome.junit_error = f"{type(exc).__name__}: {exc}"[:300]
    return outcome


def render(outcomes: list[Outcome]) -> str:
    head = f"{'case':<44} {'exit':>4} {'verdict':<7} {'false pass':<10} {'secs':>5}  cause"
    lines = [head, "-" * 140]
    for o in outcomes:
        false_pass = "YES" if o.run.code == 0 else "no"
        lines.append(
            f"{o.case.id:<44} {o.run.code:>4} {o.verdict:<7} {false_pass:<10} "
            f"{o.run.seconds:>5.1f}  {o.cause()[:160]}"
        )
    passes = [o.case.id for o in outcomes if o.run.code == 0]
    lines.append("-" * 140)
    lines.append(f"{len(outcomes)} fault cases, {len(passes)} false pass(es)")
    for o in outcomes:
        if o.case.known_bug:
            lines.append(f"known bug, strict xfail: {o.case.id}: {o.case.known_bug}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def world() -> Any:
    with MotoWorld() as w:
        settle(w)
        yield w


@pytest.fixture(scope="module")
def baseline(world: MotoWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Runs without faults: default flags, by model name, and on the failed endpoint."""
    counts: dict[str, Any] = {}
    for label, extra in (
        ("default", ()),
        ("by-model-name", REACHED_BY["ListModels"]),
        ("failed-endpoint", ("--endpoint", FAILED_ENDPOINT)),
    ):
        with FaultProxy(world.endpoint_url) as proxy:
            run = run_cli(
                [*_base_args(world), *extra],
                tmp_path_factory.mktemp(f"baseline-{label}"),
                endpoint_url=proxy.url,
            )
        counts[label] = (run, set(proxy.calls))
    return counts


@pytest.fixture(scope="module")
def matrix(world: MotoWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {
            case.id: pool.submit(_execute, world, case, tmp_path_factory.mktemp(case.id))
            for case in CASES
        }
        outcomes = {name: future.result() for name, future in futures.items()}
    text = render(list(outcomes.values()))
    report = Path(tmp_path_factory.mktemp("matrix")) / "fault-matrix.txt"
    report.write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}\n(also in {report})")
    return outcomes


def test_baseline_passes(baseline: dict[str, Any]) -> None:
    run, _ops = baseline["default"]
    assert run.code == 0, run.output
    run, _ops = baseline["by-model-name"]
    assert run.code == 0, run.output
    run, _ops = baseline["failed-endpoint"]
    assert run.code == 1 and "did not pass the ping health check" in run.stdout, run.output
    assert "CloudWatch log lines" in run.stdout, run.output


def test_baseline_calls_every_matrix_operation(baseline: dict[str, Any]) -> None:
    called = set().union(*(ops for _run, ops in baseline.values()))
    assert set(MATRIX_OPS) <= called, (
        f"never called, so the AccessDenied case proves nothing: {set(MATRIX_OPS) - called}; "
        "add the flags that reach it to REACHED_BY or the op to NOT_DEFAULT"
    )
    unknown = called - set(OPERATION_SERVICE)
    assert not unknown, f"called but not in aws.OPERATION_SERVICE: {unknown}"


@pytest.mark.parametrize("case_id", _params())
def test_fault_is_never_a_pass(case_id: str, matrix: dict[str, Outcome]) -> None:
    outcome = matrix[case_id]
    case, run = outcome.case, outcome.run
    assert not outcome.proxy_errors, outcome.proxy_errors
    assert run.code != 0, f"FALSE PASS under {case.fault}:\n{run.output}"
    assert run.code in case.exits, f"exit {run.code}, expected {set(case.exits)}:\n{run.output}"
    assert case.expect in run.stdout, f"{case.expect!r} not in the output:\n{run.output}"
    assert "Traceback (most recent call last)" not in run.stderr, run.stderr
    assert not outcome.junit_error, outcome.junit_error
    if case.check is not None:
        line = outcome.check_line()
        assert line and not line.startswith(("PASS", "SKIP")), f"{case.check}: {line!r}"
    if case.no_requests:
        assert outcome.requests == 0, "a request went out without credentials"
    elif case.direct_url is None:
        assert outcome.injected > 0, "the fault was never injected"


def test_matrix_counts_no_false_pass(matrix: dict[str, Outcome]) -> None:
    """Zero false passes, apart from the known bugs each strict-xfailed above (listed by id, so
    a new false pass fails here and a fixed one fails its xfail)."""
    false_passes = {o.case.id for o in matrix.values() if o.run.code == 0}
    assert false_passes - KNOWN_BUGS == set()
