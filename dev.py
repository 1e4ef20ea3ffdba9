#!/usr/bin/env python3
"""Two commands for a fresh machine with only Python 3.10+ on it.

    python3 dev.py demo [ARGS...]   install soc2gate with its demo extra into .venv, run `soc2gate demo`
    python3 dev.py test [PYTEST ARGS...]
                                    install soc2gate with its test extra into .venv, run ruff, mypy
                                    and the whole pytest suite (the command CI runs)
    python3 dev.py docs [MKDOCS BUILD ARGS...]
                                    install the documentation tools from requirements-docs.lock
                                    (hash-pinned) into .venv, check that the generated reference
                                    pages are current (python -m soc2gate.docs --check) and run
                                    mkdocs build --strict into ./site (CI runs this too)

The virtual environment is made in ./.venv (or $SOC2GATE_VENV) on first use and reused after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SOC2GATE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def sh(*cmd: str | os.PathLike[str]) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def ensure_venv(extra: str, lock: str | None = None) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py runs on whatever python3 is there
        sys.exit(f"soc2gate needs Python 3.10 or newer, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    stamp = VENV / f".soc2gate-{extra}"
    inputs = max((ROOT / name).stat().st_mtime for name in ("pyproject.toml", lock) if name)
    if not stamp.exists() or stamp.stat().st_mtime < inputs:
        sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        if lock:  # every file hash-checked, then the project itself without resolving again
            sh(BIN / "python", "-m", "pip", "install", "--quiet", "--require-hashes", "-r", lock)
            sh(BIN / "python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
        else:
            sh(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{extra}]")
        stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "docs"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "demo":
            ensure_venv("demo")
            return subprocess.run([str(BIN / "soc2gate"), "demo", *rest], cwd=ROOT).returncode
        if command == "docs":
            ensure_venv("docs", lock="requirements-docs.lock")
            sh(BIN / "python", "-m", "soc2gate.docs", "--check")
            sh(BIN / "mkdocs", "build", "--strict", "--site-dir", "site", *rest)
            return 0
        ensure_venv("test")
        sh(BIN / "ruff", "check", ".")
        sh(BIN / "ruff", "format", "--check", ".")
        sh(BIN / "mypy")
        return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
