"""The audit period report as HTML (one self-contained page, inline SVG charts), Markdown, CSV.

Every string from a record is untrusted: HTML escapes it, Markdown cells go through
``report.text.one_line`` with ``|`` escaped, and CSV cells that would start a formula are
prefixed with a quote.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from datetime import date

from soc2gate import __version__
from soc2gate.exitcodes import ExitCode
from soc2gate.report.audit import AuditReport, Entry
from soc2gate.report.text import one_line

VERDICT_COLORS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "error": "#ef6c00",
    "interrupted": "#6a1b9a",
    "unknown": "#757575",
}
_ORDER = ("pass", "fail", "error", "interrupted", "unknown")

CSV_COLUMNS = (
    "time",
    "result",
    "integrity",
    "repository",
    "source_repository",
    "commit",
    "image_digest",
    "endpoint",
    "waivers",
    "ci_run",
    "ci_url",
    "signed_by",
    "image_signed_by",
    "record",
)


def _row(entry: Entry) -> dict[str, str]:
    return {
        "time": entry.when.strftime("%Y-%m-%d %H:%M:%SZ") if entry.when else "",
        "result": entry.result if entry.document is not None else "",
        "integrity": entry.integrity_text,
        "repository": entry.repository,
        "source_repository": entry.source_repository,
        "commit": entry.commit,
        "image_digest": ", ".join(entry.digests),
        "endpoint": entry.endpoint,
        "waivers": "; ".join(
            f"{w['id']} ({w['package']}) until {w['expires']}: {w['reason']}" for w in entry.waivers
        ),
        "ci_run": entry.ci_run,
        "ci_url": entry.ci_url,
        "signed_by": entry.signed_by,
        "image_signed_by": "; ".join(entry.image_signers),
        "record": entry.source,
    }


def _signers(entry: Entry) -> str:
    """The "image signed by" cell: each served digest's signer, short; empty when the run did
    not check signatures."""
    cells = []
    for text in entry.image_signers:
        digest, _, rest = text.partition(" ")
        cells.append(f"{_short(digest)} {rest}")
    return "; ".join(cells)


# ---- CSV ---------------------------------------------------------------------------------------


def _csv_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(report: AuditReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in report.entries:
        writer.writerow({k: _csv_cell(v) for k, v in _row(entry).items()})
    return out.getvalue()


# ---- Markdown ----------------------------------------------------------------------------------


def _md(value: str, limit: int = 200) -> str:
    return one_line(value, limit).replace("|", "\\|")


def _short(sha: str, n: int = 12) -> str:
    return sha.split(":", 1)[-1][:n]


def headline(report: AuditReport) -> list[str]:
    verdicts = report.verdicts()
    lines = [
        f"{len(report.entries)} evidence record(s) from {report.start} to {report.end}: "
        + ", ".join(f"{verdicts[v]} {v}" for v in _ORDER if verdicts[v])
    ]
    if report.broken:
        lines.append(
            f"{len(report.broken)} record(s) FAILED VERIFICATION (modified, bad signature, "
            "signed by another key, unsigned or old-format under --require-signature, or "
            "replaced, deleted, misplaced or copied in S3): their verdicts cannot be trusted"
        )
    if report.unverifiable:
        lines.append(f"{len(report.unverifiable)} record(s) could not be verified or read")
    lines += [f"WARNING: {w}" for w in report.warnings]
    return lines


def to_markdown(report: AuditReport) -> str:
    out = [f"# soc2gate audit report: {report.start} to {report.end}", ""]
    out += [f"Source: `{_md(report.source)}`. Generated {report.generated_at:%Y-%m-%d %H:%M}Z "
            f"by soc2gate {__version__}.", ""]  # fmt: skip
    out += [f"- {line}" for line in headline(report)] + [""]
    if report.broken:
        out += ["## Records that failed verification", ""]
        out += [f"- **{_md(e.integrity_text)}** {_md(e.explanation, 1200)}"
                for e in report.broken] + [""]  # fmt: skip
    out += ["## Totals per SOC 2 criterion", "",
            "| Criterion | PASS | FAIL | ERROR | SKIPPED | Security Hub / AWS Config |",
            "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    controls = report.criteria_controls()
    for criterion, counts in report.criteria().items():
        out.append(
            f"| {_md(criterion)} | {counts['PASS']} | {counts['FAIL']} | {counts['ERROR']} "
            f"| {counts['SKIPPED']} | {_md(', '.join(controls.get(criterion, [])))} |"
        )
    out += ["", "## Deployments", "",
            "| Time (UTC) | Verdict | Record | Repository | Commit | Image | Image signed by | Endpoint | Waivers | CI run |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for entry in report.entries:
        row = _row(entry)
        run = f"[{_md(row['ci_run'])}]({row['ci_url']})" if row["ci_url"] else _md(row["ci_run"])
        out.append(
            f"| {row['time']} | {row['result']} | {row['integrity']} | {_md(row['repository'])} "
            f"| {_md(_short(row['commit']))} | {_md(', '.join(_short(d) for d in entry.digests))} "
            f"| {_md(_signers(entry))} "
            f"| {_md(row['endpoint'])} | {len(entry.waivers) or ''} | {run} |"
        )
    failed = [e for e in report.entries if e.result != "pass" or e.code == ExitCode.ERROR]
    out += ["", "## Failed or unverifiable runs", ""]
    out += [f"- {_row(e)['time'] or '?'} {e.result if e.document else e.integrity_text}"
            f" `{_md(e.source)}`" for e in failed] or ["None."]  # fmt: skip
    unsigned = [e for e in report.entries if e.unsigned_images]
    out += ["", "## Unsigned images served (deployed-image-signed)", ""]
    out += [f"- {_row(e)['time'] or '?'}: {e.unsigned_images} unsigned digest(s)"
            f" `{_md(e.source)}`" for e in unsigned] or ["None."]  # fmt: skip
    out += ["", "## Gap days (deployments, no passing gate whose record verified)", ""]
    out += [f"- {day}: {n} deployment(s)" for day, n in report.gap_days()] or ["None."]
    out += ["", "## Waivers in force", ""]
    out += [f"- {_md(w['id'])} in {_md(w['package'])}, expires {_md(w['expires'])}, "
            f"{w['deployments']} deployment(s): {_md(w['reason'], 300)}"
            for w in report.waivers()] or ["None."]  # fmt: skip
    return "\n".join(out) + "\n"


# ---- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#59636e}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d1d9e0;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}.alarm{background:#ffebe9;border:2px solid #c62828;
border-radius:8px;padding:10px 14px;margin:12px 0;color:#82071e}.alarm h2{margin:0 0 6px;color:#82071e}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #d1d9e0;
padding:4px 6px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.num{text-align:right}code{font-size:12px}.pass{color:#2e7d32;font-weight:600}
.fail{color:#c62828;font-weight:600}.error,.interrupted,.unknown{color:#ef6c00;font-weight:600}
.bad{background:#ffebe9;color:#82071e;font-weight:700}.warn{background:#fff8c5}
.charts{display:flex;gap:24px;flex-wrap:wrap}.chart{border:1px solid #d1d9e0;border-radius:8px;padding:8px}
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _frame(width: int, height: int, top: int, label: str) -> list[str]:
    """The opening <svg> of a chart and its horizontal grid lines with their counts (the
    charts share one plot area: 36 px left, 28 px bottom, 40 px of margins in all)."""
    left, bottom, plot_h = 36, 28, height - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}">'
    ]
    for tick in range(0, top + 1, max(1, top // 4)):
        y = height - bottom - plot_h * tick / top
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick}</text>'
        )
    return parts


def _bars(report: AuditReport, width: int = 560, height: int = 220) -> str:
    """Deployments per week, stacked by verdict."""
    weeks = report.per_week()
    keys = sorted(weeks)
    top = max([sum(c.values()) for c in weeks.values()] + [1])
    left, bottom, plot_h = 36, 28, height - 40
    step = (width - left - 8) / max(len(keys), 1)
    bar = max(step * 0.75, 1.0)
    parts = _frame(width, height, top, "Deployments per week by verdict")
    for i, week in enumerate(keys):
        x = left + i * step
        y = float(height - bottom)
        for verdict in _ORDER:
            n = weeks[week][verdict]
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{VERDICT_COLORS[verdict]}"><title>week of {week}: {n} {verdict}'
                "</title></rect>"
            )
        if len(keys) <= 16 or i % max(1, len(keys) // 12) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="9" '
                f'text-anchor="middle">{week:%m-%d}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _line(report: AuditReport, width: int = 560, height: int = 220) -> str:
    """Waivers in force per week."""
    per_week = report.waivers_per_week()
    keys = sorted(per_week)
    top = max([*per_week.values(), 1])
    left, bottom, plot_h = 36, 28, height - 40
    step = (width - left - 16) / max(len(keys) - 1, 1)
    points = [
        (left + i * step, height - bottom - plot_h * per_week[k] / top) for i, k in enumerate(keys)
    ]
    parts = _frame(width, height, top, "Waivers in force per week")
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#8250df" stroke-width="2"/>')
        for (x, y), week in zip(points, keys, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#8250df"><title>week of {week}: '
                f"{per_week[week]} waiver(s)</title></circle>"
            )
        for i, week in enumerate(keys):
            if len(keys) <= 16 or i % max(1, len(keys) // 12) == 0:
                parts.append(
                    f'<text x="{points[i][0]:.1f}" y="{height - 10}" font-size="9" '
                    f'text-anchor="middle">{week:%m-%d}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(report: AuditReport) -> str:
    verdicts = report.verdicts()
    integrity = report.integrity()
    gaps = report.gap_days()
    cards = [
        ("Deployments", str(len(report.entries)), ""),
        ("Passed", str(verdicts["pass"]), "pass"),
        ("Failed / error", str(len(report.failed_runs)), "fail" if report.failed_runs else ""),
        ("Signature verified", str(integrity["verified"]), ""),
        ("Failed verification", str(len(report.broken)), "fail" if report.broken else ""),
        ("Gap days", str(len(gaps)), "fail" if gaps else ""),
    ]
    body = [
        f"<h1>soc2gate audit report: {_e(report.start)} to {_e(report.end)}</h1>",
        f'<p class="meta">Source <code>{_e(report.source)}</code>. Generated '
        f"{report.generated_at:%Y-%m-%d %H:%M}Z by soc2gate {_e(__version__)}. Every record was "
        "verified: checksum, and the KMS signature when a key was given.</p>",
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b class="{cls}">{_e(value)}</b>{_e(label)}</div>'
            for label, value, cls in cards
        )
        + "</div>",
    ]
    if report.broken:
        items = "".join(
            f"<li><b>{_e(e.integrity_text)}</b> {_e(e.explanation)}</li>" for e in report.broken
        )
        body.append(
            '<div class="alarm" role="alert"><h2>⚠ Records that FAILED verification '
            f"({len(report.broken)})</h2><p>Modified after they were written, signed by another "
            "key or not as required, or replaced, deleted, misplaced or copied in S3: their "
            "verdicts cannot be trusted.</p><ul>"
            f"{items}</ul></div>"
        )
    legend = "".join(
        f'<span><i class="sw" style="background:{VERDICT_COLORS[v]}"></i>{v}</span>'
        for v in _ORDER[:4]
    )
    body.append(
        '<h2>Over time</h2><div class="charts">'
        f'<div class="chart"><b>Deployments per week by verdict</b><div class="legend">{legend}'
        f"</div>{_bars(report)}</div>"
        f'<div class="chart"><b>Waivers in force per week</b><div class="legend">&nbsp;</div>'
        f"{_line(report)}</div></div>"
    )
    controls = report.criteria_controls()
    criteria_rows = [
        f"<tr><td>{_e(c)}</td>"
        + "".join(
            f'<td class="num{" bad" if s in ("FAIL", "ERROR") and n[s] else ""}">{n[s]}</td>'
            for s in ("PASS", "FAIL", "ERROR", "SKIPPED")
        )
        + f"<td>{_e(', '.join(controls.get(c, [])))}</td></tr>"
        for c, n in report.criteria().items()
    ]
    body.append("<h2>Totals per SOC 2 criterion</h2>")
    body.append(
        _table(
            ("Criterion", "PASS", "FAIL", "ERROR", "SKIPPED", "Security Hub / AWS Config"),
            criteria_rows,
        )
    )
    rows = []
    for entry in report.entries:
        row = _row(entry)
        cls = (
            "bad"
            if entry.code == ExitCode.FAILED
            else "warn"
            if entry.code == ExitCode.ERROR
            else ""
        )
        run = (
            f'<a href="{_e(row["ci_url"])}">{_e(row["ci_run"] or "run")}</a>'
            if row["ci_url"]
            else _e(row["ci_run"])
        )
        waivers = "<br>".join(
            f"<code>{_e(w['id'])}</code> ({_e(w['package'])}) until {_e(w['expires'])}: "
            f"{_e(w['reason'])}"
            for w in entry.waivers
        )
        rows.append(
            f'<tr><td>{_e(row["time"])}</td><td class="{_e(row["result"])}">'
            f'{_e(row["result"])}</td><td class="{cls}" title="{_e(entry.explanation)}">'
            f"{_e(row['integrity'])}</td><td>{_e(row['repository'])}</td>"
            f"<td><code>{_e(_short(row['commit']))}</code></td>"
            f"<td><code>{_e(', '.join(_short(d) for d in entry.digests))}</code></td>"
            f"<td>{_e(_signers(entry))}</td>"
            f"<td>{_e(row['endpoint'])}</td><td>{waivers}</td><td>{run}</td></tr>"
        )
    body.append(f"<h2>Deployments ({len(report.entries)})</h2>")
    body.append(
        _table(
            (
                "Time (UTC)",
                "Verdict",
                "Record",
                "Repository",
                "Commit",
                "Image",
                "Image signed by",
                "Endpoint",
                "Waivers in force",
                "CI run",
            ),
            rows,
        )
    )
    failed = [e for e in report.entries if e.result != "pass" or e.code == ExitCode.ERROR]
    body.append(f"<h2>Failed or unverifiable runs ({len(failed)})</h2>")
    body.append(
        "<ul>"
        + "".join(
            f"<li>{_e(_row(e)['time'] or '?')} <b>{_e(e.result if e.document else e.integrity_text)}"
            f"</b> <code>{_e(e.source)}</code></li>"
            for e in failed
        )
        + "</ul>"
        if failed
        else "<p>None.</p>"
    )
    body.append(
        f"<h2>Gap days: deployments but no passing gate whose record verified ({len(gaps)})</h2>"
    )
    body.append(
        "<ul>" + "".join(f"<li>{_e(d)}: {n} deployment(s)</li>" for d, n in gaps) + "</ul>"
        if gaps
        else "<p>None.</p>"
    )
    in_force = report.waivers()
    body.append(f"<h2>Waivers in force ({len(in_force)})</h2>")
    body.append(
        _table(
            ("Finding", "Package", "Expires", "Deployments", "Reason"),
            [
                f"<tr><td><code>{_e(w['id'])}</code></td><td>{_e(w['package'])}</td>"
                f'<td>{_e(w["expires"])}</td><td class="num">{_e(w["deployments"])}</td>'
                f"<td>{_e(w['reason'])}</td></tr>"
                for w in in_force
            ],
        )
        if in_force
        else "<p>None.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>soc2gate audit report {_e(report.start)} to {_e(report.end)}</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{flag}: expected a date YYYY-MM-DD, got {text!r}") from None
