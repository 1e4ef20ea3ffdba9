"""--sarif and --vex through the installed CLI against moto over HTTP: every demo scenario's SARIF
validates against the vendored OASIS schema with the scenario's exit code unchanged; a VEX
statement for the judged digest un-blocks exactly its finding; one for another digest does not;
an unwritable SARIF path is a warning, never another exit code."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from gate_e2e import run_cli

from soc2gate.demo.scenarios import CRITICAL_CVE, SCENARIOS
from soc2gate.demo.world import MotoWorld

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "sarif-schema-2.1.0.json"
OTHER_DIGEST = "sha256:" + "cd" * 32


@cache
def validator() -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(
        json.loads(SCHEMA.read_text()), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def sarif_of(path: Path) -> dict[str, Any]:
    log = json.loads(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator().iter_errors(log)]
    assert not errors, errors[:5]
    return log


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_writes_valid_sarif_and_keeps_its_exit_code(
    name: str, world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    scenario.prepare(world)
    out = tmp_path / "soc2gate.sarif"
    args = [
        "run",
        *scenario.gate_args(world),
        "--sarif",
        str(out),
        "--sarif-location",
        "Dockerfile",
    ]
    run = run_cli(world, args, tmp_path)
    assert run.code == scenario.expected_exit, run.output
    log = sarif_of(out)
    (sarif_run,) = log["runs"]
    results = sarif_run["results"]
    for result in results:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
        assert result["partialFingerprints"]
    errors = [r for r in results if r["level"] == "error"]
    # exit 0: nothing failed; 1 or 3: at least one failing or erroring check.
    assert bool(errors) == (scenario.expected_exit != 0), results
    assert sarif_run["invocations"][0]["exitCode"] == scenario.expected_exit
    rule_ids = {r["id"] for r in sarif_run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids


def vex_document(path: Path, product: str, vulnerability: str = CRITICAL_CVE) -> Path:
    path.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex/e2e-1",
                "author": "Platform Security <psec@example.com>",
                "timestamp": "2026-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": vulnerability},
                        "products": [{"@id": product}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_vex_unblocks_exactly_the_stated_finding_on_the_judged_digest(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["critical-finding"]
    scenario.prepare(world)
    base = ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings"]
    out = tmp_path / "before.sarif"
    first = run_cli(world, [*base, "--sarif", str(out), "--sarif-location", "Dockerfile"], tmp_path)
    assert first.code == 1, first.output
    (blocking,) = [r for r in sarif_of(out)["runs"][0]["results"] if r["ruleId"] == CRITICAL_CVE]
    props = blocking["properties"]
    repository, digest = props["repository"], props["digest"]
    assert digest.startswith("sha256:") and props["blocks"] is True

    # A statement for another digest of the same repository: nothing changes.
    other = vex_document(tmp_path / "other.json", f"pkg:oci/{repository}@{OTHER_DIGEST}")
    run = run_cli(world, [*base, "--vex", str(other)], tmp_path)
    assert run.code == 1, run.output

    # The judged digest's purl: the finding no longer blocks, and the report says who said so.
    good = vex_document(tmp_path / "good.json", f"pkg:oci/{repository}@{digest}")
    out = tmp_path / "after.sarif"
    run = run_cli(
        world,
        [*base, "--vex", str(good), "--sarif", str(out), "--sarif-location", "Dockerfile",
         "--sarif-all"],
        tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.output
    assert "VEX not_affected (vulnerable_code_not_in_execute_path)" in run.stdout
    assert "VEX not_affected" in run.junit.read_text(encoding="utf-8")
    (vexed,) = [r for r in sarif_of(out)["runs"][0]["results"] if r["ruleId"] == CRITICAL_CVE]
    assert vexed["level"] == "warning" and vexed["properties"]["blocks"] is False
    assert vexed["partialFingerprints"] == blocking["partialFingerprints"]

    # A different vulnerability id in the same statement un-blocks nothing.
    wrong = vex_document(tmp_path / "wrong.json", f"pkg:oci/{repository}@{digest}", "CVE-1999-0001")
    assert run_cli(world, [*base, "--vex", str(wrong)], tmp_path).code == 1


def test_a_bad_vex_file_is_exit_2_naming_the_file(world: MotoWorld, tmp_path: Path) -> None:
    scenario = SCENARIOS["critical-finding"]
    scenario.prepare(world)
    bad = tmp_path / "bad.json"
    bad.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [', "utf-8")
    run = run_cli(world, ["run", *scenario.gate_args(world), "--vex", str(bad)], tmp_path)
    assert run.code == 2, run.output
    assert str(bad) in run.stderr or "bad.json" in run.stderr


@pytest.mark.parametrize("name", ["healthy", "critical-finding"])
def test_an_unwritable_sarif_path_warns_and_keeps_the_exit_code(
    name: str, world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    scenario.prepare(world)
    # Its directory is a regular file: no write can succeed, even as root.
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    path = tmp_path / "a-file" / "soc2gate.sarif"
    args = [
        "run",
        *scenario.gate_args(world),
        "--sarif",
        str(path),
        "--sarif-location",
        "Dockerfile",
    ]
    run = run_cli(world, args, tmp_path)
    assert run.code == scenario.expected_exit, run.output
    assert f"warning: cannot write SARIF report {path}" in run.stderr
    assert f"exit code {scenario.expected_exit} unchanged" in run.stderr
    assert not path.exists()
