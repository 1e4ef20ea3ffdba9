"""Mutation fuzzing of the passing wire answers, paths walked from botocore's model (issue 10, layer 2).

The baselines (``campaign.BASELINES``: the guide's deployment under BASIC and ENHANCED scanning,
with and without Inspector coverage as the scan's proof, with --model-name-contains, through a
central registry's client, from an Approved Model Registry package, served by inference
components) PASS. Every
path of every answer they get is mutated (delete, null, empty, each other JSON type, an enum value
botocore's model does not define, another value, add an absent member, add / drop / loop a findings
page) and the whole gate runs on the result. A PASS is a false pass unless the allowlist
(``allowlist.py``) says, with a reason, why the path cannot matter.

CI runs a bounded sweep (one mutation of each path of each baseline) plus Hypothesis-drawn
combinations of up to three mutations; ``scripts/fuzz.py`` runs every mutation and a longer
Hypothesis campaign. Every false pass the fuzzer found keeps a test that replays its mutations
(``test_fuzz_finding_stays_closed``); while one is open (``allowlist.OPEN_HOLES``) that test is
``xfail(strict=True)``, and the engineer who fixes it takes the id out of OPEN_HOLES. Run with
``-s`` to see the figures.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz.allowlist import HOLE_PATHS, HOLE_WITH, KNOWN_HOLES, OPEN_HOLES, unused_entries
from fuzz.campaign import BASELINES, Campaign, Stats, Trial, combinations
from fuzz.shapes import Mutation, render

CAMPAIGN = Campaign()
STATS = Stats()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    print()
    print(STATS.summary("fuzz (CI run)"))
    for trial in STATS.false_passes:
        print(f"  FALSE PASS [{trial.baseline}] {trial.describe()}")
    for hole in sorted({t.outcome for t in STATS.known}):
        count = sum(1 for t in STATS.known if t.outcome == hole)
        print(f"  known open {hole}: {count} trial(s) still PASS")


def _fail_message(trial: Trial) -> str:
    return (
        f"false pass on baseline {trial.baseline}: {trial.describe()}\n"
        f"  {trial.why}\n  gate: exit {trial.exit_code}; "
        + "; ".join(f"{k} {v}" for k, v in trial.statuses.items())
        + "\n  add the path to tests/fuzz/allowlist.py only with a reason it cannot matter; "
        "otherwise the gate has a hole (log it in the findings and fix it)"
    )


def _run(name: str, mutations: list[Mutation]) -> Trial | None:
    trial = CAMPAIGN.trial(name, mutations)
    if trial is None:
        STATS.inapplicable += 1
        return None
    STATS.add(trial)
    assert not trial.unserved, (
        "the gate called an operation with no real-shape fixture: " + "; ".join(trial.unserved)
    )
    return trial


# ---- the baselines and the walk ---------------------------------------------------------------


@pytest.mark.parametrize("name", [b.name for b in BASELINES])
def test_baseline_passes_and_every_answer_is_walked(name: str) -> None:
    recorded = CAMPAIGN.record(name)  # raises if the baseline does not pass
    mutated_ops = {m.operation for m in recorded.mutations}
    assert mutated_ops == {op for op, _key in recorded.answers}, "an answer got no mutation"
    assert len(recorded.mutations) > 500


def test_paths_come_from_the_service_model() -> None:
    recorded = CAMPAIGN.record("basic")
    patterns = {(m.operation, m.pattern) for m in recorded.mutations}
    # Present members, list members, map values, and modelled members the answer lacks.
    for expected in (
        ("ecr:DescribeImageScanFindings", "imageScanFindings.findings[*].severity"),
        ("ecr:DescribeImageScanFindings", "imageScanFindings.findingSeverityCounts{MEDIUM}"),
        ("ecr:DescribeImageScanFindings", "imageScanFindings.enhancedFindings"),  # absent: add
        ("sagemaker:DescribeEndpoint", "ProductionVariants[*].DeployedImages[*].ResolvedImage"),
        ("sagemaker:DescribeEndpoint", "FailureReason"),  # absent: add
        ("sagemaker:DescribeModel", "PrimaryContainer.Environment{SOC2_COMPLIANT}"),
        ("ecr:DescribeRepositories", "repositories[*].imageTagMutability"),
    ):
        assert expected in patterns, expected
    kinds = {m.kind.split(":")[0] for m in recorded.mutations}
    assert {"delete", "null", "empty", "type", "enum", "add", "page"} <= kinds, kinds


def test_allowlist_has_no_stale_entries() -> None:
    mutations = {b.name: CAMPAIGN.record(b.name).mutations for b in BASELINES}
    stale = unused_entries(mutations)
    assert not stale, "allowlist entries that cover no mutation: " + ", ".join(
        f"{e.op} {e.path} {e.kinds}" for e in stale
    )


# ---- the bounded sweep: every path of every baseline, once -----------------------------------


def _one_per_path(name: str) -> list[Mutation]:
    """One mutation per (operation, path pattern), the kind spread deterministically by path."""
    by_path: dict[tuple[str, str], list[Mutation]] = defaultdict(list)
    for m in CAMPAIGN.record(name).mutations:
        by_path[(m.operation, m.pattern)].append(m)
    out = []
    for (op, pattern), items in sorted(by_path.items()):
        digest = hashlib.sha256(f"{name} {op} {pattern}".encode()).digest()
        out.append(items[int.from_bytes(digest[:4], "big") % len(items)])
    return out


@pytest.mark.parametrize("name", [b.name for b in BASELINES])
def test_no_mutation_of_a_verdict_path_passes(name: str) -> None:
    false_passes = []
    for mutation in _one_per_path(name):
        trial = _run(name, [mutation])
        if trial is not None and trial.outcome == "false-pass":
            false_passes.append(trial)
    assert not false_passes, "\n".join(_fail_message(t) for t in false_passes)


def test_every_page_mutation_is_caught() -> None:
    # A page added after the last one with a CRITICAL finding must FAIL (every page is read);
    # a nextToken that loops back must not pass either.
    for b in BASELINES:
        pages = [m for m in CAMPAIGN.record(b.name).mutations if m.kind.startswith("page:")]
        assert pages or b.name != "basic"
        for mutation in pages:
            trial = _run(b.name, [mutation])
            assert trial is not None and trial.exit_code != 0, _fail_message(trial)  # type: ignore[arg-type]


# ---- Hypothesis: combinations of mutations ------------------------------------------------------


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(combinations(CAMPAIGN, [b.name for b in BASELINES]))
def test_no_combination_of_mutations_passes(case: tuple[str, list[Mutation]]) -> None:
    name, mutations = case
    trial = _run(name, mutations)
    if trial is None:
        return
    assert trial.outcome != "false-pass", _fail_message(trial)


# ---- the fuzzer's findings: regression tests (xfail(strict=True) while one is open) -----------


def _hole_trials(hole: str) -> list[tuple[str, list[Mutation]]]:
    entries = [entry for h, entry in HOLE_PATHS if h == hole]
    out = []
    for b in BASELINES:
        mutations = CAMPAIGN.record(b.name).mutations
        beside = [
            m
            for op, path, kind in HOLE_WITH.get(hole, ())
            for m in mutations
            if (m.operation, render(m.path), m.kind) == (op, path, kind)
        ]
        out += [
            (b.name, [m, *beside]) for m in mutations if any(e.covers(m, b.name) for e in entries)
        ]
    return out


def _open(hole: str) -> list[pytest.MarkDecorator]:
    if hole not in OPEN_HOLES:
        return []
    return [pytest.mark.xfail(strict=True, reason=f"fuzz finding {hole}: {KNOWN_HOLES[hole]}")]


@pytest.mark.parametrize(
    "hole", [pytest.param(h, marks=_open(h), id=h) for h in sorted(KNOWN_HOLES)]
)
def test_fuzz_finding_stays_closed(hole: str) -> None:
    """F1: every page's severity counts are read. F2: a completion time that is not a date is not
    a proof. F3: a completion proof from before the push is not a proof. F4: a registry rule
    whose scanFrequency is missing or unknown does not count as scanning. F5: without
    imagePushedAt, a completion time from 1970 is still not a proof. F6: an unknown registry
    scanType is not read as BASIC. F7-F9 (Model Registry packages): the inference specification
    the model names is judged; a container's own Image beside its package is not ignored; an
    Approved version must be Completed. F10-F13 (inference components): InService with a
    FailureReason fails; Specifications cannot be read; every listed component is judged; an
    adapter's base must be listed."""
    cases = _hole_trials(hole)
    assert cases, f"no mutation reaches {hole} any more: update HOLE_PATHS"
    still = []
    for name, mutations in cases:
        trial = _run(name, mutations)
        if trial is not None and trial.exit_code == 0:
            still.append(f"[{name}] {trial.describe()}")
    assert not still, f"{hole} ({KNOWN_HOLES[hole]}) passes:\n  " + "\n  ".join(still)
