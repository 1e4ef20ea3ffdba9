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

One exception: a self-hosted GitHub runner that runs as root. Its workspace, GITHUB_OUTPUT
and GITHUB_STEP_SUMMARY belong to root, so uid 1000 could write none of them, and running
the gate as root is not an option (a root process in a container action can reach the
mounted docker socket). There this script stays, as root, the parent of the gate instead of
exec'ing it:

  * it makes a staging directory owned by the gate's user and points GITHUB_OUTPUT,
    GITHUB_STEP_SUMMARY and SOC2GATE_STAGING_DIR at it; the gate writes its reports there
    and lists them, with their real paths, in manifest.jsonl;
  * it starts the gate (same privilege drop, own process group) and forwards SIGINT,
    SIGTERM, SIGHUP and SIGQUIT to it, so cancellation still ends it with 130 / 143;
  * when the gate has exited it copies each listed report to its path, only inside
    GITHUB_WORKSPACE (symlinks refused), as root, i.e. owned by the runner user like
    everything else there; appends the staged outputs and summary to the runner's files;
    and exits with the gate's exit code. A report it cannot copy turns a passing run's 0
    into 3, as the gate itself does; outputs or a summary it cannot append are a warning.

No soc2gate code runs as root in that mode either: the parent only copies bytes.

Stdlib only, and run with `python -I` so no PYTHON* variable or user site-packages can
inject code into the part that runs as root. The venv and this file are owned by root and
not writable by the gate's user.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable
from typing import Any

DEFAULT_UID = 1000
DEFAULT_GID = 1000
#: The same names as soc2gate.cli.STAGING_ENV / STAGING_MANIFEST (stdlib only: not imported).
STAGING_ENV = "SOC2GATE_STAGING_DIR"
STAGING_MANIFEST = "manifest.jsonl"
GITHUB_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


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
        # Else a self-hosted runner running as root (or no workspace): never run the gate as
        # root; root_runner_workspace and supervise get its outputs written all the same.
    return DEFAULT_UID, DEFAULT_GID, "image default"


def root_runner_workspace(env: dict[str, str]) -> str:
    """GITHUB_WORKSPACE when this is GitHub on a runner that runs as root, else ""."""
    workspace = env.get("GITHUB_WORKSPACE", "")
    if env.get("GITHUB_ACTIONS") != "true" or not workspace:
        return ""
    try:
        return workspace if os.stat(workspace).st_uid == 0 else ""
    except OSError:
        return ""


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


# ---- a GitHub runner that runs as root: stage, supervise, publish ---------------------------


def _inside(path: str, directory: str) -> bool:
    return os.path.commonpath([path, directory]) == directory


