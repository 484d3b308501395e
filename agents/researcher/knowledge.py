"""The knowledge base shipped with the package, and the ranking of papers against what the loop needs now.

corpus.json holds real post-training papers in our own words: arXiv id (or, where none could be
verified, a key and a url), year, a summary, the failure modes each addresses (named as the critic
names its findings), the TRL knobs and values it motivates, and which of the other entries it builds
on. Papers found online are ranked by the same function, so the two sources mix.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources

# The base model solving almost nothing is not a critic finding; it is the researcher's own "finding".
COLD_START = "cold start"


def load_corpus() -> list[dict]:
    return json.loads(resources.files("agents.researcher").joinpath("corpus.json").read_text())


def paper_key(paper: dict) -> str:
    """The id a hypothesis cites and a note is named by: the arXiv id, or the entry's own key."""
    return paper.get("arxiv_id") or paper["key"]


def context_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z\-]{3,}", text.lower()))


def score_paper(paper: dict, tags: list[str], findings: list[str], words: set[str], cited: set[str]) -> float:
    """3 per failure mode addressed + 2 per matching tag + 0.5 per context word (at most 6) + recency
    + a little for citation count (online papers) + 2 when the diagnosis itself cites the paper."""
    text = (paper["title"] + " " + paper.get("summary", "")).lower()
    word_hits = sum(1 for w in words if w in text)
    score = (
        3.0 * len(set(paper.get("failure_modes", [])) & set(findings))
        + 2.0 * len(set(paper.get("tags", [])) & set(tags))
        + 0.5 * min(word_hits, 6)
        + 0.05 * max(paper["year"] - 2017, 0)
        + 0.25 * math.log10(1 + (paper.get("citations") or 0))
        + (2.0 if paper_key(paper) in cited else 0.0)
    )
    return round(score, 2)


def rank_papers(
    corpus: list[dict],
    tags: list[str],
    context: str,
    findings: list[str] | None = None,
    cited: set[str] | None = None,
) -> list[tuple[float, dict]]:
    """Papers by score, best first; ties broken by id so the order never depends on the corpus order."""
    words = context_words(context)
    scored = [(score_paper(p, tags, findings or [], words, cited or set()), p) for p in corpus]
    scored.sort(key=lambda sp: (-sp[0], paper_key(sp[1])))
    return scored


def addressing(corpus: list[dict], finding: str) -> list[str]:
    """Ids of the papers that address one failure mode."""
    return [paper_key(p) for p in corpus if finding in p.get("failure_modes", [])]


# How a paper found online is tagged from its title and abstract, in the knowledge base's vocabulary.
TAG_WORDS = {
    "grpo": ("grpo", "group relative"),
    "sft": ("supervised fine-tun", "sft"),
    "distillation": ("distill",),
    "cold-start": ("cold start", "cold-start"),
    "verifiable-reward": ("verifiable reward", "rlvr", "rule-based reward"),
    "entropy": ("entropy",),
    "exploration": ("explor",),
    "dynamic-sampling": ("dynamic sampling",),
    "stability": ("stabil", "unstable"),
    "length": ("length",),
    "data-quality": ("data quality", "curated", "high-quality data"),
}
FAILURE_WORDS = {
    "entropy collapse": ("entropy collapse", "entropy decreas", "collapse of entropy"),
    "no learning signal": ("zero advantage", "zero variance", "all-correct", "dynamic sampling", "no learning signal"),
    "truncation / length blow-up": ("overlong", "truncat", "length bias"),
    "instability": ("instabil", "unstable"),
    "reward hacking": ("reward hacking", "overoptimi", "over-optimi"),
    "over-fitting": ("overfit", "over-fit", "memoriz"),
    COLD_START: ("cold start", "cold-start"),
}


def derive_tags(paper: dict) -> dict:
    """Tags and failure modes for a paper outside the knowledge base, from the words of its title and abstract."""
    text = (paper.get("title", "") + " " + paper.get("summary", "")).lower()
    return {
        "tags": [t for t, words in TAG_WORDS.items() if any(w in text for w in words)],
        "failure_modes": [f for f, words in FAILURE_WORDS.items() if any(w in text for w in words)],
        "knobs": {},
    }
