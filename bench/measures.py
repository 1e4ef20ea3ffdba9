"""The six measurements of issue 7. Each returns table rows; a broken premise raises ``Broken``.

Every measurement starts its own ``MotoWorld`` (moto's server on 127.0.0.1, in this process)
seeded from the scenario library, so the gate, the guide's commands and the floor all read the
same deployment over the same loopback HTTP.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    ROOT,
    Broken,
    Probe,
    Proc,
    Samples,
    clean_env,
    ensure_awscli,
    expect_ok,
    gate_command,
    interleaved,
    run_proc,
)

from soc2gate.demo import scenarios as sc

#: Every operation the gate, the guide and the floor call (the probe hooks each one).
OPERATIONS = (
    "DescribeRepositories",
    "GetRegistryScanningConfiguration",
    "BatchGetRepositoryScanningConfiguration",
    "DescribeImages",
    "DescribeImageScanFindings",
    "ListImages",
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    "DescribeEndpoint",
    "DescribeEndpointConfig",
    "DescribeModel",
    "ListModels",
    "ListEndpointConfigs",
    "ListEndpoints",
    "DescribeLogStreams",
    "GetLogEvents",
    "FilterLogEvents",
    "DescribeLogGroups",
    "AssumeRole",
    "GetCallerIdentity",
)
#: Which earlier call's answer a call needs (its input comes from that answer). Used to find the
#: longest chain of *dependent* calls among the calls a check really makes.
DEPENDS_ON = {
    "DescribeImageScanFindings": ("DescribeImages", "DescribeImageScanFindings"),  # digest, page
    "DescribeImages": ("DescribeModel",),  # a model's Image tag, resolved to its digest
    "DescribeEndpointConfig": ("DescribeEndpoint",),  # EndpointConfigName
    "DescribeModel": ("DescribeEndpointConfig", "ListModels"),  # ModelName
    "BatchGetImage": ("DescribeImages",),
    "GetDownloadUrlForLayer": ("BatchGetImage",),
    "GetLogEvents": ("DescribeLogStreams", "GetLogEvents"),
}
FLOOR_SCRIPT = (
    "import boto3\n"
    f"boto3.client('ecr').describe_repositories(repositoryNames=[{sc.REPOSITORY!r}])\n"
    f"boto3.client('sagemaker').describe_endpoint(EndpointName={sc.ENDPOINT!r})\n"
)
IMPORT_BOTO3 = "import boto3"


@dataclass
class Row:
    key: str
    measure: str
    baseline: str
    ours: str
    ratio: str
    target: str
    met: bool | None
    note: str = ""


@dataclass
class Context:
    quick: bool
    seed: int
    say: Callable[[str], None]
    tmp: Path
    #: The awscli install when it runs beside other measurements (--quick), else None.
    awscli: Any = None
    #: Filled by measurement 1, used by 6 (first-call times of the same runs).
    first_call: dict[str, Samples] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


# ---- shared setup ------------------------------------------------------------------------------


@contextmanager
def world_env(world: Any) -> Iterator[dict[str, str]]:
    """os.environ pointed at the world (for the gate run in this process); restored after."""
    env = clean_env(world.env())
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield env
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def ready_world(scenario: str = "healthy") -> Iterator[tuple[Any, Probe, dict[str, str]]]:
    """A world with the scenario's deployment already settled (scan done, endpoint final)."""
    from soc2gate.demo.world import MotoWorld

    with MotoWorld() as world:
        item = sc.SCENARIOS[scenario]
        item.setup(world)
        for _op, _n, action in item.triggers:
            action(world)
        probe = Probe(world, OPERATIONS)
        with world_env(world) as env:
            yield world, probe, env
        if probe.unhooked():
            raise Broken(f"the probe missed operations {sorted(probe.unhooked())}")


def gate_flags(world: Any) -> list[str]:
    """The scenario library's ``soc2gate run`` flags, with the default polling and timeout."""
    args = sc.SCENARIOS["healthy"].gate_args(world)
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--poll-min", "--poll-max", "--timeout"):
            skip = True
        else:
            out.append(arg)
    return out


def gate_config(**overrides: Any) -> Any:
    """The same gate as ``gate_flags``, as a GateConfig for ``run_gate`` in this process."""
    from soc2gate import GateConfig, Severity

    values: dict[str, Any] = {
        "region": sc.REGION,
        "repository": sc.REPOSITORY,
        "require_tags": (sc.TAG_DEV_LATEST, sc.TAG_DEV_SHA_TEMPLATE, sc.TAG_LATEST),
        "commit_sha": sc.COMMIT_SHA,
        "fail_on": Severity.HIGH,
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "endpoint": sc.ENDPOINT,
        "instance_types": (sc.INSTANCE_TYPE,),
    }
    values.update(overrides)
    return GateConfig(**values)


def _x(value: float) -> str:
    return f"{value:.2f}x"


# ---- 1. full verdict vs the guide's commands -------------------------------------------------


