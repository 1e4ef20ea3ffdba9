#!/usr/bin/env bash
# Refresh requirements.lock: the runtime dependencies of pyproject.toml, pinned with the sha256 of
# every file PyPI has for each pinned version (pip-compile --generate-hashes), header kept.
#
#   scripts/refresh-lock.sh                      re-resolve, keeping current pins that still fit
#   scripts/refresh-lock.sh --upgrade            every dependency to its newest version
#   scripts/refresh-lock.sh --upgrade-package botocore --upgrade-package boto3
#                                                just those (e.g. to take a security fix)
#
# Then it runs scripts/check_lock.py. Review the diff, commit, and CI's pip-audit and container
# test check the result. Any other arguments go to pip-compile.
#
# The lock must hold PyPI's hashes (the Dockerfile installs from PyPI with --require-hashes),
# so pip-compile is pointed at $LOCK_INDEX_URL (default https://pypi.org/simple) with the
# machine's pip configuration (extra indexes, find-links, constraints) switched off.
# pip-tools lives in its own venv ($LOCK_VENV, default ~/.cache/soc2gate-lock-venv).
# The lock must stay installable on CPython 3.11 and 3.12 (the image's bases); run this with a
# python3 of 3.11 or 3.12.
#
# Env: LOCK_OUTPUT (default requirements.lock), LOCK_INDEX_URL, LOCK_VENV.
# Exit: 0 done, 1 pip-compile or check_lock failed, 2 setup failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LOCK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soc2gate-lock-venv}
OUTPUT=${LOCK_OUTPUT:-$ROOT/requirements.lock}
INDEX_URL=${LOCK_INDEX_URL:-https://pypi.org/simple}
PIP_TOOLS="pip-tools==7.6.2"

log() { printf '[refresh-lock] %s\n' "$*" >&2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/soc2gate-refresh-lock.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV" || { log "cannot create $VENV"; exit 2; }
fi
if ! "$VENV/bin/python" -m pip show --quiet pip-tools >/dev/null 2>&1 \
    || [ "$("$VENV/bin/python" -m pip show pip-tools 2>/dev/null | sed -n 's/^Version: //p')" != "${PIP_TOOLS#*==}" ]; then
    log "installing $PIP_TOOLS into $VENV"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIP_TOOLS" \
        >"$work/pip.log" 2>&1; then
        # (grep drops the warnings a machine-wide pip.conf with missing local indexes causes.)
        grep -v "^WARNING: Location '" "$work/pip.log" >&2
        log "pip install $PIP_TOOLS failed"
        exit 2
    fi
fi

# The header is every comment line before the first requirement; pip-compile writes none
# (--no-header), so it is put back as it was.
header=$work/header
body=$work/requirements.lock
if [ -f "$OUTPUT" ]; then
    awk '/^[^#]/ { exit } { print }' "$OUTPUT" >"$header"
    cp "$OUTPUT" "$body" # pip-compile keeps the pins it finds there unless told to upgrade
else
    : >"$header"
fi

log "pip-compile against $INDEX_URL"
(
    cd "$ROOT"
    env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
        PIP_CONFIG_FILE=/dev/null \
        "$VENV/bin/pip-compile" --quiet --generate-hashes --no-emit-index-url --strip-extras \
        --no-header --index-url "$INDEX_URL" --output-file "$body" "$@" pyproject.toml
) || { log "pip-compile failed"; exit 1; }

cat "$header" "$body" >"$work/new.lock"
if [ -f "$OUTPUT" ] && cmp -s "$work/new.lock" "$OUTPUT"; then
    log "$OUTPUT is already up to date"
else
    cp "$work/new.lock" "$OUTPUT"
    log "wrote $OUTPUT"
fi
python3 "$ROOT/scripts/check_lock.py" --lock "$OUTPUT" || exit 1
