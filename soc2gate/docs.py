"""README tables generated from code: the checks table (check metadata), the control mapping
(each check's Security Hub controls, AWS Config rules, what it judges beyond them, SOC 2
criteria) and the action's inputs and outputs (action.yml). ``python -m soc2gate.docs`` rewrites them in README.md; a test fails
when README.md is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MARKERS = ("checks-table", "mapping-table", "action-table")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def checks_table() -> str:
    from soc2gate.registry import all_checks

    rows = [
        "| Check id | Title | Asserts | SOC 2 | How to fix |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in all_checks():
        title = c.title + ("" if c.default_enabled else " (off by default)")
        rows.append(
            f"| `{c.id}` | {_cell(title)} | {_cell(c.asserts)} | {', '.join(c.soc2)} | "
            f"{_cell(c.remediation)} |"
        )
    return "\n".join(rows)


def _ids(values: tuple[str, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values) or "none"


def mapping_table() -> str:
    """Check id -> the AWS Security Hub controls and AWS Config rules it covers at deploy time,
    what it judges that none of them does, its SOC 2 criteria and how to fix it."""
    from soc2gate.registry import all_checks

    rows = [
        "| Check id | Security Hub controls | AWS Config rules | Beyond them | SOC 2 | How to fix |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in all_checks():
        rows.append(
            f"| `{c.id}` | {_ids(c.security_hub)} | {_ids(c.aws_config)} | {_cell(c.beyond)} | "
            f"{', '.join(c.soc2)} | {_cell(c.remediation)} |"
        )
    return "\n".join(rows)


def action_table(action_yml: Path) -> str:
    import yaml

    action = yaml.safe_load(action_yml.read_text(encoding="utf-8"))
    rows = ["| Input | Default | Description |", "| --- | --- | --- |"]
    for name, spec in (action.get("inputs") or {}).items():
        default = spec.get("default", "")
        shown = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{name}` | {shown} | {_cell(spec.get('description', ''))} |")
    rows += ["", "| Output | Description |", "| --- | --- |"]
    for name, spec in (action.get("outputs") or {}).items():
        rows.append(f"| `{name}` | {_cell(spec.get('description', ''))} |")
    return "\n".join(rows)


def render(readme: str, root: Path) -> str:
    tables = {
        "checks-table": checks_table(),
        "mapping-table": mapping_table(),
        "action-table": action_table(root / "action.yml"),
    }
    for marker, table in tables.items():
        pattern = re.compile(
            rf"(<!-- {marker}:start -->\n)(?:.*?\n)?(<!-- {marker}:end -->)", re.DOTALL
        )
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- {marker}:start/end --> markers")
        replacement = f"<!-- {marker}:start -->\n{table}\n<!-- {marker}:end -->"
        # A function, not a string, so backslashes in the table are not read as group refs.
        readme = pattern.sub(lambda _m, r=replacement: r, readme)  # type: ignore[misc]
    return readme


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    path = root / "README.md"
    text = path.read_text(encoding="utf-8")
    new = render(text, root)
    if new != text:
        path.write_text(new, encoding="utf-8")
        print("README.md tables updated")
    else:
        print("README.md tables are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
