"""The knowledge base (corpus.json) and the ranking of papers against a need."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from agents.researcher.knowledge import COLD_START, addressing, load_corpus, paper_key, rank_papers
from bus.schemas import TrainingConfig

# The papers the issue asks the knowledge base to hold, by arXiv id.
REQUIRED = {
    "2402.03300",  # GRPO / DeepSeekMath
    "2501.12948",  # DeepSeek-R1
    "2503.14476",  # DAPO
    "2503.20783",  # Dr. GRPO
    "2507.18071",  # GSPO
    "2506.01939",  # 80/20 high-entropy tokens
    "2505.22312",  # Skywork-OR1
    "2506.13585",  # CISPO / MiniMax-M1
    "2508.08221",  # Lite PPO
    "2510.13786",  # ScaleRL
    "2501.19393",  # s1
    "2502.03387",  # LIMO
    "2411.15124",  # Tulu 3
}
# The critic's finding names (agents/critic/signals/training.py, diagnose.py) plus the researcher's own cold start.
FINDINGS = {
    "no learning signal", "solved prompts", "truncation / length blow-up", "entropy collapse", "gradient blow-up",
    "KL blow-up", "trust-region clipping high", "instability", "format-reward saturation", "format reward stuck at 0",
    "reward hacking", "over-fitting", "plateau", "systematic demonstration error", COLD_START,
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return load_corpus()


def test_corpus_holds_the_required_papers_and_open_r1_without_an_invented_id(corpus):
    ids = {p["arxiv_id"] for p in corpus}
    assert REQUIRED <= ids
    open_r1 = next(p for p in corpus if p.get("key") == "open-r1")
    assert open_r1["arxiv_id"] is None
    assert "no arXiv" in open_r1["id_note"] and open_r1["url"].startswith("https://huggingface.co/")


def test_corpus_entries_are_well_formed(corpus):
    keys = [paper_key(p) for p in corpus]
    assert len(set(keys)) == len(keys)
    for paper in corpus:
        if paper["arxiv_id"] is not None:
            assert re.fullmatch(r"\d{4}\.\d{4,5}", paper["arxiv_id"]), paper["arxiv_id"]
            # New-style arXiv ids start with the year and month of submission.
            yy, mm = int(paper["arxiv_id"][:2]), int(paper["arxiv_id"][2:4])
            assert 1 <= mm <= 12
            assert paper["year"] == 2000 + yy
        assert paper["title"].strip() and paper["short"].strip() and len(paper["summary"]) > 80
        assert paper["tags"] and all(isinstance(t, str) for t in paper["tags"])
        assert set(paper["failure_modes"]) <= FINDINGS, paper["failure_modes"]
        assert isinstance(paper["knobs"], dict)
        assert set(paper["cites"]) <= set(keys) - {paper_key(paper)}


def test_every_critic_remedy_paper_is_in_the_knowledge_base(corpus):
    from agents.critic.thresholds import PAPERS

    assert set(PAPERS.values()) <= {p["arxiv_id"] for p in corpus}


def _trl_config_fields() -> set[str]:
    """Field names of the installed TRL's GRPOConfig and SFTConfig, read from their source (importing trl takes
    seconds) plus the transformers TrainingArguments they extend."""
    found: set[str] = set()
    for module in ("trl.trainer.grpo_config", "trl.trainer.sft_config", "transformers.training_args"):
        tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in ("GRPOConfig", "SFTConfig", "TrainingArguments"):
                found |= {
                    s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                }
    return found


def test_grpo_knobs_name_real_trl_fields(corpus):
    trl_fields = _trl_config_fields()
    assert {"epsilon_high", "top_entropy_quantile", "learning_rate", "num_train_epochs"} <= trl_fields
    for paper in corpus:
        unknown = set(paper["knobs"]) - trl_fields - set(TrainingConfig.model_fields)
        assert not unknown, (paper_key(paper), unknown)


def test_corpus_covers_the_methods_and_failures_the_loop_meets(corpus):
    tags = {t for p in corpus for t in p["tags"]}
    assert {"sft", "grpo", "cold-start", "verifiable-reward", "rl-after-sft", "longer-training", "stability"} <= tags
    for finding in FINDINGS:
        assert addressing(corpus, finding), f"no paper addresses {finding}"


def test_rank_puts_failure_mode_and_tag_matches_first(corpus):
    ranked = rank_papers(corpus, ["grpo", "dynamic-sampling"], context="", findings=["no learning signal"])
    top = [paper_key(p) for _, p in ranked[:3]]
    assert top[0] == "2503.14476"  # DAPO: dynamic sampling is its cure for all-equal groups
    assert set(top) <= set(addressing(corpus, "no learning signal"))
    scores = [s for s, _ in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(ranked) == len(corpus)


def _paper(arxiv_id: str, tags: list[str], summary: str = "plain text", year: int = 2020, **more) -> dict:
    return {"arxiv_id": arxiv_id, "title": "T", "year": year, "tags": tags, "summary": summary, "knobs": {}} | more


def test_rank_scores_findings_tags_context_citations_and_breaks_ties_by_id():
    papers = [
        _paper("2001.00003", ["grpo"]),
        _paper("2001.00001", ["grpo"]),
        _paper("2001.00002", ["grpo", "stability"]),
        _paper("2001.00004", [], summary="a verifier checks every carry propagation in long addition with digits"),
        _paper("2001.00005", [], failure_modes=["entropy collapse"], citations=999),
        _paper("2001.00006", [], year=2024),
    ]
    # Eight context words appear in one summary; word hits are capped at six.
    context = "verifier checks every carry propagation long addition digits"
    ranked = rank_papers(papers, ["grpo", "stability"], context, findings=["entropy collapse"], cited={"2001.00006"})
    assert [p["arxiv_id"] for _, p in ranked] == [
        "2001.00002", "2001.00005", "2001.00004", "2001.00006", "2001.00001", "2001.00003",
    ]  # fmt: skip
    assert ranked[0][0] == pytest.approx(2 * 2 + 0.05 * 3)
    assert ranked[1][0] == pytest.approx(3 + 0.05 * 3 + 0.25 * 3)  # log10(1000) = 3
    assert ranked[2][0] == pytest.approx(0.5 * 6 + 0.05 * 3)
    assert ranked[3][0] == pytest.approx(2 + 0.05 * 7)
    assert ranked[4][0] == ranked[5][0] == pytest.approx(2 + 0.05 * 3)
