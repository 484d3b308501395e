"""Training rows that leak the held-out split: exact, near-duplicate and long n-gram matches.

Shared by the critic (which checks every training dataset before training and writes
`reports/contamination/<dataset>.json`) and the trainer (which drops exactly the rows that
report lists). The report names training rows and eval row numbers only, never eval text, so
the trainer learns nothing about the split from reading it.

Three tests, strongest first; a training row gets at most one hit:
- exact: equal after normalisation (lower case, prose punctuation dropped, whitespace collapsed;
  arithmetic operators + - * / = ^ < > % are kept, since `3+4` and `3-4` are different problems);
- near_duplicate: Jaccard similarity of the character 5-gram sets >= 0.8, computed exactly for
  every (training row, eval row) pair that shares a gram: an inverted index of the eval grams
  gives, per training row, the shared-gram count with every eval row in one numpy pass, so the
  cost follows the shared grams rather than train x eval, and nothing is approximated;
- ngram_overlap: a shared sequence of 13 words, the test GPT-3 used on its benchmarks
  (Brown et al. 2020, arXiv 2005.14165). It only applies when both texts have 13 words or more;
  shorter texts are covered by the first two tests.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bus import layout

EXACT = "exact"
NEAR_DUPLICATE = "near_duplicate"
NGRAM_OVERLAP = "ngram_overlap"
KINDS = (EXACT, NEAR_DUPLICATE, NGRAM_OVERLAP)

NEAR_THRESHOLD = 0.8
CHAR_N = 5
WORD_N = 13
REPORT_DIR = layout.CONTAMINATION_DIR
_KEEP = set("+-*/=^<>%")
_SPACE = re.compile(r"\s+")
_CHUNK = 4_000_000  # postings gathered (and overlap cells) per numpy pass


class ContaminationReportError(ValueError):
    """A contamination report that is missing, unreadable or about other data; the message is one line."""


@dataclass(frozen=True)
class Hit:
    train_index: int
    eval_index: int
    kind: str
    similarity: float  # 1.0 for exact; Jaccard of char 5-grams; share of the row's word 13-grams found


@functools.cache
def _punctuation_table() -> dict[int, str]:
    """Every Unicode punctuation character but the kept operators, mapped to a space (built once, ~0.3 s)."""
    return {
        cp: " "
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)).startswith("P") and chr(cp) not in _KEEP
    }


def normalize(text: str) -> str:
    # A space, not nothing: "don't" -> "don t", so punctuation separates words and never joins them.
    folded = unicodedata.normalize("NFKC", text).lower().translate(_punctuation_table())
    return _SPACE.sub(" ", folded).strip()


def char_grams(norm: str, n: int = CHAR_N) -> set[str]:
    if len(norm) <= n:
        return {norm} if norm else set()
    return {norm[i : i + n] for i in range(len(norm) - n + 1)}


def word_grams(norm: str, n: int = WORD_N) -> set[str]:
    words = norm.split(" ")
    if len(words) < n:
        return set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class _NearIndex:
    """Inverted index of the eval char grams; shared-gram counts for many training rows at once.

    For each training row the postings of its grams are gathered and counted per eval row
    (numpy bincount), which gives the exact overlap with every eval row in one pass. The cost
    grows with the number of shared grams, not with train x eval, and no pair is approximated.
    """

    def __init__(self, eval_sets: list[set[str]], threshold: float) -> None:
        import numpy as np

        self.threshold = threshold
        self.ids: dict[str, int] = {}
        pairs_gram, pairs_row = [], []
        for j, grams in enumerate(eval_sets):
            for g in grams:
                pairs_gram.append(self.ids.setdefault(g, len(self.ids)))
                pairs_row.append(j)
        gram = np.asarray(pairs_gram, dtype=np.int64)
        order = np.argsort(gram, kind="stable")
        self.postings = np.asarray(pairs_row, dtype=np.int64)[order]
        self.offsets = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(gram, minlength=len(self.ids)), out=self.offsets[1:])
        self.sizes = np.asarray([len(s) for s in eval_sets], dtype=np.float64)

    def best(self, train_sets: list[set[str]], limits: list[int] | None = None) -> list[tuple[int, float] | None]:
        """Per training set: the most similar eval row at or above the threshold, or None.

        `limits[i]`, when given, restricts training set i to eval rows numbered below it (used to compare
        a dataset with its own earlier rows).
        """
        import numpy as np

        out: list[tuple[int, float] | None] = [None] * len(train_sets)
        n_eval = len(self.sizes)
        if n_eval == 0:
            return out
        known = [np.asarray([self.ids[g] for g in s & self.ids.keys()], dtype=np.int64) for s in train_sets]
        work = [int((self.offsets[k + 1] - self.offsets[k]).sum()) for k in known]
        start = 0
        while start < len(train_sets):
            # Chunks bounded by postings gathered and by the dense overlap matrix, so memory stays small.
            stop, budget = start, 0
            while stop < len(train_sets) and (
                stop == start or (budget + work[stop] <= _CHUNK and (stop - start) * n_eval <= _CHUNK)
            ):
                budget += work[stop]
                stop += 1
            self._chunk(train_sets, known, start, stop, out, limits)
            start = stop
        return out

    def _chunk(self, train_sets, known, start: int, stop: int, out: list, limits: list[int] | None = None) -> None:
        import numpy as np

        ids = np.concatenate(known[start:stop])
        if ids.size == 0:
            return
        row_of = np.repeat(np.arange(stop - start), [k.size for k in known[start:stop]])
        first = self.offsets[ids]
        counts = self.offsets[ids + 1] - first
        total = int(counts.sum())
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        eval_rows = self.postings[np.repeat(first, counts) + within]
        n_eval = len(self.sizes)
        overlap = np.bincount(np.repeat(row_of, counts) * n_eval + eval_rows, minlength=(stop - start) * n_eval)
        overlap = overlap.reshape(stop - start, n_eval).astype(np.float64)
        sizes_a = np.asarray([len(s) for s in train_sets[start:stop]], dtype=np.float64)[:, None]
        with np.errstate(invalid="ignore"):  # 0/0 only for an empty set against an empty set: never a hit
            jaccard = overlap / (sizes_a + self.sizes[None, :] - overlap)
        if limits is not None:
            allowed = np.arange(n_eval)[None, :] < np.asarray(limits[start:stop], dtype=np.int64)[:, None]
            jaccard = np.where(allowed, jaccard, -1.0)
        best = jaccard.argmax(axis=1)
        values = jaccard[np.arange(stop - start), best]
        for r in np.flatnonzero(values >= self.threshold - 1e-12):
            out[start + int(r)] = (int(best[r]), float(values[r]))


def problem_as_written(prompt: str, template: tuple[str, str] = ("", "")) -> str:
    """`prompt` without the task template's fixed text around the problem, where the prompt carries it."""
    before, after = template
    text = prompt
    if before and text.startswith(before):
        text = text[len(before) :]
    if after and text.endswith(after):
        text = text[: -len(after)]
    return text


