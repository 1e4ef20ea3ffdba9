#!/usr/bin/env python3
"""soc2gate's benchmark: the gate side by side with what users run today (issue 7).

    python3 bench/run.py            the full run (a few minutes), one table on stdout
    python3 bench/run.py --quick    a smoke run (< 60 s): every measurement, tiny sizes
    python3 bench/run.py --only image   the container image (buildah, root; see bench/image.py)

Everything runs against moto's server on 127.0.0.1 started in this process, and every number is
a ratio against a baseline measured in the same invocation. See BENCHMARKS.md for what each row
measures and the results.

Needs soc2gate with its demo extra (moto's server); when this interpreter lacks them, the project
venv is made with ``dev.py`` (as ``python3 dev.py demo`` does) and this script re-runs in it. The
guide's commands need PyPI's awscli, installed on first use into ``$SOC2GATE_BENCH_VENV``
(default ~/.cache/soc2gate-bench/awscli). Exit code: 0 when every measurement ran (missed targets included), 1 when
something is broken (a gate run with the wrong verdict, a failed install, an exception).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _bootstrap(argv: list[str]) -> None:
    """Re-run in the project venv (made by dev.py) when soc2gate or moto is missing here."""
    try:
        import moto.server  # noqa: F401

        import soc2gate  # noqa: F401
    except ImportError:
        if os.environ.get("SOC2GATE_BENCH_REEXEC"):
            raise
        sys.path.insert(0, str(ROOT))
        import dev

        dev.ensure_venv("demo")
        python = dev.BIN / "python"
        os.environ["SOC2GATE_BENCH_REEXEC"] = "1"
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


def _say(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def table(rows: list, quick: bool) -> str:
    head = ("#", "measure", "baseline", "soc2gate", "ratio", "target", "")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        status = "met" if r.met else ("MISSED" if r.met is False else "n/a")
        if quick:
            status += " (quick)"
        cells = (r.key, r.measure, r.baseline, r.ours, r.ratio, r.target, status)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = [f"- {r.key}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run for CI (< 60 s)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this measurement (repeatable): verdict, lag, latency, findings, fleet, "
        "startup, image, action",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--json", metavar="PATH", help="also write every raw sample here")
    args = parser.parse_args(argv)

    _bootstrap(argv)
    sys.path.insert(0, str(HERE))
    import harness
    import measures

    names = args.only or list(measures.MEASURES)
    unknown = [n for n in names if n not in measures.MEASURES]
    if unknown:
        parser.error(f"unknown measurement {unknown[0]!r} (known: {', '.join(measures.MEASURES)})")
    # verdict's runs give startup its time-to-first-call numbers.
    if "startup" in names and "verdict" in names:
        names = [n for n in names if n != "startup"] + ["startup"]
    ctx = measures.Context(quick=args.quick, seed=args.seed, say=_say, tmp=measures.scratch_dir())
    if args.quick and "verdict" in names:
        # A first install of awscli (about 20 s) overlaps the other measurements, which a
        # smoke run does not record; a full run installs first so nothing else competes.
        from concurrent.futures import ThreadPoolExecutor

        ctx.awscli = ThreadPoolExecutor(1).submit(harness.ensure_awscli, _say)
        names = [n for n in names if n not in ("verdict", "startup")] + [
            n for n in ("verdict", "startup") if n in names
        ]

    rows: list = []
    broken: list[str] = []
    started = time.monotonic()
    for name in names:
        _say(f"{name} ...")
        t0 = time.monotonic()
        try:
            rows += measures.MEASURES[name](ctx)
        except Exception as exc:
            broken.append(name)
            detail = str(exc) if isinstance(exc, harness.Broken) else traceback.format_exc()
            _say(f"{name}: BROKEN: {detail}")
        else:
            _say(f"{name}: done in {time.monotonic() - t0:.1f} s")

    import soc2gate

    info = harness.machine()
    where = Path(soc2gate.__file__).resolve().parent.parent
    tree = harness.git_state() if where == ROOT else f"{where} (not this checkout)"
    versions = harness.package_versions(["soc2gate", "boto3", "botocore", "moto", "tenacity"])
    print(
        f"soc2gate benchmark{' (--quick: tiny sizes, not the recorded numbers)' * args.quick}: "
        f"{info['nproc']} x {info['cpu']}, Python {info['python']}, {info['platform']}"
    )
    print(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; soc2gate code: {tree}"
    )
    print()
    print(table(rows, args.quick))
    missed = [r.key for r in rows if r.met is False]
    print()
    print(
        f"{len(rows)} rows, {len(missed)} target(s) missed{': ' + ', '.join(missed) if missed else ''}"
        f"; {len(broken)} measurement(s) broken{': ' + ', '.join(broken) if broken else ''}"
        f"; {time.monotonic() - started:.0f} s"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "versions": versions,
                    "tree": tree,
                    "quick": args.quick,
                    "rows": [r.__dict__ for r in rows],
                    "raw": ctx.raw,
                    "broken": broken,
                },
                indent=1,
                default=str,
            )
        )
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
