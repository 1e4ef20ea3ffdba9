#!/usr/bin/env bash
# Build the release files and check them the way PyPI, a downstream packager and a user would.
#
#   build     python -m build: the sdist, then the wheel built from that sdist (so the sdist
#             alone is enough to build), from a copy of the work tree's files (git ls-files),
#             in a throwaway directory: nothing is written into the work tree
#   twine     twine check --strict (metadata and README render on PyPI)
#   wheel     check-wheel-contents; LICENSE under .dist-info/licenses, License-Expression
#             Apache-2.0, py.typed and the JSON schemas shipped, no tests in the wheel
#   sdist     every tracked file is in it but the git/docker ignore files (the tests read
#             README.md, action.yml, Dockerfile, examples/, scripts/, .github/...): LICENSE,
#             CHANGELOG.md, tests/schemas/junit-10.xsd...; no bytecode, no venvs
#   install   the wheel into a fresh venv: soc2gate --version (the built version),
#             soc2gate list-checks; then the wheel with the demo extra and
#             `soc2gate demo --scenario healthy --speed 10` (exit 0) and
#             `--scenario critical-finding` (exit 1)
#   audit     pip-audit of requirements.lock, docker/build-requirements.lock and
#             requirements-docs.lock (hash-pinned,
#             no resolution): a known vulnerability fails with the advisory's id, aliases and
#             fix versions. First a self-test against a loopback OSV stub proves a vulnerable pin
#             fails and names its advisory. When the vulnerability data (pypi.org's per-version
#             JSON API) cannot be reached, the step says so and fails only on GitHub Actions
#             (GITHUB_ACTIONS=true) or with SOC2GATE_AUDIT_REQUIRED=1; elsewhere it is reported
#             as NOT AUDITED and does not fail the run.
#
# The build tools live in their own venv ($PACKAGE_VENV, default
# ~/.cache/soc2gate-package-venv), never in the project's .venv.
#
# Usage: scripts/package-check.sh [--dist-dir DIR] [--skip-install] [--audit-only]
#   --dist-dir DIR   also copy the built sdist and wheel to DIR (the release workflow uploads them)
#   --skip-install   skip the fresh-venv install and the demo (the slowest part)
#   --audit-only     only the pip-audit step
# Exit: 0 all passed, 1 some check failed (all are run and listed), 2 setup failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${PACKAGE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soc2gate-package-venv}
# Pinned so a new release of a tool cannot turn CI red overnight; bump on purpose.
TOOLS=(
    "build==1.6.1"
    "twine==7.0.0"
    "check-wheel-contents==0.6.3"
    "pip-audit==2.10.1"
)
LOCKS=(requirements.lock docker/build-requirements.lock requirements-docs.lock)

dist_dir=""
skip_install=0
audit_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --dist-dir) dist_dir=${2:?--dist-dir needs a directory}; shift 2 ;;
        --skip-install) skip_install=1; shift ;;
        --audit-only) audit_only=1; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) printf 'package-check: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
done

