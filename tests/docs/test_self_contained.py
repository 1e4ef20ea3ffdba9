"""A stranger clones only this repository: nothing in it may read files from beside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1].parent
# The sibling folder a workstation has beside the repository (a clone has none). Spelled in
# pieces so this guard does not match itself: a relative path into it, or its quoted name
# (a Path walked up to it).
SIBLING = "sha" + "red"
FORBIDDEN = (".." + "/" + SIBLING, '"' + SIBLING + '"', "'" + SIBLING + "'")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):  # an sdist has no .git: walk the tree
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]


def test_no_file_reads_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if path.suffix not in {".py", ".sh", ".yml", ".yaml", ".toml", ".cfg", ""}:
            continue
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(ROOT)}: {needle}" for needle in FORBIDDEN if needle in text
        ]
    assert not offenders, "files that reach outside the repository: " + ", ".join(offenders)


def test_the_junit_schema_is_vendored_with_its_licence() -> None:
    xsd = (ROOT / "tests" / "schemas" / "junit-10.xsd").read_text(encoding="utf-8")
    assert "The MIT License" in xsd and "Gregory Boissinot" in xsd
    assert "junit-10.xsd" in (ROOT / "tests" / "schemas" / "README.md").read_text(encoding="utf-8")