def compared_form(template: tuple[str, str]) -> str:
    """What the check compared, in words, for its report."""
    if not any(template):
        return "prompts as given (the task has no prompt template)"
    return f"problems as written: the task template ({template[0]!r} ... {template[1]!r}) removed from both sides"


def find_contamination(
    train_prompts: list[str],
    eval_prompts: list[str],
    *,
    template: tuple[str, str] = ("", ""),
    near_threshold: float = NEAR_THRESHOLD,
    char_n: int = CHAR_N,
    word_n: int = WORD_N,
) -> list[Hit]:
    """One Hit per contaminated training row (the strongest kind), sorted by training row.

    `template` (agents.tasks.prompt_template) is removed from every prompt that carries it first, so
    that the problems are compared as written and the template's shared words match nothing.
    """
    train_prompts = [problem_as_written(p, template) for p in train_prompts]
    eval_norm = [normalize(problem_as_written(p, template)) for p in eval_prompts]
    exact: dict[str, int] = {}
    for j, text in enumerate(eval_norm):
        if text:
            exact.setdefault(text, j)
    near = _NearIndex([char_grams(t, char_n) for t in eval_norm], near_threshold)
    ngram_postings: dict[str, list[int]] = defaultdict(list)
    for j, text in enumerate(eval_norm):
        for gram in word_grams(text, word_n):
            ngram_postings[gram].append(j)

    train_norm = [normalize(p) for p in train_prompts]
    nearest = near.best([char_grams(t, char_n) if t and t not in exact else set() for t in train_norm])
    hits = []
    for i, text in enumerate(train_norm):
        if not text:
            continue
        if text in exact:
            hits.append(Hit(i, exact[text], EXACT, 1.0))
            continue
        found = nearest[i]
        if found is not None:
            hits.append(Hit(i, found[0], NEAR_DUPLICATE, round(found[1], 4)))
            continue
        grams = word_grams(text, word_n)
        if grams and ngram_postings:
            shared = Counter(j for g in grams for j in ngram_postings.get(g, ()))
            if shared:
                j, count = min(shared.items(), key=lambda kv: (-kv[1], kv[0]))
                hits.append(Hit(i, j, NGRAM_OVERLAP, round(count / len(grams), 4)))
    return hits


