"""Files a human adds that are kept out of git by reference: too large for git, or data holding a secret.

The rule, applied to every file before a human's edit is committed (Workspace.commit_human_edits):
- a file over `large_file_bytes()` (25 MB; `INTERN_LARGE_FILE_MB` changes it) is never committed: git
  keeps every version of a file forever, and a 200 MB JSONL would make every clone carry it;
- a data file (`.jsonl`, `.csv`, `.tsv`, `.parquet`, or any file under a path `data.local` names in intern.yaml)
  that holds a secret-shaped string is never committed either: masking it would rewrite the user's data, and
  committing it would put the secret in history. The curator masks those rows in what it writes instead.
Any other file that is not hand-written text (`TEXT_SUFFIXES`: a binary, a log) holding a secret is kept out the
same way. Such a file stays where it is, byte for byte. `.gitignore` lists it (in a block of its own) and
`data-references.json` records its path, size, sha256 and why, both committed with the human's edit, so the
history says what the data was without holding it. A file that is tracked already leaves the index
(it stays on disk). A hand-written text file holding a secret is masked in place instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path, PurePosixPath

import yaml

from bus.redact import file_secrets

REFERENCES_FILE = "data-references.json"
GITIGNORE = ".gitignore"
LARGE_FILE_MB = 25
DATA_SUFFIXES = {".jsonl", ".csv", ".tsv", ".parquet"}
# Text a person writes by hand: a secret pasted into one is masked in place (Workspace._mask_secrets), any size.
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".txt", ".toml", ".cfg", ".ini", ".env", ".sh", ".py", ".json", ".ipynb", ""}
BLOCK_HEADER = (
    f"# Kept out of git by reference (size and sha256 in {REFERENCES_FILE}): too large, or data holding a secret."
)


def large_file_bytes() -> int:
    """Files over this many bytes are kept out of git (INTERN_LARGE_FILE_MB, in MB, overrides the default)."""
    try:
        return int(float(os.environ.get("INTERN_LARGE_FILE_MB", LARGE_FILE_MB)) * 2**20)
    except ValueError:
        return LARGE_FILE_MB * 2**20


def _local_data_paths(root: Path) -> list[PurePosixPath]:
    """The workspace-relative paths intern.yaml names under data.local (best effort: a broken goal names none)."""
    try:
        goal = yaml.safe_load((root / "intern.yaml").read_text(encoding="utf-8")) or {}
        local = (goal.get("data") or {}).get("local") or []
        return [PurePosixPath(str(d["path"]).strip("/")) for d in local if isinstance(d, dict) and d.get("path")]
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError):
        return []


def is_data_file(root: Path, rel: str) -> bool:
    path = PurePosixPath(rel)
    if path.suffix.lower() in DATA_SUFFIXES:
        return True
    return any(path == named or named in path.parents for named in _local_data_paths(root))


def masked_in_place(root: Path, rel: str) -> bool:
    """A text file a person writes by hand (not data): a secret in it is masked in the file itself."""
    return PurePosixPath(rel).suffix.lower() in TEXT_SUFFIXES and not is_data_file(root, rel)


def why_held(root: Path, rel: str) -> str | None:
    """Why `rel` must stay out of git (one phrase, never the secret), or None when it may be committed."""
    full = root / rel
    if full.is_symlink() or not full.is_file():
        return None
    size = full.stat().st_size
    limit = large_file_bytes()
    if size > limit:
        return f"{size / 2**20:.3g} MB, over the {limit / 2**20:.3g} MB limit for files in git"
    if not masked_in_place(root, rel):
        kinds = file_secrets(full)
        if kinds:
            what = "a data file" if is_data_file(root, rel) else "a file that is not hand-written text"
            return f"{what} holding a secret ({', '.join(kinds)}); it is not rewritten, and not committed"
    return None


def hold(root: Path, held: dict[str, str]) -> list[str]:
    """List each of `held` (path -> why) in .gitignore and in data-references.json; returns the files changed."""
    refs_path = root / REFERENCES_FILE
    try:
        refs = json.loads(refs_path.read_text(encoding="utf-8"))
        files = refs["files"] if isinstance(refs, dict) and isinstance(refs.get("files"), dict) else {}
    except (OSError, ValueError):
        files = {}
    for rel, reason in held.items():
        full = root / rel
        files[rel] = {
            "size": full.stat().st_size,
            "sha256": _sha256(full),
            "why": reason,
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    document = {
        "about": "Files kept out of git by reference (bus/data_refs.py): they stay on disk, listed in .gitignore.",
        "files": dict(sorted(files.items())),
    }
    refs_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    ignore = root / GITIGNORE
    text = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    lines = text.splitlines()
    wanted = [ignore_pattern(rel) for rel in held if ignore_pattern(rel) not in lines]
    if wanted:
        if BLOCK_HEADER not in lines:
            text += ("" if not text or text.endswith("\n") else "\n") + BLOCK_HEADER + "\n"
        ignore.write_text(text + "".join(f"{p}\n" for p in wanted), encoding="utf-8")
    return [GITIGNORE, REFERENCES_FILE]


def ignore_pattern(rel: str) -> str:
    """A .gitignore line matching exactly `rel` from the workspace's root."""
    escaped = "".join("\\" + ch if ch in "*?[]\\!#" else ch for ch in rel)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
