#!/usr/bin/env python3
"""Mutation fuzzing campaign: every path of every passing wire answer, mutated, through the gate.

The long version of tests/fuzz (issue 10, layer 2). The baselines are the real-shape scenarios
of tests/realshape that PASS (the guide's deployment under BASIC and ENHANCED scanning, with and
without Amazon Inspector coverage as the proof of the scan, with --model-name-contains, through a
central registry's client, deployed from an Approved Model Registry package version, and served
by inference components). Every
mutation the service models allow (tests/fuzz/shapes.py: delete, null, empty, each other JSON
type, an enum value the model does not define, another value, an absent member added, a findings
page added / looped) is served to the real run_gate through botocore's before-send event; then
Hypothesis draws combinations of up to three mutations. A PASS on a path the allowlist does not
excuse is a false pass.

    python scripts/fuzz.py --examples 2000          # every single mutation + 2000 combinations
    python scripts/fuzz.py --examples 500 --no-exhaustive --baseline basic
    python scripts/fuzz.py --log /tmp/fuzz-findings.md   # append new false passes to a log

Prints the figures (mutations tried, paths covered, false passes, per known hole, time) and exits
1 when a false pass that is not a known open hole was found. Nothing leaves the machine: every
call is answered by the fixtures, clients get fake credentials and a loopback endpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
# As tests/conftest.py: fake credentials and no profile before boto3 is imported.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
    os.environ.pop(_name, None)

from fuzz.allowlist import KNOWN_HOLES, OPEN_HOLES, known_hole  # noqa: E402
from fuzz.campaign import (  # noqa: E402
    BASELINES,
    Campaign,
    Stats,
    Trial,
    combinations,
    log_false_pass,
    unique,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=int, default=1000, help="Hypothesis combinations to try (default 1000)"
    )
    parser.add_argument(
        "--no-exhaustive",
        dest="exhaustive",
        action="store_false",
        help="skip the sweep of every single mutation",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        choices=[b.name for b in BASELINES],
        help="only this baseline (repeatable; default all)",
    )
    parser.add_argument("--max-combined", type=int, default=3, help="mutations per combination")
    parser.add_argument("--log", type=Path, help="append new false passes to this markdown log")
    args = parser.parse_args(argv)

    names = args.baseline or [b.name for b in BASELINES]
    campaign = Campaign([b for b in BASELINES if b.name in names])
    stats = Stats()
    started = time.perf_counter()

    def record(trial: Trial | None) -> None:
        if trial is None:
            stats.inapplicable += 1
            return
        before = len(stats.false_passes)
        stats.add(trial)
        if len(stats.false_passes) > before:
            print(f"FALSE PASS [{trial.baseline}] {trial.describe()}", flush=True)
            if args.log and log_false_pass(trial, args.log):
                print(f"  logged to {args.log}", flush=True)

    modelled = set()
    for name in names:
        recorded = campaign.record(name)
        modelled |= {(m.operation, m.pattern) for m in recorded.mutations}
        print(
            f"baseline {name}: {len(recorded.answers)} answers, {len(recorded.mutations)} "
            f"mutations over {len({(m.operation, m.pattern) for m in recorded.mutations})} paths",
            flush=True,
        )
    if args.exhaustive:
        for name in names:
            for mutation in campaign.record(name).mutations:
                record(campaign.trial(name, [mutation]))
            print(stats.summary(f"after the sweep of {name}"), flush=True)
    if args.examples > 0:
        from hypothesis import HealthCheck, Phase, given, settings

        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(combinations(campaign, names, args.max_combined))
        def explore(case: tuple[str, list[Any]]) -> None:
            name, mutations = case
            record(campaign.trial(name, mutations))

        explore()

    elapsed = time.perf_counter() - started
    covered = {(op, p) for _b, op, p in stats.paths}
    false_passes = unique(stats.false_passes)
    print()
    print(stats.summary("fuzz campaign"))
    print(
        f"figures: {stats.tried} mutations tried ({stats.inapplicable} inapplicable combinations "
        f"skipped), {len(covered)} of {len(modelled)} modelled operation paths covered "
        f"({len(stats.paths)} baseline paths), {len(false_passes)} false passes "
        f"({len(stats.false_passes)} trials), {stats.caught} caught as FAIL/ERROR, {stats.inert} "
        f"PASS on allowlisted paths, {elapsed:.0f} s"
    )
    print("mutation kinds: " + ", ".join(f"{k} {n}" for k, n in stats.kinds.most_common()))
    for hole, what in KNOWN_HOLES.items():
        passing = [
            t
            for t in (*stats.known, *stats.false_passes)
            if any(known_hole(m, t.baseline, open_only=False) == hole for m in t.mutations)
        ]
        state = "open" if hole in OPEN_HOLES else "closed"
        print(f"finding {hole} ({state}: {what}): {len(passing)} trial(s) PASS on its mutations")
    for trial in false_passes:
        print(f"FALSE PASS [{trial.baseline}] {trial.describe()}: {trial.why}")
    if stats.harness_gaps:
        print(f"{len(stats.harness_gaps)} trial(s) called an operation without a fixture:")
        for trial in stats.harness_gaps[:5]:
            print("  " + "; ".join(trial.unserved))
    return 1 if false_passes or stats.harness_gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
