"""Every scenario under injected transient faults: the verdict must not change.

Used by tests/faults/test_transient_faults.py (a few repetitions) and scripts/fault_soak.py
(30+). Each run is one MotoWorld seeded with the scenario, a FaultProxy in front of it, and the
installed CLI pointed at the proxy. Runs are spread over worker processes (one MotoWorld per
process is all moto allows), each with its own seed.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import multiprocessing
import statistics
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faults.harness import run_cli, validate_junit
from faults.proxy import TRANSIENT_ERRORS, FaultProxy

#: Injected faults by kind that are errors (latency is counted apart).
ERROR_KINDS = frozenset(TRANSIENT_ERRORS)


@dataclass
class SoakRun:
    scenario: str
    rep: int
    seed: int
    code: int
    expected_exit: int
    text_ok: bool
    junit_ok: bool
    seconds: float
    requests: int
    injected: dict[str, int] = field(default_factory=dict)
    tail: str = ""
    #: A Python traceback on stderr (stdout may quote one from the endpoint's logs).
    crashed: bool = False

    @property
    def same(self) -> bool:
        return (
            self.code == self.expected_exit and self.text_ok and self.junit_ok and not self.crashed
        )

    @property
    def false_pass(self) -> bool:
        return self.code == 0 and self.expected_exit != 0

    @property
    def faults(self) -> int:
        return sum(n for kind, n in self.injected.items() if kind in ERROR_KINDS)


def seed_for(scenario: str, rep: int, base: int = 0) -> int:
    return zlib.crc32(f"{scenario}/{rep}".encode()) ^ base


def run_one(scenario: str, rep: int, rate: float, latency_rate: float, base_seed: int) -> SoakRun:
    """One scenario, one repetition, in this process."""
    from soc2gate.demo.scenarios import SCENARIOS
    from soc2gate.demo.world import MotoWorld

    spec = SCENARIOS[scenario]
    seed = seed_for(scenario, rep, base_seed)
    with tempfile.TemporaryDirectory(prefix="soc2gate-soak-") as tmp, MotoWorld() as world:
        spec.prepare(world)
        with FaultProxy(
            world.endpoint_url, rate=rate, latency_rate=latency_rate, seed=seed
        ) as proxy:
            run = run_cli(["run", *spec.gate_args(world)], Path(tmp), endpoint_url=proxy.url)
        if proxy.errors:
            raise RuntimeError(f"the proxy itself failed: {proxy.errors[0]!r}")
        try:
            validate_junit(run.junit)
            junit_ok = True
        except Exception:
            junit_ok = False
    return SoakRun(
        scenario=scenario,
        rep=rep,
        seed=seed,
        code=run.code,
        expected_exit=spec.expected_exit,
        text_ok=spec.expected_text in run.stdout,
        junit_ok=junit_ok,
        seconds=run.seconds,
        requests=sum(proxy.calls.values()),
        injected=dict(proxy.injected),
        tail=run.stdout[-3000:] + "\n--- stderr ---\n" + run.stderr[-3000:],
        crashed="Traceback (most recent call last)" in run.stderr,
    )


def _run_many(
    jobs: Sequence[tuple[str, int]], rate: float, latency_rate: float, seed: int
) -> list[SoakRun]:
    return [run_one(name, rep, rate, latency_rate, seed) for name, rep in jobs]


def soak(
    scenarios: Iterable[str],
    reps: int,
    *,
    rate: float = 0.2,
    latency_rate: float = 0.1,
    seed: int = 0,
    workers: int = 3,
) -> list[SoakRun]:
    """Every scenario ``reps`` times, spread over ``workers`` spawned processes."""
    jobs = [(name, rep) for rep in range(reps) for name in scenarios]
    if workers <= 1:
        return _run_many(jobs, rate, latency_rate, seed)
    # Spawned, not forked: the parent may have threads (a pytest plugin, a MotoWorld).
    context = multiprocessing.get_context("spawn")
    chunks = [jobs[i::workers] for i in range(workers)]
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(_run_many, chunk, rate, latency_rate, seed) for chunk in chunks if chunk
        ]
        runs = [run for future in futures for run in future.result()]
    return sorted(runs, key=lambda r: (r.scenario, r.rep))


@dataclass
class Row:
    scenario: str
    runs: int
    same: int
    false_passes: int
    faults: int
    requests: int
    latency: int
    p50: float
    max: float


def table(runs: Sequence[SoakRun], order: Sequence[str]) -> list[Row]:
    by_name: dict[str, list[SoakRun]] = collections.defaultdict(list)
    for run in runs:
        by_name[run.scenario].append(run)
    rows = []
    for name in order:
        group = by_name.get(name, [])
        if not group:
            continue
        times = [r.seconds for r in group]
        rows.append(
            Row(
                scenario=name,
                runs=len(group),
                same=sum(r.same for r in group),
                false_passes=sum(r.false_pass for r in group),
                faults=sum(r.faults for r in group),
                requests=sum(r.requests for r in group),
                latency=sum(r.injected.get("latency", 0) for r in group),
                p50=statistics.median(times),
                max=max(times),
            )
        )
    return rows


def render(rows: Sequence[Row]) -> str:
    head = (
        f"{'scenario':<22} {'runs':>5} {'same':>5} {'false':>6} {'faults':>7} {'requests':>9} "
        f"{'fault%':>7} {'late':>5} {'p50 s':>6} {'max s':>6}"
    )
    lines = [head, "-" * len(head)]
    total = Row("TOTAL", 0, 0, 0, 0, 0, 0, 0.0, 0.0)
    for r in rows:
        pct = 100.0 * r.faults / r.requests if r.requests else 0.0
        lines.append(
            f"{r.scenario:<22} {r.runs:>5} {r.same:>5} {r.false_passes:>6} {r.faults:>7} "
            f"{r.requests:>9} {pct:>6.1f}% {r.latency:>5} {r.p50:>6.2f} {r.max:>6.2f}"
        )
        total.runs += r.runs
        total.same += r.same
        total.false_passes += r.false_passes
        total.faults += r.faults
        total.requests += r.requests
        total.latency += r.latency
        total.max = max(total.max, r.max)
    pct = 100.0 * total.faults / total.requests if total.requests else 0.0
    lines.append("-" * len(head))
    lines.append(
        f"{'TOTAL':<22} {total.runs:>5} {total.same:>5} {total.false_passes:>6} "
        f"{total.faults:>7} {total.requests:>9} {pct:>6.1f}% {total.latency:>5} "
        f"{'':>6} {total.max:>6.2f}"
    )
    return "\n".join(lines)


def injected_by_kind(runs: Iterable[SoakRun]) -> dict[str, int]:
    total: collections.Counter[str] = collections.Counter()
    for run in runs:
        total.update(run.injected)
    return dict(sorted(total.items()))
