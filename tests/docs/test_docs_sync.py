"""The documentation is generated from the code where it can be, and these tests fail when it
drifts: the reference pages of the site (docs/reference/), the tables marked in hand-written
pages, the options' three spellings (flag, YAML key, action input) and the README's contract
with CI."""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
from pathlib import Path

import yaml

from soc2gate import docs
from soc2gate.config import (
    ACTION_DEFAULTS,
    ACTION_EXCLUDED,
    OPTIONS,
    GateConfig,
    action_input_names,
    action_inputs,
)
from soc2gate.exitcodes import ExitCode
from soc2gate.registry import all_checks

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


def _copy_sources(tmp_path: Path) -> Path:
    """The files the generator reads and writes, in a scratch repository root."""
    for name in ("README.md", "action.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("*.png"))
    return tmp_path


def test_generated_pages_and_tables_are_current() -> None:
    assert docs.stale(ROOT) == [], "stale documentation: run python -m soc2gate.docs"
    assert {p.name for p in REFERENCE.glob("*.md")} == set(docs.PAGES)


def test_a_stale_or_missing_page_is_named_and_regenerating_fixes_it(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    page = root / "docs" / "reference" / "checks.md"
    page.write_text(page.read_text(encoding="utf-8").replace("ecr-image-tags", "ecr-tags"))
    (root / "docs" / "reference" / "exit-codes.md").unlink()
    # A change in action.yml makes the pages generated from it stale too.
    action = root / "action.yml"
    text = action.read_text(encoding="utf-8")
    changed = text.replace(
        "stricter MEDIUM is not silently overridden by a default.)\n"
        '    required: false\n    default: ""',
        "stricter MEDIUM is not "
        "silently overridden by a default.)\n    required: false\n"
        '    default: "CRITICAL"',
        1,
    )
    assert changed != text
    action.write_text(changed, encoding="utf-8")
    assert docs.stale(root) == [
        "docs/reference/checks.md",
        "docs/reference/options.md",
        "docs/reference/exit-codes.md",
        "docs/reference/action.md",
    ]
    assert docs.main([str(root), "--check"]) == 1
    assert docs.main([str(root)]) == 0
    assert docs.stale(root) == []
    assert "| `fail-on` | `CRITICAL` |" in (root / "docs" / "reference" / "action.md").read_text()


def test_a_stale_marked_table_is_named(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    page = root / "docs" / "security" / "deployment-safety.md"
    text = page.read_text(encoding="utf-8")
    assert "<!-- mapping-table:start -->" in text
    page.write_text(text.replace("`SageMaker.4`", "`SageMaker.44`"), encoding="utf-8")
    assert docs.stale(root) == ["docs/security/deployment-safety.md"]


def test_every_marked_table_is_used_and_an_unknown_marker_is_refused(tmp_path: Path) -> None:
    used = set()
    for path in docs.marked_files(ROOT):
        used |= set(re.findall(r"<!-- ([a-z-]+):start -->", path.read_text(encoding="utf-8")))
    assert used == set(docs.MARKER_TABLES)
    try:
        docs.render("<!-- no-such-table:start -->\n<!-- no-such-table:end -->\n", ROOT)
    except SystemExit as exc:
        assert "no-such-table" in str(exc)
    else:
        raise AssertionError("an unknown marker was accepted")


def test_the_checks_reference_has_a_section_per_check_with_its_mapping() -> None:
    page = (REFERENCE / "checks.md").read_text(encoding="utf-8")
    for check in all_checks():
        section = page.split(f"\n## `{check.id}`\n", 1)[1].split("\n## ", 1)[0]
        assert check.title in section and check.asserts in section, check.id
        assert check.remediation in section, check.id
        assert f"| SOC 2 criteria | {', '.join(check.soc2)} |" in section
        for control in (*check.security_hub, *check.aws_config):
            assert f"`{control}`" in section, (check.id, control)


# ---- options: flag, YAML key, action input -----------------------------------------------------


def _run_parser_actions() -> dict[str, argparse.Action]:
    return {s: a for a in docs.run_parser()._actions for s in a.option_strings}


def test_every_option_is_a_flag_a_yaml_key_and_an_action_input_or_says_why_not() -> None:
    fields = {f.name for f in dataclasses.fields(GateConfig)}
    flags = _run_parser_actions()
    inputs = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]
    for opt in OPTIONS:
        assert opt.key in fields, f"YAML key {opt.key} is not a GateConfig field"
        if opt.cli:
            assert opt.flag in flags, f"{opt.flag} is not a flag of soc2gate run"
            # argparse leaves it unset, so the documented GateConfig default is what runs.
            assert flags[opt.flag].default is None, opt.flag
            if opt.key not in ACTION_EXCLUDED:
                spec = inputs[opt.flag[2:]]
                assert spec["default"] == ACTION_DEFAULTS.get(opt.key, ""), opt.flag
    option_flags = {opt.flag for opt in OPTIONS if opt.cli}
    assert set(flags) == option_flags | set(docs.RUN_ONLY_FLAGS) | {"-h", "--help"}
    assert set(inputs) == set(action_input_names())
    # An empty action input means "not given": only ACTION_DEFAULTS are set in the action.
    assert action_inputs({}) == (dict(ACTION_DEFAULTS), None)
    # Every difference between the three is documented, and nothing else is claimed to differ.
    different = (
        set(ACTION_EXCLUDED) | {opt.key for opt in OPTIONS if not opt.cli} | set(ACTION_DEFAULTS)
    )
    assert set(docs.INTENTIONAL_DIFFERENCES) == different


def test_the_options_page_lists_every_flag_key_input_and_default() -> None:
    page = (REFERENCE / "options.md").read_text(encoding="utf-8")
    rows = {
        line.split(" | ")[1].split("`")[1]: line
        for line in page.splitlines()
        if line.startswith("| ") and line.count("`") >= 2 and " | `" in line
    }
    for opt in OPTIONS:
        row = rows[opt.key]
        if opt.cli:
            assert row.startswith(f"| `{opt.flag}"), row
        assert docs.option_default(opt.key) in row
    defaults = {f.name: f.default for f in dataclasses.fields(GateConfig)}
    assert "`30m`" in rows["timeout"] and defaults["timeout"] == 1800.0
    assert "`HIGH`" in rows["fail_on"]
    assert "`soc2gate-junit.xml`" in rows["junit"]
    assert set(docs.UNSET_MEANS) <= {opt.key for opt in OPTIONS}


# ---- exit codes, outputs --------------------------------------------------------------------


def test_every_exit_code_is_documented_with_its_meaning() -> None:
    page = (REFERENCE / "exit-codes.md").read_text(encoding="utf-8")
    meanings = docs.exit_code_meanings()
    assert [value for value, _, _ in meanings] == [int(c) for c in ExitCode]
    for value, name, text in meanings:
        assert text, f"ExitCode.{name} has no #: comment to document it"
        assert re.search(rf"^\| {value} \| `{name}` \| {re.escape(text)} \|$", page, re.M)


def test_the_outputs_page_names_every_report_file_and_step_output() -> None:
    page = (REFERENCE / "outputs.md").read_text(encoding="utf-8")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert set(action["outputs"]) == {"result", "exit-code", "failed-checks", "junit-path"}
    for name in action["outputs"]:
        assert f"| `{name}` |" in page
    for key in docs.OUTPUT_OPTIONS:
        assert f"| `{key}` |" in page
    for flag in ("--html", "--md", "--csv"):
        assert f"| `{flag} FILE` |" in page


def test_action_inputs_have_descriptions_and_never_reach_the_code_through_interpolation() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec and isinstance(spec["default"], str), f"input {name} default"
    # Inputs reach the code through INPUT_* env, never through ${{ }} interpolation.
    assert "${{" not in yaml.safe_dump(action["runs"])


# ---- the README -----------------------------------------------------------------------------


def test_readme_quick_start_has_exactly_the_two_commands_ci_uses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_relative_link_of_the_readme_and_contributing_leads_to_a_file() -> None:
    """mkdocs checks the site's links; these two files are read on GitHub and in the sdist."""
    for name in ("README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            assert (ROOT / target.split("#")[0]).exists(), f"{name} links to missing {target}"


def test_the_readme_links_every_page_of_the_site_nav_for_its_readers() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    pages = []

    def walk(items: list[object]) -> None:
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(str(value))

    walk(nav)
    missing = [p for p in pages if f"](docs/{p})" not in readme and p != "index.md"]
    # The project pages are linked from the site; the README names versioning and benchmarks.
    assert missing == ["project/performance.md"], missing


#: The Security Hub controls AWS documents for SageMaker and ECR (Security Hub user guide,
#: "Security Hub CSPM controls for SageMaker AI" / "... for Amazon ECR"): a mapped id must be one.
DOCUMENTED_CONTROLS = {f"SageMaker.{n}" for n in (*range(1, 6), *range(8, 26))} | {
    "ECR.1",
    "ECR.2",
    "ECR.3",
}


def test_the_control_mapping_table_is_generated_and_names_documented_controls() -> None:
    page = (ROOT / "docs" / "security" / "deployment-safety.md").read_text(encoding="utf-8")
    table = docs.mapping_table()
    assert table in page
    for check in all_checks():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{check.id}` |"))
        assert set(check.security_hub) <= DOCUMENTED_CONTROLS, check.id
        for rule in check.aws_config:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule), rule
            assert f"`{rule}`" in row
        # What no control covers is said, for every check: the table is the auditor's gap list.
        assert check.beyond.strip(), f"{check.id} says nothing about what it goes beyond"
        assert ", ".join(check.soc2) in row
