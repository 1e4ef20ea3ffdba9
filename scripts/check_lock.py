#!/usr/bin/env python3
"""Check that requirements.lock still matches pyproject.toml.

Fails (exit 1, one line per problem) when:
  * a dependency in ``[project].dependencies`` is missing from the lock,
  * its pinned version does not satisfy the pyproject specifier,
  * a lock entry is not pinned with ``==`` or carries no ``--hash=sha256:``;
  * with ``--extra NAME``: the same for ``[project.optional-dependencies].NAME``;
  * with ``--same-as OTHER``: a package both locks pin is pinned to another version in OTHER
    (requirements-docs.lock must hold the runtime dependencies at requirements.lock's pins).
Exit 2 when a file cannot be read or parsed.

Uses ``packaging`` when it is importable (the real PEP 440/508 rules); otherwise a small
parser that understands the plain specifiers this project writes (``>=1.34``, ``==x``,
``~=``, ``<``, ``!=``, and a ``; marker`` which it then ignores).

Usage: python scripts/check_lock.py [--pyproject pyproject.toml] [--lock requirements.lock]
                                    [--extra NAME] [--same-as OTHER_LOCK]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
except ModuleNotFoundError:
    Requirement = None  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent.parent
HASH_RE = re.compile(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})\b")
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


def normalize(name: str) -> str:
    """PEP 503 name: PyYAML, pyyaml and py_yaml are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> tuple[dict[str, str], list[str]]:
    """Return ({name: pinned version}, problems) for a pip requirements file with hashes."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    # pip joins backslash-continued lines before parsing; so do we. Comments end a line.
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())

    for entry in logical:
        if entry.startswith("-"):
            # Options such as --index-url would make the lock depend on one machine's setup.
            problems.append(f"lock: unexpected option line {entry.split()[0]!r}")
            continue
        match = PIN_RE.match(entry)
        if not match:
            problems.append(f"lock: {entry.split()[0]!r} is not pinned with '=='")
            continue
        name, version = normalize(match.group(1)), match.group(2)
        if name in pins:
            problems.append(f"lock: {name} is listed twice")
        pins[name] = version
        if not HASH_RE.search(entry):
            problems.append(
                f"lock: {name}=={version} has no --hash=sha256:<64 hex>"
                " (pip --require-hashes would refuse it)"
            )
    return pins, problems


# --- fallback when `packaging` is not installed -------------------------------------------

_SPEC_RE = re.compile(r"^\s*(===|==|!=|~=|>=|<=|>|<)\s*([A-Za-z0-9.*+!_-]+)\s*$")


def _release(version: str) -> tuple[int, ...]:
    """Numeric release segment: '2.9.0.post0' -> (2, 9, 0). Enough for our specifiers."""
    nums = re.match(r"^\s*v?(\d+(?:\.\d+)*)", version)
    if not nums:
        raise ValueError(f"unparseable version {version!r}")
    return tuple(int(p) for p in nums.group(1).split("."))


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """1.0 == 1.0.0 in PEP 440: compare releases padded with zeros to the same length."""
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def _satisfies_minimal(version: str, specifier: str) -> bool:
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        m = _SPEC_RE.match(clause)
        if not m:
            raise ValueError(f"unsupported specifier {clause!r}")
        op, want = m.groups()
        if op in ("==", "!=") and want.endswith(".*"):
            prefix = _release(want[:-2])
            hit = _release(version)[: len(prefix)] == prefix
            ok = hit if op == "==" else not hit
        elif op == "===":
            ok = version == want
        else:
            ref = _release(want)
            have, padded_ref = _padded(_release(version), ref)
            if op == "~=":  # ~=9.1 means >=9.1, ==9.*
                ok = have >= padded_ref and have[: len(ref) - 1] == ref[:-1]
            else:
                ok = {
                    "==": have == padded_ref,
                    "!=": have != padded_ref,
                    ">=": have >= padded_ref,
                    "<=": have <= padded_ref,
                    ">": have > padded_ref,
                    "<": have < padded_ref,
                }[op]
        if not ok:
            return False
    return True


def _parse_minimal(requirement: str) -> tuple[str, str]:
    body = requirement.split(";", 1)[0]
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^)]*)\)?\s*$", body)
    if not m:
        raise ValueError(f"unparseable requirement {requirement!r}")
    return normalize(m.group(1)), m.group(2).strip()


# --- the check ---------------------------------------------------------------------------


def check(
    pyproject: Path, lock: Path, extras: tuple[str, ...] = (), same_as: Path | None = None
) -> list[str]:
    if tomllib is None:
        raise RuntimeError("needs Python 3.11+ (tomllib) or the 'tomli' package")
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    dependencies = list(project.get("dependencies", []))
    pins, problems = read_lock(lock.read_text(encoding="utf-8"))
    for extra in extras:
        optional = project.get("optional-dependencies", {})
        if extra not in optional:
            problems.append(f"pyproject: no optional-dependencies extra {extra!r}")
        dependencies += optional.get(extra, [])
    if same_as is not None:
        other, _ = read_lock(same_as.read_text(encoding="utf-8"))
        for name in sorted(set(pins) & set(other)):
            if pins[name] != other[name]:
                problems.append(
                    f"{name}: {lock.name} pins {pins[name]}, {same_as.name} pins {other[name]}"
                )

    for dep in dependencies:
        try:
            if Requirement is not None:
                req = Requirement(dep)
                if req.marker is not None and not req.marker.evaluate():
                    continue  # not needed on this interpreter, so not in a lock made here
                name, spec = normalize(req.name), req.specifier
            else:
                name, spec_text = _parse_minimal(dep)
        except Exception as exc:  # an unparseable pyproject entry is a failure, not a skip
            problems.append(f"pyproject: cannot parse dependency {dep!r}: {exc}")
            continue
        pinned = pins.get(name)
        if pinned is None:
            problems.append(f"{name}: required by pyproject ({dep!r}) but missing from {lock.name}")
            continue
        try:
            if Requirement is not None:
                ok = SpecifierSet(str(spec)).contains(Version(pinned), prereleases=True)
                shown = str(spec) or "any"
            else:
                ok = _satisfies_minimal(pinned, spec_text)
                shown = spec_text or "any"
        except ValueError as exc:  # packaging's InvalidVersion/InvalidSpecifier are ValueErrors
            problems.append(f"{name}: cannot compare {pinned!r} with {dep!r}: {exc}")
            continue
        if not ok:
            problems.append(f"{name}: {lock.name} pins {pinned}, pyproject wants {shown}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    parser.add_argument("--extra", action="append", default=[], help="also check this extra")
    parser.add_argument("--same-as", type=Path, help="a lock whose shared pins must be equal")
    args = parser.parse_args(argv)
    try:
        problems = check(args.pyproject, args.lock, tuple(args.extra), args.same_as)
    except (OSError, RuntimeError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        print(f"check_lock: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"check_lock: {problem}", file=sys.stderr)
    if problems:
        print(
            f"check_lock: {len(problems)} problem(s); regenerate the lock (see its header)",
            file=sys.stderr,
        )
        return 1
    how = "packaging" if Requirement is not None else "minimal parser"
    print(f"check_lock: {args.lock.name} satisfies {args.pyproject.name} ({how})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
