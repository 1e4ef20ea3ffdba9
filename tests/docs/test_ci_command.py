"""CI runs the test command the README gives, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands(text: str) -> set[str]:
    """The commands of the README's ``sh`` blocks, comments and spacing dropped."""
    found = set()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = " ".join(line.split("#", 1)[0].split())
            if command:
                found.add(command)
    return found


def test_ci_runs_the_readme_test_command() -> None:
    readme = _commands((ROOT / "README.md").read_text())
    assert "python3 dev.py test" in readme
    ci = [" ".join(line.split()) for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    tests = [line for line in ci if line.startswith("python3 dev.py test")]
    assert tests == ["python3 dev.py test"], tests
