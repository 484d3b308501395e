"""Built-in recipes and how the trainer turns a hypothesis on the bus into a TrainingConfig."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.common import state
from agents.recipes import settings as recipes
from agents.recipes.settings import tiny_recipe as recipe
from agents.tasks import correctness_reward_name, custom, get_task, reward_functions, task_names
from agents.trainer.trainer import build_config, trainer_step
from bus.schemas import TrainingConfig


def test_sft_recipe_at_full_scale_is_the_measured_one():
    values = recipe("sft", digits=2, step_scale=1.0)
    assert values["max_steps"] == 800
    assert values["learning_rate"] == 1e-3
    assert values["warmup_steps"] == 30
    assert "max_completion_length" not in values
    assert "reward_funcs" not in values


@pytest.mark.parametrize(
    ("method", "scale", "steps", "warmup"),
    [
        ("sft", 0.5, 400, 30),
        ("sft", 0.1, 80, 8),  # warmup never exceeds a tenth of the run
        ("sft", 0.001, 10, 1),  # never fewer than 10 steps
        ("grpo", 2.0, 1000, 20),
        ("grpo", 0.1, 50, 5),
    ],
)
def test_recipe_scales_steps_and_warmup(method, scale, steps, warmup):
    values = recipe(method, 2, scale)
    assert values["max_steps"] == steps
    assert values["warmup_steps"] == warmup


@pytest.mark.parametrize("digits", [1, 2, 3, 4])
def test_grpo_recipe_leaves_room_for_the_answer(digits):
    values = recipe("grpo", digits, 1.0)
    assert values["max_completion_length"] == digits + 3
    assert values["reward_funcs"] == {"exact_match": 1.0}
    assert values["num_generations"] >= 2
    assert values["per_device_train_batch_size"] % values["num_generations"] == 0


def test_recipe_does_not_change_the_module_defaults():
    recipe("sft", 2, 0.01)
    recipe("grpo", 4, 0.01)
    assert recipes.TINY_SFT["max_steps"] == 800 and recipes.TINY_SFT["warmup_steps"] == 30
    assert recipes.TINY_GRPO["max_steps"] == 500 and "max_completion_length" not in recipes.TINY_GRPO


@pytest.mark.parametrize("method", ["sft", "grpo"])
def test_recipes_are_valid_training_configs(method):
    TrainingConfig(run_id="run-001", method=method, base_model="embedded:tiny", dataset="d", **recipe(method, 2, 1.0))


# --- build_config on a real workspace -----------------------------------------------------------


@pytest.fixture
def planned(ws, set_goal, make_card, make_hypothesis):
    """A workspace with a small step scale, a dataset card and one hypothesis, all written through the bus."""

    def plan(**hypothesis_fields):
        set_goal(ws, scale={"steps": 0.1}, seed=7)
        ws.write_artifact("curator", "datasets/addition-d2-teacher50-s0/README.md", make_card(), "Dataset card")
        ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(**hypothesis_fields), "Hypothesis")
        [(hyp_path, hyp)] = state.hypotheses(ws)
        [(_, card)] = state.dataset_cards(ws)
        return hyp_path, hyp, card

    return plan


def test_build_config_from_the_bus(ws, planned):
    hyp_path, hyp, card = planned()
    config = build_config(ws, "run-001", hyp_path, hyp, card)
    assert config.run_id == "run-001"
    assert config.method == "sft"
    assert config.base_model == "embedded:tiny"
    assert config.dataset == "addition-d2-teacher50-s0"
    assert config.hypothesis == "hypotheses/h-001.md"
    assert config.seed == 7
    assert config.max_steps == 80  # 800 * 0.1 from intern.yaml's scale
    assert config.learning_rate == 1e-3


def test_build_config_applies_the_hypothesis_delta(ws, planned):
    hyp_path, hyp, card = planned(
        method="grpo", parent_run="run-001", config_delta={"learning_rate": 2e-5, "num_generations": 16}
    )
    config = build_config(ws, "run-002", hyp_path, hyp, card)
    assert config.method == "grpo"
    assert config.parent_run == "run-001"
    assert config.learning_rate == 2e-5
    assert config.num_generations == 16
    assert config.max_steps == 50
    assert config.max_completion_length == 5
    assert config.reward_funcs == {"exact_match": 1.0}


def test_build_config_refuses_an_unknown_key(ws, planned):
    hyp_path, hyp, card = planned(config_delta={"learning_rat": 1e-4})
    with pytest.raises(ValidationError, match="learning_rat"):
        build_config(ws, "run-001", hyp_path, hyp, card)


def test_build_config_refuses_an_invalid_value(ws, planned):
    hyp_path, hyp, card = planned(config_delta={"learning_rate": 0.0})
    with pytest.raises(ValidationError, match="learning_rate"):
        build_config(ws, "run-001", hyp_path, hyp, card)


def test_trainer_step_reports_an_invalid_hypothesis_without_committing(ws, planned):
    planned(config_delta={"num_generationz": 16})
    head = ws.repo.head.commit.hexsha
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert outcome.commits == []
    assert "hypotheses/h-001.md" in outcome.summary and "num_generationz" in outcome.summary
    assert ws.repo.head.commit.hexsha == head
    assert state.runs(ws) == []


def test_trainer_step_waits_for_a_hypothesis_and_a_dataset(ws, make_hypothesis):
    assert trainer_step(ws).summary == "no untested hypothesis to run"
    ws.write_artifact("researcher", "hypotheses/h-001.md", make_hypothesis(), "Hypothesis")
    outcome = trainer_step(ws)
    assert not outcome.ok
    assert "no checked dataset" in outcome.summary


def test_every_grpo_knob_reaches_trl(tmp_path):
    """The remedies the critic writes (DAPO, GSPO, 80/20 entropy) must arrive in TRL's GRPOConfig unchanged."""
    from agents.trainer.train_entry import grpo_config
    from bus.schemas import TrainingConfig

    values = recipe("grpo", 2, 0.1)
    values.update(
        epsilon_high=0.28,
        mask_truncated_completions=True,
        importance_sampling_level="sequence",
        top_entropy_quantile=0.2,
        max_grad_norm=0.5,
    )
    cfg = TrainingConfig(run_id="run-001", method="grpo", base_model="embedded:tiny", dataset="d", **values)
    args = grpo_config(cfg.model_dump(), tmp_path)
    assert (args.epsilon_high, args.mask_truncated_completions) == (0.28, True)
    assert (args.importance_sampling_level, args.top_entropy_quantile, args.max_grad_norm) == ("sequence", 0.2, 0.5)
    assert args.max_completion_length == 5 and args.num_generations == 8 and args.bf16 is False


