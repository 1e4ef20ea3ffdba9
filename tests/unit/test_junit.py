"""JUnit XML: valid against junit-10.xsd, counts every reader agrees on, hostile strings survive."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped

from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report import junit

# Vendored in tests/schemas (MIT, see tests/schemas/README.md): a clone needs nothing beside it.
XSD = Path(__file__).resolve().parents[1] / "schemas" / "junit-10.xsd"
STAMP = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    assert XSD.is_file(), f"JUnit schema not found at {XSD}"
    return xmlschema.XMLSchema(str(XSD))


def result(
    status: Status,
    check_id: str = "ecr-scan-findings",
    reason: str = "",
    target: str = "",
    **kw,
) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        status=status,
        reason=reason or f"{check_id} is {status.value}",
        title="A title",
        remediation="Do the fix." if status in (Status.FAIL, Status.ERROR) else "",
        target=target,
        duration=1.25,
        **kw,
    )


def write(report: GateReport, tmp_path: Path) -> Path:
    path = tmp_path / "reports" / "soc2gate.xml"
    junit.write(report, str(path))
    return path


P, F, E, S, W = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED, Status.PENDING
IDS = [
    "ecr-repository-config",
    "ecr-image-tags",
    "ecr-scan-findings",
    "sagemaker-model-env",
    "sagemaker-endpoint-config",
    "sagemaker-endpoint-status",
]
# (case, statuses, (tests, failures, errors, skipped))
COUNT_CASES = [
    ("mixed", [P, F, E, S, S, P], (6, 1, 1, 2)),
    ("all-pass", [P] * 6, (6, 0, 0, 0)),
    ("all-skipped", [S] * 6, (6, 0, 0, 6)),
    ("failures-and-errors", [F, F, E, E, E, P], (6, 2, 3, 0)),
    ("pending-counts-as-error", [W, P], (2, 0, 1, 0)),
    ("one-check", [F], (1, 1, 0, 0)),
    ("empty", [], (0, 0, 0, 0)),
]


@pytest.mark.parametrize(
    ("statuses", "counts"), [c[1:] for c in COUNT_CASES], ids=[c[0] for c in COUNT_CASES]
)
def test_junit_validates_and_counts_are_kept_apart(
    schema, tmp_path: Path, statuses, counts
) -> None:
    report = GateReport(
        tuple(result(s, IDS[i]) for i, s in enumerate(statuses)), duration=12345.678
    )
    path = write(report, tmp_path)
    schema.validate(str(path))

    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1  # flat: <testsuites><testsuite><testcase>
    (suite,) = suites
    cases = list(suite)
    tests, failures, errors, _skipped = counts
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == counts
    assert suite.tests == len(cases)
    assert (xml.tests, xml.failures, xml.errors) == (tests, failures, errors)
    kinds = [type(case.result[0]) if case.result else None for case in cases]
    expected_kinds = {P: None, F: Failure, E: Error, W: Error, S: Skipped}
    assert kinds == [expected_kinds[s] for s in statuses]
    for case, check_id in zip(cases, IDS, strict=False):
        # The check is named once: readers show "<classname>.<name>" or "<suite> > <name>".
        assert case.name == check_id
        assert case.classname == suite.name == "soc2gate"
        assert case.time == pytest.approx(1.25)
    # Checks run concurrently: the suite's time is the wall time, not the sum of the cases.
    assert suite.time == pytest.approx(12345.678)


def test_each_fleet_target_gets_its_own_suite(schema, tmp_path: Path) -> None:
    report = GateReport(
        (
            result(F, "ecr-image-tags", target="prod-eu"),
            result(P, "ecr-scan-findings", target="prod-eu"),
            result(P, "ecr-image-tags", target="dev"),
        ),
        duration=4.0,
    )
    path = write(report, tmp_path)
    schema.validate(str(path))
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    assert list(suites) == ["prod-eu", "dev"]
    assert [c.name for c in suites["prod-eu"]] == ["ecr-image-tags", "ecr-scan-findings"]
    assert {c.classname for c in suites["prod-eu"]} == {"prod-eu"}
    assert (suites["prod-eu"].tests, suites["prod-eu"].failures) == (2, 1)
    assert (xml.tests, xml.failures) == (3, 1)


def test_types_messages_skipped_text_and_properties(tmp_path: Path) -> None:
    report = GateReport(
        (
            result(F, "ecr-scan-findings", reason="2 finding(s) at or above HIGH\nsecond line"),
            result(E, "sagemaker-endpoint-status", reason="AccessDenied calling x: grant x"),
            result(E, "ecr-image-tags", reason="something odd"),
            result(S, "ecr-image-user", reason="off by default: turn it on"),
            result(
                F, "sagemaker-endpoint-status", reason="still Creating at the deadline", target="t"
            ),
        )
    )
    path = tmp_path / "p.xml"
    junit.write(report, str(path), properties={"region": "eu-west-1", "commit": "abc", "x": ""})
    raw = path.read_text(encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    cases = [c for s in xml for c in s]
    findings, denied, odd, skipped, late = (c.result[0] for c in cases)
    assert findings.type == "FindingsAboveThreshold"
    assert denied.type == "AccessDenied"
    assert odd.type is None and 'type="' not in raw.split("something odd")[0].rsplit("<", 1)[-1]
    assert late.type == "Timeout"
    # The body's first line is the message: readers showing either show the same words.
    for outcome in (findings, denied, odd, late):
        assert outcome.text.splitlines()[0] == outcome.message
    assert skipped.message == "off by default: turn it on" and skipped.text == skipped.message
    for suite in xml:
        props = {p.name: p.value for p in suite.properties()}
        assert props["region"] == "eu-west-1" and props["commit"] == "abc"
        assert props["soc2gate.exit_code"] == "1" and props["soc2gate.version"]
        assert "x" not in props  # empty values are left out


def test_failure_body_carries_reason_details_fix_and_evidence(tmp_path: Path) -> None:
    report = GateReport(
        (
            result(
                F,
                reason="2 finding(s) at or above HIGH",
                details=("CRITICAL CVE-2024-1 in glibc 2.31",),
                evidence={"imageDigest": "sha256:abc"},
            ),
        )
    )
    (case,) = list(next(iter(JUnitXml.fromfile(str(write(report, tmp_path))))))
    (failure,) = case.result
    assert failure.message == "2 finding(s) at or above HIGH"
    body = failure.text
    assert "CRITICAL CVE-2024-1 in glibc 2.31" in body
    assert "How to fix: Do the fix." in body
    assert '"imageDigest": "sha256:abc"' in body


MB = "A" * (1 << 20)
HOSTILE_CASES = [
    pytest.param("nul\x00 bell\x07 vt\x0b ff\x0c esc\x1b us\x1f end", id="c0-controls"),
    pytest.param("del\x7f c1\x85\x9f", id="c1-controls"),
    pytest.param("]]> after the end of a CDATA section", id="cdata-end"),
    pytest.param('<script>alert("x")</script> & <![CDATA[ x ]]> <!-- c -->', id="markup"),
    pytest.param("\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J", id="ansi-escapes"),
    pytest.param(MB, id="one-megabyte"),
    pytest.param("\n::error::x", id="workflow-command"),
    pytest.param("a\r\nb\u2028c\u2029d", id="crlf-and-separators"),
    pytest.param("'\"`", id="quotes"),
    pytest.param("caf\u00e9 \u4e2d\u6587 \U0001f600", id="non-ascii"),
    # Not XML characters: once a malformed file, and UnicodeEncodeError (no report at all).
    pytest.param("\ufffe\uffff", id="non-characters"),
    # A JSON "\ud800" escape in an AWS response decodes to a lone surrogate.
    pytest.param("x\ud800y", id="lone-surrogate"),
]


@pytest.mark.parametrize("hostile", HOSTILE_CASES)
def test_hostile_strings_still_validate(schema, tmp_path: Path, hostile: str) -> None:
    report = GateReport(
        (
            result(
                F,
                reason=hostile,
                target=hostile,
                details=(hostile, "second line"),
                evidence={"FailureReason": hostile, hostile[:50]: 1},
            ),
            result(E, "sagemaker-endpoint-status", reason=hostile),
            result(S, "ecr-image-tags", reason=hostile),
            result(P, "ecr-repository-config", reason=hostile),
        ),
        duration=3.0,
    )
    path = write(report, tmp_path)
    schema.validate(str(path))
    raw = path.read_text(encoding="utf-8")
    assert "\x1b" not in raw
    assert path.stat().st_size < 200_000  # a 1 MB value is cut, not copied into the report

    xml = JUnitXml.fromfile(str(path))
    assert (xml.tests, xml.failures, xml.errors) == (4, 1, 1)
    for case in (c for suite in xml for c in suite):
        assert "\n" not in case.name and "\n" not in case.classname
        for outcome in case.result:
            # A message attribute is one line: nothing in it can start a new log line.
            assert "\n" not in (outcome.message or "")
            assert "\r" not in (outcome.message or "")
            assert len(outcome.message or "") <= 500


def test_time_attributes_follow_the_schema_pattern(schema, tmp_path: Path) -> None:
    # junit-xml can print 1e-05; SUREFIRE_TIME refuses it.
    report = GateReport(
        (
            CheckResult("ecr-image-tags", P, "ok", duration=0.00001),
            CheckResult("ecr-scan-findings", P, "ok", duration=98765.4321),
        ),
        duration=0.00001,
    )
    root = junit.build(report, STAMP)
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("time") == "0.000"
    assert suite.get("timestamp") == "2024-05-01T12:00:00"
    assert [c.get("time") for c in suite.iter("testcase")] == ["0.000", "98765.432"]
    schema.validate(junit.to_string(report, STAMP))


def test_write_is_atomic_and_readable(tmp_path: Path) -> None:
    path = write(GateReport((result(P),)), tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["soc2gate.xml"]  # no temporary file left behind
    # Overwriting an existing report replaces it whole.
    write(GateReport((result(F), result(E, "ecr-image-tags"))), tmp_path)
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert suite.tests == 2


def test_a_check_that_fans_out_is_one_testcase_per_subject(schema, tmp_path: Path) -> None:
    parts = (
        CheckResult("model-isolation", P, "true", subject="model-a"),
        CheckResult("model-isolation", F, "false, expected true", subject="model-b"),
    )
    fanned = CheckResult("model-isolation", F, "1 of 2 model(s): model-b", parts=parts)
    path = write(GateReport((fanned, result(P, "ecr-image-tags")), duration=1.0), tmp_path)
    schema.validate(str(path))
    (suite,) = list(JUnitXml.fromfile(str(path)))
    names = [c.name for c in suite]
    assert names == ["model-isolation [model-a]", "model-isolation [model-b]", "ecr-image-tags"]
    assert (suite.tests, suite.failures) == (3, 1)
    # Parts that did not settle (still PENDING when the run ended) leave the check whole.
    waiting = (parts[0], CheckResult("model-isolation", W, "waiting", subject="model-b"))
    late = CheckResult("model-isolation", E, "still waiting at the deadline", parts=waiting)
    (suite,) = list(JUnitXml.fromfile(str(write(GateReport((late,)), tmp_path))))
    assert [c.name for c in suite] == ["model-isolation"]
