"""Exit codes of the ``soc2gate`` command. Scripts and the GitHub Action depend on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every value the ``soc2gate`` process can exit with."""

    #: All selected checks passed (skipped checks are allowed).
    PASSED = 0
    #: At least one check failed, including a check still pending at the deadline.
    FAILED = 1
    #: Usage or configuration error: nothing was checked; one line on stderr names the bad
    #: flag, key or value.
    USAGE = 2
    #: No check failed, but at least one could not be evaluated (AWS error, AccessDenied,
    #: unknown state, bug).
    ERROR = 3
    #: Interrupted by SIGINT (Ctrl-C).
    INTERRUPTED = 130
    #: Terminated by SIGTERM (a CI runner cancelling the job).
    TERMINATED = 143


EXIT_CODE_HELP = """\
exit codes:
  0    all selected checks passed (skipped checks allowed)
  1    at least one check failed (including still pending at the deadline)
  2    usage or configuration error (nothing was checked)
  3    no check failed, but at least one could not be evaluated (ERROR)
  130  interrupted (SIGINT); 143 terminated (SIGTERM); the JUnit file is still written
"""
