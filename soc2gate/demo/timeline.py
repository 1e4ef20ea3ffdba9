"""``Timeline``: a world's state changes at set times, in a background thread.

``soc2gate demo`` plays the guide's deployment in compressed wall-clock time while the gate
polls (image pushed at "min 3", scan done at "min 5", the endpoint InService or Failed later):
``MotoWorld.run_timeline`` runs those steps here. Tests mostly drive state by call counts
(``MotoWorld.on_call``) instead, or hand in their own ``sleep`` so no step waits for real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

#: The world the steps act on (a ``MotoWorld``; generic so this module never imports it).
W = TypeVar("W")


class Timeline(Generic[W]):
    """Runs ``(seconds, description, action)`` steps in a background thread (see ``run_timeline``)."""

    def __init__(
        self,
        world: W,
        steps: Sequence[tuple[float, str, Callable[[W], None]]],
        on_event: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.world = world
        self.steps = sorted(steps, key=lambda s: s[0])
        self.on_event = on_event
        self._sleep = sleep
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self.done: list[str] = []
        self._thread = threading.Thread(target=self._run, name="soc2gate-timeline", daemon=True)

    def start(self) -> Timeline[W]:
        self._thread.start()
        return self

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is None:
            self._stop.wait(seconds)
        else:
            self._sleep(seconds)

    def _run(self) -> None:
        elapsed = 0.0
        for at, description, action in self.steps:
            self._wait(at - elapsed)
            elapsed = max(elapsed, at)
            if self._stop.is_set():
                return
            try:
                action(self.world)
            except BaseException as exc:  # reported via errors / join()
                self.errors.append(exc)
                return
            self.done.append(description)
            if self.on_event is not None:
                self.on_event(description)

    def stop(self) -> None:
        """Skip the remaining steps (a running action finishes)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread; re-raise the first action error."""
        self._thread.join(timeout)
        if self.errors:
            raise self.errors[0]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
