"""Supply chain: the lock file matches pyproject.toml, the image installs only hash-pinned
wheels, and the gate never runs as root in the image.

Static checks of the Dockerfile and docker/entrypoint.py, plus the entrypoint run for real when
this test runs as root (scripts/container-test.sh proves the same with a built image).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
CHECK_LOCK = ROOT / "scripts" / "check_lock.py"


# ---- the lock file ----------------------------------------------------------------------------


def test_lock_file_matches_pyproject() -> None:
    proc = subprocess.run(
        [sys.executable, str(CHECK_LOCK)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lock_check_fails_when_pyproject_gains_an_unlocked_dependency(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = pyproject.replace("dependencies = [\n", 'dependencies = [\n    "httpx>=0.27",\n', 1)
    assert changed != pyproject
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            str(CHECK_LOCK),
            "--pyproject",
            str(tmp_path / "pyproject.toml"),
            "--lock",
            str(ROOT / "requirements.lock"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "httpx" in proc.stdout + proc.stderr


def test_every_lock_entry_is_pinned_with_a_hash() -> None:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", re.sub(r"(?m)^\s*#.*\n", "", text).strip())
    assert entries
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+", entry), entry[:80]
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry[:80]


# ---- the Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their instructions (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        if raw.lstrip().startswith("#"):
            continue
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, line
            stages.append(Stage(name=match[2] or str(len(stages)), base=match[1]))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    parsed = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    return {stage.name: stage for stage in parsed} | {"__final__": parsed[-1]}


def _lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage, the stages it is built FROM, and the stages it COPYs --from, recursively."""
    seen: list[Stage] = []
    todo = [name]
    while todo:
        stage = stages.get(todo.pop())
        if stage is None or stage in seen:
            continue
        seen.append(stage)
        todo.append(stage.base)
        for args in stage.all("COPY"):
            match = re.search(r"--from=(\S+)", args)
            if match:
                todo.append(match[1])
    return seen


def _pip_installs(stage: Stage) -> list[list[str]]:
    commands = []
    for run in stage.all("RUN"):
        for part in re.split(r"&&|;", run):
            words = shlex.split(part)
            if any(w.endswith("pip") for w in words[:1]) and "install" in words:
                commands.append(words)
    return commands


def test_final_image_installs_runtime_deps_from_the_lock_with_hashes(
    stages: dict[str, Stage],
) -> None:
    final = stages["__final__"]
    lineage = _lineage(stages, final.name)
    installs = [(stage.name, cmd) for stage in lineage for cmd in _pip_installs(stage)]
    from_lock = [
        (name, cmd)
        for name, cmd in installs
        if "-r" in cmd and cmd[cmd.index("-r") + 1].endswith("/requirements.lock")
    ]
    assert from_lock, f"no pip install -r requirements.lock feeds the final stage: {installs}"
    for name, cmd in from_lock:
        assert "--require-hashes" in cmd, (name, cmd)
        assert "--no-deps" in cmd, (name, cmd)
        assert "--only-binary=:all:" in cmd, (name, cmd)
    copied = [
        args
        for stage in lineage
        for args in stage.all("COPY")
        if args.split()[0] == "requirements.lock"
    ]
    assert copied, "requirements.lock is not copied from the build context"
    # Anything else pip installs into the image is either hash-checked or a local wheel
    # installed without dependency resolution: nothing is resolved against an index unpinned.
    for name, cmd in installs:
        local_wheel = "--no-deps" in cmd and any(w.endswith(".whl") for w in cmd)
        assert "--require-hashes" in cmd or local_wheel, (name, cmd)


def test_the_gate_runs_as_a_non_root_user(stages: dict[str, Stage]) -> None:
    final = stages["__final__"]
    lineage = _lineage(stages, final.name)
    runtime_users = [u for stage in lineage for u in stage.all("USER")]
    assert "1000:1000" in runtime_users, runtime_users
    final_user = next(
        (u for stage in lineage if stage.all("USER") for u in reversed(stage.all("USER"))), ""
    )
    entrypoints = [e for stage in lineage for e in stage.all("ENTRYPOINT")]
    assert entrypoints, "no ENTRYPOINT"
    entrypoint = entrypoints[0]
    assert entrypoint.startswith("["), "ENTRYPOINT must be exec form (no shell)"
    words = [w.strip(' "') for w in entrypoint.strip("[]").split(",")]
    if final_user.split(":")[0] in ("0", "root"):
        # The image starts as root only to hand over to docker/entrypoint.py, which drops to a
        # non-root uid before any soc2gate code is imported.
        assert "-I" in words, words
        assert any(w.endswith("/entrypoint.py") for w in words), words
        assert words[-1].endswith("/soc2gate"), words
    else:
        assert final_user not in ("", "root") and not final_user.startswith("0"), final_user


# ---- docker/entrypoint.py ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soc2gate_entrypoint", ENTRYPOINT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entrypoint_is_stdlib_only() -> None:
    """It runs as root before the drop: nothing from the venv may be imported there."""
    tree = ast.parse(ENTRYPOINT.read_text(encoding="utf-8"))
    names = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert names
    for name in names:
        assert name.split(".")[0] in sys.stdlib_module_names, name


def test_entrypoint_refuses_root_and_picks_a_non_root_user(
    entrypoint: ModuleType, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="refusing to run the gate as root"):
        entrypoint.drop_privileges(0, 0)
    uid, gid, _why = entrypoint.target_ids({})
    assert (uid, gid) == (1000, 1000)
    if os.stat(tmp_path).st_uid == 0:
        uid, _gid, _why = entrypoint.target_ids(
            {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}
        )
        assert uid == 1000, "a root-owned workspace must not make the gate run as root"


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs root to be observed")
@pytest.mark.parametrize(
    ("github", "expected"),
    [(False, "1000:1000"), (True, "1001:1001")],
    ids=["docker-run", "github"],
)
def test_entrypoint_started_as_root_runs_the_program_unprivileged(
    github: bool, expected: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 1001, 1001)  # GitHub's runner user owns the workspace
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root"}
    if github:
        env |= {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}
    program = shutil.which("sh") or "/bin/sh"
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            str(ENTRYPOINT),
            program,
            "-c",
            'echo "$(id -u):$(id -g):$(id -G):$HOME"',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    uid, gid, groups, home = proc.stdout.strip().split(":", 3)
    assert f"{uid}:{gid}" == expected, proc.stdout
    assert groups == expected.split(":")[1], f"supplementary groups kept: {groups}"
    assert home != "/root", "HOME still points at root's home"


def test_the_default_base_image_is_pinned_by_digest() -> None:
    # A tag moves under the project; a digest is the image the release was tested on.
    import re

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert match, "Dockerfile has no ARG BASE_IMAGE default"
    assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", match[1]), match[1]
