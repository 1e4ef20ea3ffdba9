"""Runs the selected checks concurrently under one deadline, polling the pending ones.

Data flow: GateConfig -> selected checks -> (per check, in a worker thread) tenacity loop around
``check.run(ctx)`` -> CheckResult -> GateReport. Any exception becomes ERROR; PENDING at the
deadline becomes FAIL; nothing becomes PASS without a check saying so.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.durations import format_duration
from soc2gate.errors import ConfigError, Interrupted, UnreadableAnswer
from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.redaction import SecretValues, stated_strings
from soc2gate.report.text import one_line

#: Consecutive transient AWS errors (after botocore's own retries) before a check is ERROR.
MAX_TRANSIENT_ERRORS = 4
#: A still-waiting check prints a heartbeat at least this often (seconds of the run's clock).
HEARTBEAT_EVERY = 30.0

Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%SZ")
    print(f"[{stamp}] {line}", file=sys.stderr, flush=True)


def select_checks(config: GateConfig) -> list[tuple[Check, str | None]]:
    """Every check with the reason it is skipped (None when it runs)."""
    from soc2gate.registry import checks_for

    checks = checks_for(config)
    # A custom check named by --only brings the built-in checks its placeholders come from.
    wanted = set(config.only)
    for check in checks:
        if getattr(check, "custom", False) and check.id in config.only:
            wanted.update(check.depends_on)
    selected = []
    for check in checks:
        reason: str | None
        if config.only and check.id not in wanted:
            reason = "not selected (--only)"
        elif check.id in config.skip:
            reason = "skipped by --skip"
        elif (
            not check.default_enabled
            and check.id not in (*config.enable, *config.only)
            and not (config.preset == "strict" and check.strict)
        ):
            reason = f"off by default: turn it on with --enable {check.id}" + (
                " (or --preset strict)" if check.strict else ""
            )
        else:
            reason = check.skip_reason(config)
        selected.append((check, reason))
    return selected


@dataclass
class _Live:
    """What the runner knows about one check while it runs (for timeouts and interrupts)."""

    last: CheckResult | None = None
    started: float = 0.0
    transient: int = 0
    last_error: BaseException | None = None
    last_line_at: float = float("-inf")
    #: (seconds since the run started, state): each state change seen while polling.
    transitions: list[tuple[float, str]] = field(default_factory=list)


class _CallRecorder:
    """Wraps a client factory and records, per check, the AWS operations it calls.

    A botocore ``provide-client-params`` handler sees every call with its parameters; the check
    running in the current thread receives the record (each check runs in its own thread).
    """

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._clients = clients
        self._hooked: set[int] = set()
        self._registered: list[Any] = []  # the event systems a handler went on, to take it off
        self._lock = threading.Lock()
        self._local = threading.local()

    def bind(self, sink: set[tuple[str, str]] | None) -> None:
        self._local.sink = sink

    def current_sink(self) -> set[tuple[str, str]] | None:
        return getattr(self._local, "sink", None)

    def __call__(self, service: str) -> Any:
        client = self._clients(service)
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            with self._lock:
                if id(client) not in self._hooked:
                    self._hooked.add(id(client))
                    events.register("provide-client-params", self._record)
                    self._registered.append(events)
        return client

    def close(self) -> None:
        """Take the handlers off the clients: a caller's clients outlive the run."""
        with self._lock:
            for events in self._registered:
                events.unregister("provide-client-params", self._record)
            self._registered.clear()
            self._hooked.clear()

    def _record(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        import json

        from soc2gate.aws import OPERATION_SERVICE
        from soc2gate.report.evidence import redact

        sink = getattr(self._local, "sink", None)
        if sink is None:
            return
        # The IAM prefix: custom checks call operations OPERATION_SERVICE does not list, and
        # an endpoint prefix can differ from it (SageMaker's is "api.sagemaker").
        prefix = (
            OPERATION_SERVICE.get(model.name)
            or model.service_model.signing_name
            or model.service_model.endpoint_prefix
        )
        request = json.dumps(redact(dict(params)), sort_keys=True, default=str)
        sink.add((f"{prefix}:{model.name}", request))


@dataclass
class _Job:
    target: str
    check: Check
    ctx: CheckContext
    live: _Live


def run_gate(
    config: GateConfig,
    *,
    clients: Callable[[str], Any] | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    progress: Progress | None = stderr_progress,
    environ: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> GateReport:
    """Run the gate and return its report. Never raises for AWS or check errors.

    ``sleep`` and ``clock`` are injectable so tests never wait for real. ``cancel`` (set by the
    CLI on SIGINT/SIGTERM) stops waiting checks, which are then reported as ERROR. ``clients``
    replaces the AWS client factory (for every target of a fleet); for a target with a central
    registry it must also serve ``"<service>@registry"`` (``aws.AwsClients`` with the target's
    registry settings does).
    """
    from soc2gate import vex as vex_file
    from soc2gate import waivers as waiver_file
    from soc2gate.config import expand_targets, validate_check_ids
    from soc2gate.registry import all_checks, start_order

    # The CLI checked these already; a caller of the Python API gets the same one-line error.
    validate_check_ids(config, [check.id for check in all_checks()])
    env = dict(os.environ if environ is None else environ)
    waivers_path = waiver_file.resolve_path(config.waivers)
    accepted = waiver_file.load(waivers_path) if waivers_path else ()
    # Read once, before any AWS call: a document that cannot be read is a usage error (exit 2).
    vex_documents = vex_file.load_all(config.vex)
    run_started = now or datetime.now(timezone.utc)
    targets = expand_targets(config)
    for _name, target_config in targets:
        # Expand {sha} tags now: a missing SHA is a configuration error, not a check error.
        target_config.expanded_tags(env)
        target_config.gated_tag(env)
    cancel = cancel or threading.Event()
    # Model environment values read during the run are masked in every result and progress
    # line (soc2gate.redaction); what the configuration itself states is not.
    secrets = SecretValues(
        public=stated_strings(
            config,
            *(c for _, c in targets),
            *((c.resolved_sha(env), c.expanded_tags(env), c.gated_tag(env)) for _, c in targets),
        )
    )

    def say(line: str) -> None:
        if progress is not None:
            progress(secrets.text(line))

    started = clock()
    deadline = started + config.timeout
    # Bounds the checks talking to AWS at once; a check waiting between polls holds no slot.
    slots = threading.BoundedSemaphore(config.concurrency)

    jobs: list[_Job] = []
    results: dict[tuple[str, str], CheckResult] = {}
    order: list[tuple[str, str]] = []
    # Targets that share region, profile and role share one set of clients: building boto3
    # clients per target would load the service models 50 times for a fleet of 50.
    recorders: dict[tuple[Any, ...], _CallRecorder] = {}
    for name, target_config in targets:
        key = (
            target_config.region,
            target_config.profile,
            target_config.role_arn,
            name if target_config.role_arn else "",  # an assumed session is named per target
            target_config.registry_id,
            target_config.registry_region,
            target_config.registry_role_arn,
        )
        if key not in recorders:
            recorders[key] = _CallRecorder(clients or _clients_for(target_config, name))
        target_clients = recorders[key]
        ctx = CheckContext(
            config=target_config,
            clients=target_clients,
            clock=clock,
            environ=env,
            started=started,
            target=name,
            waivers=accepted,
            today=today or run_started.date(),
            vex=vex_documents,
            now=run_started,
            secrets=secrets,
        )
        selected = select_checks(target_config)
        # Started dependencies first (registry.start_order), reported in registry order.
        rank = {c.id: i for i, c in enumerate(start_order(tuple(c for c, _ in selected)))}
        for check, skip in sorted(selected, key=lambda pair: rank[pair[0].id]):
            order.append((name, check.id))
            if skip is None:
                ctx.expect(check.id)
                jobs.append(_Job(name, check, ctx, _Live()))
            else:
                result = replace(check.skipped(skip), target=name)
                results[(name, check.id)] = result
                ctx.finish(result)
        order[len(order) - len(selected) :] = [(name, c.id) for c, _ in selected]

    def interruptible_sleep(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
            if cancel.is_set():
                raise Interrupted()
        elif cancel.wait(seconds):
            raise Interrupted()

    def work(job: _Job) -> CheckResult:
        calls: set[tuple[str, str]] = set()
        recorder = job.ctx.clients
        if isinstance(recorder, _CallRecorder):
            recorder.bind(calls)
        try:
            for dependency in job.check.depends_on:
                job.ctx.result_of(dependency, cancel)
            result = _poll(
                job.check, job.ctx, job.live, deadline, interruptible_sleep, say, cancel, slots
            )
            result = replace(result, target=job.target, calls=tuple(sorted(calls)))
            result = _settle(job.check, job.ctx, result, cancel)
        except Interrupted:
            # Wake whatever waits on this check (a dependent, or a _settle that defers to it)
            # before giving up: the run reports it as interrupted once the pool has stopped.
            job.ctx.finish(replace(job.check.error("interrupted"), target=job.target))
            raise
        except BaseException as exc:  # never leave a dependent waiting, never pass
            # A ConfigError met while checking (a client factory without the target's
            # registry...) is the caller's to fix, not a bug: its message says what to do.
            what = (
                f"configuration error: {exc}"
                if isinstance(exc, ConfigError)
                else f"internal error: {type(exc).__name__}: {exc}"
            )
            result = replace(job.check.error(what), target=job.target)
            try:
                result = _settle(job.check, job.ctx, result, cancel)
            except Interrupted:
                job.ctx.finish(result)
                raise
        finally:
            if isinstance(recorder, _CallRecorder):
                recorder.bind(None)
        result = replace(result, ended=clock() - started)
        job.ctx.finish(result)
        return result

    interrupted = False
    # Dependencies are submitted before their dependents and the pool is FIFO, so a check that
    # waits on another never waits on one that has not started.
    pool = cf.ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 256)))
    futures: dict[cf.Future[CheckResult], _Job] = {}
    try:
        for job in jobs:
            futures[pool.submit(work, job)] = job
        pending = set(futures)
        while pending:
            if cancel.is_set():  # the CLI's signal handler asks to stop waiting
                interrupted = True
                break
            # A short timeout keeps the main thread responsive to SIGINT/SIGTERM.
            _done, pending = cf.wait(pending, timeout=0.25)
    except (KeyboardInterrupt, Interrupted):
        interrupted = True
        cancel.set()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for recorder in recorders.values():
            recorder.close()
    # Workers may all stop on the cancel before the loop looks at it again.
    interrupted = interrupted or cancel.is_set()

    submitted = {id(job): future for future, job in futures.items()}
    for job in jobs:
        future = submitted.get(id(job))
        finished = future is not None and future.done() and not future.cancelled()
        failure = future.exception() if finished and future is not None else None
        if finished and failure is None and future is not None:
            results[(job.target, job.check.id)] = future.result()
            continue
        last = job.live.last
        waited = f" while {last.reason}" if last and last.status is Status.PENDING else ""
        results[(job.target, job.check.id)] = replace(
            job.check.error(f"interrupted{waited}; the check did not finish"),
            duration=clock() - (job.live.started or started),
            target=job.target,
            remediation="",  # an interrupt is nothing to fix in the deployment
            transitions=tuple(job.live.transitions),
            ended=clock() - started,
        )
    # Masked last: a value read by one check (or target) is masked in every other's result.
    ordered = tuple(secrets.result(results[key]) for key in order)
    return GateReport(
        results=ordered,
        duration=clock() - started,
        interrupted=interrupted,
        vex_documents=tuple(d.summary() for d in vex_documents),
    )


