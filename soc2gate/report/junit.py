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
from collections.abc import Mapping
from datetime import datetime, timezone

from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report.text import clean, one_line

SUITE_NAME = "soc2gate"
_SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"}
_CASE_ATTRS = {"name", "time", "classname"}

#: The cause a FAIL of each check stands for: the ``type`` readers show beside the message.
_FAIL_CAUSE = {
    "ecr-repository-config": "RepositoryMisconfigured",
    "ecr-image-tags": "RequiredTagsWrong",
    "ecr-scan-findings": "FindingsAboveThreshold",
    "ecr-image-user": "ImageRunsAsRoot",
    "sagemaker-model-env": "MarkersMissing",
    "sagemaker-endpoint-config": "InstanceTypeNotAllowed",
    "sagemaker-endpoint-status": "EndpointNotInService",
    "deployed-image-scanned": "DeployedImageNotScanned",
}


def cause(result: CheckResult) -> str | None:
    """A word for why the check did not pass, or None when there is no meaningful one.

    ERROR causes come from the gate's own wording of the error (aws.describe_error, the
    runner); a FAIL's cause is what its check asserts, or Timeout for a wait that never ended.
    """
    reason = result.reason
    if result.status in (Status.ERROR, Status.PENDING):
        for needle, word in (
            ("interrupted", "Interrupted"),
            ("AccessDenied", "AccessDenied"),
            ("credentials", "Credentials"),
            ("could not read", "UnreadableAnswer"),
            ("cannot reach the AWS endpoint", "EndpointUnreachable"),
            ("kept failing after", "AwsUnavailable"),
            ("internal error", "InternalError"),
        ):
            if needle in reason:
                return word
        return None
    if result.status is Status.FAIL:
        if "at the deadline" in reason:
            return "Timeout"
        return _FAIL_CAUSE.get(result.check_id)
    return None


def _body(result: CheckResult) -> str:
    """The element text: the one-line message first (readers that show the first line of the
    body then show what the ``message`` attribute says), then everything else."""
    message = one_line(result.reason, 500)
    full = clean(result.reason, 20000)
    lines = [message] + ([full] if full != message else [])
    lines += [clean(d, 2000) for d in result.details]
    if result.remediation:
        lines.append(f"How to fix: {result.remediation}")
    if result.evidence:
        lines.append(
            "Evidence: " + clean(json.dumps(result.evidence, default=str, sort_keys=True), 20000)
        )
    return "\n".join(lines)


def _suite(
    name: str,
    results: list[CheckResult],
    stamp: str,
    duration: float,
    properties: Mapping[str, str],
) -> ET.Element:
    from junit_xml import TestCase, TestSuite

    cases = []
    kinds: list[str | None] = []
    for result in results:
        # One place names the check: the case name. The classname is the suite (the target),
        # so Jenkins shows "<suite>.<check>" and suite-grouping readers "<suite> > <check>".
        case = TestCase(
            name=one_line(result.check_id, 300),
            classname=name,
            elapsed_sec=result.duration,
        )
        message = one_line(result.reason, 500)
        kind = cause(result)
        kinds.append(kind)
        if result.status is Status.FAIL:
            case.add_failure_info(message=message, output=_body(result), failure_type=kind)
        elif result.status in (Status.ERROR, Status.PENDING):
            case.add_error_info(message=message, output=_body(result), error_type=kind)
        elif result.status is Status.SKIPPED:
            # GitLab shows the element text, not the attribute: give it both.
            case.add_skipped_info(message=message, output=message)
        else:
            case.stdout = _body(result)
        cases.append(case)
    suite = TestSuite(
        name,
        cases,
        hostname=socket.gethostname(),
        timestamp=stamp,
        properties=dict(properties),
    )
    element = suite.build_xml_doc()
    for attr in list(element.attrib):
        if attr not in _SUITE_ATTRS:
            del element.attrib[attr]
    # Checks run concurrently: summed case times overlap. The suite's time is the wall time.
    element.set("time", f"{duration:.3f}")
    for case_el, kind in zip(element.iter("testcase"), kinds, strict=True):
        for attr in list(case_el.attrib):
            if attr not in _CASE_ATTRS:
                del case_el.attrib[attr]
        case_el.set("time", f"{float(case_el.get('time', '0') or 0):.3f}")
        for outcome in case_el:
            if outcome.tag in ("failure", "error"):
                # junit-xml writes type="failure"/"error" when given none: that says nothing.
                if kind:
                    outcome.set("type", kind)
                else:
                    outcome.attrib.pop("type", None)
    return element


def build(
    report: GateReport,
    timestamp: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
) -> ET.Element:
    """The <testsuites> element for a report: one <testsuite> per fleet target.

    ``properties`` (region, repository, endpoint, commit, evidence checksum...) go on every
    suite, with the tool version and the run's exit code: ``exit_code`` when the caller knows
    the process's own (143 for SIGTERM, 3 when a report could not be written), else the
    report's.
    """
    from soc2gate import __version__

    stamp = (timestamp or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S")
    props = {
        "soc2gate.version": __version__,
        "soc2gate.exit_code": str(int(report.exit_code if exit_code is None else exit_code)),
    }
    props.update({k: str(v) for k, v in (properties or {}).items() if v not in (None, "")})
    groups: dict[str, list[CheckResult]] = {}
    for result in report.results:
        groups.setdefault(one_line(result.target, 200) or SUITE_NAME, []).append(result)
    if not groups:
        groups[SUITE_NAME] = []
    suites = [
        _suite(name, results, stamp, report.duration, props) for name, results in groups.items()
    ]
    totals = {
        key: str(sum(int(s.get(key, "0") or 0) for s in suites))
        for key in ("tests", "failures", "errors")
    }
    root = ET.Element(
        "testsuites", {"name": SUITE_NAME, **totals, "time": f"{report.duration:.3f}"}
    )
    root.extend(suites)
    return root


def to_string(
    report: GateReport,
    timestamp: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
) -> str:
    root = build(report, timestamp, properties, exit_code)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(
    report: GateReport,
    path: str,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
) -> None:
    """Write atomically, so a reader never sees half a file (e.g. after SIGTERM)."""
    text = to_string(report, properties=properties, exit_code=exit_code)
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
