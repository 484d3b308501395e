"""bus.data_refs: data holding a secret, and files too large for git, stay on disk and out of history."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REFERENCES_FILE = "data-references.json"  # the documented record of files kept out of git (bus/data_refs.py)

# Every kind of secret the masker knows, as a person would paste it: (kind, text in the row, the secret part).
SECRETS = [
    ("hf", "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5", None),
    ("openai", "sk-" + "abcdefghijklmnopqrstuvwx1234", None),
    ("anthropic", "sk-ant-" + "api03-abcdefghijklmnopqrstuv", None),
    ("github", "ghp_" + "abcdefghijklmnopqrstuvwxyz0123", None),
    ("github-pat", "github_pat_" + "11ABCDEFG0abcdefghijklmnop", None),
    ("aws-id", "AKIA" + "ABCDEFGHIJKLMNOP", None),
    ("bearer", "Authorization: Bearer " + "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"),
    ("aws-secret", "aws_secret_access_key=" + "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY1", "wJalrXUtnFEMIK7MDENG"),
    ("password", "password=" + "correct-horse-battery", "correct-horse-battery"),
    ("env", "my value " + "s3cr3t-from-the-environment", "s3cr3t-from-the-environment"),
]


def _history(ws) -> str:
    """`git log -p --all`, with binary files shown as text too (a plain log hides them as "Binary files differ")."""
    return ws.repo.git.log("-p", "--all", "--text", "--format=%H %an %s%n%b")


def _rows(secret: str) -> list[dict]:
    return [{"prompt": "1+1=", "answer": "2"}, {"prompt": f"use {secret} here", "answer": "3"}]


@pytest.mark.parametrize(("kind", "text", "part"), SECRETS, ids=[s[0] for s in SECRETS])
def test_a_jsonl_row_with_each_kind_of_secret_never_reaches_history_and_the_file_is_untouched(
    ws, human, monkeypatch, kind, text, part
):
    monkeypatch.setenv("MY_DB_PASSWORD", "s3cr3t-from-the-environment")
    data = "".join(json.dumps(r) + "\n" for r in _rows(text)).encode()
    ws.path("mydata/train.jsonl").parent.mkdir()
    ws.path("mydata/train.jsonl").write_bytes(data)
    assert ws.commit_human_edits()
    assert ws.path("mydata/train.jsonl").read_bytes() == data  # the source is never rewritten
    assert (part or text) not in _history(ws)
    refs = json.loads(ws.read_text(REFERENCES_FILE))["files"]
    assert refs["mydata/train.jsonl"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert refs["mydata/train.jsonl"]["size"] == len(data)
    assert "secret" in refs["mydata/train.jsonl"]["why"]
    assert "/mydata/train.jsonl" in ws.read_text(".gitignore").splitlines()
    assert ws.pending_human_edits() == []  # listed in .gitignore: not a pending edit again at every step
    assert any("kept mydata/train.jsonl out of git" in n for n in ws.take_notices())


def _write(path, fmt: str, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        path.write_text("prompt" + sep + "answer\n" + "".join(f'"{r["prompt"]}"{sep}{r["answer"]}\n' for r in rows))
    else:  # a JSON document, a data file only because data.local names it
        path.write_text(json.dumps(rows))


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "json"])
def test_every_format_the_curator_reads_is_kept_out_of_git_when_it_holds_a_secret(ws, human, fmt):
    secret = SECRETS[0][1]
    rel = f"mydata/train.{fmt}"
    if fmt == "json":
        ws.path("intern.yaml").write_text(ws.read_text("intern.yaml") + "\ndata:\n  local:\n    - path: mydata\n")
    _write(ws.path(rel), fmt, _rows(secret))
    before = ws.path(rel).read_bytes()
    ws.commit_human_edits()
    assert ws.path(rel).read_bytes() == before
    assert secret not in _history(ws)
    assert rel in json.loads(ws.read_text(REFERENCES_FILE))["files"]
    assert ws.pending_human_edits() == []


def test_a_clean_data_file_under_the_limit_is_committed_as_before(ws, human):
    ws.path("mydata.jsonl").write_text(json.dumps({"prompt": "1+1=", "answer": "2"}) + "\n")
    ws.commit_human_edits()
    assert "mydata.jsonl" in ws.repo.git.ls_files().splitlines()
    assert not ws.exists(REFERENCES_FILE)


def test_a_file_over_the_size_limit_is_recorded_by_reference_not_committed(ws, human, monkeypatch):
    monkeypatch.setenv("INTERN_LARGE_FILE_MB", "0.01")  # 10 KiB instead of 25 MB, to keep the test small
    small = json.dumps({"prompt": "1+1=", "answer": "2"}) + "\n"
    ws.path("big.jsonl").write_text(small)
    ws.commit_human_edits()
    assert "big.jsonl" in ws.repo.git.ls_files().splitlines()  # tracked while under the limit
    data = (small * 1000).encode()
    ws.path("big.jsonl").write_bytes(data)
    ws.path("notes.md").write_text("a note\n")
    ws.commit_human_edits()
    assert ws.path("big.jsonl").read_bytes() == data  # still on disk, as it was
    assert "big.jsonl" not in ws.repo.git.ls_files().splitlines()  # and out of the index
    assert "notes.md" in ws.repo.git.ls_files().splitlines()
    head = ws.repo.head.commit
    assert "big.jsonl" not in [item.path for item in head.tree.traverse()]
    assert "Kept out of git by reference: big.jsonl" in head.message
    ref = json.loads(ws.read_text(REFERENCES_FILE))["files"]["big.jsonl"]
    assert ref["size"] == len(data) and ref["sha256"] == hashlib.sha256(data).hexdigest()
    assert "over the 0.01 MB limit" in ref["why"]
    assert ws.pending_human_edits() == []


def test_a_secret_in_a_hand_written_text_file_of_any_size_is_masked_in_place(ws, human):
    secret = SECRETS[0][1]
    filler = "x" * 99 + "\n"
    ws.path("notes.md").write_text(filler * 30_000 + f"my token {secret}\n")  # 3 MB: over the old 2 MB limit
    ws.commit_human_edits()
    assert secret not in ws.read_text("notes.md") and "my token [REDACTED]" in ws.read_text("notes.md")
    assert secret not in _history(ws)
    assert "notes.md" in ws.repo.git.ls_files().splitlines()


def test_a_binary_file_holding_a_secret_is_kept_out_not_rewritten(ws, human):
    data = b"\x00\x01\xffheader " + SECRETS[5][1].encode() + b" \xfe\x00"
    ws.path("dump.bin").write_bytes(data)
    ws.commit_human_edits()
    assert ws.path("dump.bin").read_bytes() == data
    assert SECRETS[5][1] not in _history(ws)


def test_ignore_patterns_match_only_the_file(ws, human, monkeypatch):
    from bus import data_refs

    assert data_refs.ignore_pattern("my data/[v1]*.jsonl") == "/my data/\\[v1\\]\\*.jsonl"
    assert data_refs.ignore_pattern("#odd.csv") == "/\\#odd.csv"
    monkeypatch.setenv("INTERN_LARGE_FILE_MB", "0.001")
    ws.path("my data").mkdir()
    ws.path("my data/[v1]*.jsonl").write_text("{}\n" * 1000)
    ws.path("my data/v1x.jsonl").write_text("{}\n")  # what the pattern would match unescaped: still committed
    ws.commit_human_edits()
    assert ws.pending_human_edits() == []
    assert ws.repo.git.ls_files("my data").splitlines() == ["my data/v1x.jsonl"]