def _clients_for(config: GateConfig, target: str) -> Callable[[str], Any]:
    from soc2gate.aws import AwsClients

    session = "soc2gate" + (
        f"-{''.join(c if c.isalnum() else '-' for c in target)}"[:50] if target else ""
    )
    return AwsClients(
        region=config.region,
        profile=config.profile,
        role_arn=config.role_arn,
        session_name=session,
        registry_id=config.registry_id,
        registry_region=config.registry_region,
        registry_role_arn=config.registry_role_arn,
    )


def _poll(
    check: Check,
    ctx: CheckContext,
    state: _Live,
    deadline: float,
    sleep: Callable[[float], None],
    say: Progress,
    cancel: threading.Event,
    slots: threading.BoundedSemaphore | None = None,
) -> CheckResult:
    """Run one check until it is not PENDING, the deadline passes, or errors persist."""
    from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_result
    from tenacity.wait import wait_random_exponential

    from soc2gate.aws import describe_error, is_transient

    config = ctx.config
    clock = ctx.clock
    state.started = clock()
    label = f"{check.id} [{ctx.target}]" if ctx.target else check.id
    backoff = wait_random_exponential(
        multiplier=config.poll_min, min=config.poll_min, max=config.poll_max
    )

    def attempt() -> CheckResult:
        if cancel.is_set():
            raise Interrupted()
        try:
            if slots is None:
                result = check.run(ctx)
            else:
                with slots:
                    result = check.run(ctx)
        except ConfigError:
            raise
        except Exception as exc:
            if is_transient(exc):
                state.transient += 1
                state.last_error = exc
                raise
            if _is_aws_error(exc):
                result = check.error(describe_error(exc))
            elif isinstance(exc, UnreadableAnswer):
                result = check.error(
                    f"could not read the AWS answer: {exc}; the gate does not guess a missing, "
                    "null or mistyped field, so this is not verified"
                )
            else:
                result = check.error(
                    f"internal error in check {check.id}: {type(exc).__name__}: {exc}"
                )
        state.transient = 0
        previous = state.last
        state.last = result
        if result.status is Status.PENDING and (previous is None or previous.state != result.state):
            say(f"{label}: {one_line(result.state)}: {one_line(result.reason)}")
            state.last_line_at = clock()
            state.transitions.append((clock() - ctx.started, one_line(result.state, 60)))
        return result

    def stop(retry_state: RetryCallState) -> bool:
        return clock() >= deadline or state.transient > MAX_TRANSIENT_ERRORS

    def wait(retry_state: RetryCallState) -> float:
        return max(0.0, min(backoff(retry_state), deadline - clock()))

    def before_sleep(retry_state: RetryCallState) -> None:
        delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
        elapsed = format_duration(clock() - state.started)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if exc is not None:
            say(
                f"{label}: transient AWS error ({one_line(describe_error(exc), 200)}), "
                f"retry {state.transient}/{MAX_TRANSIENT_ERRORS} in {delay:.1f}s"
            )
        elif clock() - state.last_line_at >= HEARTBEAT_EVERY:
            last = state.last
            say(
                f"{label}: still {one_line(last.state if last else '?')} "
                f"(elapsed {elapsed}, next poll in {delay:.1f}s)"
            )
            state.last_line_at = clock()

    retrying = Retrying(
        sleep=sleep,
        stop=stop,
        wait=wait,
        retry=(
            retry_if_result(lambda r: r.status is Status.PENDING)
            | retry_if_exception(lambda e: is_transient(e))
        ),
        before_sleep=before_sleep,
        retry_error_callback=lambda retry_state: retry_state.outcome,
        reraise=False,
    )
    outcome = retrying(attempt)
    duration = clock() - state.started
    if not isinstance(outcome, CheckResult):
        # retry_error_callback handed back the last Future: it either failed or is PENDING.
        if outcome.failed:
            exc = outcome.exception() or RuntimeError("unknown failure")
            if isinstance(exc, (Interrupted, ConfigError)):
                raise exc
            result = check.error(
                f"AWS kept failing after {state.transient} tries: {describe_error(exc)}"
            )
        else:
            result = _timed_out(check, outcome.result(), duration)
    else:
        result = outcome
    if result.status is Status.PENDING:  # pragma: no cover - defensive: never report PENDING
        result = _timed_out(check, result, duration)
    if state.last_line_at > float("-inf"):  # it waited: say how the wait ended
        say(
            f"{label}: {result.status.value} after {format_duration(duration)}: "
            f"{one_line(result.reason, 300)}"
        )
    if state.transitions:  # it waited: the state it ended in, for the summary's timeline
        state.transitions.append((clock() - ctx.started, _final_state(result)))
    return replace(result, duration=duration, transitions=tuple(state.transitions))