def verdict(ctx: Context) -> list[Row]:
    aws = ctx.awscli.result() if ctx.awscli is not None else ensure_awscli(ctx.say)
    with ready_world() as (world, probe, env):
        guide_env = {**env, "PATH": f"{aws.parent}{os.pathsep}{env.get('PATH', '')}"}
        junit = ctx.tmp / "verdict-junit.xml"
        commands: dict[str, tuple[list[str], dict[str, str], Sequence[str]]] = {
            "guide": (
                ["bash", str(BENCH / "guide.sh")],
                guide_env,
                ("SOC 2 endpoint is ready for testing!", sc.MODEL_NAME),
            ),
            "gate": (
                [*gate_command(), "run", *gate_flags(world), "--junit", str(junit)],
                env,
                ("is InService",),
            ),
            "floor": ([sys.executable, "-c", FLOOR_SCRIPT], env, ()),
        }
        calls: dict[str, int] = {}
        cpu: dict[str, Samples] = {name: Samples() for name in commands}
        rss: dict[str, Samples] = {name: Samples() for name in commands}
        first = {name: Samples() for name in commands}

        def runner(name: str) -> Callable[[], float]:
            cmd, cmd_env, contains = commands[name]

            def run() -> float:
                probe.reset()
                before = sum(world.calls.values())
                proc = expect_ok(run_proc(cmd, cmd_env), name, contains=contains)
                calls[name] = sum(world.calls.values()) - before
                cpu[name].add(proc.cpu)
                rss[name].add(proc.maxrss_mb)
                if probe.first_call is not None:
                    first[name].add(probe.first_call - proc.started)
                return proc.wall

            return run

        # The guide takes seconds a run: fewer repeats of it, the same interleaving.
        repeat = ctx.n(15, 2)
        guide_repeat = ctx.n(5, 1)
        samples = interleaved(
            {name: runner(name) for name in ("gate", "floor")}, repeat, warmup=ctx.n(1, 1)
        )
        samples["guide"] = interleaved(
            {"guide": runner("guide")}, guide_repeat, warmup=ctx.n(1, 0)
        )["guide"]
    ctx.first_call.update({k: v for k, v in first.items() if v.values})
    ctx.raw["verdict"] = {
        name: {
            "wall": s.values,
            "cpu": cpu[name].values,
            "rss_mb": rss[name].values,
            "calls": calls.get(name),
        }
        for name, s in samples.items()
    }
    guide, gate, floor = samples["guide"], samples["gate"], samples["floor"]
    speedup = guide.median / gate.median
    vs_floor = gate.median / floor.median
    return [
        Row(
            "1a",
            "full verdict, ready deployment: guide's commands vs `soc2gate run` (whole process)",
            f"guide: {guide.spread()}, 16 aws processes, {calls['guide']} calls",
            f"{gate.spread()}, {calls['gate']} calls",
            f"{speedup:.1f}x faster",
            ">= 8x faster",
            speedup >= 8,
            f"a bare boto3 process is {guide.median / floor.median:.1f}x faster than the guide",
        ),
        Row(
            "1b",
            "full verdict vs the floor (bare boto3: import, 2 clients, 1 call each)",
            f"floor: {floor.spread()}, {calls['floor']} calls",
            gate.spread(),
            _x(vs_floor),
            "<= 1.25x",
            vs_floor <= 1.25,
            f"CPU: gate {cpu['gate'].median:.2f} s, floor {cpu['floor'].median:.2f} s; "
            f"peak RSS gate {rss['gate'].median:.0f} MB, floor {rss['floor'].median:.0f} MB",
        ),
    ]


# ---- 2. detection lag ----------------------------------------------------------------------------


class SimClock:
    """Simulated seconds for ``run_gate``'s injected ``clock`` and ``sleep`` (a discrete-event clock).

    Each check's polling loop (``soc2gate.runner._poll``, wrapped while a trial runs) is
    tracked: active from its start until it sleeps here or returns. A sleeping check is parked
    with its wake-up time, and the clock jumps to the earliest wake-up only when no check is
    active and none is about to start (a check still waiting for a dependency that has not
    finished counts as parked). A check doing an AWS call or computing is active, so time
    stands still until it parks: several checks can wait at once and all see one clock, as in a
    real run, with no real waiting.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._cond = threading.Condition()
        self._wake: dict[int, float] = {}
        self._check_of: dict[int, str] = {}
        self._state: dict[str, str] = {}
        self._deps: dict[str, tuple[str, ...]] = {}

    def __call__(self) -> float:
        return self.now

    def begin(self, deps: Mapping[str, tuple[str, ...]]) -> None:
        """A new trial: these checks will run (check id -> the checks it waits for)."""
        with self._cond:
            if self._wake:
                raise Broken("sim clock reset while checks sleep")
            self.now = 0.0
            self._deps = dict(deps)
            self._state = dict.fromkeys(deps, "pending")
            self._check_of.clear()

    def wrap(self, poll: Callable[..., Any]) -> Callable[..., Any]:
        def tracked(check: Any, *args: Any, **kwargs: Any) -> Any:
            me = threading.get_ident()
            with self._cond:
                self._check_of[me] = check.id
                self._state[check.id] = "active"
            try:
                return poll(check, *args, **kwargs)
            finally:
                with self._cond:
                    self._state[check.id] = "done"
                    self._advance()

        return tracked

    def sleep(self, seconds: float) -> None:
        me = threading.get_ident()
        give_up = time.monotonic() + 60.0
        with self._cond:
            self._wake[me] = self.now + max(0.0, seconds)
            self._state[self._check_of.get(me, "?")] = "asleep"
            self._advance()
            while me in self._wake:
                if not self._cond.wait(1.0) and time.monotonic() > give_up:
                    raise Broken("simulated clock stuck: a check never parked")

    def _advance(self) -> None:
        if not self._wake:
            return
        for check_id, state in self._state.items():
            if state == "active":
                return
            deps = self._deps.get(check_id, ())
            if state == "pending" and all(self._state.get(d, "done") == "done" for d in deps):
                return  # about to start
        self.now = min(self._wake.values())
        for ident in [i for i, at in self._wake.items() if at <= self.now]:
            del self._wake[ident]
            self._state[self._check_of.get(ident, "?")] = "active"
        self._cond.notify_all()


class StepClock:
    """The same simulated seconds for a single-threaded loop: ``sleep`` advances at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def reset(self) -> None:
        self.now = 0.0


