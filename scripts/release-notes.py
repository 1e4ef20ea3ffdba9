#!/usr/bin/env python3
"""Print the CHANGELOG.md section of one release, for the GitHub release notes.

    python3 scripts/release-notes.py v0.1.0 > notes.md
    python3 scripts/release-notes.py --check v0.1.0   # the tag matches pyproject's version too

The section is everything between ``## [0.1.0] ...`` and the next ``## `` heading (link
references at the end of the file are left out). A leading ``v`` on the tag is dropped.

Exit 0 with the section on stdout; 1 when there is no section for the version, it is empty, or
(``--check``) the version differs from ``[project].version`` in pyproject.toml, or names an
unreleased section; 2 when a file cannot be read.
Standard library only: the release workflow runs it before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?P<rest>.*)$")
LINK_REF = re.compile(r"^\[[^\]]+\]:\s+\S+")
TAG = re.compile(r"^v?(?P<version>\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)$")


class NotesError(Exception):
    """A problem to report on one line, exit 1."""


def version_of(tag: str) -> str:
    match = TAG.match(tag.strip())
    if not match:
        raise NotesError(f"{tag!r} is not a release tag like v1.2.3")
    return match["version"]


def section(changelog: str, version: str) -> tuple[str, str]:
    """(heading line, body) of the version's section; body stripped, link references dropped."""
    lines = changelog.splitlines()
    start = None
    for i, line in enumerate(lines):
        match = HEADING.match(line)
        if match and match["version"] == version:
            start = i
            break
    if start is None:
        raise NotesError(f"CHANGELOG.md has no '## [{version}]' section")
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## ") or LINK_REF.match(line):
            break
        body.append(line)
    text = "\n".join(body).strip()
    if not text:
        raise NotesError(f"the CHANGELOG.md section of {version} is empty")
    return lines[start], text + "\n"


def project_version(pyproject: Path) -> str:
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the one key we need, read plainly
        match = re.search(r'(?ms)^\[project\]\s*$.*?^version\s*=\s*"([^"]+)"', text)
        if not match:
            raise NotesError(f"no [project].version in {pyproject}") from None
        return match[1]
    version = tomllib.loads(text).get("project", {}).get("version")
    if not isinstance(version, str):
        raise NotesError(f"no [project].version in {pyproject}")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", help="release tag or version, e.g. v0.1.0")
    parser.add_argument("--changelog", type=Path, default=ROOT / "CHANGELOG.md")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument(
        "--check",
        action="store_true",
        help="also require the version to equal pyproject's and the section to be dated",
    )
    args = parser.parse_args(argv)
    try:
        version = version_of(args.tag)
        heading, body = section(args.changelog.read_text(encoding="utf-8"), version)
        if args.check:
            declared = project_version(args.pyproject)
            if declared != version:
                raise NotesError(f"tag {args.tag} but pyproject.toml says version {declared}")
            if not re.search(r"\d{4}-\d{2}-\d{2}", heading):
                raise NotesError(f"'{heading}' has no release date (YYYY-MM-DD)")
    except OSError as exc:
        print(f"release-notes: {exc}", file=sys.stderr)
        return 2
    except NotesError as exc:
        print(f"release-notes: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
