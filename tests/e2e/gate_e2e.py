"""Helpers for end-to-end tests: run the installed CLI against a MotoWorld, validate JUnit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soc2gate.demo.world import MotoWorld

SOC2GATE = str(Path(sys.executable).with_name("soc2gate"))
XSD = Path(__file__).resolve().parents[1] / "schemas" / "junit-10.xsd"


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    junit: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    world: MotoWorld,
    args: Sequence[str],
    tmp_path: Path,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60,
) -> CliRun:
    """Run the installed ``soc2gate`` against ``world`` over HTTP (AWS_ENDPOINT_URL)."""
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_", "INPUT_"))}
    env.update(world.env())
    env.update(extra_env or {})
    proc = subprocess.run(
        [SOC2GATE, *args, "--junit", str(junit)]
        if args and args[0] == "run"
        else [SOC2GATE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, junit)


def validate_junit(path: Path) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(path))
