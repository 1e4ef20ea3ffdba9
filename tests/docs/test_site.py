"""The documentation site builds with ``mkdocs build --strict``, and strict really fails on the
mistakes it is there to catch: a broken link or anchor, a page left out of the nav."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def _copy_site_sources(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copy(ROOT / "CONTRIBUTING.md", root / "CONTRIBUTING.md")  # included by snippets
    shutil.copytree(ROOT / "docs", root / "docs")
    return root


def test_the_site_builds_strict_with_the_nav_and_the_generated_reference(tmp_path: Path) -> None:
    proc = _build(ROOT, tmp_path / "site")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = (tmp_path / "site" / "reference" / "checks" / "index.html").read_text()
    assert 'id="ecr-scan-findings"' in checks
    home = (tmp_path / "site" / "index.html").read_text()
    for section in ("CI engineers", "Security owners", "Auditors", "Contributors", "Reference"):
        assert section in home, section
    # CONTRIBUTING.md's sections are included, not left as snippet markers.
    arch = (tmp_path / "site" / "contributors" / "architecture" / "index.html").read_text()
    assert "Fail closed" in arch and "--8&lt;--" not in arch and "--8<--" not in arch


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    root = _copy_site_sources(tmp_path)
    page = root / "docs" / "security" / "waivers.md"
    page.write_text(page.read_text() + "\nSee [the check](../reference/checks.md#no-such-check).\n")
    proc = _build(root, tmp_path / "site")
    assert proc.returncode != 0
    assert "no-such-check" in proc.stdout + proc.stderr


def test_a_broken_link_and_a_page_missing_from_the_nav_fail_the_build(tmp_path: Path) -> None:
    root = _copy_site_sources(tmp_path)
    (root / "docs" / "orphan.md").write_text("# Orphan\n\n[gone](security/no-such-page.md)\n")
    proc = _build(root, tmp_path / "site")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "orphan.md" in output and "no-such-page.md" in output