failed=()
skipped=()
SKIP=99 # a check that could not be done here and is allowed not to be (the audit off GitHub)
log() { printf '[package-check] %s\n' "$*" >&2; }
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}s")' "$1" "$EPOCHREALTIME"; }
run() { # run NAME COMMAND...: run one check, record a failure, keep going
    local name=$1 start=$EPOCHREALTIME rc=0; shift
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        log "ok    $name ($(elapsed "$start"))"
    elif [ "$rc" -eq "$SKIP" ]; then
        log "SKIP  $name (NOT verified on this machine)"
        skipped+=("$name")
    else
        log "FAIL  $name"
        failed+=("$name")
    fi
}
finish() {
    if [ "${#skipped[@]}" -gt 0 ]; then
        log "${#skipped[@]} check(s) skipped, not verified here:"
        printf '    - %s\n' "${skipped[@]}" >&2
    fi
    if [ "${#failed[@]}" -gt 0 ]; then
        log "${#failed[@]} check(s) failed:"
        printf '    - %s\n' "${failed[@]}" >&2
        return 1
    fi
    log "all package checks passed${skipped:+ (but see the skipped ones)}"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/soc2gate-package-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- tools ------------------------------------------------------------------------------
# shellcheck source=scripts/tool-venv.sh
source "$ROOT/scripts/tool-venv.sh"
ensure_tool_venv "$VENV" .soc2gate-package-tools "${TOOLS[*]}" "${TOOLS[@]}"
PY=$VENV/bin/python

# ---- audit --------------------------------------------------------------------------------
audit_self_test() {
    # A lock pinning a package the stub calls vulnerable must fail and name the advisory.
    "$PY" - "$VENV/bin/pip-audit" "$work/selftest.lock" <<'PY'
import http.server, json, subprocess, sys, threading
pip_audit, lock = sys.argv[1:3]
ADVISORY = {
    "id": "SOC2GATE-SELFTEST-0001", "aliases": ["CVE-0000-00001"],
    "summary": "stub advisory served by scripts/package-check.sh's self-test",
    "affected": [{"package": {"name": "urllib3", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "1.26.18"}]}]}],
}
class Stub(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vulns = [ADVISORY] if query["package"]["name"] == "urllib3" else []
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
threading.Thread(target=server.serve_forever, daemon=True).start()
with open(lock, "w") as f:
    f.write("urllib3==1.26.5 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    f.write("six==1.17.0 \\\n    --hash=sha256:" + "1" * 64 + "\n")
proc = subprocess.run(
    [pip_audit, "--strict", "--require-hashes", "--disable-pip", "--progress-spinner", "off",
     "--desc", "on", "--aliases", "on",
     "-s", "osv", "--osv-url", f"http://127.0.0.1:{server.server_port}/v1/query", "-r", lock],
    capture_output=True, text=True, timeout=120,
)
server.shutdown()
out = proc.stdout + proc.stderr
rows = [line.split() for line in proc.stdout.splitlines()]
ids = {"SOC2GATE-SELFTEST-0001", "CVE-0000-00001"}  # pip-audit shows one, the other as alias
flagged = {row[0] for row in rows if ids & set(row)}
ok = proc.returncode == 1 and flagged == {"urllib3"} and all(i in out for i in ids) \
    and "1.26.18" in out
if not ok:
    print(f"pip-audit self-test: expected exit 1 naming the stub advisory, got {proc.returncode}:\n{out}",
          file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

vulnerability_data_reachable() {
    # pip-audit's default service reads https://pypi.org/pypi/<name>/<version>/json.
    "$PY" - "$ROOT/requirements.lock" <<'PY'
import re, sys, urllib.request
text = open(sys.argv[1], encoding="utf-8").read()
name, version = re.search(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text).groups()
url = f"https://pypi.org/pypi/{name}/{version}/json"
try:
    with urllib.request.urlopen(url, timeout=20) as response:
        ok = response.status == 200 and "vulnerabilities" in response.read().decode()
except Exception as exc:  # any failure means: no data
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
if not ok:
    print(f"{url}: no 'vulnerabilities' in the answer", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

audit_locks() {
    local lock rc=0
    if ! vulnerability_data_reachable; then
        if [ "${GITHUB_ACTIONS:-}" = true ] || [ "${SOC2GATE_AUDIT_REQUIRED:-0}" = 1 ]; then
            log "pip-audit: the vulnerability data (pypi.org per-version JSON) cannot be reached: failing closed"
            return 1
        fi
        log "pip-audit: NOT AUDITED: this machine cannot reach pypi.org's per-version JSON API"
        log "pip-audit: (GitHub CI, or SOC2GATE_AUDIT_REQUIRED=1, fails closed instead)"
        return "$SKIP"
    fi
    for lock in "${LOCKS[@]}"; do
        log "pip-audit -r $lock"
        "$VENV/bin/pip-audit" --strict --require-hashes --disable-pip --progress-spinner off \
            --desc on --aliases on -r "$ROOT/$lock" || rc=1
    done
    return "$rc"
}

run "pip-audit self-test (loopback OSV stub: a vulnerable pin fails, advisory named)" audit_self_test
run "pip-audit: ${LOCKS[*]}" audit_locks
if [ "$audit_only" = 1 ]; then
    finish
    exit
fi

# ---- build --------------------------------------------------------------------------------
src=$work/src
out=$work/dist
mkdir -p "$src" "$out"
tracked=$work/tracked.txt
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files plus new ones not ignored (what the next commit would hold), that exist.
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | (cd "$ROOT" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\n' "$f"; done) \
        | sort -u >"$tracked"
    (cd "$ROOT" && tr '\n' '\0' <"$tracked" | xargs -0 tar -cf - --) | tar -C "$src" -xf - \
        || { log "cannot copy the work tree"; exit 2; }
else
    log "not a git checkout: building from the directory as it is"
    : >"$tracked"
    src=$ROOT
fi

build_dists() {
    "$PY" -m build --outdir "$out" "$src" >"$work/build.log" 2>&1 \
        || { tail -n 40 "$work/build.log" >&2; return 1; }
    sdist=$(find "$out" -name 'soc2gate-*.tar.gz' -print -quit)
    wheel=$(find "$out" -name 'soc2gate-*.whl' -print -quit)
    [ -n "$sdist" ] && [ -n "$wheel" ] || { log "build made no sdist or wheel"; return 1; }
    log "built $(basename "$sdist") $(basename "$wheel")"
}
sdist="" wheel=""
run "python -m build (sdist, then the wheel from the sdist)" build_dists
if [ -z "$wheel" ]; then
    log "nothing built; the other checks need the files"
    printf '    - %s\n' "${failed[@]}" >&2
    exit 1
fi

run "twine check --strict" "$VENV/bin/twine" check --strict "$sdist" "$wheel"
run "check-wheel-contents" "$VENV/bin/check-wheel-contents" "$wheel"

run "wheel: licence, metadata, package data, no tests" "$PY" - "$wheel" <<'PY'
import sys, zipfile
from email.parser import Parser
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
meta = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(f"{dist_info}/licenses/LICENSE" in names, "LICENSE not under .dist-info/licenses/")
want("Apache License" in wheel.read(f"{dist_info}/licenses/LICENSE").decode()
     if f"{dist_info}/licenses/LICENSE" in names else False, "LICENSE is not the Apache licence")
want(meta["License-Expression"] == "Apache-2.0", f"License-Expression {meta['License-Expression']!r}")
want(meta.get_all("License-File") == ["LICENSE"], f"License-File {meta.get_all('License-File')}")
want(not any(c.startswith("License ::") for c in meta.get_all("Classifier") or []),
     "a License :: classifier next to License-Expression")
want(tuple(int(p) for p in meta["Metadata-Version"].split(".")) >= (2, 4),
     f"Metadata-Version {meta['Metadata-Version']} (PEP 639 needs 2.4)")
for url_kind in ("Source", "Changelog", "Issues"):
    want(any(u.startswith(f"{url_kind}, ") for u in meta.get_all("Project-URL") or []),
         f"no Project-URL {url_kind}")
want(meta["Requires-Python"] == ">=3.10", f"Requires-Python {meta['Requires-Python']!r}")
want("demo" in (meta.get_all("Provides-Extra") or []), "no demo extra")
for path in ("soc2gate/py.typed", "soc2gate/schemas/evidence.schema.json", "soc2gate/cli.py"):
    want(path in names, f"{path} missing")
want("soc2gate = soc2gate.cli:main" in wheel.read(f"{dist_info}/entry_points.txt").decode(),
     "no soc2gate console script")
want(not any(n.startswith(("tests/", "scripts/", "examples/")) for n in names),
     "tests, scripts or examples inside the wheel")
want(not any(n.endswith((".pyc", ".pyo")) or "__pycache__" in n for n in names), "bytecode in the wheel")
for problem in problems:
    print(f"wheel: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

run "sdist: everything a downstream packager needs" "$PY" - "$sdist" "$tracked" <<'PY'
import sys, tarfile
sdist, tracked_list = sys.argv[1:3]
with tarfile.open(sdist) as tar:
    members = tar.getnames()
top = members[0].split("/")[0]
names = {m[len(top) + 1:] for m in members if m.startswith(top + "/")}
problems = []
required = {"LICENSE", "README.md", "CHANGELOG.md", "SECURITY.md", "pyproject.toml", "PKG-INFO",
            "tests/schemas/junit-10.xsd", "tests/schemas/README.md", "tests/conftest.py",
            "requirements.lock", "action.yml", "Dockerfile", "docker/entrypoint.py",
            "scripts/check_lock.py", "examples/iam-policy.json", ".ci/run", "dev.py"}
# Everything tracked, except what only matters to git or to the docker build context.
skip_files = {".gitignore", ".dockerignore", ".gitattributes"}
tracked = [line.strip() for line in open(tracked_list, encoding="utf-8") if line.strip()]
required |= {p for p in tracked if p not in skip_files}
missing = sorted(required - names)
if missing:
    problems.append("missing: " + ", ".join(missing)
                    + " (add them to MANIFEST.in, or to the skip list in scripts/package-check.sh)")
junk = sorted(n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))
              or n.split("/")[0] in {".venv", ".git", ".mypy_cache", ".pytest_cache",
                                     ".ruff_cache", "build", "dist", "soc2gate-demo"})
if junk:
    problems.append("should not be there: " + ", ".join(junk[:20]))
pkg_info = tarfile.open(sdist).extractfile(f"{top}/PKG-INFO").read().decode()
if "License-Expression: Apache-2.0" not in pkg_info:
    problems.append("PKG-INFO has no License-Expression: Apache-2.0")
for problem in problems:
    print(f"sdist: {problem}", file=sys.stderr)
print(f"sdist: {len(names)} files, {len(tracked)} tracked files checked", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# ---- install ------------------------------------------------------------------------------
install_and_run() {
    local venv=$work/venv-user version
    version=$(basename "$wheel" | cut -d- -f2)
    python3 -m venv "$venv" || return 1
    # Outside the checkout, so `soc2gate` can only come from the installed wheel.
    (
        cd "$work" || exit 1
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" 2>&1 \
            | grep -v "^WARNING: Location '" >&2
        [ "${PIPESTATUS[0]}" -eq 0 ] || { log "pip install of the wheel failed"; exit 1; }
        got=$("$venv/bin/soc2gate" --version) || exit 1
        [ "$got" = "soc2gate $version" ] || { log "soc2gate --version says '$got', built $version"; exit 1; }
        "$venv/bin/soc2gate" list-checks >"$work/list-checks.txt" || { log "list-checks failed"; exit 1; }
        grep -q 'ecr-scan-findings' "$work/list-checks.txt" || { log "list-checks lists no checks"; exit 1; }
        log "installed: $got; list-checks: $(grep -c -E '^[a-z]+(-[a-z0-9]+)+' "$work/list-checks.txt") check lines"
    )
}
install_demo_and_run() {
    local venv=$work/venv-user rc
    (
        cd "$work" || exit 1
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel}[demo]" 2>&1 \
            | grep -v "^WARNING: Location '" >&2
        [ "${PIPESTATUS[0]}" -eq 0 ] || { log "pip install of the wheel with [demo] failed"; exit 1; }
        "$venv/bin/soc2gate" demo --scenario healthy --speed 10 --out "$work/demo-healthy" \
            >"$work/demo-healthy.log" 2>&1
        rc=$?
        [ "$rc" -eq 0 ] || { tail -n 30 "$work/demo-healthy.log" >&2; log "demo healthy: exit $rc, expected 0"; exit 1; }
        "$venv/bin/soc2gate" demo --scenario critical-finding --speed 10 --out "$work/demo-critical" \
            >"$work/demo-critical.log" 2>&1
        rc=$?
        [ "$rc" -eq 1 ] || { tail -n 30 "$work/demo-critical.log" >&2; log "demo critical-finding: exit $rc, expected 1"; exit 1; }
        find "$work/demo-healthy" -name '*.xml' | grep -q . || { log "demo wrote no JUnit file"; exit 1; }
    )
}
if [ "$skip_install" = 0 ]; then
    run "fresh venv: pip install the wheel; soc2gate --version, list-checks" install_and_run
    run "fresh venv: the wheel with [demo]; soc2gate demo healthy (0), critical-finding (1)" install_demo_and_run
fi

if [ -n "$dist_dir" ]; then
    mkdir -p "$dist_dir" && cp "$sdist" "$wheel" "$dist_dir/" && log "copied the dists to $dist_dir"
fi

finish
