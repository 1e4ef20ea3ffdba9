"""The evidence record's SHA-256 is an integrity checksum, not a tamper check (issue 10,
hole 12).

It catches a corrupted record and an edit by someone who did not recompute it. It cannot catch
an edit by someone who did: the recipe is public (the JSON Schema's description says it), so
anyone who can write the file can turn a FAIL into a PASS and make the checksum match again.
``test_an_edit_with_the_checksum_recomputed_still_verifies`` does exactly that, with nothing
but hashlib and json, and shows that ``verify-evidence`` accepts it: that is the documented
limit until records are signed. The wording tests keep every description of the checksum
(CLI help and messages, README, schema) from promising more than that.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults.harness import ROOT, run_cli

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

SCHEMA = ROOT / "soc2gate" / "schemas" / "evidence.schema.json"
#: Wording that would sell the checksum as protection against deliberate edits.
OVERCLAIMS = re.compile(
    r"tamper[- ]?(proof|evident|check|resistant|detection)|signed by soc2gate", re.I
)


@pytest.fixture(scope="module")
def failing_record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The evidence record of a real run that FAILED (a CRITICAL finding)."""
    tmp = tmp_path_factory.mktemp("evidence")
    scenario = SCENARIOS["critical-finding"]
    with MotoWorld() as world:
        scenario.prepare(world)
        args = [*scenario.gate_args(world), "--only", "ecr-scan-findings"]
        run = run_cli(
            ["run", *args, "--evidence", str(tmp / "evidence.json")],
            tmp,
            endpoint_url=world.endpoint_url,
        )
    assert run.code == 1, run.output
    yield json.loads((tmp / "evidence.json").read_text(encoding="utf-8"))


def fail_to_pass(record: dict[str, Any]) -> dict[str, Any]:
    """What someone hiding a failed gate would change."""
    edited = json.loads(json.dumps(record))
    (check,) = [c for c in edited["checks"] if c["status"] == "FAIL"]
    check["status"], check["reason"] = "PASS", "no findings at or above HIGH"
    edited["run"]["result"], edited["run"]["exit_code"] = "pass", 0
    return edited


def recompute(record: dict[str, Any]) -> str:
    """The checksum from the schema's description alone: no soc2gate code."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify(record: dict[str, Any], tmp_path: Path, name: str = "record.json") -> Any:
    path = tmp_path / name
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return run_cli(["verify-evidence", str(path)], tmp_path, endpoint_url=None)


def test_the_record_as_written_verifies_and_the_message_states_the_limit(
    failing_record: dict[str, Any], tmp_path: Path
) -> None:
    assert recompute(failing_record) == failing_record["sha256"]
    run = verify(failing_record, tmp_path)
    assert run.code == 0, run.output
    assert "integrity checksum" in run.stdout and "not a signature" in run.stdout, run.stdout


def test_an_edit_without_recomputing_the_checksum_is_caught(
    failing_record: dict[str, Any], tmp_path: Path
) -> None:
    run = verify(fail_to_pass(failing_record), tmp_path)
    assert run.code == 1, run.output
    assert "was modified or corrupted" in run.stderr and "integrity checksum" in run.stderr


def test_a_corrupted_record_is_caught(failing_record: dict[str, Any], tmp_path: Path) -> None:
    corrupted = json.loads(json.dumps(failing_record))
    corrupted["checks"][-1]["reason"] = corrupted["checks"][-1]["reason"][:-1]  # a lost byte
    assert verify(corrupted, tmp_path).code == 1


def test_an_edit_with_the_checksum_recomputed_still_verifies(
    failing_record: dict[str, Any], tmp_path: Path
) -> None:
    """THE LIMIT: FAIL -> PASS plus a recomputed checksum passes verification.

    This is not a bug to fix here but the boundary of what a checksum can do; only a signature
    (a key the editor does not hold) can catch it. If this test starts failing because records
    are signed, update the wording tests below and the README with it.
    """
    forged = fail_to_pass(failing_record)
    forged["sha256"] = recompute(forged)
    run = verify(forged, tmp_path)
    assert run.code == 0, run.output
    assert "not a signature" in run.stdout


def test_help_readme_and_schema_call_it_an_integrity_checksum() -> None:
    top = run_cli(["--help"], ROOT, endpoint_url=None)
    sub = run_cli(["verify-evidence", "--help"], ROOT, endpoint_url=None)
    assert top.code == 0 and sub.code == 0
    assert "integrity checksum" in top.stdout and "not a signature" in top.stdout
    assert "integrity checksum" in sub.stdout and "not a signature" in sub.stdout
    assert "anyone who can edit the record can recompute it" in " ".join(sub.stdout.split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "auditors" / "evidence.md").read_text(encoding="utf-8")
    assert page.startswith("# SOC 2 evidence record\n")
    assert "integrity checksum" in page and "not a signature" in page
    site = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md")))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert "integrity checksum, not a signature" in schema["description"]
    for name, text in (
        ("--help", top.stdout),
        ("verify-evidence --help", sub.stdout),
        ("README", readme),
        ("docs/", site),
        ("schema", SCHEMA.read_text(encoding="utf-8")),
        ("evidence.py", (ROOT / "soc2gate" / "report" / "evidence.py").read_text()),
    ):
        assert not OVERCLAIMS.search(text), (name, OVERCLAIMS.search(text))
