#!/usr/bin/env python3
"""Make the documentation's pictures from the demo, with headless Chromium.

    docs/audit-report.png   the top of the HTML audit report of `soc2gate demo --audit`
                            (twelve simulated weeks of signed evidence, one record forged)
    docs/step-summary.png   the GitHub step summary of `soc2gate demo --scenario
                            critical-finding`: its markdown, rendered to HTML by Python-Markdown
                            with GitHub-like styles (the mermaid chart is shown as its source:
                            GitHub draws it, this script does not)

Needs, and says so (exit 2) when one is missing:
    * Chromium:  apt-get install -y chromium fonts-noto-color-emoji   (Debian; /usr/bin/chromium,
                 or --chromium PATH; the emoji font draws the summary's ✅ ❌ marks)
    * soc2gate with its demo extra and Markdown, in the Python running this script:
                 pip install -e '.[demo,docs]'

Usage: .venv/bin/python scripts/screenshots.py [--out docs] [--chromium PATH] [--keep DIR]
CI does not run it (no browser there). Rerun it when the report or the summary changes, look at
the PNGs, and commit them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1320

#: GitHub's markdown look, near enough for a picture: its fonts, table borders, code spans.
SUMMARY_CSS = """
body { margin: 0; background: #fff; color: #1f2328;
       font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica,
       Arial, sans-serif, "Noto Color Emoji"; }
main { max-width: 1012px; margin: 24px auto; padding: 24px 32px; border: 1px solid #d1d9e0;
       border-radius: 6px; }
.label { color: #59636e; font-size: 12px; margin: 0 0 12px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 0 0 16px; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; text-align: left; vertical-align: top; }
th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            font-size: 85%; background: #eff1f3; border-radius: 6px; }
code { padding: .2em .4em; } pre { padding: 16px; overflow: auto; }
pre code { padding: 0; background: none; }
details { margin: 0 0 16px; } summary { cursor: pointer; }
"""


def need(ok: bool, what: str, how: str) -> None:
    if not ok:
        print(f"screenshots: {what} is missing: {how}", file=sys.stderr)
        raise SystemExit(2)


def demo(args: list[str], out: Path) -> None:
    """`soc2gate demo ARGS --out OUT` with this Python; its exit code is the scenario's."""
    cmd = [sys.executable, "-m", "soc2gate", "demo", *args, "--out", str(out)]
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=out.parent, capture_output=True, text=True, timeout=600)
    if "Exit code" not in proc.stdout or "UNEXPECTED" in proc.stdout:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise SystemExit(f"screenshots: soc2gate demo {' '.join(args)} did not finish")


def summary_page(markdown_text: str) -> str:
    """The step summary's markdown as a GitHub-like HTML page."""
    import markdown

    # GitHub renders markdown inside <details>; Python-Markdown does with md_in_html.
    text = markdown_text.replace("<details>", '<details markdown="1" open>')
    body = markdown.markdown(text, extensions=["tables", "fenced_code", "md_in_html"])
    return (
        f"<!doctype html><meta charset=utf-8><style>{SUMMARY_CSS}</style><main>"
        f'<p class="label">soc2gate summary (GITHUB_STEP_SUMMARY)</p>{body}</main>'
    )


def screenshot(chromium: str, page: Path, png: Path, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="soc2gate-chromium-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ]
        print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not png.exists() or png.stat().st_size < 10_000:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise SystemExit(f"screenshots: chromium did not write {png}")
    print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="default: docs/")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="keep the demo's reports and pages here")
    args = parser.parse_args(argv)

    need(
        Path(args.chromium).exists(),
        f"Chromium ({args.chromium})",
        "apt-get install -y chromium fonts-noto-color-emoji (or pass --chromium PATH)",
    )
    need(
        importlib.util.find_spec("moto") is not None,
        "moto (soc2gate's demo extra)",
        "pip install -e '.[demo,docs]'",
    )
    need(
        importlib.util.find_spec("markdown") is not None,
        "Markdown",
        "pip install -e '.[demo,docs]'",
    )

    work = Path(tempfile.mkdtemp(prefix="soc2gate-screenshots-"))
    try:
        # The audit report: the HTML page audit-report writes, as a browser opens it.
        demo(["--audit"], work / "audit")
        screenshot(
            args.chromium, work / "audit" / "audit-report.html", args.out / "audit-report.png", 1200
        )

        # The step summary: the markdown the gate writes to GITHUB_STEP_SUMMARY (and --summary).
        demo(["--scenario", "critical-finding", "--speed", "10"], work / "summary")
        markdown_text = (work / "summary" / "summary.md").read_text(encoding="utf-8")
        page = work / "summary" / "summary.html"
        page.write_text(summary_page(markdown_text), encoding="utf-8")
        screenshot(args.chromium, page, args.out / "step-summary.png", 1250)
    finally:
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.pop("GITHUB_ACTIONS", None)  # the demo writes its own summary file
    raise SystemExit(main())