def lag(ctx: Context) -> list[Row]:
    from soc2gate import Status, run_gate
    from soc2gate.aws import AwsClients

    trials = ctx.n(200, 12)
    rng = random.Random(ctx.seed)
    # The endpoint turns InService uniformly within the guide's endpoint phase (minutes 7-12 of
    # its timeline, i.e. within 5 minutes after the gate starts waiting), never at t=0.
    moments = [rng.uniform(30.0, 330.0) for _ in range(trials)]
    state: dict[str, Any] = {"at": math.inf, "flipped": False, "clock": None}
    results: dict[str, dict[str, list[float]]] = {}
    waiting: dict[str, int] = {}

    from soc2gate import runner
    from soc2gate.registry import all_checks

    sim = SimClock()
    with ready_world() as (world, probe, _env):
        step = StepClock()
        config = gate_config()
        clients = AwsClients(region=sc.REGION)
        client = world.client("sagemaker")
        waiter_delay = client.get_waiter("endpoint_in_service").config.delay
        deployed = world.deployed_image(sc.REPOSITORY, sc.TAG_DEV_SHA)

        def flip() -> None:
            # Runs right before a DescribeEndpoint is answered: InService from the moment on.
            if not state["flipped"] and state["clock"]() >= state["at"]:
                world.set_endpoint(sc.ENDPOINT, status="InService", deployed_images=[deployed])
                state["flipped"] = True

        probe.callbacks["DescribeEndpoint"] = flip

        deps = {c.id: c.depends_on for c in all_checks()}
        runnable = {c.id: deps[c.id] for c, skip in runner.select_checks(config) if skip is None}

        def ours() -> None:
            sim.begin(runnable)
            original = runner._poll
            runner._poll = sim.wrap(original)  # type: ignore[assignment]
            try:
                report = run_gate(
                    config, clients=clients, sleep=sim.sleep, clock=sim, progress=None
                )
            finally:
                runner._poll = original  # type: ignore[assignment]
            status = {r.check_id: r.status for r in report.results}
            if status.get("sagemaker-endpoint-status") is not Status.PASS or report.exit_code:
                raise Broken(f"gate did not pass on InService: {report.results}")
            if abs(report.duration - sim.now) > 1e-9:
                raise Broken("run_gate did not use the injected clock")
            for result in report.results:
                if result.duration > 0.5:  # it waited (simulated seconds)
                    waiting[result.check_id] = waiting.get(result.check_id, 0) + 1

        def guide_loop() -> None:
            # The guide's `while true; ... sleep 30` loop: the status, then sleep 30.
            while True:
                status = client.describe_endpoint(EndpointName=sc.ENDPOINT)["EndpointStatus"]
                if status in ("InService", "Failed"):
                    return
                step.sleep(30)

        def waiter() -> None:
            # botocore's own EndpointInService waiter, its real code; only its sleep is simulated.
            import botocore.waiter

            saved = botocore.waiter.time
            botocore.waiter.time = types.SimpleNamespace(sleep=step.sleep)  # type: ignore[assignment]
            try:
                client.get_waiter("endpoint_in_service").wait(EndpointName=sc.ENDPOINT)
            finally:
                botocore.waiter.time = saved  # type: ignore[assignment]

        policies: dict[str, tuple[Callable[[], None], Any]] = {
            "soc2gate": (ours, sim),
            "guide-loop": (guide_loop, step),
            "waiter": (waiter, step),
        }
        random.seed(ctx.seed)  # tenacity's jitter uses the random module
        for name, (policy, clock) in policies.items():
            out: dict[str, list[float]] = {"lag": [], "calls": [], "duration": []}
            state["clock"] = clock
            for moment in moments:
                world.set_endpoint(sc.ENDPOINT, status="Creating", deployed_images=[])
                if clock is step:
                    step.reset()
                state.update(at=moment, flipped=False)
                before = world.calls["DescribeEndpoint"]
                policy()
                if not state["flipped"]:
                    raise Broken(f"{name}: finished before the endpoint was InService")
                out["lag"].append(clock.now - moment)
                out["calls"].append(world.calls["DescribeEndpoint"] - before)
                out["duration"].append(clock.now)
            results[name] = out
        probe.callbacks.clear()
    ctx.raw["lag"] = {"moments": moments, "waiting_checks": waiting, **results}

    def summary(name: str) -> tuple[Samples, float]:
        data = results[name]
        per_min = sum(data["calls"]) / (sum(data["duration"]) / 60.0)
        return Samples(list(data["lag"])), per_min

    ours_lag, ours_rate = summary("soc2gate")
    loop_lag, loop_rate = summary("guide-loop")
    wait_lag, wait_rate = summary("waiter")
    pollers = ", ".join(sorted(waiting))
    base = (
        f"guide loop p50 {loop_lag.median:.1f} s / waiter (Delay {waiter_delay}) "
        f"p50 {wait_lag.median:.1f} s"
    )
    return [
        Row(
            "2a",
            f"detection lag p50 ({trials} trials, InService at U(30,330) s, simulated clock)",
            base,
            f"{ours_lag.median:.2f} s",
            f"{ours_lag.median / loop_lag.median:.2f}x",
            "<= 3 s",
            ours_lag.median <= 3,
            f"checks that waited for InService: {pollers}; the verdict comes when the last "
            "of them sees it",
        ),
        Row(
            "2b",
            "detection lag max",
            f"guide loop {loop_lag.high:.1f} s / waiter {wait_lag.high:.1f} s",
            f"{ours_lag.high:.2f} s (p90 {ours_lag.quantile(0.9):.2f} s)",
            f"{ours_lag.high / loop_lag.high:.2f}x",
            "<= 8 s",
            ours_lag.high <= 8,
        ),
        Row(
            "2c",
            "DescribeEndpoint calls per minute while waiting (all trials)",
            f"guide loop {loop_rate:.1f} / waiter {wait_rate:.1f}",
            f"{ours_rate:.1f}",
            f"{ours_rate / loop_rate:.1f}x",
            "<= 20/min",
            ours_rate <= 20,
            f"every DescribeEndpoint the gate made, by all {len(waiting) or 1} waiting check(s) "
            "and the one-shot reads of the others",
        ),
    ]