def find_near_duplicates(
    prompts: list[str],
    *,
    template: tuple[str, str] = ("", ""),
    near_threshold: float = NEAR_THRESHOLD,
    char_n: int = CHAR_N,
) -> list[Hit]:
    """Rows that repeat an EARLIER row of the same list: exact after normalisation, or near-duplicate.

    The same normalisation and character 5-gram Jaccard test as `find_contamination`, so the curator's
    de-duplication and the critic's leak check agree on what "the same problem" means. `eval_index` is
    the earlier row a hit repeats; the first of a group is never a hit, so dropping the hits keeps one.
    """
    norm = [normalize(problem_as_written(p, template)) for p in prompts]
    first: dict[str, int] = {}
    for i, text in enumerate(norm):
        first.setdefault(text, i)
    grams = [char_grams(t, char_n) for t in norm]
    # Only first occurrences are candidates to be repeated, so an exact repeat never shadows its original.
    index = _NearIndex([g if first[t] == i else set() for i, (t, g) in enumerate(zip(norm, grams))], near_threshold)
    nearest = index.best(
        [g if first[t] == i and t else set() for i, (t, g) in enumerate(zip(norm, grams))], list(range(len(norm)))
    )
    hits = []
    for i, text in enumerate(norm):
        if not text:
            continue
        if first[text] != i:
            hits.append(Hit(i, first[text], EXACT, 1.0))
        elif nearest[i] is not None:
            hits.append(Hit(i, nearest[i][0], NEAR_DUPLICATE, round(nearest[i][1], 4)))
    return hits


# --- the report the critic writes and the trainer reads ---------------------------------------


def report_path(dataset: str) -> str:
    return f"{REPORT_DIR}/{dataset}.json"


def make_report(
    dataset: str,
    data_file: str,
    data_sha256: str,
    split: str,
    split_sha256: str,
    rows: int,
    eval_rows: int,
    hits: list[Hit],
    written: str,
    compared: str = "prompts as given",
) -> dict:
    counts = {kind: sum(h.kind == kind for h in hits) for kind in KINDS}
    return {
        "dataset": dataset,
        "data_file": data_file,
        "data_sha256": data_sha256,
        "split": split,
        "split_sha256": split_sha256,
        "rows": rows,
        "eval_rows": eval_rows,
        "method": {"near_threshold": NEAR_THRESHOLD, "char_n": CHAR_N, "word_n": WORD_N, "compared": compared},
        "counts": {**counts, "dropped": len(hits), "kept": rows - len(hits)},
        "dropped": [
            {"row": h.train_index, "reason": h.kind, "eval_row": h.eval_index, "similarity": h.similarity} for h in hits
        ],
        "written": written,
    }


def read_report(path: Path, data_sha256: str | None = None) -> dict:
    """A report as a dict, checked for shape and (given data_sha256) for being about this exact data."""
    if not path.exists():
        raise ContaminationReportError(f"{path.name}: no contamination report; the critic checks the data first")
    try:
        report = json.loads(path.read_text())
        rows = int(report["rows"])
        dropped = [int(d["row"]) for d in report["dropped"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContaminationReportError(f"{path}: unreadable contamination report ({exc})") from exc
    if any(not 0 <= r < rows for r in dropped):
        raise ContaminationReportError(f"{path}: lists rows outside 0..{rows - 1}")
    if data_sha256 is not None and report.get("data_sha256") != data_sha256:
        raise ContaminationReportError(
            f"{path}: was written for other data (sha256 {str(report.get('data_sha256'))[:12]}..., "
            f"the data is {data_sha256[:12]}...); the critic must check it again"
        )
    return report


def dropped_rows(report: dict) -> set[int]:
    return {int(d["row"]) for d in report["dropped"]}


def drop_listed(rows: list[dict], report: dict) -> tuple[list[dict], int]:
    """The rows the report does not list, and how many were dropped. A report about a different row count is refused."""
    if len(rows) != int(report["rows"]):
        raise ContaminationReportError(
            f"the contamination report covers {report['rows']} rows but the data has {len(rows)}"
        )
    drop = dropped_rows(report)
    return [r for i, r in enumerate(rows) if i not in drop], len(drop)
