"""Plumbing for the benchmark: processes timed with wait4, statistics, the awscli venv, the world.

Nothing here decides what is measured; ``measures.py`` does. Every process is started with the
same environment (the moto world's endpoint and fake credentials, no user AWS config), and timed
by a small spawner (spawn.py) that also reports the process's own CPU time and peak RSS (including
any children it waited for, e.g. the ``aws`` processes of a bash script).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
#: The awscli the guide's commands run with (PyPI's ``awscli``), in its own venv: it pins its
#: own botocore, which must not replace the one soc2gate is measured with.
#: Kept in the user's cache (not the checkout) so a fresh clone on the same machine, as in CI,
#: reuses it; a new machine installs it again (about 10 s).
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
AWSCLI_VENV = Path(os.environ.get("SOC2GATE_BENCH_VENV") or _CACHE / "soc2gate-bench" / "awscli")
AWSCLI_REQUIREMENT = os.environ.get("SOC2GATE_BENCH_AWSCLI", "awscli")


class Broken(RuntimeError):
    """Something the benchmark relies on does not work: the run exits non-zero."""


# ---- processes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """One finished process: wall seconds, CPU seconds, peak RSS, exit code, output, start."""

    wall: float
    cpu: float
    maxrss_mb: float
    code: int
    output: str
    started: float


def run_proc(
    cmd: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    timeout: float = 300.0,
) -> Proc:
    """Run ``cmd`` to the end through ``spawn.py``; stdout+stderr go to a temp file.

    Wall time, CPU and peak RSS are the process's own, measured by the small spawner (see
    spawn.py for why); ``started`` is its spawn moment on this machine's monotonic clock.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        spawner = [sys.executable, "-I", "-S", str(BENCH / "spawn.py"), str(result)]
        try:
            subprocess.run(
                [*spawner, *(str(c) for c in cmd)],
                env=dict(env),
                # Not the checkout: `python -m soc2gate` there would import ./soc2gate first.
                cwd=cwd or tempfile.gettempdir(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=True,
            )
            data = json.loads(result.read_text())
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            raise Broken(f"could not run {[str(c) for c in cmd]}: {exc}") from exc
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Proc(
        wall=data["end"] - data["start"],
        cpu=data["cpu"],
        # Linux reports ru_maxrss in KiB.
        maxrss_mb=data["maxrss_kb"] / 1024,
        code=data["code"],
        output=text,
        started=data["start"],
    )


def expect_ok(proc: Proc, what: str, code: int = 0, contains: Iterable[str] = ()) -> Proc:
    if proc.code != code:
        raise Broken(f"{what}: exit {proc.code}, expected {code}:\n{proc.output[-3000:]}")
    for text in contains:
        if text not in proc.output:
            raise Broken(f"{what}: output lacks {text!r}:\n{proc.output[-3000:]}")
    return proc


# ---- statistics --------------------------------------------------------------------------------


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.values)
        if len(ordered) == 1:
            return ordered[0]
        pos = q * (len(ordered) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    def spread(self, unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
        """``median (min-max, n=N)``."""
        fmt = f"{{:.{digits}f}}"
        med, lo, hi = (fmt.format(v * scale) for v in (self.median, self.low, self.high))
        if len(self.values) == 1:
            return f"{med} {unit} (n=1)"
        return f"{med} {unit} ({lo}-{hi}, n={len(self.values)})"


def interleaved(
    commands: Mapping[str, Callable[[], float]], repeat: int, warmup: int = 1
) -> dict[str, Samples]:
    """Run each command ``repeat`` times, round-robin (so drift hits all alike); median later."""
    for _ in range(warmup):
        for run in commands.values():
            run()
    out = {name: Samples() for name in commands}
    for _ in range(repeat):
        for name, run in commands.items():
            out[name].add(run())
    return out


# ---- environment -------------------------------------------------------------------------------


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any AWS / CI settings, plus ``extra``.

    AWS config and credentials files point nowhere so that a developer's profile cannot change
    what is measured (or send anything anywhere but the moto server). PYTHONDONTWRITEBYTECODE is
    dropped: with it an editable checkout recompiles soc2gate on every start, which no installed
    package does (pip writes the .pyc files), so the warm-up run writes them.
    """
    drop = ("AWS_", "GITHUB_", "CODEBUILD_", "INPUT_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
    )
    env.update(extra)
    return env


def gate_command() -> list[str]:
    """The installed ``soc2gate`` console script next to this interpreter (what users run)."""
    script = Path(sys.executable).parent / "soc2gate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "soc2gate"]


def ensure_awscli(say: Callable[[str], None]) -> Path:
    """A venv with PyPI's awscli (v1, a Python package); returns the ``aws`` executable."""
    bin_dir = AWSCLI_VENV / "bin"
    aws = bin_dir / "aws"
    stamp = AWSCLI_VENV / ".soc2gate-bench-awscli"
    if aws.exists() and stamp.exists() and stamp.read_text() == AWSCLI_REQUIREMENT:
        return aws
    say(f"installing {AWSCLI_REQUIREMENT} from PyPI into {AWSCLI_VENV} (once)")
    if not (bin_dir / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=False).create(AWSCLI_VENV)
    result = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", AWSCLI_REQUIREMENT],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not aws.exists():
        raise Broken(f"pip install {AWSCLI_REQUIREMENT} failed:\n{result.stderr[-3000:]}")
    stamp.write_text(AWSCLI_REQUIREMENT)
    return aws


def awscli_version(aws: Path, env: Mapping[str, str]) -> str:
    proc = run_proc([aws, "--version"], env)
    return proc.output.strip().split(" ")[0] if proc.code == 0 else "?"


# ---- the moto world ------------------------------------------------------------------------------


class Probe:
    """Hooks on every operation the world answers: first-call time, added latency, callbacks.

    Installed once per world through ``MotoWorld.inject`` (a response factory that never returns
    a fault), because the world has no other per-call hook for every operation.
    """

    def __init__(self, world: Any, operations: Iterable[str]) -> None:
        self.world = world
        self.operations = frozenset(operations)
        self.delay = 0.0
        self.first_call: float | None = None
        self.log: list[tuple[float, str]] | None = None
        self.callbacks: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        for op in sorted(self.operations):
            world.inject(op, self._factory(op))

    def _factory(self, op: str) -> Callable[[int], None]:
        def factory(n: int) -> None:
            now = time.perf_counter()
            with self._lock:
                if self.first_call is None:
                    self.first_call = now
                if self.log is not None:
                    self.log.append((now, op))
                callback = self.callbacks.get(op)
            if callback is not None:
                callback()
            if self.delay:
                time.sleep(self.delay)
            return None

        return factory

    def reset(self) -> None:
        with self._lock:
            self.first_call = None
            self.log = None

    def record(self) -> list[tuple[float, str]]:
        with self._lock:
            self.log = []
            return self.log

    def unhooked(self) -> set[str]:
        """Operations the world answered that this probe does not see (would not be delayed)."""
        return set(self.world.calls) - self.operations


def calls_delta(
    before: Mapping[str, int], after: Mapping[str, int], ops: Iterable[str] | None = None
) -> int:
    keys = set(after) if ops is None else set(ops)
    return sum(after.get(k, 0) - before.get(k, 0) for k in keys)


def machine() -> dict[str, str]:
    import platform

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def package_versions(names: Iterable[str]) -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "soc2gate"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return head + (" + uncommitted soc2gate/ changes" if dirty else "")
