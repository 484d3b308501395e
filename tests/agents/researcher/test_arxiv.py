"""arXiv search through the real `arxiv` client against a local server serving a recorded Atom feed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from agents.researcher.arxiv import build_query, model_family, search_arxiv
from agents.researcher.net import Net, Offline
from bus.schemas import Goal, TaskSpec


def _net(tmp_path, **kw) -> Net:
    return Net(
        **({"online": True, "why_offline": "", "timeout": 5, "cache_dir": tmp_path, "delay": 0, "backoff": 0.01} | kw)
    )


def test_query_names_the_method_and_the_diagnosed_failure():
    goal = Goal()
    query = build_query(goal, "grpo", ["entropy collapse"])
    assert query == '(abs:"GRPO" OR abs:"group relative policy optimization") AND (abs:"entropy collapse")'
    # Two findings, phrased as papers phrase them, without repeats.
    query = build_query(goal, "grpo", ["no learning signal", "solved prompts"])
    assert query.endswith('AND (abs:"zero advantage" OR abs:"dynamic sampling")')


def test_query_without_findings_uses_the_task_and_model_family():
    goal = Goal(model="Qwen/Qwen3-1.7B", task=TaskSpec(name="gsm8k"))
    assert build_query(goal, "sft", []) == (
        '(abs:"supervised fine-tuning" OR abs:"distillation") AND (abs:"math word problems" OR abs:"Qwen")'
    )
    assert build_query(Goal(), "grpo", []).endswith('AND (abs:"arithmetic")')  # embedded model: no family
    assert model_family("meta-llama/Llama-3.2-1B") == "Llama"
    assert model_family("embedded:tiny") is None and model_family("/models/mine") is None


def test_search_parses_the_feed_skips_malformed_entries_and_caches(services, recorded, tmp_path):
    services.route("/api/query", recorded("arxiv_search_grpo_entropy.xml"), recorded("arxiv_empty_page.xml"))
    n = _net(tmp_path)
    query = build_query(Goal(), "grpo", ["entropy collapse"])
    papers = search_arxiv(n, query, 10)
    assert [p["arxiv_id"] for p in papers] == ["2509.01234", "2505.22312"]
    first = papers[0]
    assert (
        first["title"] == "Keeping Entropy Alive: Clip-Higher and Fork Tokens in Group-Relative Reinforcement Learning"
    )
    assert first["year"] == 2025 and first["summary"].startswith("We study entropy collapse")
    # The entry without a date (dropped by the feed parser) and the one without an abstract are noted, not fatal.
    assert any("2509.09999" in note and "missing <published>" in note for note in n.notes)
    assert any("2509.08888" in note and "malformed" in note for note in n.notes)
    # The client sent our query to the API URL we set.
    sent = parse_qs(urlparse(services.requests[0]).query)
    assert sent["search_query"] == [query] and sent["max_results"] == ["10"]
    # A rerun costs no request, even offline.
    again = search_arxiv(_net(tmp_path, online=False, why_offline="cut"), query, 10)
    assert again == papers and services.count("/api/query") == 2  # the first page, and the empty one after it


def test_search_retries_a_429_with_backoff(services, recorded, tmp_path):
    feed, empty = recorded("arxiv_search_grpo_entropy.xml"), recorded("arxiv_empty_page.xml")
    services.route("/api/query", (429, "Rate exceeded."), feed, empty)
    n = _net(tmp_path)
    assert len(search_arxiv(n, "abs:GRPO", 5)) == 2
    assert services.count("/api/query") == 3
    assert any("arXiv answered 429" in note for note in n.notes)


def test_search_offline_makes_no_request(services, tmp_path):
    with pytest.raises(Offline, match="cut"):
        search_arxiv(_net(tmp_path, online=False, why_offline="cut"), "abs:GRPO", 5)
    assert services.requests == []
