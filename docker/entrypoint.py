"""Container entrypoint: drop root before any soc2gate code runs.

Usage (fixed in the Dockerfile's ENTRYPOINT; the rest comes from CMD / `docker run` args /
action.yml `args`):

    /opt/soc2gate/bin/python -I /opt/soc2gate/libexec/entrypoint.py PROGRAM [ARGS...]

Why the image starts as root at all: GitHub runs a container action with the image's USER
and mounts the workspace and /github/file_commands owned by the runner user (uid 1001 on
hosted runners). An image that runs as uid 1000 cannot write GITHUB_OUTPUT, the step summary
or the JUnit file; one that runs as root leaves root-owned files in the workspace that the
next step (and actions/checkout's clean-up) cannot delete. There is no `--user` for container
actions. So the image starts as root and this script, before importing anything of
soc2gate, becomes:

  * on GitHub (GITHUB_ACTIONS=true): the owner uid/gid of $GITHUB_WORKSPACE, if non-zero;
  * otherwise (docker run, CodeBuild, a root-owned workspace): 1000:1000, the image's
    `soc2gate` user.

It clears supplementary groups, sets gid then uid (all three of real/effective/saved),
checks that root cannot be regained, points HOME at a directory the new user can write,
and only then starts PROGRAM. Started as non-root (`docker run --user ...`, the `runtime`
build target) it changes nothing and just starts PROGRAM.

It then execs PROGRAM, which becomes PID 1 when the container has no init. The kernel
delivers to PID 1 only the signals it has handlers for; soc2gate's main() installs a
SIGTERM handler (exit 143, JUnit still written) and Python's own SIGINT handler gives 130,
so `docker stop` and job cancellation end the gate cleanly without a supervisor here.

Stdlib only, and run with `python -I` so no PYTHON* variable or user site-packages can
inject code into the part that runs as root. The venv and this file are owned by root and
not writable by the gate's user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sys
import tempfile

DEFAULT_UID = 1000
DEFAULT_GID = 1000


def log(message: str) -> None:
    print(f"soc2gate-entrypoint: {message}", file=sys.stderr, flush=True)


def target_ids(env: dict[str, str]) -> tuple[int, int, str]:
    """The uid/gid the gate runs as when the container was started as root."""
    if env.get("GITHUB_ACTIONS") == "true":
        workspace = env.get("GITHUB_WORKSPACE", "")
        try:
            st = os.stat(workspace) if workspace else None
        except OSError as exc:
            log(f"cannot stat GITHUB_WORKSPACE={workspace!r} ({exc}); using {DEFAULT_UID}")
            st = None
        if st is not None and st.st_uid != 0:
            return st.st_uid, st.st_gid, f"owner of {workspace}"
        if st is not None:
            # A self-hosted runner running as root: never run the gate as root; outputs
            # will only be writable if the workspace lets uid 1000 write.
            log(f"{workspace} is owned by root; running as {DEFAULT_UID}:{DEFAULT_GID}")
    return DEFAULT_UID, DEFAULT_GID, "image default"


def drop_privileges(uid: int, gid: int) -> None:
    if uid == 0 or gid == 0:
        raise SystemExit("soc2gate-entrypoint: refusing to run the gate as root")
    os.setgroups([])
    os.setresgid(gid, gid, gid)  # group first: after setuid we could no longer change it
    os.setresuid(uid, uid, uid)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise SystemExit("soc2gate-entrypoint: could regain root after dropping it; aborting")
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise SystemExit("soc2gate-entrypoint: privilege drop did not take effect; aborting")


def writable_home(env: dict[str, str]) -> str:
    """A HOME the current user can write: GitHub's /github/home, the passwd home, or a temp dir.

    botocore reads ~/.aws and some credential providers cache there; HOME=/root (inherited
    from a root start) would make that fail with permission errors instead of falling back.
    """
    candidates = [env.get("HOME", "")]
    with contextlib.suppress(KeyError):  # uid 1001 has no passwd entry in the image
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    for home in candidates:
        if home and os.path.isdir(home) and os.access(home, os.W_OK | os.X_OK):
            return home
    return tempfile.mkdtemp(prefix="soc2gate-home-")


def warn_if_unwritable(env: dict[str, str]) -> None:
    """Say early, and in the runner's words, why outputs will be missing."""
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = env.get(name)
        if path and os.path.exists(path) and not os.access(path, os.W_OK):
            log(f"{name}={path} is not writable by uid {os.getuid()}; the step will lack it")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        log("usage: entrypoint.py PROGRAM [ARGS...]")
        return 2
    program = argv[1:]
    env = dict(os.environ)
    if os.geteuid() == 0:
        uid, gid, why = target_ids(env)
        drop_privileges(uid, gid)
        log(f"started as root, running as {uid}:{gid} ({why})")
    os.environ["HOME"] = writable_home(env)
    warn_if_unwritable(env)
    try:
        os.execv(program[0], program)
    except OSError as exc:
        log(f"cannot start {program[0]}: {exc}")
        return 127
    return 127  # not reached: execv only returns by raising


if __name__ == "__main__":
    sys.exit(main(sys.argv))
