"""README tables are generated from code and action.yml; these tests fail when they drift."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from soc2gate.config import ACTION_DEFAULTS, OPTIONS, action_input_names
from soc2gate.docs import render
from soc2gate.exitcodes import ExitCode
from soc2gate.registry import all_checks

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_match_check_metadata_and_action_yml() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render(readme, ROOT) == readme, "README.md is stale: run python -m soc2gate.docs"
    for check in all_checks():
        assert f"| `{check.id}` |" in readme


def test_action_inputs_mirror_the_cli_options() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    inputs = action["inputs"]
    assert list(inputs) == action_input_names() or set(inputs) == set(action_input_names())
    for name, spec in inputs.items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec and isinstance(spec["default"], str), f"input {name} default"
    # Inputs reach the code through INPUT_* env, never through ${{ }} interpolation.
    assert "${{" not in yaml.safe_dump(action["runs"])
    assert set(action["outputs"]) == {"result", "exit-code", "failed-checks", "junit-path"}
    assert inputs["junit"]["default"] in ("", ACTION_DEFAULTS["junit"])


def test_readme_documents_every_exit_code_and_flag() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in (0, 1, 2, 3, 130):
        assert re.search(rf"^\| {code} \|", readme, re.M), f"exit code {code} not documented"
    assert ExitCode.TERMINATED == 143 and "143" in readme
    for opt in OPTIONS:
        if opt.cli:
            assert f"`{opt.flag}" in readme, f"{opt.flag} missing from README"
        assert f"`{opt.key}`" in readme, f"config key {opt.key} missing from README"


def test_readme_quick_start_has_exactly_the_two_commands_ci_uses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


#: The Security Hub controls AWS documents for SageMaker and ECR (Security Hub user guide,
#: "Security Hub CSPM controls for SageMaker AI" / "... for Amazon ECR"): a mapped id must be one.
DOCUMENTED_CONTROLS = {f"SageMaker.{n}" for n in (*range(1, 6), *range(8, 26))} | {
    "ECR.1",
    "ECR.2",
    "ECR.3",
}


def test_the_control_mapping_table_is_generated_and_names_documented_controls() -> None:
    from soc2gate.docs import mapping_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = mapping_table()
    assert table in readme
    for check in all_checks():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{check.id}` |"))
        assert set(check.security_hub) <= DOCUMENTED_CONTROLS, check.id
        for rule in check.aws_config:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule), rule
            assert f"`{rule}`" in row
        # What no control covers is said, for every check: the table is the auditor's gap list.
        assert check.beyond.strip(), f"{check.id} says nothing about what it goes beyond"
        assert ", ".join(check.soc2) in row
