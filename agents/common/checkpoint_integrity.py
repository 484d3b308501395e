"""Is a kept checkpoint still the one its run produced? Checked before a run starts from it, and at export.

A run's result.json records `checkpoint_sha256` (bus.sha256_tree: each file's name and sha256). A
parent whose files changed since (a truncated model.safetensors, a file swapped in by hand) is an
integrity failure: a run trained from it is not a child of the run the records name, so the loop
stops (exit 4) and says which file changed.

Hashing a checkpoint of a few GB on every run costs seconds to minutes, so each file's sha256 is
remembered in `.intern/checkpoint-hashes.json` with its size and mtime (ns), taken when the trainer
recorded the checkpoint and refreshed only when the whole tree matched the record again. A file whose
size and mtime are unchanged is not read again; any write changes its mtime, so damage is still seen.
The cache also names the changed file on a mismatch. `full=True` (the export's origin check) reads
every byte whatever the cache says, since a forger can set an mtime back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bus import ArtifactError, Workspace, layout, sha256_file

CACHE_FILE = "checkpoint-hashes.json"


@dataclass
class TreeHash:
    sha256: str
    files: dict[str, tuple[int, int, str]]  # relative name -> (size, mtime_ns, sha256)


def _cache_path(ws: Workspace) -> Path:
    return ws.state_dir / CACHE_FILE


def _read_cache(ws: Workspace) -> dict[str, dict[str, list]]:
    try:
        data = json.loads(_cache_path(ws).read_text())
    except (OSError, ValueError):
        return {}  # no cache or a damaged one: everything is hashed again
    return data if isinstance(data, dict) else {}


def _write_cache(ws: Workspace, folder_rel: str, tree: TreeHash) -> None:
    data = _read_cache(ws)
    data[folder_rel] = {name: list(entry) for name, entry in tree.files.items()}
    tmp = _cache_path(ws).with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(_cache_path(ws))
    except OSError:
        pass  # only a speed-up: a read-only state folder costs a full hash next time


def tree_hash(ws: Workspace, folder_rel: str, *, full: bool = False) -> TreeHash:
    """The folder's sha256_tree, reading only files whose size or mtime changed since the cache saw them."""
    folder = ws.path(folder_rel)
    known = {} if full else _read_cache(ws).get(folder_rel, {})
    digest = hashlib.sha256()
    files: dict[str, tuple[int, int, str]] = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = file.relative_to(folder).as_posix()
        stat = file.stat()
        cached = known.get(name)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            sha = cached[2]
        else:
            sha = sha256_file(file)
        files[name] = (stat.st_size, stat.st_mtime_ns, sha)
        digest.update(name.encode() + b"\0")
        digest.update(sha.encode())
    return TreeHash(digest.hexdigest(), files)


def record(ws: Workspace, folder_rel: str) -> str:
    """Hash a checkpoint the trainer is about to record, remembering each file. Returns the tree's sha256."""
    tree = tree_hash(ws, folder_rel, full=True)
    _write_cache(ws, folder_rel, tree)
    return tree.sha256


def _changed_files(ws: Workspace, folder_rel: str, tree: TreeHash) -> list[str]:
    """What differs from the files last seen matching the record (empty when none were seen)."""
    good = _read_cache(ws).get(folder_rel)
    if not good:
        return []
    out = []
    for name in sorted(set(good) | set(tree.files)):
        was, now = good.get(name), tree.files.get(name)
        where = f"{folder_rel}/{name}"
        if now is None:
            out.append(f"{where} is gone")
        elif was is None:
            out.append(f"{where} was added")
        elif was[2] != now[2]:
            size = f", {was[0]} bytes then, {now[0]} now" if was[0] != now[0] else ""
            out.append(f"{where} changed{size}")
    return out


def mismatch(ws: Workspace, run_id: str, *, full: bool = False) -> str | None:
    """Why `run_id`'s checkpoint is not the one its result.json records, or None when it is (or records none)."""
    try:
        result = ws.load(layout.run_result(run_id))
    except ArtifactError as exc:
        return f"{layout.run_result(run_id)} cannot be read, so its checkpoint's sha256 is unknown ({exc})"
    recorded = getattr(result, "checkpoint_sha256", None)
    folder_rel = layout.run_checkpoint(run_id)
    if not recorded or not ws.path(folder_rel).is_dir():
        return None  # no record to check against (a failed run), or gone: the caller says why it cannot start
    tree = tree_hash(ws, folder_rel, full=full)
    if tree.sha256 == recorded:
        _write_cache(ws, folder_rel, tree)
        return None
    changed = _changed_files(ws, folder_rel, tree)
    which = "; ".join(changed) if changed else f"{folder_rel} ({len(tree.files)} files)"
    return (
        f"{which}: it is not the checkpoint the run produced (sha256 {tree.sha256[:12]}..., "
        f"{layout.run_result(run_id)} records {recorded[:12]}...)"
    )
