"""The check contract: metadata in code, fetch-then-evaluate, typed results."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Finding, Status
from soc2gate.redaction import SecretValues
from soc2gate.vex import Document as VexDocument
from soc2gate.waivers import Waiver


@dataclass
class CheckContext:
    """What a check may use: the config, AWS clients, the clock, and a per-run memo.

    ``memo`` caches only AWS objects that cannot change during a run (endpoint configs and
    models are immutable in SageMaker), so checks that share them don't call AWS twice.
    """

    config: GateConfig
    clients: Callable[[str], Any]
    clock: Callable[[], float]
    environ: Mapping[str, str]
    #: clock() when the run started: grace periods are measured from here.
    started: float = 0.0
    #: The fleet target these checks run for ("" for a single-target run).
    target: str = ""
    #: Accepted findings (soc2gate.waivers), loaded once per run.
    waivers: tuple[Waiver, ...] = ()
    #: Today's date (UTC) for waiver expiry; injectable for tests.
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date())
    #: Wall-clock seconds since the epoch, to compare with AWS's timestamps (how long an alarm
    #: has been in its state); ``clock`` is the run's own clock. Injectable for tests.
    wall: Callable[[], float] = time.time
    #: OpenVEX documents (soc2gate.vex, --vex), loaded once per run.
    vex: tuple[VexDocument, ...] = ()
    #: When the run started (UTC), for the age of VEX statements (--vex-max-age); injectable.
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    #: The run's model environment values (one set for every target): whatever reads a model,
    #: a model package or an inference component adds its Environment here, and the runner
    #: masks these values in every result (soc2gate.redaction).
    secrets: SecretValues = field(default_factory=SecretValues)
    _memo: dict[Any, Any] = field(default_factory=dict)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock)
    _memo_in_flight: dict[Any, threading.Event] = field(default_factory=dict)
    _finished: dict[str, CheckResult] = field(default_factory=dict)
    _events: dict[str, threading.Event] = field(default_factory=dict)
    _tags_seen: dict[tuple[str, str], list[tuple[float, str]]] = field(default_factory=dict)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def registry_client(self, service: str) -> Any:
        """The ``ecr`` or ``inspector2`` client that reads the gated repository: for a central or
        cross-account registry (--registry-id, --registry-region, --registry-role-arn) the
        client bound to that registry, which names its ``registryId`` on every call."""
        from soc2gate.aws import REGISTRY_SUFFIX

        if self.config.names_a_registry:
            return self.clients(service + REGISTRY_SUFFIX)
        return self.clients(service)

    def saw_tag(self, repository: str, tag: str, digest: str) -> tuple[tuple[float, str], ...]:
        """Record that ``tag`` named ``digest`` now; the tag's history in this run so far:
        (seconds since the run started, digest), one entry per digest it moved to."""
        with self._memo_lock:
            seen = self._tags_seen.setdefault((repository, tag), [])
            if not seen or seen[-1][1] != digest:
                seen.append((self.elapsed(), digest))
            return tuple(seen)

    def tag_history(self, repository: str, tag: str) -> tuple[tuple[float, str], ...]:
        """What ``saw_tag`` recorded for ``tag`` so far (empty when nothing read it)."""
        with self._memo_lock:
            return tuple(self._tags_seen.get((repository, tag), ()))

    def expect(self, check_id: str) -> None:
        """Runner: ``check_id`` will run for this target; dependents may wait for it."""
        self._events.setdefault(check_id, threading.Event())

    def finish(self, result: CheckResult) -> None:
        """Runner: record a final result and wake the checks that depend on it."""
        self._finished[result.check_id] = result
        self._events.setdefault(result.check_id, threading.Event()).set()

    def result_of(self, check_id: str, cancel: threading.Event | None = None) -> CheckResult | None:
        """The final result of another check of this target, waiting for it if it runs.

        None when that check is not part of this run. Only checks named in ``depends_on`` may be
        asked for: the runner starts those first, so waiting cannot deadlock.
        """
        event = self._events.get(check_id)
        if event is None:
            return self._finished.get(check_id)
        while not event.wait(0.1):
            if cancel is not None and cancel.is_set():
                from soc2gate.errors import Interrupted

                raise Interrupted()
        return self._finished.get(check_id)

    def memo(self, key: Any, fetch: Callable[[], Any]) -> Any:
        """``fetch()`` once per run and key. The AWS calls the fetch made are credited to every
        check that uses the value, so the evidence record does not depend on which check ran
        first. A second caller while the first is fetching waits for it rather than calling
        AWS again (on a slow link that repeat would sit on the run's critical path)."""
        sink: set[Any] | None = getattr(self.clients, "current_sink", lambda: None)()
        while True:
            with self._memo_lock:
                if key in self._memo:
                    value, calls = self._memo[key]
                    if sink is not None:
                        sink.update(calls)
                    return value
                in_flight = self._memo_in_flight.get(key)
                if in_flight is None:
                    in_flight = self._memo_in_flight[key] = threading.Event()
                    break
            in_flight.wait()  # the other fetch finished (or failed: then fetch here)
        try:
            before = set(sink) if sink is not None else set()
            value = fetch()
            calls = (set(sink) - before) if sink is not None else set()
            with self._memo_lock:
                self._memo[key] = (value, calls)
            return value
        finally:
            with self._memo_lock:
                self._memo_in_flight.pop(key, None)
            in_flight.set()


class Check:
    """Base class. Subclasses set the metadata and implement ``skip_reason`` and ``run``."""

    id: ClassVar[str]
    title: ClassVar[str]
    asserts: ClassVar[str]
    remediation: ClassVar[str]
    soc2: ClassVar[tuple[str, ...]]
    #: Off unless turned on with --enable (for checks that need extra permissions).
    default_enabled: ClassVar[bool] = True
    #: Checks whose final result this one reads through ``ctx.result_of``: the runner starts
    #: this one only once they finished.
    depends_on: ClassVar[tuple[str, ...]] = ()
    #: Checks whose failure may make this one "not evaluated" (``blocked_by``) without waiting
    #: for them first: the same cause seen here counts once, as theirs (the repository does
    #: not exist: ecr-repository-config FAILs, the checks that read images in it defer to it).
    defers_to: ClassVar[tuple[str, ...]] = ()
    #: Turned on by ``--preset strict`` (with every check that is on by default).
    strict: ClassVar[bool] = False
    #: The control mapping (``soc2gate.docs`` renders it; the evidence record carries it): the
    #: AWS Security Hub control ids this check covers at deploy time, the AWS Config managed
    #: rules, and what it judges that none of them does ("" when nothing).
    security_hub: ClassVar[tuple[str, ...]] = ()
    aws_config: ClassVar[tuple[str, ...]] = ()
    beyond: ClassVar[str] = ""

    def skip_reason(self, config: GateConfig) -> str | None:
        """None when configured; otherwise why the check is skipped (never a pass)."""
        raise NotImplementedError

    def run(self, ctx: CheckContext) -> CheckResult:
        """Fetch from AWS, evaluate, return a result. PENDING means "poll me again"."""
        raise NotImplementedError

    # ---- result helpers ----------------------------------------------------------------------
    def _result(
        self,
        status: Status,
        reason: str,
        *,
        details: Sequence[str] = (),
        evidence: Mapping[str, Any] | None = None,
        findings: Sequence[Finding] = (),
        state: str = "",
    ) -> CheckResult:
        return CheckResult(
            check_id=self.id,
            status=status,
            reason=reason,
            title=self.title,
            remediation="" if status in (Status.PASS, Status.SKIPPED) else self.remediation,
            details=tuple(details),
            evidence=dict(evidence or {}),
            findings=tuple(findings),
            state=state,
        )

    def passed(self, reason: str, **kw: Any) -> CheckResult:
        return self._result(Status.PASS, reason, **kw)

    def failed(self, reason: str, **kw: Any) -> CheckResult:
        return self._result(Status.FAIL, reason, **kw)

    def error(self, reason: str, **kw: Any) -> CheckResult:
        return self._result(Status.ERROR, reason, **kw)

    def pending(self, state: str, reason: str, **kw: Any) -> CheckResult:
        return self._result(Status.PENDING, reason, state=state, **kw)

    def skipped(self, reason: str) -> CheckResult:
        return self._result(Status.SKIPPED, reason)
