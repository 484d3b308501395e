"""The workspace: a git repository whose files are the whole state of a post-training effort.

Every artifact write is validated, redacted, written atomically and committed once, by the
agent that made it. Changes nobody on the bus made are a human's, and are committed as theirs
before any agent touches the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import git

from bus import commits, data_refs, ownership
from bus.artifacts import dump_artifact, load_artifact, parse_artifact, schema_for
from bus.errors import ArtifactError, BusError, NotAWorkspaceError
from bus.layout import GOAL_FILE, PLAN_FILE, RUNS
from bus.lock import WorkspaceLock, WriteLock
from bus.plan import Plan, check_supervisor_edit
from bus.redact import Masker, find_secrets, redact
from bus.revert import changed_paths, reverted_files
from bus.schemas import Artifact, Goal
from bus.write_rules import check_write, normalize

STATE_DIR = ".intern"
WRITING_FILE = "writing.json"  # the artifact write in progress, for finish_interrupted_write
HUMAN_FALLBACK = ("human", "human@intern.local")
_TRAILER = re.compile(r"^(Intern-[A-Za-z-]+):\s*(.+)$", re.MULTILINE)
_RUN_PATH = re.compile(rf"^{RUNS}/([^/]+)/")
# Files in the template that are not workspace content.
_TEMPLATE_SKIP = {"__init__.py", "__pycache__"}
# What editors write next to the file being edited (vim swap and backup files and its `4913` probe,
# emacs lock and autosave files, gedit/GIO's temp files, kate, LibreOffice locks). Never a human's
# words: never committed, whatever the workspace's .gitignore says.
EDITOR_FILE = re.compile(
    r"(^|/)(\.[^/]*\.sw[a-p]|[^/]*~|\.#[^/]*|#[^/]*#|\.goutputstream-[^/]*|4913|[^/]*\.kate-swp|\.~lock\.[^/]*#|"
    r"\.DS_Store|[^/]*\.tmp-[^/]*)$"
)


def agent_actor(agent: str) -> git.Actor:
    return git.Actor(agent, f"{agent}@intern.local")


UNCHECKED = object()  # _atomic_write's `expect` when nothing was read before the write


def _universal_newlines(text: str) -> str:
    """Text as Path.read_text gives it: CRLF and CR read as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class ChangedOnDisk(BusError):
    """The file changed between an agent's read and its write (a human saved it): the write was not made."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    when: float
    summary: str
    agent: str | None
    artifact: str | None
    run: str | None

    @property
    def short(self) -> str:
        return self.sha[:8]


def template_root() -> resources.abc.Traversable:
    """The workspace template shipped inside the installed package (not read from a source tree)."""
    return resources.files("workspace_template")


def _copy_template(src: resources.abc.Traversable, dest: Path) -> None:
    for entry in src.iterdir():
        if entry.name in _TEMPLATE_SKIP or entry.name.endswith(".pyc"):
            continue
        # `.gitignore` ships as `gitignore`: package tools drop dotfiles too easily.
        name = ".gitignore" if entry.name == "gitignore" else entry.name
        if entry.is_dir():
            (dest / name).mkdir(exist_ok=True)
            _copy_template(entry, dest / name)
        else:
            (dest / name).write_bytes(entry.read_bytes())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """One hash over every file of a directory (names and contents), e.g. a checkpoint."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = git.Repo(root)
        self._mutex = threading.RLock()
        self._scratch: set[str] = set()  # files an agent's subprocess is writing right now
        # One writer at a time across every intern process (`intern go`, `intern revert`, the watcher).
        self.writer = WriteLock(root / STATE_DIR / "write.lock")
        self.notices: list[str] = []  # one-line notices for the terminal and plan.md (taken by the supervisor)
        self._last_goal: Goal | None = None
        self._held: tuple[Goal, bytes | None, str] | None = None  # see hold_goal
        self.goal_problem: str | None = None  # why intern.yaml is not used right now, if it is not

    # --- creating and opening -----------------------------------------------------------

    @classmethod
    def init(cls, directory: str | Path) -> Workspace:
        root = Path(directory).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise BusError(f"{root} is a file, not a folder; intern init needs a new or empty directory")
        if root.exists() and any(root.iterdir()):
            raise BusError(f"{root} is not empty; intern init needs a new or empty directory")
        root.mkdir(parents=True, exist_ok=True)
        _copy_template(template_root(), root)
        (root / STATE_DIR).mkdir(exist_ok=True)
        repo = git.Repo.init(root, initial_branch="main")
        repo.index.add([p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if _is_content(root, p)])
        actor = agent_actor("supervisor")
        repo.index.commit(
            "Start a new intern workspace from the template\n\nIntern-Agent: supervisor\n",
            author=actor,
            committer=actor,
        )
        return cls(root)

    @classmethod
    def open(cls, directory: str | Path) -> Workspace:
        root = Path(directory).expanduser().resolve()
        if not (root / GOAL_FILE).is_file() or not (root / ".git").exists():
            raise NotAWorkspaceError(
                f"{root} is not an intern workspace (no {GOAL_FILE} under git); create one with `intern init {directory}`"
            )
        (root / STATE_DIR).mkdir(exist_ok=True)
        return cls(root)

    def lock(self) -> WorkspaceLock:
        return WorkspaceLock(self.root / STATE_DIR / "lock")

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    # --- reading ------------------------------------------------------------------------

    def path(self, relative: str) -> Path:
        return self.root / normalize(relative)

    def exists(self, relative: str) -> bool:
        return self.path(relative).exists()

    def read_text(self, relative: str) -> str:
        return self.path(relative).read_text(encoding="utf-8")

    def load(self, relative: str) -> Artifact:
        return load_artifact(self.root, normalize(relative))

    def goal(self) -> Goal:
        """intern.yaml; when it is invalid after a valid read, the last valid goal (and `goal_problem` says why).

        So every agent of a running loop keeps the same last valid goal while a human's edit is broken.
        """
        if self._held is not None and self._goal_bytes() == self._held[1]:
            self.goal_problem = self._held[2]
            return self._held[0]
        self._held = None
        try:
            goal = self.load(GOAL_FILE)
        except ArtifactError as exc:
            if self._last_goal is None:
                raise
            self.goal_problem = str(exc)
            return self._last_goal
        assert isinstance(goal, Goal)
        self._last_goal, self.goal_problem = goal, None
        return goal

    def hold_goal(self, goal: Goal, problem: str) -> None:
        """Keep answering `goal` (and `problem`) while intern.yaml stays as it is now (valid YAML, unusable inputs)."""
        self._held = (goal, self._goal_bytes(), problem)
        self._last_goal = goal

    def release_goal(self) -> None:
        """Stop holding a goal (the supervisor checks today's intern.yaml again at each decision)."""
        self._held = None

    def _goal_bytes(self) -> bytes | None:
        try:
            return (self.root / GOAL_FILE).read_bytes()
        except OSError:
            return None

    def plan(self) -> Plan:
        """plan.md as a Plan; a missing or unreadable plan.md reads as the template's (see repair_plan)."""
        return Plan.parse(self._plan_text()[0])

    def _plan_text(self) -> tuple[str, str | None]:
        """(text, problem): plan.md's text, or the template's with why plan.md could not be used."""
        full = self.root / PLAN_FILE
        try:
            return full.read_bytes().decode("utf-8"), None
        except FileNotFoundError:
            problem = "plan.md was missing"
        except UnicodeDecodeError as exc:
            problem = f"plan.md was not UTF-8 text (byte at offset {exc.start})"
        except OSError as exc:
            problem = f"plan.md could not be read ({exc.strerror or exc})"
        return template_root().joinpath(PLAN_FILE).read_text(encoding="utf-8"), problem

    def plan_problem(self) -> str | None:
        """Why plan.md cannot be read as it is (missing, not UTF-8), or None."""
        return self._plan_text()[1]

    def repair_plan(self) -> str | None:
        """Recreate a missing or unreadable plan.md from the template; an unreadable one is kept beside it."""
        with self.writer:
            text, problem = self._plan_text()
            if problem is None:
                return None
            full = self.root / PLAN_FILE
            kept = ""
            if full.exists():
                aside = self.root / f"{PLAN_FILE}.unreadable"
                os.replace(full, aside)
                kept = f"; the unreadable file is kept as {aside.name}"
            self.commit_human_edits()  # the deletion (or the moved file) is the human's
            notice = f"{problem}: recreated it from the template{kept}"
            self._write_and_commit(PLAN_FILE, text.encode(), "supervisor", f"Recreate plan.md: {problem}", None)
            self.notices.append(notice)
            return notice

    def artifacts(self, pattern: str) -> list[tuple[str, Artifact]]:
        """Every artifact matching a glob, sorted by path. An invalid one raises ArtifactError."""
        out = []
        for full in sorted(self.root.glob(pattern)):
            rel = full.relative_to(self.root).as_posix()
            out.append((rel, self.load(rel)))
        return out

    def history(self, agent: str | None = None) -> list[CommitInfo]:
        """Commits newest first, with the Intern trailers parsed."""
        out = []
        for commit in self.repo.iter_commits():
            trailers = dict(_TRAILER.findall(commit.message))
            who = trailers.get("Intern-Agent")
            if agent and who != agent:
                continue
            out.append(
                CommitInfo(
                    sha=commit.hexsha,
                    author=commit.author.name,
                    when=commit.committed_date,
                    summary=commit.message.splitlines()[0] if commit.message else "",
                    agent=who,
                    artifact=trailers.get("Intern-Artifact"),
                    run=trailers.get("Intern-Run"),
                )
            )
        return out

    # --- writing ------------------------------------------------------------------------

    def write_artifact(
        self, agent: str, path: str, artifact: Artifact | str | bytes, summary: str, run: str | None = None
    ) -> str:
        """Validate, redact, write atomically and commit once as `agent`. Returns the commit sha."""
        rel = check_write(agent, path)
        if rel == PLAN_FILE:
            raise BusError("plan.md is written through Workspace.update_plan, which protects the human's sections")
        if not summary.strip():
            raise BusError(f"{agent} must give a one-line summary for the commit of {rel}")
        data = self._render(rel, artifact)
        match = _RUN_PATH.match(rel)
        with self.writer:
            for _ in range(5):
                # Whatever a human changed is theirs: commit it as theirs before the agent's commit.
                self.commit_human_edits()
                out, expect = data, UNCHECKED
                if rel.endswith(".md"):
                    expect = self._bytes_or_none(rel)
                    out = self._keep_human_words(rel, agent, data, expect)
                try:
                    return self._write_and_commit(rel, out, agent, summary, run or (match and match.group(1)), expect)
                except ChangedOnDisk:
                    continue  # a human saved the file after it was read: start again from their version
        raise BusError(f"{rel} kept changing under {agent}; it gave up this write to keep the human's text")

    def _bytes_or_none(self, rel: str) -> bytes | None:
        try:
            return (self.root / rel).read_bytes()
        except FileNotFoundError:
            return None

    def _keep_human_words(self, rel: str, agent: str, data: bytes, current_bytes: bytes | None) -> bytes:
        """The agent's new text, with the file's Notes and any line a human wrote elsewhere in it kept under Notes."""
        current = (
            None if current_bytes is None else _universal_newlines(current_bytes.decode("utf-8", errors="replace"))
        )
        human = self.human_lines(rel) if current is not None else []
        text, moved = ownership.keep_human_words(data.decode("utf-8"), current, human, agent)
        if moved:
            where = ", ".join(sorted({section for section, _ in moved}))
            self.notices.append(
                f"kept your words: {len(moved)} line(s) you wrote in {rel} ({where}) are now under its ## Notes, "
                f"verbatim ({agent} rewrites the rest of that file)"
            )
        schema = schema_for(rel)
        if schema is not None:
            parse_artifact(text, schema, rel)
        return text.encode("utf-8")

    def human_lines(self, rel: str) -> list[int]:
        """Indexes of the lines of the working file `rel` that a human wrote (see ownership.human_lines)."""
        return ownership.human_lines(self.repo, self.root, rel)

    def update_plan(self, edit: Callable[[Plan], None], summary: str) -> str | None:
        """Apply a supervisor edit to plan.md; the human's current version is committed first.

        A line a human wrote in a section the supervisor rewrites (Goal, Status) is moved, verbatim,
        to Notes first, with a notice in Questions and on the terminal: it is never overwritten.
        """
        for _ in range(5):
            with self.writer:
                self.repair_plan()
                self.commit_human_edits([PLAN_FILE])
                raw = (self.root / PLAN_FILE).read_bytes()
                old = _universal_newlines(raw.decode("utf-8"))  # as read_text reads it
                plan = Plan.parse(old)
                moved = ownership.move_plan_words(plan, self.human_lines(PLAN_FILE))
                if moved:
                    where = ", ".join(sorted({section for section, _ in moved}))
                    notice = (
                        f"kept your words: moved {len(moved)} line(s) you wrote under {where} to ## Notes, verbatim "
                        "(the supervisor rewrites that section)"
                    )
                    plan.add_question(notice)
                    self.notices.append(notice)
                edit(plan)
                new = plan.render()
                check_supervisor_edit(old, new)
                # Redact only what the supervisor added: a human's own lines are never rewritten.
                old_lines = set(old.split("\n"))
                new = "\n".join(ln if ln in old_lines else redact(ln) for ln in new.split("\n"))
                if new == old:
                    return None
                try:
                    return self._write_and_commit(PLAN_FILE, new.encode(), "supervisor", summary, None, raw)
                except ChangedOnDisk:
                    continue  # a human saved in between: start again from their version
        raise BusError("plan.md kept changing under the supervisor; it gave up this edit to keep the human's text")

    def take_notices(self) -> list[str]:
        with self._mutex:
            out, self.notices[:] = list(self.notices), []
        return out

    @contextmanager
    def agent_writing(self, *paths: str) -> Iterator[None]:
        """Mark files a subprocess writes outside the bus, so they are not taken for human edits."""
        rels = {normalize(p) for p in paths}
        with self._mutex:
            self._scratch |= rels
        try:
            yield
        finally:
            with self._mutex:
                self._scratch -= rels

    def human_actor(self) -> git.Actor:
        reader = self.repo.config_reader()
        try:
            return git.Actor(reader.get_value("user", "name"), reader.get_value("user", "email"))
        except Exception:
            return git.Actor(*HUMAN_FALLBACK)

    def pending_human_edits(self, paths: list[str] | None = None, include_staged: bool | None = None) -> list[str]:
        """Changed, new or deleted files (not ignored, not an agent's scratch, not an editor's) that are not committed.

        A file the human staged with their own `git add` is theirs to commit with their own `git commit`: it is
        left out, unless `paths` names it (an agent is about to write it) or `include_staged` asks for it.
        """
        staged_too = bool(paths) if include_staged is None else include_staged
        args = ["--porcelain", "-z", "--untracked-files=all"]
        if paths:
            args += ["--", *paths]
        raw = self.repo.git.status(*args)
        changed = []
        entries = raw.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            status, rel = entry[:2], entry[3:]
            if status[0] == "R":
                i += 1  # renames carry the old path as the next entry
            if rel.startswith(STATE_DIR + "/") or rel in self._scratch or is_editor_file(rel):
                continue
            if not staged_too and status[0] not in (" ", "?"):
                continue
            changed.append(rel)
        return changed

    def commit_human_edits(self, paths: list[str] | None = None, include_staged: bool | None = None) -> str | None:
        """Commit what a human changed (all of it, or only `paths`) as the human. Returns the sha, if any.

        A secret-shaped token in a hand-edited text file is masked in the file before the commit, so it never
        reaches the history; a notice says which file and what kind of secret (never the secret).
        """
        with self.writer:
            changed = self.pending_human_edits(paths, include_staged)
            if not changed:
                return None
            held = {rel: why for rel in changed if (why := data_refs.why_held(self.root, rel))}
            removed: dict[str, bytes | None] = {}
            if held:
                # Out of git by reference (bus/data_refs.py): on disk as they are, listed in .gitignore and recorded.
                tracked = set(self.repo.git.ls_files("-z", "--", *held).split("\0")) - {""}
                removed = {rel: None for rel in held if rel in tracked}
                listed = data_refs.hold(self.root, held)
                changed = [rel for rel in changed if rel not in held] + [p for p in listed if p not in changed]
                for rel, why in held.items():
                    self.notices.append(
                        f"kept {rel} out of git ({why}): it stays on disk as it is; {data_refs.REFERENCES_FILE} "
                        "records its size and sha256 and .gitignore lists it"
                    )
            exact: dict[str, bytes | None] = dict(removed)
            for rel in changed:
                masked = self._mask_secrets(rel)
                if masked is not None:
                    exact[rel] = masked
            names = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            message = f"Human edit of {names}\n\n"
            if held:
                message += "Kept out of git by reference: " + ", ".join(held) + "\n\n"
            message += f"Intern-Human-Edit: {' '.join(changed)}\n"
            return self._commit(
                [*changed, *removed], self.human_actor(), message, None, None, None, raw_message=True, exact=exact
            )

    def _mask_secrets(self, rel: str) -> bytes | None:
        """Mask secrets in a text file a person writes by hand. Returns the masked bytes to commit, or None.

        The commit takes these bytes, not the file as it is on disk a moment later, so a save that lands
        between the masking and the commit can never carry a secret into history (the watcher commits that
        save, masked, next). The file is masked in place only if nobody saved it meanwhile: a human's newer
        words are never overwritten. Files masked in place are text under the large-file threshold (larger
        ones are kept out of git by reference), so they are read whole.
        """
        full = self.root / rel
        if not data_refs.masked_in_place(self.root, rel) or full.is_symlink() or not full.is_file():
            return None
        try:
            before = full.stat()
            data = full.read_bytes()
        except OSError:
            return None
        encoding = "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:  # not text after all: masked as Latin-1, every other byte kept
            encoding = "latin-1"
            text = data.decode(encoding)
        masked = Masker().text(text).encode(encoding)
        if masked == data:
            return None
        kinds = find_secrets(text)
        tmp = full.with_name(f"{full.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            tmp.write_bytes(masked)
            os.chmod(tmp, before.st_mode & 0o777)
            if full.read_bytes() == data:  # nobody saved meanwhile (a save of the same size is seen too)
                os.replace(tmp, full)
        except OSError:
            pass  # the commit still takes the masked bytes; the file is masked at the next pass
        finally:
            tmp.unlink(missing_ok=True)
        self.notices.append(
            f"masked a secret you pasted into {rel} ({', '.join(kinds)}) as [REDACTED] before committing it; "
            "the secret is not in git. Keep tokens in the environment (e.g. HF_TOKEN), not in workspace files"
        )
        return masked

    def revert(self, sha: str) -> str:
        """Revert one commit, committed as the human. Returns the new commit's sha.

        It holds the writer lock, so it waits for an agent's commit in flight (a running `intern go`)
        rather than racing it. The revert is worked out file by file and committed against the HEAD it
        read, never through git's shared index, so a file someone has `git add`-ed elsewhere neither
        blocks it nor is swept into it.
        """
        with self.writer:
            try:
                commit = self.repo.commit(self.repo.git.rev_parse("--verify", "--quiet", f"{sha}^{{commit}}"))
                parents = commit.parents
            except (git.BadName, git.GitCommandError, ValueError) as exc:
                raise BusError(f"no commit {sha!r} in this workspace") from exc
            if not parents:
                raise BusError(f"{sha[:8]} is the workspace's first commit; it cannot be reverted")
            # A human's unsaved-to-git words in a file the revert rewrites are committed first (even if staged), so
            # the merge below keeps them; their other staged files stay theirs to commit.
            touched = changed_paths(self.repo, commit.hexsha, parents[0].hexsha)
            if touched:
                self.commit_human_edits(touched, include_staged=True)
            self.commit_human_edits(include_staged=False)
            subject = commit.message.splitlines()[0] if commit.message else commit.hexsha[:8]
            message = f'Revert "{subject}"\n\nThis reverts commit {commit.hexsha}.\n'
            for _ in range(50):
                head = self.repo.git.rev_parse("HEAD")
                try:
                    undone = reverted_files(self.repo, commit.hexsha, parents[0].hexsha, head)
                except BusError as exc:
                    raise BusError(f"cannot revert {sha[:8]} cleanly: {exc}") from exc
                if not undone:
                    raise BusError(f"{sha[:8]} is already undone: its files are as they were before it")
                try:
                    # Committed first, on exactly the HEAD it was merged against, and only then written to disk:
                    # a failed commit leaves the files as they were, and a human's own commit landing meanwhile
                    # makes the merge start again on top of it rather than be undone by it.
                    new = commits.commit_paths(
                        self.repo, self.root, sorted(undone), self.human_actor(), message, undone, expected=head
                    )
                except commits.HeadMoved:
                    continue
                for rel, data in undone.items():
                    if data is None:
                        (self.root / rel).unlink(missing_ok=True)
                    else:
                        self._atomic_write(self.root / rel, data)
                return new
            raise BusError(f"git's HEAD kept moving while reverting {sha[:8]}; nothing was changed, try again")

    def finish_interrupted_write(self) -> str | None:
        """Commit, as its agent, an artifact a killed process wrote but did not commit. Returns the sha, if any.

        Without this, the next commit would sweep the file up as a human's edit. Only the exact bytes
        the agent meant to commit count: a file a human changed since is theirs.
        """
        journal = self.state_dir / WRITING_FILE
        try:
            intent = json.loads(journal.read_text())
        except (OSError, ValueError):
            journal.unlink(missing_ok=True)
            return None
        with self.writer:
            rel, sha = intent.get("path"), None
            full = self.root / rel if rel else None
            if full is not None and full.is_file() and sha256_file(full) == intent.get("sha256"):
                if self.pending_human_edits([rel]):
                    summary = intent["summary"] + " (committed after a restart)"
                    sha = self._commit(
                        [rel], agent_actor(intent["agent"]), summary, intent["agent"], rel, intent["run"]
                    )
            journal.unlink(missing_ok=True)
            return sha

    # --- internals ----------------------------------------------------------------------

    def _write_and_commit(
        self, rel: str, data: bytes, agent: str, summary: str, run: str | None, expect: object = UNCHECKED
    ) -> str:
        """Journal the intent, write atomically, commit, clear the journal: a kill anywhere loses nothing.
        `expect`: the bytes the agent read (None: no file); ChangedOnDisk when the file no longer holds them."""
        journal = self.state_dir / WRITING_FILE
        intent = {
            "path": rel,
            "agent": agent,
            "summary": summary,
            "run": run,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        self._atomic_write(journal, json.dumps(intent).encode())
        try:
            self._atomic_write(self.root / rel, data, expect=expect)
        except ChangedOnDisk:
            journal.unlink(missing_ok=True)  # nothing was written: no intent left to finish
            raise
        sha = self._commit([rel], agent_actor(agent), summary, agent, rel, run, exact={rel: data})
        journal.unlink(missing_ok=True)
        return sha

    def _render(self, rel: str, artifact: Artifact | str | bytes) -> bytes:
        schema = schema_for(rel)
        if isinstance(artifact, Artifact):
            if schema is not None and not isinstance(artifact, schema):
                raise ArtifactError(rel, "(file)", f"expected a {schema.__name__}, got a {type(artifact).__name__}")
            text = dump_artifact(artifact)
        elif isinstance(artifact, bytes):
            try:
                text = artifact.decode("utf-8")
            except UnicodeDecodeError:
                if schema is not None:
                    raise ArtifactError(rel, "(file)", "is not UTF-8 text") from None
                return artifact  # a binary such as a plot: nothing to validate or redact
        else:
            text = artifact
        text = redact(text)
        if schema is not None:
            parse_artifact(text, schema, rel)  # validate exactly what lands on disk
        return text.encode("utf-8")

    def _atomic_write(self, full: Path, data: bytes, mode: int | None = None, expect: object = UNCHECKED) -> None:
        """Write through a synced temporary file and one rename. With `expect` (the bytes read before, None for no
        file), the file is compared again right before the rename, after the slow fsync, so a human's save in
        between is not replaced (ChangedOnDisk); the window left is one read and one rename."""
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = full.with_name(f"{full.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            if expect is not UNCHECKED:
                try:
                    now: bytes | None = full.read_bytes()
                except FileNotFoundError:
                    now = None
                if now != expect:
                    raise ChangedOnDisk(f"{full.name} changed on disk after it was read")
            os.replace(tmp, full)
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(
        self,
        paths: list[str],
        actor: git.Actor,
        summary: str,
        agent: str | None,
        artifact: str | None,
        run: str | None,
        raw_message: bool = False,
        exact: dict[str, bytes] | None = None,
    ) -> str:
        """One commit of `paths` as `actor`, made against the HEAD it read (retried when HEAD moved)."""
        if raw_message:
            message = summary
        else:
            trailers = [f"Intern-Agent: {agent}", f"Intern-Artifact: {artifact}"]
            if run:
                trailers.append(f"Intern-Run: {run}")
            message = redact(summary.strip().splitlines()[0]) + "\n\n" + "\n".join(trailers) + "\n"
        with self.writer:
            return commits.commit_paths(self.repo, self.root, paths, actor, message, exact)


def is_editor_file(rel: str) -> bool:
    """An editor's swap, backup, lock or temp file (or the bus's own temp file): never a human's edit."""
    return bool(EDITOR_FILE.search(rel))


def _is_content(root: Path, path: Path) -> bool:
    rel = path.relative_to(root).parts
    return path.is_file() and rel[0] not in (".git", STATE_DIR)
