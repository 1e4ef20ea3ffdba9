"""``soc2gate audit-report`` from the installed CLI over a simulated audit period in moto's S3,
and its HTML page in a real headless Chromium (Debian's ``chromium``; skipped when absent)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from gate_e2e import run_cli

from soc2gate.demo.audit_period import Period, simulate
from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

END = date(2026, 3, 27)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def period(world: MotoWorld) -> Period:
    return simulate(world, end=END, weeks=4)


def test_the_period_report_verifies_every_record_and_shows_the_forgery(
    world: MotoWorld, period: Period, tmp_path: Path
) -> None:
    (tmp_path / "key.der").write_bytes(period.public_key_der)
    html, md, table = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.csv"
    run = run_cli(
        world,
        [
            "audit-report", "--evidence-s3", period.s3_url,
            "--from", str(period.start), "--to", str(period.end),
            "--public-key", str(tmp_path / "key.der"),
            "--html", str(html), "--md", str(md), "--csv", str(table),
        ],
        tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.output  # one record was forged
    assert "VERIFICATION FAILED" in run.stderr and "BAD SIGNATURE" in run.stderr
    assert period.tampered in run.stderr
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert len(rows) == period.records
    integrity = {r["integrity"] for r in rows}
    # The forged copy also sits at a key its content does not give (issue 19).
    assert integrity == {"signature verified", "BAD SIGNATURE; MISPLACED"}
    (forged,) = [r for r in rows if r["integrity"].startswith("BAD SIGNATURE")]
    assert forged["result"] == "pass" and forged["record"] == period.tampered
    assert all(r["ci_url"].startswith("https://github.com/acme/") for r in rows)
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", r["image_digest"]) for r in rows)

    text = md.read_text()
    assert "## Totals per SOC 2 criterion" in text and "| CC7.1 |" in text
    gaps = text.split("## Gap days", 1)[1].split("##", 1)[0]
    assert re.search(r"- \d{4}-\d{2}-\d{2}: 2 deployment\(s\)", gaps), gaps
    waivers = text.split("## Waivers in force", 1)[1]
    assert "CVE-2023-2650" in waivers and "not reachable" in waivers

    page = html.read_text()
    assert 'role="alert"' in page and "BAD SIGNATURE" in page
    assert page.count("<svg") == 2
    assert not re.search(r"<(script|link|img|iframe)\b", page), "the page must be self-contained"
    assert not re.search(r"\bsrc=", page)


def test_kms_verification_of_the_period(world: MotoWorld, period: Period, tmp_path: Path) -> None:
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", period.s3_url, "--from", str(period.start),
         "--to", str(period.end), "--kms", "--kms-key", period.key_arn,
         "--csv", str(tmp_path / "r.csv")],
        tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert sum(r["integrity"] == "signature verified" for r in rows) == period.records - 1


def test_a_period_outside_the_records_is_empty(
    world: MotoWorld, period: Period, tmp_path: Path
) -> None:
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", period.s3_url, "--from", "2020-01-01",
         "--to", "2020-12-31"],
        tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.output
    assert "0 evidence record(s)" in run.stdout


def test_a_local_folder_of_real_runs(world: MotoWorld, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    for i, extra in enumerate(([], ["--fail-on", "MEDIUM"])):
        run = run_cli(
            world,
            ["run", *scenario.gate_args(world), *extra, "--evidence", str(folder / f"{i}.json")],
            tmp_path,
        )
        assert run.code == i, run.output
    today = date.today().isoformat()
    run = run_cli(world, ["audit-report", "--evidence-dir", str(folder), "--to", today], tmp_path)
    assert run.code == 0, run.output
    assert "2 evidence record(s)" in run.stdout and "1 pass, 1 fail" in run.stdout
    assert "checksum only (unsigned)" in run.stdout  # the Markdown report on stdout

    # A record whose checksum no longer matches, and a file that is no record.
    record = json.loads((folder / "1.json").read_text())
    record["run"]["result"] = "pass"
    (folder / "1.json").write_text(json.dumps(record))
    (folder / "notes.json").write_text('{"hello": 1}')
    run = run_cli(world, ["audit-report", "--evidence-dir", str(folder), "--to", today], tmp_path)
    assert run.code == 1, run.output
    assert "MODIFIED" in run.stdout and "unreadable" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--evidence-dir", "/nonexistent"], "is not a folder"),
        (["--evidence-dir", ".", "--from", "2026-13-01"], "expected a date"),
        (["--evidence-dir", ".", "--from", "2026-02-01", "--to", "2026-01-01"], "is after"),
        (["--evidence-dir", ".", "--require-signature"], "needs --public-key"),
        (["--evidence-s3", "bucket/prefix"], "expected s3://bucket/prefix"),
    ],
)
def test_usage_errors_exit_2(
    world: MotoWorld, tmp_path: Path, args: list[str], message: str
) -> None:
    run = run_cli(world, ["audit-report", *args], tmp_path)
    assert run.code == 2, run.output
    assert message in run.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_the_html_report_renders_in_headless_chromium(
    world: MotoWorld, period: Period, tmp_path: Path
) -> None:
    (tmp_path / "key.der").write_bytes(period.public_key_der)
    html = tmp_path / "report.html"
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", period.s3_url, "--from", str(period.start),
         "--to", str(period.end), "--public-key", str(tmp_path / "key.der"), "--html", str(html)],
        tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.output
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), *flags, "--window-size=1400,1800", f"--screenshot={shot}", html.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a page, not a blank
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # Chromium parsed the inline SVG charts as SVG: a stacked bar per verdict and week.
    assert dom.count("<svg") == 2 and dom.count("<rect") >= 4 and "<polyline" in dom
    assert 'role="alert"' in dom
