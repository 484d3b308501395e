"""Real files in their published layouts, given in data.local: each gives a usable card with the right mapping.

The files are copies of tests/fixtures/real-datasets/ (see its README.md for where each comes from);
the GPQA one has the official CSV layout with hand-written questions. Row counts and a few rows are
checked by hand against the files, through the curator's own step on a real workspace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.common import state
from agents.critic.evaluate import ensure_eval_split
from agents.curator.columns import detect_mapping, map_row
from agents.curator.curator import curator_step
from agents.curator.sources import read_source
from agents.tasks import get_task
from bus import Workspace
from bus.jsonl import read_jsonl
from bus.schemas import DatasetCard, TaskSpec

FIXTURES = Path(__file__).parents[2] / "fixtures"
REAL = FIXTURES / "real-datasets"
GSM8K_FILE = REAL / "gsm8k/test.jsonl"
MATH_FILE = REAL / "math500/test_ori.jsonl"
ALPACA_FILE = REAL / "alpaca-llamafactory/alpaca_en_demo.json"
CHAT_FILE = REAL / "chat-messages-sharegpt/sharegpt_gpt4-qwen3_a22B_output.jsonl"
PARTS_CHAT_FILE = REAL / "chat-messages-llamafactory-v1/v1_sft_demo.jsonl"
GPQA_FILE = FIXTURES / "curator/gpqa_main_layout.csv"
# Held-out splits from the small task fixtures, so the training files are checked against a real split.
EVAL = {
    "gsm8k": FIXTURES / "tasks/gsm8k/test.jsonl",
    "math": FIXTURES / "tasks/math500/test.jsonl",
    "gpqa": FIXTURES / "tasks/gpqa/gpqa_diamond.csv",
}


def curate(ws: Workspace, set_goal, task: str, path: Path, name: str, hypothesis=None) -> DatasetCard:
    goal = set_goal(
        ws,
        task={"name": task, "dataset": str(EVAL[task]), "eval_size": 10},
        data={"local": [{"path": str(path), "name": name}], "hub_search": False},
    )
    ensure_eval_split(ws, goal)
    if hypothesis is not None:
        ws.write_artifact("researcher", "hypotheses/h-001.md", hypothesis, "Hypothesis h-001")
    curator_step(ws)
    cards = state.dataset_cards(ws, include_rejected=True)
    assert len(cards) == 1
    return cards[0][1]


def train_rows(ws: Workspace, card: DatasetCard) -> list[dict]:
    return read_jsonl(ws.path(f"datasets/{card.name}/{card.data_file}"))


def test_gsm8k_file(ws, set_goal):
    card = curate(ws, set_goal, "gsm8k", GSM8K_FILE, "gsm8k")
    assert card.rows_in == 200 and card.verdict != "rejected"
    assert card.column_mapping["gsm8k"] == {"prompt": "question", "answer": "answer"}
    assert card.source_layouts["gsm8k"].startswith("GSM8K: prompt <- `question`; answer <- `answer`")
    assert card.unverified_sources == [] and card.label_agreement == 1.0
    assert card.rows == 200 - sum(card.dropped.values()) and set(card.dropped) <= {"too_long", "contaminated"}
    assert card.dropped["contaminated"] == 2  # Janet's ducks and the robe are in the held-out split too
    source = read_source("gsm8k", str(GSM8K_FILE))
    mapping = detect_mapping(source.columns)
    row = map_row(source.rows[146], mapping, TaskSpec(name="gsm8k"))  # the reference written `2,125`
    assert row["answer"] == "2125" and row["slice"] == "steps-3"
    assert "<<" in row["completion"]  # the calculator annotations stay in the demonstration, not in the answer
    assert {r["slice"] for r in train_rows(ws, card)} <= {f"steps-{n}" for n in range(1, 5)} | {"steps-5+"}


def test_math500_file(ws, set_goal):
    card = curate(ws, set_goal, "math", MATH_FILE, "math500")
    assert card.rows_in == 200 and card.verdict != "rejected"
    assert card.column_mapping["math500"] == {
        "prompt": "problem",
        "answer": "answer",
        "solution": "solution",
        "slice": "level",
    }
    assert card.label_agreement == 1.0  # every solution's own box grades right against its answer column
    assert card.dropped["contaminated"] >= 1  # the polar-coordinates problem is in the held-out split
    source = read_source("m", str(MATH_FILE))
    row = map_row(source.rows[1], detect_mapping(source.columns), TaskSpec(name="math"))
    assert row["answer"] == "p - q" and row["slice"] == "level-5"
    assert row["prompt"].startswith("Problem: Define") and row["prompt"].endswith("\\boxed{}.\nSolution:")


def test_alpaca_file_joins_the_input_and_is_unverified(ws, set_goal):
    card = curate(ws, set_goal, "gsm8k", ALPACA_FILE, "alpaca")
    assert card.rows_in == 999 and card.verdict == "usable with warnings"
    assert card.column_mapping["alpaca"] == {"prompt": "instruction", "input": "input", "completion": "output"}
    assert card.unverified_sources == ["alpaca"] and card.label_agreement is None
    assert "SFT demonstrations only" in card.source_layouts["alpaca"]
    source = read_source("a", str(ALPACA_FILE))
    with_input = [r for r in source.rows if r["input"].strip()]
    assert len(with_input) == 412
    row = map_row(source.rows[5], detect_mapping(source.columns), TaskSpec(name="gsm8k"))
    assert row["prompt"] == (
        "Question: Given the parameters of a triangle, find out its perimeter.\nSide 1 = 4\nSide 2 = 6\nSide 3 = 8"
        "\nAnswer:"
    )
    assert row["completion"].endswith("the perimeter of the triangle is 18 units.") and row["verified"] is False
    kept = train_rows(ws, card)
    assert all(r["verified"] is False and r["answer"] == "" for r in kept)
    joined = [r for r in kept if r["prompt"].count("\n") > 1]
    assert joined  # the instruction's input reached the training prompts


def test_chat_file_is_demonstrations_whose_agreement_is_not_computed_from_itself(ws, set_goal):
    card = curate(ws, set_goal, "gsm8k", CHAT_FILE, "chat")
    assert card.rows_in == 256 and card.verdict == "usable with warnings"
    assert card.column_mapping["chat"] == {"messages": "messages"}
    assert card.label_agreement is None and card.unverified_sources == ["chat"]
    assert "free-form" in " ".join(card.verdict_reasons)
    assert "dropped" not in card.model_dump() or "unparseable_answer" not in card.dropped
    source = read_source("c", str(CHAT_FILE))
    assert "source" not in source.rows[-1]  # the last row lacks the key; the layout does not need it
    row = map_row(source.rows[-1], detect_mapping(source.columns), TaskSpec(name="gsm8k"))
    assert row["prompt"].startswith("Question: 润色以下句子") and row["completion"].startswith("她的歌声宛如天籁之音")


def test_chat_file_never_gives_grpo_answers(ws, set_goal, make_hypothesis):
    card = curate(ws, set_goal, "gsm8k", CHAT_FILE, "chat", make_hypothesis(method="grpo"))
    assert card.verdict == "rejected" and card.dropped["unverified"] > 0
    assert "only be SFT demonstrations" in card.verdict_reasons[0]


def test_gpqa_csv_file_becomes_letter_answers(ws, set_goal):
    card = curate(ws, set_goal, "gpqa", GPQA_FILE, "gpqa")
    assert card.rows_in == 12 and card.verdict != "rejected"
    # The held-out fixture opens its well question with the same 13 words as the first record: contaminated.
    assert card.dropped == {"contaminated": 1} and card.rows == 11
    assert card.column_mapping["gpqa"]["answer"] == "Correct Answer"
    assert card.source_layouts["gpqa"].startswith("GPQA wide")
    rows = train_rows(ws, card)
    assert {r["answer"] for r in rows} <= set("ABCD") and len({r["answer"] for r in rows}) > 1
    assert not any("middle third" in r["prompt"] for r in rows)
    oxygen = next(r for r in rows if "spin multiplicity" in r["prompt"])
    assert oxygen["prompt"].splitlines()[:2] == [
        "Question: Ground-state molecular oxygen has two electrons in degenerate pi* orbitals.",
        "What is its spin multiplicity?",
    ]
    options = dict(line.split(") ", 1) for line in oxygen["prompt"].splitlines()[2:6])
    assert sorted(options.values()) == ["1", "2", "3", "5"]
    assert options[oxygen["answer"]] == "3" and oxygen["slice"] == "Chemistry"
    assert card.label_agreement == 1.0 and all(get_task("gpqa").grade(r["completion"], r["answer"]) for r in rows)


@pytest.mark.parametrize("path", [GSM8K_FILE, MATH_FILE, ALPACA_FILE, CHAT_FILE, PARTS_CHAT_FILE])
def test_the_copies_match_the_shared_reference(path):
    shared = Path("/work/shared/reference/real-datasets") / path.relative_to(REAL)
    if not shared.exists():
        pytest.skip("the shared reference folder is not on this machine")
    assert shared.read_bytes() == path.read_bytes()


def _base_evaluation(ws: Workspace, make_evaluation, slices: dict[str, float]) -> None:
    ws.write_artifact("critic", "reports/base-evaluation.md", make_evaluation(0.3, slices=slices), "Evaluate the base")


def test_a_weak_math_level_reweights_the_real_rows_and_the_card_says_how_much(
    ws, set_goal, make_evaluation, make_hypothesis
):
    _base_evaluation(ws, make_evaluation, {f"level-{n}": 0.6 - 0.1 * n for n in range(1, 6)})
    hyp = make_hypothesis(data_change="more level 5 problems, the hardest ones")
    card = curate(ws, set_goal, "math", MATH_FILE, "math500", hyp)
    assert card.targets_slice == "level-5" and "hypothesis h-001 asks for it" in card.target_reason
    rows = train_rows(ws, card)
    level5 = sum(r["slice"] == "level-5" for r in rows)
    assert card.target_share["after"] == pytest.approx(level5 / len(rows), abs=1e-4)
    assert card.target_share["before"] < 0.5 < card.target_share["after"]  # ~25% of MATH-500 -> ~80%
    assert card.target_share["after"] == pytest.approx(0.8, abs=0.02)
    assert f"Share of rows in the slice: {card.target_share['before']:.0%} before" in card.body
    assert f"all {level5} kept" in card.body


def test_no_targeting_is_claimed_when_no_row_is_in_the_weak_slice(ws, set_goal, make_evaluation, make_hypothesis):
    _base_evaluation(ws, make_evaluation, {"Physics": 0.2, "Chemistry": 0.7})
    card = curate(ws, set_goal, "gsm8k", GSM8K_FILE, "gsm8k", make_hypothesis(data_change="more Physics questions"))
    assert card.targets_slice is None and card.target_share is None
    assert "Targets slice" not in card.body and "no source has rows in it" in card.note
    assert card.rows == 200 - sum(card.dropped.values())  # nothing was filtered for a target


def test_training_rows_are_sliced_by_the_column_the_held_out_split_uses(ws, set_goal):
    goal = set_goal(
        ws,
        task={"name": "math", "dataset": str(EVAL["math"]), "eval_size": 10, "columns": {"slice": "subject"}},
        data={"local": [{"path": str(MATH_FILE), "name": "math500"}], "hub_search": False},
    )
    ensure_eval_split(ws, goal)
    curator_step(ws)
    [(_, card)] = state.dataset_cards(ws)
    assert card.column_mapping["math500"]["slice"] == "subject"
    assert "Intermediate Algebra" in {r["slice"] for r in train_rows(ws, card)}