# ---- 3. latency-bound run --------------------------------------------------------------------


def dependent_chain(ops: Sequence[str]) -> tuple[int, list[str]]:
    """Longest path through ``ops`` (in call order) where each call needs an earlier answer."""
    depth: list[int] = []
    via: list[int] = []
    for i, op in enumerate(ops):
        needs = DEPENDS_ON.get(op, ())
        best, prev = 0, -1
        for j in range(i):
            if ops[j] in needs and depth[j] > best:
                best, prev = depth[j], j
        depth.append(best + 1)
        via.append(prev)
    if not depth:
        return 0, []
    i = max(range(len(depth)), key=depth.__getitem__)
    path = []
    while i >= 0:
        path.append(ops[i])
        i = via[i]
    return len(path), path[::-1]


def _caller_check() -> str:
    from soc2gate.checks.base import Check

    frame = sys._getframe(2)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, Check):
            return owner.id
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


class CallLog:
    """A client factory for ``run_gate`` that logs (check id, operation, start, end) per call.

    The check is the ``Check`` whose method is on the calling thread's stack. Fresh AWS clients
    (``AwsClients``, the gate's own factory) per instance.
    """

    def __init__(self) -> None:
        from soc2gate.aws import AwsClients

        self.inner = AwsClients(region=sc.REGION)
        self.entries: list[tuple[str, str, float, float]] = []
        self._hooked: set[int] = set()
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self, service: str) -> Any:
        client = self.inner(service)
        with self._lock:
            if id(client) not in self._hooked:
                self._hooked.add(id(client))
                client.meta.events.register("before-call", self._before)
                client.meta.events.register("after-call", self._after)
        return client

    def _before(self, model: Any, **_: Any) -> None:
        self._local.start = time.perf_counter()

    def _after(self, model: Any, **_: Any) -> None:
        entry = (_caller_check(), model.name, self._local.start, time.perf_counter())
        with self._lock:
            self.entries.append(entry)

    def ops(self, check_id: str) -> list[str]:
        return [
            op for cid, op, _s, _e in sorted(self.entries, key=lambda e: e[2]) if cid == check_id
        ]


def config_document(**overrides: Any) -> dict[str, Any]:
    """The gate of ``gate_flags`` as soc2gate config keys (a YAML/JSON config file)."""
    document: dict[str, Any] = {
        "region": sc.REGION,
        "repository": sc.REPOSITORY,
        "require_tags": [sc.TAG_DEV_LATEST, sc.TAG_DEV_SHA_TEMPLATE, sc.TAG_LATEST],
        "commit_sha": sc.COMMIT_SHA,
        "fail_on": "HIGH",
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "endpoint": sc.ENDPOINT,
        "instance_types": [sc.INSTANCE_TYPE],
    }
    document.update(overrides)
    return document


