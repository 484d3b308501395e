"""A short `intern go` on the embedded default with a scripted LLM brain: the same loop, the LLM's parts in it.

The brain is LangChain's FakeListChatModel, one script per role (the system message names the role),
registered as `brain: injected:e2e`. Real training, real evaluation, real commits; one SFT run.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.outputs import ChatResult

from agents.brain import forget_built_models, register_chat_model
from agents.supervisor import run_loop
from bus import Workspace, sha256_file
from bus.schemas import PaperNote

pytestmark = pytest.mark.slow

PAPER = "2402.03300"


class ByRole(BaseChatModel):
    """Hands each call to the script of the role its system message names."""

    scripts: dict[str, FakeListChatModel]
    calls: list[str] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        role = next(r for r in self.scripts if f"You are the {r}." in messages[0].content)
        self.calls.append(role)
        return self.scripts[role]._generate(messages, stop, run_manager, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "by-role"


def _scripts() -> dict[str, FakeListChatModel]:
    draft = {
        "title": "SFT warm start, shorter warmup",
        "why": "the base model solves nothing; imitation first",
        "config_delta": {"warmup_steps": 10},
        "papers": [PAPER],
    }
    examples = {
        "examples": [
            {"prompt": "57+68=", "completion": "125", "answer": "125"},
            {"prompt": "45+38=", "completion": "073", "answer": "073"},  # wrong: rejected
            {"prompt": "../eval/addition/test.jsonl", "completion": "", "answer": ""},  # rejected
        ]
    }
    narrative = {"paragraph": "The warm start learned the fixed-width format; the carry slice lags behind."}
    return {
        "researcher": FakeListChatModel(responses=[json.dumps(draft)]),
        "curator": FakeListChatModel(responses=[json.dumps(examples)]),
        "critic": FakeListChatModel(responses=[json.dumps(narrative)]),
        "supervisor": FakeListChatModel(responses=['{"choice": 0, "reason": "research first"}']),
    }


def test_go_with_a_scripted_brain_reaches_the_same_artifacts(ws: Workspace, set_goal) -> None:
    model = ByRole(scripts=_scripts())
    spec = register_chat_model("e2e", model)
    set_goal(
        ws,
        brain=spec,
        budget={"runs": 1},
        task={"eval_size": 100},
        scale={"steps": 0.05},  # 40 SFT steps: the loop is under test here, not how well it learns
    )
    note = PaperNote(arxiv_id=PAPER, title="DeepSeekMath", year=2024, relevance=1.0, body="# DeepSeekMath")
    ws.write_artifact("researcher", f"papers/{PAPER}.md", note, "Note on DeepSeekMath")
    try:
        reason = run_loop(ws, watch=False, say=print)
    finally:
        forget_built_models()

    assert reason.startswith("budget spent")
    for rel in ["reports/base-evaluation.md", "runs/run-001/config.yaml",
                "runs/run-001/result.json", "runs/run-001/evaluation.md", "runs/run-001/diagnosis.md",
                "reports/summary.md"]:  # fmt: skip
        assert ws.exists(rel), rel
    (hypothesis,) = (ws.load(p.relative_to(ws.root).as_posix()) for p in (ws.root / "hypotheses").glob("*.md"))
    assert hypothesis.title == "SFT warm start, shorter warmup"
    assert ws.load("runs/run-001/config.yaml").warmup_steps == 10  # the LLM's change reached the trainer
    card_path = next(p for p in (ws.root / "datasets").glob("*/README.md"))
    assert "2 rejected" in card_path.read_text()
    diagnosis = ws.load("runs/run-001/diagnosis.md")
    assert "## Narrative" in diagnosis.body and "carry slice lags" in diagnosis.body
    assert diagnosis.findings or diagnosis.recommendation  # the rules' verdict is there, the LLM wrote none of it
    assert {"researcher", "curator", "critic"} <= set(model.calls)
    evaluation = ws.load("runs/run-001/evaluation.md")
    assert sha256_file(ws.path(evaluation.split)) == evaluation.split_sha256  # the held-out split as created
    assert not ws.repo.is_dirty(untracked_files=True)
