#!/usr/bin/env python3
"""Point action.yml at a published image by digest, or check that it does.

On main, action.yml says ``runs.image: Dockerfile``: GitHub builds the image in the user's job.
A release must not do that (slow, and the user would run whatever the base image and the index
serve that day), so the release workflow pushes the image to GHCR, then runs

    python3 scripts/pin-action-image.py --image ghcr.io/OWNER/soc2gate --digest sha256:HEX

which rewrites that one line to ``image: docker://ghcr.io/owner/soc2gate@sha256:HEX`` (comments,
order and every other line unchanged) and commits the result on the release tag. Then

    python3 scripts/pin-action-image.py --check --image ghcr.io/OWNER/soc2gate --digest sha256:HEX

verifies the file says exactly that (``--check`` alone: pinned to some image by sha256 digest).

Rules: the image is a registry path without a tag (lower-cased, as registries require); the
digest is ``sha256:`` and 64 hex digits; ``runs.using`` must be ``docker``; the current value
must be ``Dockerfile`` or an earlier digest pin (re-pinning is allowed), anything else is
refused. With PyYAML importable, the result is parsed and must differ from the original in
``runs.image`` only.

Exit 0 done / check passed, 1 refused / check failed (one line on stderr says why), 2 usage or
file error. Standard library only (PyYAML optional).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# registry host[:port] / path components: lower-case alphanumerics with . _ - separators.
COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(
    rf"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d+)?)(?:/{COMPONENT})+$"  # host then >= 1 path part
)
PINNED_RE = re.compile(r"^docker://(?P<image>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")
TOP_KEY_RE = re.compile(r"^(?P<key>[A-Za-z0-9_-]+):(?P<rest>.*)$")
IMAGE_LINE_RE = re.compile(
    r"^(?P<indent>[ ]+)image:(?P<space>[ ]*)(?P<value>[^#]*?)(?P<tail>[ ]+#.*)?$"
)
USING_LINE_RE = re.compile(r"^[ ]+using:[ ]*(?P<value>[^#]*?)(?:[ ]+#.*)?$")


class PinError(Exception):
    """Refused or failed: reported on one line, exit 1."""


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def normalize_image(image: str) -> str:
    image = image.strip()
    if image.startswith("docker://"):
        image = image[len("docker://") :]
    lowered = image.lower()
    if "@" in lowered or ":" in lowered.split("/", 1)[-1]:
        raise PinError(f"--image {image!r}: give the repository only; the digest pins it")
    if not IMAGE_RE.match(lowered):
        raise PinError(f"--image {image!r} is not a registry path like ghcr.io/owner/soc2gate")
    return lowered


def normalize_digest(digest: str) -> str:
    digest = digest.strip()
    if not DIGEST_RE.match(digest):
        raise PinError(f"--digest {digest!r} is not sha256: followed by 64 lower-case hex digits")
    return digest


def runs_block(lines: list[str]) -> tuple[int, int]:
    """Line range [start, end) of the indented body of the top-level ``runs:`` mapping."""
    start = None
    for i, line in enumerate(lines):
        match = TOP_KEY_RE.match(line)
        if match and match["key"] == "runs":
            if match["rest"].split("#", 1)[0].strip():
                raise PinError("runs: is written inline; expected a block mapping")
            start = i + 1
            break
    if start is None:
        raise PinError("action.yml has no top-level runs: mapping")
    end = start
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t", "#")):
            break
        end += 1
    return start, end


def find_image_line(lines: list[str]) -> tuple[int, re.Match[str]]:
    start, end = runs_block(lines)
    body = [(i, lines[i]) for i in range(start, end) if lines[i].strip()]
    body = [(i, line) for i, line in body if not line.lstrip().startswith("#")]
    if not body:
        raise PinError("runs: is empty")
    indent = len(body[0][1]) - len(body[0][1].lstrip(" "))
    direct = [(i, line) for i, line in body if len(line) - len(line.lstrip(" ")) == indent]
    using = [USING_LINE_RE.match(line) for _, line in direct]
    using_values = [unquote(m["value"]) for m in using if m]
    if using_values != ["docker"]:
        raise PinError(f"runs.using is {using_values or 'missing'}, expected docker")
    hits = [(i, IMAGE_LINE_RE.match(line)) for i, line in direct]
    found = [(i, m) for i, m in hits if m]
    if len(found) != 1:
        raise PinError(f"expected one runs.image line, found {len(found)}")
    return found[0]


def current_image(text: str) -> str:
    _, match = find_image_line(text.splitlines())
    return unquote(match["value"])


def pin(text: str, image: str, digest: str) -> tuple[str, str, str]:
    """(new text, old value, new value)."""
    lines = text.splitlines(keepends=True)
    index, match = find_image_line([line.rstrip("\r\n") for line in lines])
    old = unquote(match["value"])
    if old != "Dockerfile" and not PINNED_RE.match(old):
        raise PinError(
            f"runs.image is {old!r}; only 'Dockerfile' or an earlier docker://...@sha256 pin "
            "may be replaced"
        )
    new = f"docker://{image}@{digest}"
    ending = lines[index][len(lines[index].rstrip("\r\n")) :]
    lines[index] = f"{match['indent']}image: {new}{match['tail'] or ''}{ending}"
    return "".join(lines), old, new


def same_apart_from_image(before: str, after: str, expected: str) -> None:
    """With PyYAML, prove the edit changed runs.image and nothing else."""
    try:
        import yaml
    except ModuleNotFoundError:
        return
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    if not isinstance(new, dict) or new.get("runs", {}).get("image") != expected:
        raise PinError("the rewritten action.yml does not parse to the new runs.image")
    new["runs"]["image"] = old["runs"]["image"]
    if new != old:
        raise PinError("the rewrite changed more than runs.image")


def check(text: str, image: str | None, digest: str | None) -> str:
    value = current_image(text)
    match = PINNED_RE.match(value)
    if not match:
        raise PinError(f"runs.image is {value!r}, not docker://<image>@sha256:<digest>")
    if image is not None and match["image"] != image:
        raise PinError(f"runs.image pins {match['image']}, expected {image}")
    if digest is not None and match["digest"] != digest:
        raise PinError(f"runs.image pins {match['digest']}, expected {digest}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--action", type=Path, default=ROOT / "action.yml")
    parser.add_argument("--image", help="e.g. ghcr.io/owner/soc2gate (no tag)")
    parser.add_argument("--digest", help="sha256:<64 hex> of the pushed image (index)")
    parser.add_argument(
        "--check", action="store_true", help="only verify; change nothing (exit 1 if not pinned)"
    )
    args = parser.parse_args(argv)
    if not args.check and (args.image is None or args.digest is None):
        parser.error("--image and --digest are required unless --check")
    try:
        text = args.action.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"pin-action-image: {exc}", file=sys.stderr)
        return 2
    try:
        image = normalize_image(args.image) if args.image is not None else None
        digest = normalize_digest(args.digest) if args.digest is not None else None
        if args.check:
            value = check(text, image, digest)
            print(f"pin-action-image: {args.action.name} runs {value}", file=sys.stderr)
            print(value)
            return 0
        assert image is not None and digest is not None
        new_text, old, new = pin(text, image, digest)
        same_apart_from_image(text, new_text, new)
        args.action.write_text(new_text, encoding="utf-8")
    except PinError as exc:
        print(f"pin-action-image: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"pin-action-image: {exc}", file=sys.stderr)
        return 2
    print(f"pin-action-image: {args.action.name} runs.image {old} -> {new}", file=sys.stderr)
    print(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