def latency(ctx: Context) -> list[Row]:
    from soc2gate import run_gate
    from soc2gate.registry import all_checks
    from soc2gate.runner import select_checks

    delay = 0.1
    checks = {check.id: check for check in all_checks()}
    with ready_world() as (world, probe, env):
        config = gate_config()
        # Each check's calls, run beside only the checks it depends on (so no other check's
        # memo hides a call it needs), after its dependencies' calls: the longest dependent
        # chain among them is the least any implementation must wait.
        per_check: dict[str, list[str]] = {}
        chains: dict[str, tuple[int, list[str]]] = {}
        for check, skip in select_checks(config):
            if skip is not None:
                continue
            log = CallLog()
            deps = checks[check.id].depends_on
            report = run_gate(replace(config, only=(check.id, *deps)), clients=log, progress=None)
            if report.exit_code:
                raise Broken(f"{check.id} did not pass: {[r.reason for r in report.results]}")
            per_check[check.id] = log.ops(check.id)
            chains[check.id] = dependent_chain([op for d in (*deps, check.id) for op in log.ops(d)])
        longest = max(chains, key=lambda k: chains[k][0])
        chain, path = chains[longest]

        # One logged run under latency: where the wall time goes.
        probe.delay = delay
        log = CallLog()
        start = time.perf_counter()
        run_gate(config, clients=log, progress=None)
        probe.delay = 0.0
        ends: dict[str, float] = {}
        count: dict[str, int] = {}
        for cid, _op, _s, end in log.entries:
            ends[cid] = max(ends.get(cid, 0.0), end - start)
            count[cid] = count.get(cid, 0) + 1
        last = max(ends, key=ends.__getitem__)
        total_calls = len(log.entries)

        # The timed runs: run_gate in a separate small process (bench/gate_driver.py).
        document = ctx.tmp / "latency-config.json"
        document.write_text(json.dumps(config_document()))
        driver = [sys.executable, str(BENCH / "gate_driver.py"), str(ctx.n(7, 2)), str(document)]
        runs: dict[str, Samples] = {}
        for label, seconds in (("0ms", 0.0), ("100ms", delay)):
            probe.delay = seconds
            try:
                proc = expect_ok(run_proc(driver, env), f"gate_driver at {label}")
            finally:
                probe.delay = 0.0
            runs[label] = Samples(json.loads(proc.output.strip().splitlines()[-1])["walls"])
        rows_extra: list[Row] = []
        if not ctx.quick:
            cmd = [*gate_command(), "run", *gate_flags(world)]

            def process(seconds: float) -> Callable[[], float]:
                def run() -> float:
                    probe.delay = seconds
                    try:
                        return expect_ok(run_proc(cmd, env), "gate").wall
                    finally:
                        probe.delay = 0.0

                return run

            procs = interleaved({"0ms": process(0.0), "100ms": process(delay)}, 11, warmup=1)
            added = procs["100ms"].median - procs["0ms"].median
            rows_extra.append(
                Row(
                    "3b",
                    "latency-bound, whole `soc2gate run` process: wall added by +100 ms/call",
                    f"chain {chain} x 100 ms = {chain * delay:.2f} s",
                    f"+{added:.2f} s ({procs['0ms'].median:.2f} -> {procs['100ms'].median:.2f} s)",
                    _x(added / (chain * delay)),
                    "<= 1.5x",
                    added / (chain * delay) <= 1.5,
                )
            )
    ctx.raw["latency"] = {
        "per_check": per_check,
        "chains": chains,
        "logged_run": log.entries,
        "driver": {k: v.values for k, v in runs.items()},
    }
    wall = runs["100ms"]
    ratio = wall.median / (chain * delay)
    deps = checks[last].depends_on
    realized = (
        f"last to finish in a logged run: {last}, {ends[last]:.2f} s after the first call, "
        f"{count[last]} calls of its own"
        + (f" after waiting for {', '.join(deps)}" if deps else "")
        + "; calls per check: "
        + ", ".join(f"{cid} {n}" for cid, n in sorted(count.items()))
    )
    return [
        Row(
            "3a",
            "latency-bound (+100 ms every call): run_gate wall (fresh clients, own process) "
            "vs longest dependent chain",
            f"chain {chain} calls ({longest}: {' > '.join(path)}) = {chain * delay:.2f} s; "
            f"sum of all {total_calls} calls {total_calls * delay:.1f} s",
            f"{wall.spread()} (0 ms: {runs['0ms'].median:.2f} s)",
            _x(ratio),
            "<= 1.5x",
            ratio <= 1.5,
            realized,
        ),
        *rows_extra,
    ]


# ---- 4. scale of findings --------------------------------------------------------------------


def many_findings(count: int) -> list[dict[str, Any]]:
    from soc2gate.demo.world import finding

    severities = ("MEDIUM", "LOW", "INFORMATIONAL", "MEDIUM", "LOW")
    return [
        finding(
            f"CVE-2099-{i:05d}",
            severities[i % len(severities)],
            package=f"libpkg{i % 613}",
            version=f"1.{i % 97}.{i % 13}-0ubuntu{i % 5}",
            fixed_in=f"1.{i % 97}.{i % 13 + 1}" if i % 3 else None,
            fix_available="YES" if i % 3 else "NO",
        )
        for i in range(count)
    ]


def findings(ctx: Context) -> list[Row]:
    count, page_size = ctx.n(10_000, 2_000), 1000
    pages = math.ceil(count / page_size)
    with ready_world() as (world, _probe, env):
        world.set_registry_scanning("ENHANCED", sc.ENHANCED_RULES)
        digest = world.resolve_digest(sc.REPOSITORY, sc.TAG_DEV_LATEST)
        cmd = [*gate_command(), "run", *gate_flags(world)]
        big = many_findings(count)
        procs: dict[str, list[Proc]] = {"none": [], "many": []}
        calls: dict[str, int] = {}
        for _round in range(ctx.n(5, 1)):
            for label, items in (("none", []), ("many", big)):
                world.set_scan(
                    sc.REPOSITORY, digest, "ACTIVE", findings=items, enhanced=True, page_size=1000
                )
                before = world.calls["DescribeImageScanFindings"]
                proc = expect_ok(
                    run_proc(cmd, env), f"gate with {len(items)} findings", contains=("PASS",)
                )
                calls[label] = world.calls["DescribeImageScanFindings"] - before
                procs[label].append(proc)
    cpu_none = Samples([p.cpu for p in procs["none"]])
    cpu_many = Samples([p.cpu for p in procs["many"]])
    rss_many = Samples([p.maxrss_mb for p in procs["many"]])
    rss_none = Samples([p.maxrss_mb for p in procs["none"]])
    extra_cpu = cpu_many.median - cpu_none.median
    ctx.raw["findings"] = {
        "count": count,
        "cpu_none": cpu_none.values,
        "cpu_many": cpu_many.values,
        "rss_none": rss_none.values,
        "rss_many": rss_many.values,
        "wall_many": [p.wall for p in procs["many"]],
        "calls": calls,
    }
    what = f"{count:,} enhanced findings, {pages} pages of {page_size}"
    return [
        Row(
            "4a",
            f"findings scale ({what}): DescribeImageScanFindings calls",
            f"{pages} pages",
            str(calls["many"]),
            f"{calls['many'] / pages:.2f}x",
            "<= 11",
            calls["many"] <= 11,
        ),
        Row(
            "4b",
            "findings scale: gate process CPU beyond the same run with 0 findings",
            f"0 findings: {cpu_none.spread()} CPU",
            f"{cpu_many.spread()} CPU",
            f"+{extra_cpu:.2f} s",
            "<= 1 s",
            extra_cpu <= 1.0,
            "CPU = user+sys of the gate process (wait4); the moto server's is not counted",
        ),
        Row(
            "4c",
            "findings scale: gate process peak RSS",
            f"0 findings: {rss_none.median:.0f} MB",
            f"{rss_many.median:.0f} MB",
            _x(rss_many.median / rss_none.median),
            "<= 100 MB",
            rss_many.median <= 100,
        ),
    ]


