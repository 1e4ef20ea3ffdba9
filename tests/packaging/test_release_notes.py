"""scripts/release-notes.py: the GitHub release notes are the CHANGELOG.md section of the tag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release-notes.py"

CHANGELOG = """\
# Changelog

## [Unreleased]

## [1.2.0] - 2026-12-01

### Added

- thing one

## [1.1.0]

### Fixed

- undated

## [1.0.0] - 2026-01-01

## [0.9.0] - 2025-12-01

- last

[Unreleased]: https://example.invalid/compare/v1.2.0...HEAD
[1.2.0]: https://example.invalid/releases/tag/v1.2.0
"""


def notes(tmp_path: Path, *args: str, version: str = "1.2.0") -> subprocess.CompletedProcess[str]:
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "{version}"\n', encoding="utf-8"
    )
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--changelog",
            str(tmp_path / "CHANGELOG.md"),
            "--pyproject",
            str(tmp_path / "pyproject.toml"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prints_the_section_of_the_tag(tmp_path: Path) -> None:
    proc = notes(tmp_path, "--check", "v1.2.0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "### Added\n\n- thing one\n"


def test_the_last_section_stops_at_the_link_references(tmp_path: Path) -> None:
    proc = notes(tmp_path, "0.9.0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "- last\n"


@pytest.mark.parametrize(
    ("args", "version", "message"),
    [
        (["v2.0.0"], "2.0.0", "no '## [2.0.0]' section"),
        (["v1.0.0"], "1.0.0", "is empty"),
        (["--check", "v1.2.0"], "1.3.0", "pyproject.toml says version 1.3.0"),
        (["--check", "v1.1.0"], "1.1.0", "has no release date"),
        (["release-1"], "1.2.0", "not a release tag"),
    ],
    ids=["missing", "empty", "version-mismatch", "undated", "not-a-tag"],
)
def test_refuses_what_would_make_bad_release_notes(
    tmp_path: Path, args: list[str], version: str, message: str
) -> None:
    proc = notes(tmp_path, *args, version=version)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert proc.stdout == ""


def test_the_current_version_has_a_dated_changelog_section() -> None:
    """What the release workflow's first job checks, kept true on main."""
    version = next(
        line.split('"')[1]
        for line in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
        if line.startswith("version = ")
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", f"v{version}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
