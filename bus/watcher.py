"""Notice human edits while `intern go` runs and commit them as the human within about a second.

watchdog reports a change in ~1 ms here; the watcher waits for a short quiet spell (editors
write a file in several steps) and then commits whatever git sees changed that the bus did not
commit itself. The supervisor drains `events` at each decision. Editors' swap, backup and temp
files are never a human's edit; a secret pasted into a file is masked before the commit (see
Workspace.commit_human_edits).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import warnings
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from bus.workspace import STATE_DIR, Workspace, is_editor_file

QUIET_SECONDS = 0.25
# inotify re-adds a watch when a folder is recreated (git does that under .git/objects) and warns
# each time; the watch is correct afterwards, so the warning is only noise on the terminal.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)


@dataclass(frozen=True)
class HumanEditEvent:
    sha: str
    paths: list[str] = field(default_factory=list)
    when: float = field(default_factory=time.time)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: HumanEditWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = raw.decode() if isinstance(raw, bytes) else raw
            if path and self.watcher.relevant(path):
                self.watcher.poke()


class HumanEditWatcher:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.events: queue.Queue[HumanEditEvent] = queue.Queue()
        self._dirty_since: float | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._observer = Observer()
        self._observer.schedule(_Handler(self), str(workspace.root), recursive=True)
        self._thread = threading.Thread(target=self._loop, name="intern-human-edits", daemon=True)

    def relevant(self, path: str) -> bool:
        root = str(self.workspace.root)
        rel = path[len(root) + 1 :] if path.startswith(root) else path
        return (
            bool(rel)
            and rel not in (".git", STATE_DIR)
            and not rel.startswith((".git/", STATE_DIR + "/"))
            and ".tmp-" not in rel
            and not is_editor_file(rel)  # vim's swap file, gedit's temp file: the real save comes after
        )

    def poke(self) -> None:
        with self._cond:
            self._dirty_since = time.monotonic()
            self._cond.notify()

    def start(self) -> HumanEditWatcher:
        self._observer.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        # inotify logs a spurious error when an event races the shutdown; nothing is lost by it.
        inotify_log = logging.getLogger("watchdog.observers.inotify")
        level = inotify_log.level
        inotify_log.setLevel(logging.CRITICAL)
        self._observer.stop()
        self._observer.join(timeout=5)
        inotify_log.setLevel(level)
        self._thread.join(timeout=5)
        self.flush()

    def flush(self) -> HumanEditEvent | None:
        """Commit pending human edits now (also called by the supervisor before each decision)."""
        before = self.workspace.pending_human_edits()
        sha = self.workspace.commit_human_edits()
        if sha:
            event = HumanEditEvent(sha, before)
            self.events.put(event)
            return event
        return None

    def drain(self) -> list[HumanEditEvent]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._dirty_since is None:
                    self._cond.wait()
                if self._stop:
                    return
                wait = QUIET_SECONDS - (time.monotonic() - self._dirty_since)
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._dirty_since = None
            try:
                self.flush()
            except Exception as exc:  # a git hiccup must not kill the watcher thread
                print(f"intern: could not commit a human edit yet ({exc}); will retry on the next change")
