"""scripts/pin-action-image.py: the release rewrites action.yml's runs.image, and only that."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pin-action-image.py"
IMAGE = "ghcr.io/acme/soc2gate"
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32

MINIMAL = """\
# header comment
name: x
description: y
inputs:
  image:
    description: an input named image must not be touched
    default: "Dockerfile"
runs:
  using: docker
  # the image
  image: Dockerfile
  args:
    - action
"""


@pytest.fixture(scope="module")
def pin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_action_image", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pins_the_real_action_yml_changing_only_runs_image(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    original = (ROOT / "action.yml").read_text(encoding="utf-8")
    action.write_text(original, encoding="utf-8")

    proc = run("--action", action, "--image", IMAGE, "--digest", DIGEST)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"docker://{IMAGE}@{DIGEST}"
    pinned = action.read_text(encoding="utf-8")
    changed = [
        (old, new)
        for old, new in zip(original.splitlines(), pinned.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}@{DIGEST}")]
    before, after = yaml.safe_load(original), yaml.safe_load(pinned)
    assert after["runs"] == {**before["runs"], "image": f"docker://{IMAGE}@{DIGEST}"}
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }


def test_check_accepts_the_pin_and_rejects_anything_else(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    action.write_text(MINIMAL, encoding="utf-8")
    assert run("--check", "--action", action).returncode == 1  # still Dockerfile

    assert run("--action", action, "--image", IMAGE, "--digest", DIGEST).returncode == 0
    assert run("--check", "--action", action).returncode == 0
    ok = run("--check", "--action", action, "--image", IMAGE, "--digest", DIGEST)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"docker://{IMAGE}@{DIGEST}"

    wrong_digest = run("--check", "--action", action, "--digest", OTHER_DIGEST)
    assert wrong_digest.returncode == 1
    assert OTHER_DIGEST in wrong_digest.stderr
    wrong_image = run("--check", "--action", action, "--image", "ghcr.io/other/soc2gate")
    assert wrong_image.returncode == 1


def test_repinning_replaces_an_earlier_pin_and_keeps_the_rest(
    pin: ModuleType,
) -> None:
    first, old, new = pin.pin(MINIMAL, IMAGE, DIGEST)
    assert (old, new) == ("Dockerfile", f"docker://{IMAGE}@{DIGEST}")
    second, old2, new2 = pin.pin(first, IMAGE, OTHER_DIGEST)
    assert (old2, new2) == (new, f"docker://{IMAGE}@{OTHER_DIGEST}")
    assert second == MINIMAL.replace("image: Dockerfile", f"image: {new2}")
    # The input called "image" and its "Dockerfile" default are not runs.image.
    assert 'default: "Dockerfile"' in second
    assert "# the image" in second and "# header comment" in second


def test_a_trailing_comment_and_quotes_are_handled(pin: ModuleType) -> None:
    text = MINIMAL.replace("  image: Dockerfile", "  image: 'Dockerfile'  # built on main")
    pinned, old, new = pin.pin(text, IMAGE, DIGEST)
    assert old == "Dockerfile"
    assert f"  image: {new}  # built on main\n" in pinned
    assert yaml.safe_load(pinned)["runs"]["image"] == new


def test_image_is_lower_cased_and_must_not_carry_a_tag(pin: ModuleType) -> None:
    assert pin.normalize_image("ghcr.io/Acme/Soc2gate") == "ghcr.io/acme/soc2gate"
    assert pin.normalize_image("docker://ghcr.io/acme/soc2gate") == IMAGE
    assert pin.normalize_image("localhost:5000/soc2gate") == "localhost:5000/soc2gate"
    for bad in ("ghcr.io/acme/soc2gate:1.0", f"ghcr.io/acme/soc2gate@{DIGEST}", "soc2gate", ""):
        with pytest.raises(pin.PinError):
            pin.normalize_image(bad)


@pytest.mark.parametrize(
    "digest",
    ["sha256:abc", "sha512:" + "ab" * 32, "ab" * 32, "sha256:" + "AB" * 32, "sha256:" + "g" * 64],
)
def test_bad_digests_are_refused(pin: ModuleType, digest: str) -> None:
    with pytest.raises(pin.PinError):
        pin.normalize_digest(digest)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (MINIMAL.replace("image: Dockerfile", "image: docker://alpine:3"), "only 'Dockerfile'"),
        (MINIMAL.replace("using: docker", "using: node20"), "expected docker"),
        (MINIMAL.replace("runs:\n", "other:\n"), "no top-level runs"),
        (MINIMAL.replace("  image: Dockerfile\n", ""), "found 0"),
        (MINIMAL + "  image: Dockerfile\n", "found 2"),
    ],
    ids=["foreign-image", "not-docker", "no-runs", "no-image", "two-images"],
)
def test_unexpected_action_files_are_refused(pin: ModuleType, text: str, why: str) -> None:
    with pytest.raises(pin.PinError, match=why):
        pin.pin(text, IMAGE, DIGEST)


def test_cli_exit_codes(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    action.write_text(MINIMAL, encoding="utf-8")
    refused = run("--action", action, "--image", IMAGE, "--digest", "sha256:nope")
    assert refused.returncode == 1
    assert "64" in refused.stderr
    assert action.read_text(encoding="utf-8") == MINIMAL, "a refused pin must not write"
    assert run("--action", tmp_path / "missing.yml", "--check").returncode == 2
    assert run("--action", action).returncode == 2  # --image/--digest missing: usage error
