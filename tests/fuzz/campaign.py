"""The mutation campaign: passing baselines, mutated answers, the real gate, the oracle.

A *baseline* is a real-shape scenario (tests/realshape) plus a gate config under which the gate
PASSES. Its answers are recorded from a baseline run (one answer per distinct request). A trial
serves the baseline with one or more answers replaced by mutated copies
(``shapes.mutations_for``) and runs the whole gate on a fake clock.

The oracle: a mutation of a path the verdict reads must not leave the run at PASS. A PASS after
a mutation is acceptable only if every mutation in the trial is allowlisted (``allowlist.py``,
each entry with the reason the path cannot matter); anything else is a *false pass*, recorded
with the operation, path, mutation and what the gate said. Non-PASS (FAIL or ERROR) is always
acceptable: failing closed is never a hole.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realshape.wire import (
    ACCOUNT,
    GUIDE_BASIC,
    GUIDE_ENHANCED,
    GUIDE_INFERENCE_COMPONENTS,
    GUIDE_MODEL_PACKAGE,
    MODEL_PREFIX,
    REGION,
    Answer,
    Scenario,
    WireClients,
    WireWorld,
    guide_config,
    request_key,
    run_gate_on,
    with_answers,
)

from fuzz.allowlist import KNOWN_HOLES, Inert, inert_reason, known_hole
from fuzz.shapes import Inapplicable, Mutation, apply, modelled_paths, mutations_for, render

FINDINGS_LOG = Path("/tmp/fuzz-findings.md")


@dataclass(frozen=True)
class Baseline:
    name: str
    scenario: Scenario
    config: dict[str, Any]


#: Deadlines and polls for the fuzz runs: a waited-for state reaches the deadline in a few polls.
FAST = {"timeout": 300.0, "poll_min": 50.0, "poll_max": 100.0, "endpoint_grace": 100.0}

BASELINES: tuple[Baseline, ...] = (
    # The guide's deployment, BASIC scanning (two findings pages), the README's flags.
    Baseline("basic", GUIDE_BASIC, {}),
    # ENHANCED scanning, ACTIVE with imageScanCompletedAt (the completion time is the proof that
    # the scan is read); unrated findings allowed, so a severity the gate cannot read is not
    # caught by the untriaged rule by accident.
    Baseline("enhanced", GUIDE_ENHANCED, {"fail_on_untriaged": False}),
    # ENHANCED, COMPLETE without imageScanCompletedAt (the moto maintainers' real answer): the
    # proof is Amazon Inspector's coverage record, so ListCoverage is read and mutated too.
    Baseline(
        "enhanced-coverage",
        with_answers(
            GUIDE_ENHANCED,
            DescribeImageScanFindings="ecr/DescribeImageScanFindings.enhanced-medium-untriaged.json",
        ),
        {"fail_on_untriaged": False},
    ),
    # Both --endpoint and --model-name-contains: ListModels is read as well.
    Baseline("model-name", GUIDE_BASIC, {"model_name_contains": MODEL_PREFIX}),
    # The repository named as a central registry's (--registry-id, --registry-region): every
    # ECR read goes through the registry client, and each answer must say it is that registry's.
    Baseline("registry-id", GUIDE_BASIC, {"registry_id": ACCOUNT, "registry_region": REGION}),
    # The model deploys an Approved Model Registry package version (PrimaryContainer
    # ModelPackageName): DescribeModelPackage is read, its container's Image and Environment are
    # what is judged, and --require-model-approval makes ModelApprovalStatus count.
    Baseline("model-package", GUIDE_MODEL_PACKAGE, {"require_model_approval": True}),
    # The endpoint config's variant names no model: two inference components serve there, one
    # deploying the guide's model, one the image with its own Environment
    # (ListInferenceComponents + DescribeInferenceComponent each).
    Baseline("inference-components", GUIDE_INFERENCE_COMPONENTS, {}),
)


@dataclass
class Recorded:
    """A baseline's answers, per (operation, request key), and the params of each request."""

    baseline: Baseline
    answers: dict[tuple[str, str], Any]
    params: dict[tuple[str, str], dict[str, Any]]
    mutations: list[Mutation]

    def paths(self) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for (op, _key), body in self.answers.items():
            out |= {(op, p) for p in modelled_paths(op, body)}
        return out


