"""The check contract: metadata in code, fetch-then-evaluate, typed results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from soc2gate.config import GateConfig
from soc2gate.models import CheckResult, Finding, Status


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
    _memo: dict[Any, Any] = field(default_factory=dict)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def memo(self, key: Any, fetch: Callable[[], Any]) -> Any:
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        value = fetch()
        with self._memo_lock:
            return self._memo.setdefault(key, value)


class Check:
    """Base class. Subclasses set the metadata and implement ``skip_reason`` and ``run``."""

    id: ClassVar[str]
    title: ClassVar[str]
    asserts: ClassVar[str]
    remediation: ClassVar[str]
    soc2: ClassVar[tuple[str, ...]]
    #: Off unless selected with --only (for checks that need extra permissions).
    default_enabled: ClassVar[bool] = True

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
