"""parliament on examples/iam-policy.json, failing on every finding but one reviewed exception.

parliament 1.6.4's IAM dataset predates ecr:DescribeImageSigningStatus (ECR managed signing),
so it calls that action unknown. soc2gate/iam_actions.py lists it as REVIEWED (checked by hand
against AWS's documentation). parliament's own ignore_locations cannot express this (its
make_list drops values loaded from YAML), so the exception is applied here, by exact action.

Run with the lint venv's interpreter (scripts/lint-integrations.sh does).
"""

from __future__ import annotations

import sys
from pathlib import Path

from parliament import analyze_policy_string, config, enhance_finding

REVIEWED_UNKNOWN = {"ecr:DescribeImageSigningStatus"}


def main() -> int:
    text = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/iam-policy.json").read_text()
    policy = analyze_policy_string(text, config=config)
    shown = 0
    for finding in map(enhance_finding, policy.findings):
        action = str(finding.location.get("string", ""))
        if finding.issue == "UNKNOWN_ACTION" and action in REVIEWED_UNKNOWN:
            print(f"reviewed, not in parliament's dataset: {action}")
            continue
        print(f"{finding.severity} - {finding.title} - {finding.detail} - {finding.location}")
        shown += 1
    return 1 if shown else 0


if __name__ == "__main__":
    sys.exit(main())