@dataclass
class Trial:
    baseline: str
    mutations: tuple[Mutation, ...]
    exit_code: int
    statuses: dict[str, str]
    reasons: dict[str, str]
    seconds: float
    unserved: list[str]
    #: (operation, request key) of every answer the gate asked for in this trial.
    asked: frozenset[tuple[str, str]] = frozenset()
    #: "caught" (not PASS), "inert" (PASS, every mutation allowlisted), "false-pass", "hole:N"
    outcome: str = ""
    why: str = ""

    def describe(self) -> str:
        return " + ".join(m.describe() for m in self.mutations)


@dataclass
class Stats:
    tried: int = 0
    inapplicable: int = 0
    caught: int = 0
    inert: int = 0
    false_passes: list[Trial] = field(default_factory=list)
    known: list[Trial] = field(default_factory=list)
    harness_gaps: list[Trial] = field(default_factory=list)
    paths: set[tuple[str, str, str]] = field(default_factory=set)  # (baseline, op, pattern)
    kinds: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def add(self, trial: Trial) -> None:
        self.tried += 1
        for m in trial.mutations:
            self.paths.add((trial.baseline, m.operation, m.pattern))
            self.kinds[m.kind.split(":")[0]] += 1
        if trial.unserved:
            self.harness_gaps.append(trial)
        if trial.outcome == "caught":
            self.caught += 1
        elif trial.outcome == "inert":
            self.inert += 1
        elif trial.outcome.startswith("hole:"):
            self.known.append(trial)
        else:
            self.false_passes.append(trial)

    def merge(self, other: Stats) -> None:
        self.tried += other.tried
        self.inapplicable += other.inapplicable
        self.caught += other.caught
        self.inert += other.inert
        self.false_passes += other.false_passes
        self.known += other.known
        self.harness_gaps += other.harness_gaps
        self.paths |= other.paths
        self.kinds.update(other.kinds)

    def summary(self, label: str = "fuzz") -> str:
        distinct = len({(op, p) for _b, op, p in self.paths})
        return (
            f"{label}: {self.tried} mutation trials, {len(self.paths)} baseline paths "
            f"({distinct} distinct operation paths) covered, {len(self.false_passes)} false "
            f"passes ({len(self.known)} more on known open holes), {self.caught} caught "
            f"(FAIL/ERROR), {self.inert} PASS on allowlisted paths, {self.inapplicable} "
            f"inapplicable, {time.perf_counter() - self.started:.1f}s"
        )


class Campaign:
    """Baselines recorded once; clients (the slow part of a gate run) built once and reused."""

    def __init__(self, baselines: Sequence[Baseline] = BASELINES) -> None:
        self.baselines = {b.name: b for b in baselines}
        self._clients: WireClients | None = None
        self._uses = 0
        self.recorded: dict[str, Recorded] = {}

    #: Runs per set of clients. run_gate hooks its call recorder on every client it is handed
    #: (one handler per run), so clients reused for thousands of runs slow each call down.
    RUNS_PER_CLIENTS = 100

    def clients(self, world: WireWorld) -> WireClients:
        if self._clients is None or self._uses >= self.RUNS_PER_CLIENTS:
            self._clients = WireClients(world)
            self._uses = 0
        self._uses += 1
        self._clients.world = world
        return self._clients

    def record(self, name: str) -> Recorded:
        if name in self.recorded:
            return self.recorded[name]
        baseline = self.baselines[name]
        world = WireWorld(baseline.scenario)
        run = run_gate_on(world, guide_config(**FAST, **baseline.config), self.clients(world))
        if run.exit_code != 0:
            raise AssertionError(f"baseline {name} does not pass:\n{run.table()}")
        answers: dict[tuple[str, str], Any] = {}
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for call in world.calls:
            if call.answer.is_error:
                continue
            answers.setdefault((call.op, call.key), call.answer.body)
            params.setdefault((call.op, call.key), call.params)
        mutations = [m for (op, key), body in answers.items() for m in mutations_for(op, key, body)]
        mutations += _page_mutations(answers, params)
        self.recorded[name] = Recorded(baseline, answers, params, mutations)
        return self.recorded[name]

    def trial(self, name: str, mutations: Sequence[Mutation]) -> Trial | None:
        """Run the gate with ``mutations`` applied; None when they do not apply together."""
        recorded = self.record(name)
        try:
            overrides = _overrides(recorded, mutations)
        except Inapplicable:
            return None
        world = WireWorld(recorded.baseline.scenario)
        world.reset(overrides)
        run = run_gate_on(
            world,
            guide_config(**FAST, **recorded.baseline.config),
            self.clients(world),
            check_served=False,
        )
        trial = Trial(
            baseline=name,
            mutations=tuple(mutations),
            exit_code=run.exit_code,
            statuses={r.check_id: r.status.value for r in run.report.results},
            reasons={r.check_id: r.reason for r in run.report.results},
            seconds=run.seconds,
            unserved=[
                f"{c.op} {json.dumps(c.params, sort_keys=True)[:200]}" for c in world.unserved
            ],
            asked=frozenset((c.op, c.key) for c in world.calls),
        )
        judge(trial)
        return trial


