"""Running the installed ``soc2gate`` CLI against a MotoWorld, optionally through a FaultProxy.

Shared by tests/faults, tests/security and scripts/fault_soak.py. The CLI runs as a subprocess
with a clean environment: no AWS_*, GITHUB_* or INPUT_* variable of the test process leaks in,
and the instance metadata service is disabled so nothing can go off-box.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soc2gate.demo.world import FAKE_CREDENTIAL

ROOT = Path(__file__).resolve().parents[2]
SOC2GATE = str(Path(sys.executable).with_name("soc2gate"))
XSD = ROOT / "tests" / "schemas" / "junit-10.xsd"
#: Fast polling for every run that is not a scenario (scenarios bring their own flags).
FAST = ("--poll-min", "0.05s", "--poll-max", "0.2s")


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    junit: Path
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def base_env(endpoint_url: str | None, region: str = "us-east-1") -> dict[str, str]:
    """The environment of a CLI run: the test process's minus anything AWS/GitHub, plus a world."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_", "INPUT_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIAL,
            "AWS_SESSION_TOKEN": FAKE_CREDENTIAL,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def run_cli(
    args: Sequence[str],
    tmp_path: Path,
    *,
    endpoint_url: str | None,
    extra_env: Mapping[str, str | None] | None = None,
    timeout: float = 90,
    junit: bool = True,
) -> CliRun:
    """Run ``soc2gate ARGS`` (``--junit tmp_path/junit.xml`` added to ``run``).

    ``extra_env`` values of None remove that variable.
    """
    report = tmp_path / "junit.xml"
    env = base_env(endpoint_url)
    for key, value in (extra_env or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    argv = [SOC2GATE, *args]
    if junit and args and args[0] == "run":
        argv += ["--junit", str(report)]
    started = time.monotonic()
    proc = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, report, time.monotonic() - started)


@functools.lru_cache(maxsize=1)
def _schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(XSD))


def validate_junit(path: Path) -> None:
    """Raise if ``path`` is not a JUnit file junit-10.xsd accepts."""
    _schema().validate(str(path))


def parse_github_output(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: NAME=VALUE lines and NAME<<DELIMITER blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"unterminated {name}<<{delimiter}"
            i += 1
            assert name not in values, f"{name} set twice"
            values[name] = "\n".join(body)
        else:
            name, sep, value = line.partition("=")
            assert sep, f"not an output line: {line[:200]!r}"
            assert name not in values, f"{name} set twice"
            values[name] = value
    return values
