"""Messages from the training thread and the file-reading workers to the app. Posted with `post_message`,
which is thread-safe and never blocks the thread (unlike `call_from_thread`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

import cifar_tui.engine.run.events as ev
from cifar_tui.engine.run.state import RunState


class EngineEvent(Message):
    """One engine event (epoch end, evaluation, phase change...)."""

    def __init__(self, event: ev.Event, run_id: str) -> None:
        super().__init__()
        self.event = event
        self.run_id = run_id


class BatchProgress(EngineEvent):
    """A batch event. A newer one for the same strategy replaces a queued older one, so a slow screen
    sees only the latest progress instead of a backlog."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchProgress) and message.event.strategy == self.event.strategy


class RunError(Message):
    """The run could not start or crashed: a one-line message the user can act on."""

    def __init__(self, message: str, run_id: str, kind: str = "") -> None:
        super().__init__()
        self.message = message
        self.run_id = run_id
        self.kind = kind  # "data", "weights", "config", "store" or "" (unexpected)


def posting_sink(target, run_id: str, stop_event=None):
    """A sink for the engine's stream that posts to `target` (the app). Stops posting once cancelled, so
    late events cannot reach screens that are being torn down."""

    def sink(event: ev.Event) -> None:
        if stop_event is not None and stop_event.is_set() and isinstance(event, ev.BatchEnd):
            return
        message = BatchProgress(event, run_id) if isinstance(event, ev.BatchEnd) else EngineEvent(event, run_id)
        target.post_message(message)

    return sink


class ResumePlanned(Message):
    def __init__(self, plan, error: str) -> None:
        super().__init__()
        self.plan, self.error = plan, error


@dataclass
class Following:
    """A run followed on a RunViewScreen: the file reader (used by one worker at a time) and the state."""

    run_id: str
    follower: Any
    state: RunState
    screen: Any
    busy: threading.Lock = field(default_factory=threading.Lock)


class FollowOpened(Message):
    def __init__(self, run_id: str, follower, state: RunState) -> None:
        super().__init__()
        self.run_id, self.follower, self.state = run_id, follower, state


class FollowPolled(Message):
    def __init__(self, follow: Following, events: list, writer) -> None:
        super().__init__()
        self.follow, self.events, self.writer = follow, events, writer  # writer: cifar_tui.engine.store.liveness.Writer


class FollowFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
