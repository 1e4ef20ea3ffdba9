"""GitHub workflows and Dependabot: pinned actions, least privilege, and the jobs CI needs.

Static checks that run everywhere; scripts/lint-integrations.sh adds actionlint and zizmor.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(?:\.\d+){0,2}\b")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])
    ]


def test_the_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses = [
        (n, line.split("uses:", 1)[1].strip())
        for n, line in enumerate(lines, 1)
        if re.match(r"^\s*(?:-\s+)?uses:", line)
    ]
    assert uses
    for n, value in uses:
        ref = value.split("#", 1)[0].strip()
        if ref.startswith("./"):
            continue  # this repository at this commit (the reusable CI workflow)
        assert PINNED.match(ref), f"{path.name}:{n}: {ref} is not pinned to a 40-hex commit"
        assert VERSION_COMMENT.search(value), f"{path.name}:{n}: no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_permissions_and_no_persisted_credentials(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "top-level permissions must be {}"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {job_id} sets no permissions"
        assert job["permissions"] != "write-all", job_id
    for job_id, step in steps(workflow):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            with_ = step.get("with", {})
            assert with_.get("persist-credentials") is False, (
                f"{path.name}: job {job_id}: checkout without persist-credentials: false"
            )
    text = path.read_text(encoding="utf-8")
    others = set(re.findall(r"secrets\.(\w+)", text)) - {"GITHUB_TOKEN"}
    assert not others, f"{path.name} uses secrets {others}: releases need none"
    assert "pull_request_target" not in workflow["on"]


def test_ci_runs_the_readme_test_command_on_every_supported_python() -> None:
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(ci["on"])
    runs = "\n".join(str(step.get("run", "")) for _, step in steps(ci))
    for command in (
        "python3 dev.py test",
        "scripts/lint-integrations.sh",
        "scripts/container-test.sh",
        "scripts/package-check.sh",
    ):
        assert command in runs, f"ci.yml does not run {command}"
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]["python"]
    assert matrix == ["3.10", "3.11", "3.12", "3.13"]
    classifiers = re.findall(
        r'"Programming Language :: Python :: (3\.\d+)"',
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"),
    )
    assert classifiers == matrix, "pyproject classifiers and the CI matrix disagree"


def test_release_publishes_with_trusted_publishing_and_attested_multi_arch_image() -> None:
    release = load(ROOT / ".github" / "workflows" / "release.yml")
    assert list(release["on"]) == ["push"] and list(release["on"]["push"]) == ["tags"]
    jobs = release["jobs"]
    assert jobs["ci"]["uses"] == "./.github/workflows/ci.yml"

    publish = [
        (job_id, step)
        for job_id, step in steps(release)
        if str(step.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")
    ]
    assert len(publish) == 1
    job_id, step = publish[0]
    assert not {"password", "user"} & set(step.get("with") or {}), "trusted publishing: no token"
    assert jobs[job_id]["permissions"] == {"id-token": "write"}
    assert jobs[job_id]["environment"]["name"] == "pypi"

    build = next(s for _, s in steps(release) if "docker/build-push-action@" in s.get("uses", ""))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True
    assert build["with"]["sbom"] is True
    assert str(build["with"]["provenance"]).startswith("mode=max")
    attest = [s for _, s in steps(release) if "attest-build-provenance@" in s.get("uses", "")]
    assert any(s["with"].get("push-to-registry") is True for s in attest)
    assert any("subject-path" in s["with"] for s in attest), "the dists are attested too"

    runs = "\n".join(str(s.get("run", "")) for _, s in steps(release))
    assert "scripts/pin-action-image.py --image" in runs
    assert "scripts/pin-action-image.py --check" in runs
    assert "scripts/release-notes.py" in runs
    # PyPI and the GitHub release only after the tag points at the pinned action.
    assert "pin-action" in jobs["pypi"]["needs"]
    assert "pypi" in jobs["github-release"]["needs"]


def test_dependabot_watches_actions_pip_and_the_base_image() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) >= {"github-actions", "pip", "docker"}
    for update in ecosystems.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] in {"daily", "weekly", "monthly"}


def test_dot_ci_run_runs_the_package_check() -> None:
    assert "bash scripts/package-check.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
