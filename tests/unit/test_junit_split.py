"""A fleet over CodeBuild's 500 testcases per report file is written whole, in parts (issue 11)."""

from __future__ import annotations

from pathlib import Path

import xmlschema
from junit2htmlreport.parser import Junit
from junitparser import JUnitXml

from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report import junit

XSD = Path(__file__).resolve().parents[1] / "schemas" / "junit-10.xsd"
CHECKS = ("ecr-image-tags", "ecr-scan-findings", "sagemaker-endpoint-status")


def fleet(targets: int) -> GateReport:
    results = []
    for n in range(targets):
        for check_id in CHECKS:
            status = Status.FAIL if (n, check_id) == (targets - 1, CHECKS[1]) else Status.PASS
            results.append(CheckResult(check_id, status, f"{check_id} on t{n}", target=f"t{n:03d}"))
    return GateReport(tuple(results), duration=3.0)


def test_a_report_within_the_limit_is_one_file(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    assert junit.write(fleet(10), str(path)) == [str(path)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml"]
    assert "soc2gate.part" not in path.read_text()


def test_a_large_fleet_is_split_into_whole_suites_and_says_so(tmp_path: Path) -> None:
    report = fleet(200)  # 600 testcases
    path = tmp_path / "reports" / "junit.xml"
    written = junit.write(report, str(path), exit_code=1)
    assert written == [str(path), str(tmp_path / "reports" / "junit-2.xml")]
    schema = xmlschema.XMLSchema(str(XSD))
    seen: dict[str, int] = {}
    failures = 0
    for number, part in enumerate(written, 1):
        schema.validate(part)
        xml = JUnitXml.fromfile(part)
        cases = sum(suite.tests for suite in xml)
        assert 0 < cases <= junit.MAX_CASES_PER_FILE
        for suite in xml:
            assert suite.name not in seen, "a suite was cut in two"
            seen[suite.name] = suite.tests
            failures += suite.failures
            props = {p.name: p.value for p in suite.properties()}
            assert props["soc2gate.part"] == f"{number} of 2"
            assert props["soc2gate.parts"] == "junit.xml, junit-2.xml"
            assert props["soc2gate.exit_code"] == "1"
        # A second reader agrees on every part.
        html_suites = Junit(filename=part).suites
        assert sum(len(s.all()) for s in html_suites) == cases
    assert len(seen) == 200 and set(seen.values()) == {len(CHECKS)}
    assert failures == 1  # the one failure is in the report, once


def test_stale_parts_of_a_larger_run_are_removed_but_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    junit.write(fleet(400), str(path))  # 1200 cases: 3 parts
    assert (tmp_path / "junit-3.xml").exists()
    mine = tmp_path / "junit-4.xml"
    mine.write_text("<not-soc2gate/>")
    # junit-4 is not soc2gate's: kept (and the removal stops at the first file that is not).
    junit.write(fleet(10), str(path))
    assert not (tmp_path / "junit-2.xml").exists() and not (tmp_path / "junit-3.xml").exists()
    assert mine.read_text() == "<not-soc2gate/>"