# --- rewards follow the goal's task ---------------------------------------------------------------

CUSTOM = {"dataset": "data/questions.jsonl", "columns": {"prompt": "question", "answer": "answer"}}


def _task_goals() -> list[dict]:
    """One task section per registered task, and one per grader for custom."""
    goals = [{"name": name} for name in task_names() if name != custom.NAME]
    goals += [{"name": custom.NAME, **CUSTOM, "grader": grader} for grader in custom.GRADERS]
    return goals


def test_grpo_recipe_takes_the_reward_and_answer_length_it_is_given():
    values = recipe("grpo", 2, 1.0, reward="correct", completion_tokens=256)
    assert values["reward_funcs"] == {"correct": 1.0}
    assert values["max_completion_length"] == 256
    assert "reward_funcs" not in recipe("sft", 2, 1.0, reward="correct")


def test_build_config_for_a_gsm8k_goal_rewards_gsm8k_correctness(ws, planned, set_goal):
    hyp_path, hyp, card = planned(method="grpo")
    set_goal(ws, task={"name": "gsm8k"})
    config = build_config(ws, "run-001", hyp_path, hyp, card)
    assert config.reward_funcs == {"correct": 1.0}
    gsm8k = ws.goal().task
    assert config.max_completion_length == get_task(gsm8k).max_new_tokens(gsm8k) == 256
    # What train_entry does with the task name it is given: the reward is gsm8k's grader, not addition's.
    [reward] = [reward_functions("gsm8k")[name] for name in config.reward_funcs]
    assert reward(["so the answer is 18"], answer=["18"]) == [1.0]
    assert reward(["#### 17"], answer=["18"]) == [0.0]


@pytest.mark.parametrize("task", _task_goals(), ids=lambda t: t.get("grader") or t["name"])
def test_every_task_gets_a_reward_train_entry_can_find(ws, planned, set_goal, task):
    hyp_path, hyp, card = planned(method="grpo")
    goal = ws.goal() if task["name"] == "addition" else set_goal(ws, task=task)  # addition is the default goal
    config = build_config(ws, "run-001", hyp_path, hyp, card)
    assert list(config.reward_funcs) == [correctness_reward_name(goal.task)]
    # train_entry receives the card's task name (the goal's, as the curator wrote it) and looks each name up there.
    funcs = reward_functions(goal.task.name)
    assert all(callable(funcs[name]) for name in config.reward_funcs)
    assert config.max_completion_length == (
        goal.task.digits + 3 if task["name"] == "addition" else get_task(goal.task).max_new_tokens(goal.task)
    )


def test_custom_rewards_grade_with_the_goal_s_grader(ws, planned, set_goal):
    hyp_path, hyp, card = planned(method="grpo")
    goal = set_goal(ws, task={"name": "custom", **CUSTOM, "grader": "choice"})
    config = build_config(ws, "run-001", hyp_path, hyp, card)
    [reward] = [reward_functions(goal.task.name)[name] for name in config.reward_funcs]
    assert reward(["The answer is (C)", "The answer is (B)"], answer=["C", "C"]) == [1.0, 0.0]


def test_a_reward_the_task_lacks_is_refused_in_one_line(ws, planned, set_goal):
    hyp_path, hyp, card = planned(method="grpo", config_delta={"reward_funcs": {"exact_match": 1.0}})
    set_goal(ws, task={"name": "gsm8k"})
    with pytest.raises(ValidationError, match="reward 'exact_match' is not a reward of task gsm8k; use one of correct"):
        build_config(ws, "run-001", hyp_path, hyp, card)
    head = ws.repo.head.commit.hexsha
    outcome = trainer_step(ws)
    assert not outcome.ok and outcome.commits == [] and ws.repo.head.commit.hexsha == head
    assert outcome.summary == (
        "hypotheses/h-001.md asks for an invalid config: reward_funcs: "
        "reward 'exact_match' is not a reward of task gsm8k; "
        "use one of correct, correct_gated, exact, numeric, choice, format, soft_overlong"
    )
