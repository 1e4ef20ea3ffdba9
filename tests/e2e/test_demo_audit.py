"""`soc2gate demo --audit`: a newcomer sees signed, retained evidence and the period report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gate_e2e import SOC2GATE


def test_demo_audit_writes_the_report_and_catches_the_forgery(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    out = tmp_path / "demo"
    proc = subprocess.run(
        [SOC2GATE, "demo", "--audit", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "as expected: the forged record is caught" in proc.stdout
    assert "BAD SIGNATURE" in proc.stderr
    for name in ("audit-report.html", "audit-report.md", "audit-report.csv", "evidence-key.der"):
        assert (out / name).stat().st_size > 0, name
    assert "Gap days" in (out / "audit-report.html").read_text()
