"""JUnit XML that the strictest common reader (Jenkins xUnit, junit-10.xsd) accepts.

Built with junit-xml, then trimmed to the schema: junit-xml adds attributes (``disabled`` on the
suite, ``status``/``file``/``line`` on cases) that junit-10.xsd refuses, and it can print the
suite time in scientific notation, which the schema's time pattern refuses too.
"""

from __future__ import annotations

import json
import os
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime, timezone

from soc2gate.models import CheckResult, GateReport, Status, expand_parts
from soc2gate.report.causes import blocked_text, cause
from soc2gate.report.files import write_atomically
from soc2gate.report.text import clean, one_line

__all__ = ["build", "cause", "to_string", "write"]

SUITE_NAME = "soc2gate"
_SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"}
_CASE_ATTRS = {"name", "time", "classname"}


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


def annotation_file(environ: Mapping[str, str], junit_path: str) -> str:
    """The file each suite names in its ``file`` attribute, for readers that put annotations on
    files (mikepenz/action-junit-report takes it before anything else): the workflow that ran
    the gate (from GITHUB_WORKFLOW_REF), else the JUnit report itself.

    Without it such a reader takes the classname (the suite: "soc2gate" or a target's name)
    for a file name and globs the workspace for ``**/<name>.*``, which puts every annotation on
    whatever file happens to match (soc2gate.yml:1, a file named like a target).
    """
    ref = environ.get("GITHUB_WORKFLOW_REF", "").strip()
    # owner/repo/.github/workflows/deploy.yml@refs/heads/main
    path = ref.rsplit("@", 1)[0].split("/", 2)[2] if ref.count("/") >= 3 else ""
    return path if path.endswith((".yml", ".yaml")) else junit_path


def _suite(
    name: str,
    results: list[CheckResult],
    stamp: str,
    duration: float,
    properties: Mapping[str, str],
    source: str = "",
) -> ET.Element:
    from junit_xml import TestCase, TestSuite

    cases = []
    kinds: list[str | None] = []
    by_id = {r.check_id: r for r in results}
    for result in expand_parts(results):
        # One place names the check: the case name. The classname is the suite (the target),
        # so Jenkins shows "<suite>.<check>" and suite-grouping readers "<suite> > <check>".
        case = TestCase(
            name=one_line(result.label, 300),
            classname=name,
            elapsed_sec=result.duration,
        )
        message = one_line(result.reason, 500)
        kind = cause(result)
        kinds.append(kind)
        if result.not_evaluated:
            # Counted once, as the failure of the check it depends on: a skip pointing there.
            # (The exit code still comes from the raw statuses: the run fails either way.)
            note = blocked_text(result, by_id.get(result.blocked_by))
            case.add_skipped_info(message=note, output=f"{note}\n{_body(result)}")
        elif result.status is Status.FAIL:
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
    # Checks run concurrently: summed case times overlap. The suite's time is the wall time
    # of this target: from the run's start until its last check ended (the run's, when no
    # check of it ran).
    ended = [r.ended for r in results if r.ended > 0]
    element.set("time", f"{max(ended) if ended else duration:.3f}")
    if source:
        element.set("file", source)
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


#: CodeBuild report groups keep at most this many testcases of one file: a larger run is
#: written as several files (junit.xml, junit-2.xml, ...), whole suites kept together.
MAX_CASES_PER_FILE = 500


def _root(suites: list[ET.Element], duration: float) -> ET.Element:
    totals = {
        key: str(sum(int(s.get(key, "0") or 0) for s in suites))
        for key in ("tests", "failures", "errors")
    }
    root = ET.Element("testsuites", {"name": SUITE_NAME, **totals, "time": f"{duration:.3f}"})
    root.extend(suites)
    return root


def _chunks(
    report: GateReport, limit: int = MAX_CASES_PER_FILE
) -> list[list[tuple[str, list[CheckResult]]]]:
    """The results by suite (target), packed into files of at most ``limit`` testcases.

    A suite stays in one file unless it alone holds more than ``limit`` cases.
    """
    groups: dict[str, list[CheckResult]] = {}
    for result in report.results:
        groups.setdefault(one_line(result.target, 200) or SUITE_NAME, []).append(result)
    if not groups:
        groups[SUITE_NAME] = []
    chunks: list[list[tuple[str, list[CheckResult]]]] = [[]]
    count = 0
    for name, results in groups.items():
        for start in range(0, max(len(results), 1), limit):
            piece = results[start : start + limit]
            if chunks[-1] and count + len(piece) > limit:
                chunks.append([])
                count = 0
            chunks[-1].append((name, piece))
            count += len(piece)
    return chunks


