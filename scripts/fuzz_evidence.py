#!/usr/bin/env python3
"""Mutation fuzzing of the evidence verifiers' reads: kms:Verify, s3:ListObjectVersions and
s3:GetObject (issue 19); the long version of tests/fuzz/test_evidence_mutations.py.

Every mutation of every answer of every baseline (tests/fuzz/evidence_reads.py), then
``--examples`` Hypothesis combinations of up to ``--max-combined`` mutations. Prints the figures
and exits 1 on a false pass (a mutated answer made a record verify, or an audit report hiding a
FAIL look clean) or a verifier crash. Nothing leaves the machine: moto answers in-process.

    python scripts/fuzz_evidence.py --examples 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
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

from fuzz.evidence_reads import Campaign, Trial, combinations  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="Hypothesis combinations")
    parser.add_argument("--max-combined", type=int, default=3, help="mutations per combination")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    outcomes: Counter[str] = Counter()
    bad: list[Trial] = []

    def record(trial: Trial | None) -> None:
        if trial is None:
            outcomes["inapplicable"] += 1
            return
        outcomes[trial.outcome] += 1
        if trial.outcome in ("false-pass", "crash"):
            bad.append(trial)
            print(f"{trial.outcome.upper()} [{trial.baseline}] {trial.describe()}: {trial.why}")

    with Campaign().running() as campaign:
        names = list(campaign.baselines)
        for name in names:
            paths = {(m.operation, m.pattern) for m in campaign.mutations[name]}
            print(f"baseline {name}: {len(campaign.mutations[name])} mutations, {len(paths)} paths")
            for mutation in campaign.mutations[name]:
                record(campaign.trial(name, [mutation]))
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
    print(
        f"evidence fuzz: {sum(outcomes.values())} trials: "
        + ", ".join(f"{n} {k}" for k, n in outcomes.most_common())
        + f"; {len(bad)} false passes or crashes; {time.perf_counter() - started:.0f} s"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