def _final_state(result: CheckResult) -> str:
    """The AWS state a wait ended in (COMPLETE, InService, Failed), else the verdict."""
    for key in ("EndpointStatus", "scanStatus"):
        value = result.evidence.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value.strip(), 60)
    return result.status.value


def _settle(
    check: Check,
    ctx: CheckContext,
    result: CheckResult,
    cancel: threading.Event | None = None,
) -> CheckResult:
    """The final touches every result gets before it is recorded.

    ``blocked_by`` (not evaluated) is kept only when it names a check in ``depends_on`` (or
    ``defers_to``) whose result for this target is FAIL or ERROR, and only on a FAIL or ERROR:
    so the check it points
    at is always counted as a failure, and the exit code (from the raw statuses) never changes.
    The "How to fix" becomes the one for the result's cause (``causes.remediation_for``).
    """
    from soc2gate.report.causes import remediation_for

    blocked = result.blocked_by
    if blocked:
        related = (*check.depends_on, *check.defers_to)
        # Waiting on a check that defers_to names: a cancel (SIGTERM) must end the wait too.
        upstream = ctx.result_of(blocked, cancel) if blocked in related else None
        if (
            upstream is None
            or upstream.status not in (Status.FAIL, Status.ERROR)
            or result.status not in (Status.FAIL, Status.ERROR)
        ):
            result = replace(result, blocked_by="")
    return replace(result, remediation=remediation_for(result, check.remediation))


def _timed_out(check: Check, last: CheckResult, waited: float) -> CheckResult:
    return check.failed(
        f"still {last.state} at the deadline after waiting {format_duration(waited)}: "
        f"{last.reason} (raise --timeout if this deployment is slow)",
        evidence=last.evidence,
        details=last.details,
    )


def _is_aws_error(exc: BaseException) -> bool:
    import botocore.exceptions

    return isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError))
