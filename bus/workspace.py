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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import git

from bus.artifacts import dump_artifact, load_artifact, parse_artifact, schema_for
from bus.errors import ArtifactError, BusError, NotAWorkspaceError
from bus.lock import WorkspaceLock
from bus.plan import Plan, check_supervisor_edit
from bus.redact import redact
from bus.rules import check_write, normalize
from bus.schemas import Artifact, Goal

GOAL_FILE = "intern.yaml"
PLAN_FILE = "plan.md"
STATE_DIR = ".intern"
WRITING_FILE = "writing.json"  # the artifact write in progress, for finish_interrupted_write
HUMAN_FALLBACK = ("human", "human@intern.local")
_TRAILER = re.compile(r"^(Intern-[A-Za-z-]+):\s*(.+)$", re.MULTILINE)
_RUN_PATH = re.compile(r"^runs/([^/]+)/")
# Files in the template that are not workspace content.
_TEMPLATE_SKIP = {"__init__.py", "__pycache__"}


def agent_actor(agent: str) -> git.Actor:
    return git.Actor(agent, f"{agent}@intern.local")


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

    # --- creating and opening -----------------------------------------------------------

    @classmethod
    def init(cls, directory: str | Path) -> Workspace:
        root = Path(directory).expanduser().resolve()
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
        goal = self.load(GOAL_FILE)
        assert isinstance(goal, Goal)
        return goal

    def plan(self) -> Plan:
        return Plan.parse(self.read_text(PLAN_FILE))

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
        with self._mutex:
            # Whatever a human changed or staged is theirs: commit it as theirs before the agent's commit,
            # which would otherwise sweep staged files into the agent's name.
            self.commit_human_edits()
            match = _RUN_PATH.match(rel)
            return self._write_and_commit(rel, data, agent, summary, run or (match and match.group(1)))

    def update_plan(self, edit: Callable[[Plan], None], summary: str) -> str | None:
        """Apply a supervisor edit to plan.md; the human's current version is committed first."""
        for _ in range(5):
            with self._mutex:
                self.commit_human_edits([PLAN_FILE])
                old = self.read_text(PLAN_FILE)
                plan = Plan.parse(old)
                edit(plan)
                new = plan.render()
                check_supervisor_edit(old, new)
                # Redact only what the supervisor added: a human's own lines are never rewritten.
                old_lines = set(old.split("\n"))
                new = "\n".join(ln if ln in old_lines else redact(ln) for ln in new.split("\n"))
                if new == old:
                    return None
                if self.read_text(PLAN_FILE) != old:
                    continue  # a human saved in between: start again from their version
                return self._write_and_commit(PLAN_FILE, new.encode(), "supervisor", summary, None)
        raise BusError("plan.md kept changing under the supervisor; it gave up this edit to keep the human's text")

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

    def pending_human_edits(self, paths: list[str] | None = None) -> list[str]:
        """Changed, new or deleted files (not ignored, not an agent's scratch) that are not committed."""
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
            if rel.startswith(STATE_DIR + "/") or rel in self._scratch or ".tmp-" in rel:
                continue
            changed.append(rel)
        return changed

    def commit_human_edits(self, paths: list[str] | None = None) -> str | None:
        """Commit what a human changed (all of it, or only `paths`) as the human. Returns the sha, if any."""
        with self._mutex:
            changed = self.pending_human_edits(paths)
            if not changed:
                return None
            names = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            message = f"Human edit of {names}\n\nIntern-Human-Edit: {' '.join(changed)}\n"
            return self._commit(changed, self.human_actor(), message, None, None, None, raw_message=True)

    def revert(self, sha: str) -> str:
        """Revert one commit, committed as the human. Returns the new commit's sha."""
        with self._mutex:
            try:
                commit = self.repo.commit(self.repo.git.rev_parse("--verify", "--quiet", f"{sha}^{{commit}}"))
                parents = commit.parents
            except (git.BadName, git.GitCommandError, ValueError) as exc:
                raise BusError(f"no commit {sha!r} in this workspace") from exc
            if not parents:
                raise BusError(f"{sha[:8]} is the workspace's first commit; it cannot be reverted")
            self.commit_human_edits()
            human = self.human_actor()
            env = {
                "GIT_AUTHOR_NAME": human.name,
                "GIT_AUTHOR_EMAIL": human.email,
                "GIT_COMMITTER_NAME": human.name,
                "GIT_COMMITTER_EMAIL": human.email,
            }
            try:
                self.repo.git.revert("--no-edit", commit.hexsha, env=env)
            except git.GitCommandError as exc:
                self.repo.git.revert("--abort")
                raise BusError(
                    f"cannot revert {sha[:8]} cleanly: later commits changed the same lines ({exc.stderr.strip()[:200]})"
                ) from exc
            return self.repo.head.commit.hexsha

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
        with self._mutex:
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

    def _write_and_commit(self, rel: str, data: bytes, agent: str, summary: str, run: str | None) -> str:
        """Journal the intent, write atomically, commit, clear the journal: a kill anywhere loses nothing."""
        journal = self.state_dir / WRITING_FILE
        intent = {
            "path": rel,
            "agent": agent,
            "summary": summary,
            "run": run,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        self._atomic_write(journal, json.dumps(intent).encode())
        self._atomic_write(self.root / rel, data)
        sha = self._commit([rel], agent_actor(agent), summary, agent, rel, run)
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

    def _atomic_write(self, full: Path, data: bytes) -> None:
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = full.with_name(f"{full.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
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
    ) -> str:
        if raw_message:
            message = summary
        else:
            trailers = [f"Intern-Agent: {agent}", f"Intern-Artifact: {artifact}"]
            if run:
                trailers.append(f"Intern-Run: {run}")
            message = redact(summary.strip().splitlines()[0]) + "\n\n" + "\n".join(trailers) + "\n"
        present = [p for p in paths if (self.root / p).exists()]
        gone = [p for p in paths if not (self.root / p).exists()]
        for attempt in range(20):
            try:
                index = self.repo.index
                if present:
                    index.add(present)
                if gone:
                    index.remove(gone, ignore_unmatch=True)
                return index.commit(message, author=actor, committer=actor).hexsha
            except (OSError, git.GitCommandError) as exc:
                # Another git process (an `intern revert`, a human's git) holds index.lock for a moment.
                if "index.lock" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")


def _is_content(root: Path, path: Path) -> bool:
    rel = path.relative_to(root).parts
    return path.is_file() and rel[0] not in (".git", STATE_DIR)
