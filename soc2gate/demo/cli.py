"""``soc2gate demo``: the gate's main job against a simulated AWS account on 127.0.0.1.

It starts moto's server in-process, seeds one scenario from the scenario library (the same one
the end-to-end tests use), replays the guide's timeline compressed, and meanwhile runs the real
``soc2gate run`` code path (``cli.main``) with AWS_ENDPOINT_URL pointing at that server.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from soc2gate.errors import ConfigError

if TYPE_CHECKING:
    from soc2gate.demo.scenarios import Scenario

INSTALL_HINT = "pip install 'soc2gate[demo]'   (from a checkout: pip install -e '.[demo]')"
#: Duration flags the demo scales with --speed.
_SCALED = ("--poll-min", "--poll-max", "--endpoint-grace")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario", default="healthy", help="scenario to replay (default healthy)"
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="simulate 12 weeks of signed evidence in S3 (one record forged) and write the "
        "audit report (audit-report.html, .md, .csv)",
    )
    parser.add_argument(
        "--out", default="soc2gate-demo", help="directory for the reports (default ./soc2gate-demo)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay the timeline this many times faster (default 1: about 15 seconds)",
    )


def _scale(args: list[str], speed: float) -> list[str]:
    from soc2gate.durations import parse_duration

    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg in _SCALED:
            out[i + 1] = f"{parse_duration(out[i + 1]) / speed:.3f}s"
    return out


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, "AWS_PROFILE", "GITHUB_ACTIONS")}
    os.environ.pop("AWS_PROFILE", None)  # the demo never touches a real account
    os.environ.pop("GITHUB_ACTIONS", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(args: argparse.Namespace, gate_main: Callable[[list[str]], int]) -> int:
    """``gate_main`` is ``soc2gate.cli.main``, handed in so this module never imports the CLI
    (the layers read config -> checks -> registry -> runner -> cli, with no way back up)."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        print(
            f"soc2gate: error: the demo needs moto's server, which is not installed: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    from soc2gate.demo.scenarios import SCENARIOS

    if args.list:
        width = max(len(n) for n in SCENARIOS)
        for item in SCENARIOS.values():
            print(f"{item.name:<{width}}  exit {item.expected_exit}  {item.summary}")
        return 0
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        close = difflib.get_close_matches(args.scenario, list(SCENARIOS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"demo: unknown scenario {args.scenario!r}{hint}; see soc2gate demo --list"
        )
    if not args.speed > 0:
        raise ConfigError(f"demo: --speed must be greater than 0, got {args.speed}")
    if args.audit:
        return _audit(Path(args.out), gate_main)
    return _replay(scenario, Path(args.out), args.speed, gate_main)


def _audit(out: Path, main: Callable[[list[str]], int]) -> int:
    """Weeks of signed, retained evidence (soc2gate.demo.audit_period), then audit-report."""
    from datetime import datetime, timezone

    from soc2gate.demo.audit_period import simulate
    from soc2gate.demo.world import MotoWorld

    out.mkdir(parents=True, exist_ok=True)
    key = out / "evidence-key.der"
    say = _printer()
    with MotoWorld() as world:
        say("simulating 12 weeks of deployments: each gate run's evidence record signed with a "
            "KMS key (ECC_NIST_P256) and uploaded to S3 with Object Lock")  # fmt: skip
        period = simulate(world, end=datetime.now(timezone.utc).date())
        say(f"{period.records} records in {period.s3_url}; one of them was edited from FAIL to "
            f"PASS with its checksum recomputed: {period.tampered}")  # fmt: skip
        key.write_bytes(period.public_key_der)
        args = [
            "audit-report", "--evidence-s3", period.s3_url,
            "--from", str(period.start), "--to", str(period.end),
            "--public-key", str(key),
            "--html", str(out / "audit-report.html"),
            "--md", str(out / "audit-report.md"),
            "--csv", str(out / "audit-report.csv"),
        ]  # fmt: skip
        say("running: soc2gate " + " ".join(_quote(a) for a in args))
        with _environment(world.env()):
            code = main(args)
    verdict = "as expected: the forged record is caught" if code == 1 else "UNEXPECTED"
    print(f"\nOpen {out / 'audit-report.html'} in a browser. Exit code {code} ({verdict}).")
    return code


def _replay(scenario: Scenario, out: Path, speed: float, main: Callable[[list[str]], int]) -> int:
    from soc2gate.demo.world import MotoWorld

    out.mkdir(parents=True, exist_ok=True)
    junit_path, summary_path = out / "junit.xml", out / "summary.md"
    say = _printer()
    with MotoWorld() as world:
        scenario.setup(world)
        gate_args = _scale(scenario.gate_args(world, demo=True), speed)
        print(f"soc2gate demo: scenario {scenario.name!r}: {scenario.summary}", file=sys.stderr)
        print(f"simulated AWS account (moto) on {world.endpoint_url}", file=sys.stderr)
        print(
            f"running: AWS_ENDPOINT_URL={world.endpoint_url} soc2gate run "
            + " ".join(_quote(a) for a in gate_args),
            file=sys.stderr,
        )
        steps = [(t / speed, text, action) for t, text, action in scenario.timeline_demo]
        timeline = world.run_timeline(steps, on_event=lambda text: say(f"[aws] {text}"))
        try:
            with _environment(world.env()):
                code = main(
                    ["run", *gate_args, "--junit", str(junit_path), "--summary", str(summary_path)]
                )
        finally:
            timeline.stop()
    print(
        f"\nReports written to {out}/: {junit_path.name} (JUnit XML), {summary_path.name} "
        "(markdown summary)"
    )
    verdict = "as expected" if code == scenario.expected_exit else "UNEXPECTED"
    print(f"Exit code {code} ({verdict} for scenario {scenario.name!r}).")
    return code


def _printer() -> Callable[[str], None]:
    start = time.monotonic()

    def say(line: str) -> None:
        print(f"[demo +{time.monotonic() - start:4.1f}s] {line}", file=sys.stderr, flush=True)

    return say


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def scenario_names() -> Sequence[str]:
    from soc2gate.demo.scenarios import SCENARIOS

    return list(SCENARIOS)