def _open_staged(path: str, uid: int) -> int:
    """Open a file the gate wrote in the staging directory: a regular file of the gate's
    user with one link (not a symlink, nor a hard link to someone else's file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != uid or st.st_nlink != 1:
        os.close(fd)
        raise ValueError(f"{path} is not a regular file of uid {uid}")
    return fd


def copy_into_workspace(source_fd: int, dest: str, workspace: str) -> None:
    """Write the bytes of ``source_fd`` to ``dest``, which must lie inside ``workspace``.

    As root, so only after checking the path both as written and as resolved (a symlinked
    directory in the checkout must not lead outside); replaced atomically, never followed.
    """
    if not os.path.isabs(dest):
        raise ValueError(f"{dest!r} is not an absolute path")
    dest = os.path.normpath(dest)
    base = os.path.realpath(workspace)
    if not (_inside(dest, os.path.normpath(workspace)) or _inside(dest, base)) or dest in (
        os.path.normpath(workspace),
        base,
    ):
        raise ValueError(f"{dest} is not inside the workspace {workspace}")
    parent = os.path.dirname(dest)
    existing = parent
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not _inside(os.path.realpath(existing), base):
        raise ValueError(f"{dest} leads outside the workspace {workspace}")
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if not _inside(os.path.realpath(parent), base):
        raise ValueError(f"{dest} leads outside the workspace {workspace}")
    fd, tmp = tempfile.mkstemp(prefix=".soc2gate-", dir=parent)
    try:
        with os.fdopen(fd, "wb") as out, os.fdopen(os.dup(source_fd), "rb") as src:
            shutil.copyfileobj(src, out)
            os.fchmod(out.fileno(), 0o644)
        os.replace(tmp, dest)  # replaces a symlink at dest, never writes through it
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def publish_reports(staging: str, workspace: str, uid: int, code: int) -> int:
    """Copy the reports the gate listed into the workspace; the exit code to use."""
    try:
        fd = _open_staged(os.path.join(staging, STAGING_MANIFEST), uid)
    except FileNotFoundError:
        return code  # no report written (a configuration error, say)
    except (OSError, ValueError) as exc:
        log(f"cannot read the gate's list of reports: {exc}")
        return 3 if code == 0 else code
    with os.fdopen(fd, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    failed = False
    for line in lines:
        dest: Any = "?"
        try:
            entry = json.loads(line)
            dest, name = entry["path"], entry["staged"]
            if not isinstance(dest, str) or not isinstance(name, str):
                raise ValueError("malformed entry")
            if name in ("", ".", "..") or os.path.basename(name) != name:
                raise ValueError(f"staged name {name!r} is not a file name")
            source = _open_staged(os.path.join(staging, name), uid)
            try:
                copy_into_workspace(source, dest, workspace)
            finally:
                os.close(source)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log(f"cannot write the report {dest} into the workspace: {exc}")
            failed = True
    if failed and code == 0:
        log("a report could not be written: exit 3 instead of 0")
        return 3
    return code


def publish_github_files(files: dict[str, tuple[str, str]], uid: int, code: int) -> None:
    """Append the staged outputs and summary to the runner's files (a warning if it fails)."""
    for name, (real, staged) in files.items():
        try:
            source = _open_staged(staged, uid)
            with os.fdopen(source, "rb") as src:
                data = src.read()
            if not data:
                continue
            out = os.open(real, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            with os.fdopen(out, "wb") as handle:
                handle.write(data)
        except (OSError, ValueError) as exc:
            log(
                f"warning: cannot write {name} {real}: {exc}; the step will lack it "
                f"(exit code {code} unchanged)"
            )


def run_child(program: list[str], uid: int, gid: int, env: dict[str, str]) -> int:
    """Start PROGRAM unprivileged, forward signals to it, return its exit code (128+N for a
    signal N)."""
    state = {"child": 0, "parent": os.getpid()}
    pending: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        if os.getpid() != state["parent"]:
            return  # the child, between fork and exec
        if state["child"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(state["child"], signum)
        else:
            pending.append(signum)

    previous: dict[int, Callable[..., Any] | int | None] = {
        s: signal.signal(s, forward) for s in FORWARDED_SIGNALS
    }
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            for forwarded in FORWARDED_SIGNALS:
                signal.signal(forwarded, signal.SIG_DFL)
            # Its own process group: a Ctrl-C at a terminal reaches it once, through us.
            os.setpgid(0, 0)
            drop_privileges(uid, gid)
            env["HOME"] = writable_home(env)
            warn_if_unwritable(env)
            os.execve(program[0], program, env)
        except SystemExit as exc:
            print(exc.code, file=sys.stderr, flush=True)
            os._exit(1)
        except OSError as exc:
            log(f"cannot start {program[0]}: {exc}")
            os._exit(127)
        os._exit(127)  # not reached
    state["child"] = pid
    for early in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, early)
    _, status = os.waitpid(pid, 0)  # retried after each forwarded signal (PEP 475)
    # Nothing the gate left behind may still run (and race the copy) once it has exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for restored, handler in previous.items():
        signal.signal(restored, handler)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def supervise(program: list[str], uid: int, gid: int, env: dict[str, str], workspace: str) -> int:
    """Run PROGRAM as uid:gid with its reports staged, then publish them as root."""
    staging = tempfile.mkdtemp(prefix="soc2gate-staging-")
    try:
        os.chown(staging, uid, gid)
        child_env = dict(env)
        child_env[STAGING_ENV] = staging
        github_files: dict[str, tuple[str, str]] = {}
        for name in GITHUB_FILES:
            real = env.get(name)
            if not real:
                continue
            staged = os.path.join(staging, name.lower())
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            os.fchown(fd, uid, gid)
            os.close(fd)
            child_env[name] = staged
            github_files[name] = (real, staged)
        log(
            f"the runner runs as root ({workspace} is owned by root): running the gate as "
            f"{uid}:{gid} with its reports staged, and writing them into the workspace as root"
        )
        code = run_child(program, uid, gid, child_env)
        code = publish_reports(staging, workspace, uid, code)
        publish_github_files(github_files, uid, code)
        return code
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        log("usage: entrypoint.py PROGRAM [ARGS...]")
        return 2
    program = argv[1:]
    env = dict(os.environ)
    if os.geteuid() == 0:
        uid, gid, why = target_ids(env)
        workspace = root_runner_workspace(env)
        if workspace:
            return supervise(program, uid, gid, env, workspace)
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