def combinations(campaign: Campaign, names: Sequence[str], max_size: int = 3) -> Any:
    """Hypothesis strategy: (baseline, 1..max_size mutations of its answers, one per path)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(draw_from: Any) -> tuple[str, list[Mutation]]:
        name = draw_from(st.sampled_from(list(names)))
        mutations = campaign.record(name).mutations
        picks = draw_from(
            st.lists(st.integers(0, len(mutations) - 1), min_size=1, max_size=max_size, unique=True)
        )
        chosen: list[Mutation] = []
        for m in (mutations[i] for i in picks):
            # One mutation per place: one at or inside an already mutated path (or around it)
            # would only undo or repeat the other.
            if not any(_nested(m, other) for other in chosen):
                chosen.append(m)
        return name, chosen

    return draw()


def _nested(a: Mutation, b: Mutation) -> bool:
    if (a.operation, a.key) != (b.operation, b.key):
        return False
    shorter = min(len(a.path), len(b.path))
    return a.path[:shorter] == b.path[:shorter]


def _overrides(recorded: Recorded, mutations: Sequence[Mutation]) -> dict[tuple[str, str], Answer]:
    bodies: dict[tuple[str, str], Any] = {}
    for m in mutations:
        slot = (m.operation, m.key)
        if m.kind.startswith("page:"):
            # value = {"extra": {request key: body}}: pages that only the mutation creates.
            for extra_key, extra_body in (m.value or {}).get("extra", {}).items():
                bodies[(m.operation, extra_key)] = extra_body
            base = bodies.get(slot, recorded.answers[slot])
            bodies[slot] = apply(
                base, Mutation(m.operation, m.key, m.path, "add", m.value["token"])
            )
            continue
        base = bodies.get(slot, recorded.answers.get(slot))
        if base is None:
            raise Inapplicable(m.describe())
        bodies[slot] = apply(base, m)
    return {slot: Answer.ok(body) for slot, body in bodies.items()}


def _page_mutations(
    answers: dict[tuple[str, str], Any], params: dict[tuple[str, str], dict[str, Any]]
) -> list[Mutation]:
    """Add a page (holding a CRITICAL finding) after the last findings page; loop the pages."""
    op = "ecr:DescribeImageScanFindings"
    pages = [(key, body) for (o, key), body in answers.items() if o == op]
    out: list[Mutation] = []
    for key, body in pages:
        if body.get("nextToken"):
            continue  # not a last page
        request = dict(params[(op, key)])
        first_key = next(
            (
                k
                for k, _ in pages
                if "nextToken" not in params[(op, k)]
                and params[(op, k)].get("imageId") == request.get("imageId")
            ),
            None,
        )
        token = "fuzz-extra-page"
        extra_request = {**request, "nextToken": token}
        extra_page = json.loads(json.dumps(body))
        findings = extra_page.get("imageScanFindings") or {}
        critical = _critical_like(findings)
        if critical is not None:
            list_key, finding = critical
            findings[list_key] = [finding]
            out.append(
                Mutation(
                    op,
                    key,
                    ("nextToken",),
                    "page:add-critical",
                    {"token": token, "extra": {request_key(extra_request): extra_page}},
                )
            )
        if first_key is not None:
            first_token = answers[(op, first_key)].get("nextToken")
            if first_token:
                out.append(Mutation(op, key, ("nextToken",), "page:loop", {"token": first_token}))
    return out


def _critical_like(findings: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for list_key in ("findings", "enhancedFindings"):
        items = findings.get(list_key)
        if isinstance(items, list) and items:
            finding = json.loads(json.dumps(items[0]))
            finding["severity"] = "CRITICAL"
            if "name" in finding:
                finding["name"] = "CVE-2024-5535"
            return list_key, finding
    return None


def judge(trial: Trial) -> None:
    """Fill in ``outcome``/``why`` (see the module docstring)."""
    if trial.exit_code != 0:
        trial.outcome, trial.why = "caught", f"exit {trial.exit_code}"
        return
    reasons = [
        # An answer the gate never asked for in this trial (another mutation dropped the
        # nextToken that leads to it) cannot have decided anything.
        "the gate never asked for this answer in this trial"
        if trial.asked and (m.operation, m.key) not in trial.asked
        else inert_reason(m, trial.mutations, trial.baseline)
        for m in trial.mutations
    ]
    if all(reasons):
        trial.outcome, trial.why = "inert", "; ".join(r for r in reasons if r)
        return
    hole = next((h for h in (known_hole(m, trial.baseline) for m in trial.mutations) if h), None)
    if hole:
        trial.outcome, trial.why = f"hole:{hole}", KNOWN_HOLES[hole]
        return
    trial.outcome = "false-pass"
    trial.why = "verdict-relevant mutation(s) left the run at PASS: " + ", ".join(
        m.describe() for m, r in zip(trial.mutations, reasons, strict=True) if not r
    )


# ---- reporting ---------------------------------------------------------------------------------


def log_false_pass(trial: Trial, where: Path = FINDINGS_LOG) -> bool:
    """Append one false pass to the running findings log (engineers read it while we work).

    False when the log already holds it (same mutations)."""
    if not where.parent.exists():
        return False
    if where.exists() and trial.describe() in where.read_text(encoding="utf-8"):
        return False
    lines = [
        f"- **false pass** [{trial.baseline}] {trial.describe()}",
        f"  - gate said: exit {trial.exit_code}; "
        + "; ".join(f"{k} {v}" for k, v in trial.statuses.items() if v != "SKIPPED"),
    ]
    ops = {m.operation for m in trial.mutations}
    for check, reason in trial.reasons.items():
        if trial.statuses.get(check) == "PASS" and ops & set(OP_CHECKS.get(check, ())):
            lines.append(f"  - {check}: {reason[:200]}")
    with where.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return True


#: Which check reads which operation (for the log: the reasons worth reading next to a false pass).
OP_CHECKS: dict[str, tuple[str, ...]] = {
    "ecr-repository-config": (
        "ecr:DescribeRepositories",
        "ecr:GetRegistryScanningConfiguration",
        "ecr:BatchGetRepositoryScanningConfiguration",
    ),
    "ecr-image-tags": ("ecr:DescribeImages",),
    "ecr-scan-findings": (
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "inspector2:ListCoverage",
    ),
    "sagemaker-model-env": (
        "sagemaker:DescribeModel",
        "sagemaker:ListModels",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListInferenceComponents",
        "sagemaker:DescribeInferenceComponent",
    ),
    "sagemaker-endpoint-config": ("sagemaker:DescribeEndpointConfig",),
    "sagemaker-endpoint-status": ("sagemaker:DescribeEndpoint",),
    "deployed-image-scanned": (
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeModel",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListInferenceComponents",
        "sagemaker:DescribeInferenceComponent",
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
    ),
}


def fingerprint(trial: Trial) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted((m.operation, m.pattern, m.kind) for m in trial.mutations))


def unique(trials: Iterable[Trial]) -> list[Trial]:
    seen: set[Any] = set()
    out = []
    for t in trials:
        fp = fingerprint(t)
        if fp not in seen:
            seen.add(fp)
            out.append(t)
    return out


__all__ = [
    "BASELINES",
    "Baseline",
    "Campaign",
    "Inert",
    "Stats",
    "Trial",
    "combinations",
    "fingerprint",
    "judge",
    "log_false_pass",
    "render",
    "unique",
]