def _props(
    report: GateReport, properties: Mapping[str, str] | None, exit_code: int | None
) -> dict[str, str]:
    from soc2gate import __version__

    props = {
        "soc2gate.version": __version__,
        "soc2gate.exit_code": str(int(report.exit_code if exit_code is None else exit_code)),
    }
    props.update({k: str(v) for k, v in (properties or {}).items() if v not in (None, "")})
    return props


def _stamp(timestamp: datetime | None) -> str:
    return (timestamp or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S")


def build(
    report: GateReport,
    timestamp: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
    source: str = "",
) -> ET.Element:
    """The <testsuites> element for a report: one <testsuite> per fleet target.

    ``properties`` (region, repository, endpoint, commit, evidence checksum...) go on every
    suite, with the tool version and the run's exit code: ``exit_code`` when the caller knows
    the process's own (143 for SIGTERM, 3 when a report could not be written), else the
    report's. All in one element, however many cases (``write`` splits the file).
    """
    stamp, props = _stamp(timestamp), _props(report, properties, exit_code)
    groups = [
        group for chunk in _chunks(report, limit=max(1, len(report.results))) for group in chunk
    ]
    suites = [
        _suite(name, results, stamp, report.duration, props, source) for name, results in groups
    ]
    return _root(suites, report.duration)


def part_paths(path: str, count: int) -> list[str]:
    """``path`` and the names of its further parts: junit.xml, junit-2.xml, junit-3.xml..."""
    root, ext = os.path.splitext(path)
    return [path] + [f"{root}-{n}{ext}" for n in range(2, count + 1)]


def build_files(
    report: GateReport,
    path: str,
    timestamp: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
    source: str = "",
) -> list[tuple[str, ET.Element]]:
    """(path, <testsuites>) per file: one file up to MAX_CASES_PER_FILE testcases, else parts.

    Every part says so in its suites' properties: ``soc2gate.part`` ("2 of 3") and
    ``soc2gate.parts`` (the file names of the whole report).
    """
    stamp, props = _stamp(timestamp), _props(report, properties, exit_code)
    chunks = _chunks(report)
    paths = part_paths(path, len(chunks))
    files = []
    for number, (part, chunk) in enumerate(zip(paths, chunks, strict=True), start=1):
        extra = {}
        if len(chunks) > 1:
            extra = {
                "soc2gate.part": f"{number} of {len(chunks)}",
                "soc2gate.parts": ", ".join(os.path.basename(p) for p in paths),
            }
        suites = [
            _suite(name, results, stamp, report.duration, {**props, **extra}, source or path)
            for name, results in chunk
        ]
        files.append((part, _root(suites, report.duration)))
    return files


def _text(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_string(
    report: GateReport,
    timestamp: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
) -> str:
    return _text(build(report, timestamp, properties, exit_code))


def write(
    report: GateReport,
    path: str,
    properties: Mapping[str, str] | None = None,
    exit_code: int | None = None,
    source: str = "",
) -> list[str]:
    """Write atomically, so a reader never sees half a file (e.g. after SIGTERM).

    More than MAX_CASES_PER_FILE testcases (a large fleet) are written as ``path`` plus
    ``<name>-2.<ext>``, ...; parts a larger earlier run left beside it are removed, so a glob
    never picks up a stale verdict. Returns the paths written, ``path`` first.
    """
    files = build_files(report, path, properties=properties, exit_code=exit_code, source=source)
    for part, root in files:
        write_atomically(part, _text(root))
    stale = part_paths(path, len(files) + 64)[len(files) :]
    for old in stale:
        if not os.path.isfile(old) or not _ours(old):
            break
        os.unlink(old)
    return [part for part, _root_el in files]


def _ours(path: str) -> bool:
    """A file soc2gate wrote (its root element is ``<testsuites name="soc2gate"``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(200)
    except OSError:
        return False
    return f'<testsuites name="{SUITE_NAME}"' in head
