#!/usr/bin/env python3
"""Fault soak: every scenario, many times, with injected transient AWS faults.

Each run seeds a MotoWorld with one scenario of soc2gate/demo/scenarios.py, puts the
fault-injecting proxy of tests/faults/proxy.py in front of it (throttling, 429, 500, 503,
connection resets, truncated bodies at --rate, latency at --latency-rate) and runs the installed
``soc2gate run`` against it. Prints scenario x (runs, same verdict, false passes, injected faults,
requests, fault share, delayed answers, p50/max wall time) and exits 1 if any run reached a
different exit code or text than the scenario expects (or wrote an invalid JUnit file).

    python scripts/fault_soak.py --reps 30 --rate 0.2
    python scripts/fault_soak.py --reps 5 --scenario healthy --scenario endpoint-failed

Needs soc2gate[test] installed (moto, xmlschema) in the Python that runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from faults.soak import injected_by_kind, render, soak, table  # noqa: E402

from soc2gate.demo.scenarios import SCENARIOS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30, help="runs per scenario (default 30)")
    parser.add_argument(
        "--rate", type=float, default=0.2, help="share of requests faulted (default 0.2)"
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=0.1,
        help="share of the other requests answered 50-300 ms late (default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=max(2, min(8, 2 * (os.cpu_count() or 1))),
        help="worker processes (default: 2 per CPU, at most 8)",
    )
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="only these (repeatable)"
    )
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.reps < 1 or not 0 <= args.rate < 1 or not 0 <= args.latency_rate < 1:
        parser.error("--reps must be >= 1 and the rates in [0, 1)")

    names = args.scenario or list(SCENARIOS)
    print(
        f"fault soak: {len(names)} scenario(s) x {args.reps} runs, fault rate {args.rate:.0%}, "
        f"latency rate {args.latency_rate:.0%}, seed {args.seed}, {args.jobs} worker(s)",
        flush=True,
    )
    started = time.monotonic()
    runs = soak(
        names,
        args.reps,
        rate=args.rate,
        latency_rate=args.latency_rate,
        seed=args.seed,
        workers=args.jobs,
    )
    text = render(table(runs, names))
    text += f"\ninjected by kind: {injected_by_kind(runs)}"
    text += f"\nwall time: {time.monotonic() - started:.0f}s"
    bad = [r for r in runs if not r.same]
    for run in bad:
        text += (
            f"\n\nDIFFERENT: {run.scenario} rep {run.rep} seed {run.seed}: exit {run.code}, "
            f"expected {run.expected_exit}; text {'ok' if run.text_ok else 'MISSING'}; "
            f"JUnit {'ok' if run.junit_ok else 'INVALID'}\n{run.tail}"
        )
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    false_passes = sum(r.false_pass for r in runs)
    print(
        f"\n{len(runs) - len(bad)}/{len(runs)} runs reached the expected verdict; "
        f"{false_passes} false pass(es)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