# ---- 5. fleet ----------------------------------------------------------------------------------


def fleet_supported() -> bool:
    from soc2gate.config import OPTION_BY_KEY

    return "targets" in OPTION_BY_KEY


def _add_target(world: Any, i: int) -> tuple[str, str]:
    from soc2gate.demo.world import variant

    repo = f"{sc.REPOSITORY}-{i:02d}"
    endpoint = f"{sc.ENDPOINT}-{i:02d}"
    model = f"{sc.MODEL_PREFIX}-fleet{i:02d}-20261126093000"
    config = f"{sc.MODEL_PREFIX}-fleet{i:02d}-config-20261126093000"
    world.create_repository(repo, scan_on_push=True)
    digest = world.push_image(repo, list(sc.TAGS), sc.CONTAINER_USER, revision=f"fleet-{i}")
    world.set_scan(repo, digest, "COMPLETE", findings=sc.BASIC_FINDINGS)
    world.create_model(model, sc.MODEL_ENV, image=world.image_uri(repo, tag=sc.TAG_DEV_SHA))
    world.create_endpoint_config(config, [variant(model, sc.INSTANCE_TYPE)])
    world.create_endpoint(endpoint, config, status="InService")
    world.set_endpoint(endpoint, deployed_images=[world.deployed_image(repo, sc.TAG_DEV_SHA)])
    return repo, endpoint


def _fleet_file(path: Path, targets: Sequence[tuple[str, str]], junit: Path) -> Path:
    document = {
        "region": sc.REGION,
        "require_tags": [sc.TAG_DEV_LATEST, sc.TAG_DEV_SHA_TEMPLATE, sc.TAG_LATEST],
        "commit_sha": sc.COMMIT_SHA,
        "fail_on": "HIGH",
        "require_env": {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"},
        "instance_types": [sc.INSTANCE_TYPE],
        "junit": str(junit),
        "targets": [
            {"name": f"t{i:02d}", "repository": repo, "endpoint": endpoint}
            for i, (repo, endpoint) in enumerate(targets)
        ],
    }
    path.write_text(json.dumps(document, indent=2))  # JSON is YAML
    return path


def _junit_cases(path: Path) -> tuple[int, int]:
    """Test cases and those failing or erroring in ``path`` and the parts a large fleet's JUnit
    is split into (``<stem>-2<suffix>``, ...; soc2gate.report.junit.MAX_CASES_PER_FILE)."""
    cases = ET.parse(path).getroot().findall(".//testcase")
    part = 2
    while (more := path.with_name(f"{path.stem}-{part}{path.suffix}")).exists():
        cases += ET.parse(more).getroot().findall(".//testcase")
        part += 1
    bad = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    return len(cases), len(bad)


def _parallel(cmds: Sequence[Sequence[str]], env: Mapping[str, str]) -> float:
    """Wall time of N processes started together (each must exit 0)."""
    import subprocess

    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            list(c),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for c in cmds
    ]
    codes = [p.wait(timeout=600) for p in procs]
    wall = time.perf_counter() - start
    if any(codes):
        raise Broken(f"parallel gates exited {sorted(set(codes))}")
    return wall


