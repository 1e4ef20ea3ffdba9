# shellcheck shell=bash
# Sourced by scripts/lint-integrations.sh and scripts/package-check.sh: one throwaway venv of
# pinned tools per script, made once and reinstalled only when its tool list changes.
#
#   ensure_tool_venv VENV STAMP WHAT TOOL...
#     VENV   the venv's folder        STAMP  the file in it that records the tool list
#     WHAT   words for the log lines  TOOL   pip requirement specifiers
# Uses the caller's `log`; exits 2 when the venv cannot be made or the tools installed.
ensure_tool_venv() {
    local venv=$1 stamp=$1/$2 what=$3
    shift 3
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv"
        python3 -m venv "$venv" || { log "cannot create $venv"; exit 2; }
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$*" ]; then
        log "installing $what into $venv"
        # (grep drops the warnings a machine-wide pip.conf with missing local indexes causes.)
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
            | grep -v "^WARNING: Location '" >&2
        [ "${PIPESTATUS[0]}" -eq 0 ] || { log "pip install of the $what failed"; exit 2; }
        printf '%s' "$*" >"$stamp"
    fi
}
