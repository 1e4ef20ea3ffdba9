"""Licence and project metadata: what PyPI shows and what a packager relies on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the 3.10 CI job skips this module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data


def test_license_is_an_spdx_expression_with_its_file(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")], (
        "PEP 639: no License classifier next to an SPDX license expression"
    )
    requires = pyproject["build-system"]["requires"]
    setuptools = next(r for r in requires if r.startswith("setuptools"))
    minimum = re.search(r">=\s*(\d+)", setuptools)
    assert minimum and int(minimum[1]) >= 77, f"{setuptools}: SPDX license needs setuptools>=77"


def test_license_file_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    for needle in (
        "Apache License",
        "Version 2.0, January 2004",
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
        "APPENDIX: How to apply the Apache License to your work.",
    ):
        assert needle in text, needle


def test_metadata_pypi_shows(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert {"Source", "Issues", "Changelog"} <= set(project["urls"])
    assert all(url.startswith("https://") for url in project["urls"].values())
    assert len(project["keywords"]) >= 5
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "soc2gate" / "py.typed").exists()


def test_changelog_keeps_an_unreleased_section_and_the_current_version(
    pyproject: dict[str, Any],
) -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"(?m)^## \[([^\]]+)\]", changelog)
    assert headings[0] == "Unreleased"
    assert pyproject["project"]["version"] in headings


def test_security_policy_and_versioning_policy_are_linked_from_the_readme() -> None:
    security = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "Report a vulnerability" in security and "Supported versions" in security
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Versioning" in readme
    assert "SECURITY.md" in readme and "CHANGELOG.md" in readme
    for stable in ("check ids", "exit codes", "evidence"):
        assert stable in readme.split("## Versioning", 1)[1].split("\n## ", 1)[0].lower()