def fleet(ctx: Context) -> list[Row]:
    from soc2gate.registry import all_checks

    per_target = len(all_checks())
    size = ctx.n(50, 4)
    native = fleet_supported()
    with ready_world() as (world, _probe, env):
        targets = [_add_target(world, i) for i in range(size)]
        rows: list[Row] = []
        samples: dict[int, Samples] = {}
        cpu: dict[int, Samples] = {}
        rss: dict[int, Samples] = {}
        calls: dict[int, int] = {}
        server: dict[int, Samples] = {}
        if native:
            for n in (1, size):
                samples[n], cpu[n], rss[n], server[n] = Samples(), Samples(), Samples(), Samples()
            for round_ in range(ctx.n(5, 1) + 1):
                for n in (1, size):
                    junit = ctx.tmp / f"fleet-{n}.xml"
                    path = _fleet_file(ctx.tmp / f"fleet-{n}.yml", targets[:n], junit)
                    before = sum(world.calls.values())
                    # This process's CPU while the gate runs is moto's server answering it.
                    served = time.process_time()
                    proc = expect_ok(
                        run_proc([*gate_command(), "run", "--config", str(path)], env, timeout=600),
                        f"fleet of {n}",
                    )
                    served = time.process_time() - served
                    calls[n] = sum(world.calls.values()) - before
                    cases, bad = _junit_cases(junit)
                    if cases != per_target * n or bad:
                        raise Broken(f"fleet of {n}: {cases} test cases, {bad} not passing")
                    if round_:  # the first round warms up
                        samples[n].add(proc.wall)
                        cpu[n].add(proc.cpu)
                        rss[n].add(proc.maxrss_mb)
                        server[n].add(served)
            label = f"one `soc2gate run` with targets: [{size} targets]"
        else:

            def cmd(repo: str, endpoint: str) -> list[str]:
                args = gate_flags(world)
                args[args.index("--repository") + 1] = repo
                args[args.index("--endpoint") + 1] = endpoint
                return [*gate_command(), "run", *args]

            for n in (1, size):
                samples[n] = Samples()
            for round_ in range(ctx.n(5, 1) + 1):
                for n in (1, size):
                    wall = _parallel([cmd(r, e) for r, e in targets[:n]], env)
                    if round_:
                        samples[n].add(wall)
            label = f"EQUIVALENT, not the fleet: {size} parallel single-target processes"
    one, many = samples[1], samples[size]
    ratio = many.median / one.median
    ctx.raw["fleet"] = {
        "native": native,
        "size": size,
        "one": one.values,
        "many": many.values,
        "cpu": {str(k): v.values for k, v in cpu.items()},
        "rss": {str(k): v.values for k, v in rss.items()},
        "server_cpu": {str(k): v.values for k, v in server.items()},
        "calls": calls,
    }
    note = ""
    if native:
        note = (
            f"gate CPU {cpu[1].median:.2f} -> {cpu[size].median:.2f} s "
            f"({cpu[size].median / cpu[1].median:.1f}x), moto server CPU "
            f"{server[1].median:.2f} -> {server[size].median:.2f} s, peak RSS "
            f"{rss[1].median:.0f} -> {rss[size].median:.0f} MB, calls {calls[1]} -> {calls[size]}"
        )
    rows.append(
        Row(
            "5",
            f"fleet: 1 vs {size} endpoints ({label})",
            f"1 target: {one.spread()}",
            f"{size} targets: {many.spread()}",
            _x(ratio),
            "<= 5x",
            ratio <= 5,
            note,
        )
    )
    return rows


# ---- 6. start-up -------------------------------------------------------------------------------

#: Modules each command does not use (imported needlessly if they show up).
NOT_NEEDED = {
    "--version": re.compile(
        r"^(soc2gate\.(?!cli$)[\w.]+|boto3|botocore|tenacity|yaml|junit_xml|moto|concurrent"
        r"|dataclasses|inspect|logging|typing|difflib)(\.|$)"
    ),
}


