"""JUnit XML that the strictest common reader (Jenkins xUnit, junit-10.xsd) accepts.

Built with junit-xml, then trimmed to the schema: junit-xml adds attributes (``disabled`` on the
suite, ``status``/``file``/``line`` on cases) that junit-10.xsd refuses, and it can print the
suite time in scientific notation, which the schema's time pattern refuses too.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report.text import clean, one_line

SUITE_NAME = "soc2gate"
_SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"}
_CASE_ATTRS = {"name", "time", "classname"}


def _body(result: CheckResult) -> str:
    lines = [clean(result.reason, 20000)]
    lines += [clean(d, 2000) for d in result.details]
    if result.remediation:
        lines.append(f"How to fix: {result.remediation}")
    if result.evidence:
        lines.append(
            "Evidence: " + clean(json.dumps(result.evidence, default=str, sort_keys=True), 20000)
        )
    return "\n".join(lines)


def build(report: GateReport, timestamp: datetime | None = None) -> ET.Element:
    """The <testsuites> element for a report."""
    from junit_xml import TestCase, TestSuite

    cases = []
    for result in report.results:
        case = TestCase(
            name=one_line(result.name, 300),
            classname=f"{SUITE_NAME}.{result.check_id}",
            elapsed_sec=result.duration,
        )
        message = one_line(result.reason, 500)
        if result.status is Status.FAIL:
            case.add_failure_info(message=message, output=_body(result), failure_type="FAIL")
        elif result.status in (Status.ERROR, Status.PENDING):
            case.add_error_info(message=message, output=_body(result), error_type="ERROR")
        elif result.status is Status.SKIPPED:
            case.add_skipped_info(message=message)
        else:
            case.stdout = _body(result)
        cases.append(case)
    stamp = (timestamp or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S")
    suite = TestSuite(SUITE_NAME, cases, hostname=socket.gethostname(), timestamp=stamp)
    element = suite.build_xml_doc()
    for attr in list(element.attrib):
        if attr not in _SUITE_ATTRS:
            del element.attrib[attr]
    element.set("time", f"{report.duration:.3f}")
    for case_el in element.iter("testcase"):
        for attr in list(case_el.attrib):
            if attr not in _CASE_ATTRS:
                del case_el.attrib[attr]
        case_el.set("time", f"{float(case_el.get('time', '0') or 0):.3f}")
    root = ET.Element(
        "testsuites",
        {
            "name": SUITE_NAME,
            "tests": element.get("tests", "0"),
            "failures": element.get("failures", "0"),
            "errors": element.get("errors", "0"),
            "time": f"{report.duration:.3f}",
        },
    )
    root.append(element)
    return root


def to_string(report: GateReport, timestamp: datetime | None = None) -> str:
    root = build(report, timestamp)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(report: GateReport, path: str) -> None:
    """Write atomically, so a reader never sees half a file (e.g. after SIGTERM)."""
    text = to_string(report)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".soc2gate-", suffix=".xml", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