def importtime(args: Sequence[str], env: Mapping[str, str]) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) for each import ``python -X importtime`` reports."""
    command = gate_command()
    if command[0] == sys.executable:  # python -m soc2gate
        command = command[1:]
    proc = run_proc([sys.executable, "-X", "importtime", *command, *args], env)
    out = []
    for line in proc.output.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            out.append((match.group(4), int(match.group(1)), int(match.group(2))))
    return out


def startup(ctx: Context) -> list[Row]:
    env = clean_env({})
    version = [*gate_command(), "--version"]
    runs = interleaved(
        {
            "version": lambda: expect_ok(run_proc(version, env), "--version").wall,
            "boto3": lambda: (
                expect_ok(run_proc([sys.executable, "-c", IMPORT_BOTO3], env), "import boto3").wall
            ),
            "python": lambda: expect_ok(run_proc([sys.executable, "-c", "pass"], env), "py").wall,
        },
        ctx.n(15, 3),
    )
    imports = importtime(["--version"], env)
    needless = [
        (name, cumulative)
        for name, _self, cumulative in imports
        if NOT_NEEDED["--version"].match(name) and "." not in name.replace("soc2gate.", "", 1)
    ]
    total_needless = sum(c for n, c in needless if n.startswith("soc2gate."))
    ctx.raw["startup"] = {k: v.values for k, v in runs.items()}
    ctx.raw["importtime_version"] = imports
    ctx.raw["needless_version"] = needless
    v, b = runs["version"], runs["boto3"]
    rows = [
        Row(
            "6a",
            "start-up: `soc2gate --version` vs `python -c 'import boto3'`",
            f"import boto3: {b.spread()} (bare python {runs['python'].median:.3f} s)",
            v.spread(digits=3),
            _x(v.median / b.median),
            "<= 1x (the floor)",
            v.median <= b.median,
            "imported for --version but not used: "
            + (", ".join(f"{n} {c / 1000:.0f} ms" for n, c in needless[:8]) or "nothing")
            + f" (soc2gate modules: {total_needless / 1000:.0f} ms cumulative)",
        )
    ]
    first = ctx.first_call
    if "gate" in first and "floor" in first:
        gate, floor = first["gate"], first["floor"]
        rows.append(
            Row(
                "6b",
                "start-up: time to the first API call, `soc2gate run` vs bare boto3",
                f"bare boto3 first call: {floor.spread(digits=3)}; import boto3 {b.median:.3f} s",
                gate.spread(digits=3),
                f"{gate.median / floor.median:.2f}x bare ({gate.median / b.median:.2f}x import)",
                "<= 1.25x bare boto3",
                gate.median <= 1.25 * floor.median,
            )
        )
    return rows


# ---- 7. the container image ---------------------------------------------------------------------


def container_image(ctx: Context) -> list[Row]:
    """Size, start to first call and build time of the image (bench/image.py); without buildah
    or the image, one row that says why it was skipped."""
    import image

    return image.measure(ctx)


# ---- 8. what a user of the action waits for ----------------------------------------------------


def _report_writers(tmp: Path) -> dict[str, list[str]]:
    """The report writers this soc2gate has, as ``run`` flags (SARIF only once it exists)."""
    from importlib.util import find_spec

    from soc2gate.config import OPTION_BY_KEY

    writers = {
        "junit": ["--junit", str(tmp / "w.xml")],
        "summary": ["--summary", str(tmp / "w.md")],
        "evidence": ["--evidence", str(tmp / "w.json")],
    }
    if find_spec("soc2gate.report.sarif") is not None and "sarif" in OPTION_BY_KEY:
        # The run's directory has no Dockerfile, config file or workflow: name the file every
        # result points at, as a user outside a checkout would.
        writers["sarif"] = ["--sarif", str(tmp / "w.sarif"), "--sarif-location", "Dockerfile"]
    return writers


def action(ctx: Context) -> list[Row]:
    """8a: the action's entrypoint (docker/entrypoint.py exec'ing soc2gate, as the Dockerfile's
    ENTRYPOINT runs it) as a fresh process to its verdict, vs the bare boto3 floor; 8b: the report
    writers on a 10,000-finding scan vs the same gate run with no writer."""
    entry = ROOT / "docker" / "entrypoint.py"
    rows: list[Row] = []
    with ready_world() as (world, _probe, env):
        gate = [sys.executable, "-I", str(entry), *gate_command(), "run", *gate_flags(world)]
        how = "started as non-root (the `runtime` target, `docker run --user`): no uid change"
        if os.geteuid() == 0:
            # As root the entrypoint drops to uid 1000, which cannot reach this interpreter
            # (here under /root). An unmapped user namespace makes it start as non-root (it
            # then only execs PROGRAM) while files stay readable; the drop itself is a few
            # syscalls (image.py: the root entrypoint costs 0.013 s over a bare interpreter).
            unshare = shutil.which("unshare")
            if unshare is None:
                raise Broken(
                    "run as root without `unshare`: the entrypoint's uid 1000 cannot "
                    "start this interpreter; run the benchmark as non-root"
                )
            gate = [unshare, "-U", *gate]
            how = "root here, so run as `unshare -U` (non-root start, no uid change)"
        samples = interleaved(
            {
                "entrypoint": lambda: (
                    expect_ok(
                        run_proc(gate, env), "entrypoint run", contains=("is InService",)
                    ).wall
                ),
                "floor": lambda: (
                    expect_ok(run_proc([sys.executable, "-c", FLOOR_SCRIPT], env), "floor").wall
                ),
            },
            ctx.n(15, 2),
        )
        e, f = samples["entrypoint"], samples["floor"]
        rows.append(
            Row(
                "8a",
                "action: entrypoint start to verdict, ready deployment (`python -I "
                "docker/entrypoint.py soc2gate run ...`, fresh process, as the image's ENTRYPOINT)",
                f"floor (bare boto3): {f.spread()}",
                e.spread(),
                _x(e.median / f.median),
                "report only",
                None,
                f"{how}. Leaves out image pull or build and the container's start (no Docker "
                "here; row 7 measures the image's start when buildah is present) and the "
                "runner's own set-up",
            )
        )
        count = ctx.n(10_000, 2_000)
        world.set_registry_scanning("ENHANCED", sc.ENHANCED_RULES)
        digest = world.resolve_digest(sc.REPOSITORY, sc.TAG_DEV_LATEST)
        world.set_scan(
            sc.REPOSITORY,
            digest,
            "ACTIVE",
            findings=many_findings(count),
            enhanced=True,
            page_size=1000,
        )
        writers = _report_writers(ctx.tmp)
        base = [*gate_command(), "run", *gate_flags(world)]
        runs: dict[str, Callable[[], float]] = {}
        cpu: dict[str, Samples] = {}

        def runner(label: str, extra: list[str]) -> Callable[[], float]:
            cpu[label] = Samples()

            def run() -> float:
                proc = expect_ok(
                    run_proc([*base, *extra], env), f"gate {label}", contains=("PASS",)
                )
                cpu[label].add(proc.cpu)
                return proc.wall

            return run

        runs["none"] = runner("none", [])
        for name, flags in writers.items():
            if not ctx.quick:  # each writer alone only in a full run (CI's stays short)
                runs[name] = runner(name, flags)
        runs["all"] = runner("all", [f for flags in writers.values() for f in flags])
        interleaved(runs, ctx.n(5, 1))
    ctx.raw["action"] = {
        "entrypoint": e.values,
        "floor": f.values,
        "writers_cpu": {k: v.values for k, v in cpu.items()},
        "writers": list(writers),
    }
    none = cpu["none"].median
    each = ", ".join(f"{k} {cpu[k].median - none:+.2f} s" for k in writers if k in cpu)
    total = cpu["all"].median
    rows.append(
        Row(
            "8b",
            f"action: report writing on {count:,} findings ({', '.join(writers)}): gate CPU "
            "with every writer vs without",
            f"no writer: {cpu['none'].spread()} CPU",
            f"all writers: {cpu['all'].spread()} CPU",
            f"{total / none:.2f}x ({total - none:+.2f} s)",
            "report only",
            None,
            f"each alone: {each or 'not in --quick'}. SARIF is measured when soc2gate.report.sarif and --sarif exist "
            "(rerun `--only action` after it is merged)",
        )
    )
    return rows


MEASURES: dict[str, Callable[[Context], list[Row]]] = {
    "verdict": verdict,
    "lag": lag,
    "latency": latency,
    "findings": findings,
    "fleet": fleet,
    "startup": startup,
    "image": container_image,
    "action": action,
}


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="soc2gate-bench-"))
