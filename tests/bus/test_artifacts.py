"""bus.artifacts and bus.schemas: artifacts as text, and what each file must contain."""

from __future__ import annotations

import json

import pytest
import yaml
from pydantic import ValidationError

from bus.artifacts import dump_artifact, load_artifact, parse_artifact, schema_for, split_front_matter
from bus.errors import ArtifactError
from bus.schemas import (
    DatasetCard,
    Diagnosis,
    Evaluation,
    Goal,
    Hypothesis,
    PaperNote,
    RunResult,
    TrainingConfig,
)

# --- round trips --------------------------------------------------------------------------


def test_markdown_artifact_has_front_matter_and_body(make_paper):
    note = make_paper(body="\n\nFirst paragraph.\n\nSecond paragraph.\n\n")
    text = dump_artifact(note)
    assert text.startswith("---\n")
    front, body = split_front_matter(text)
    assert "body" not in front
    assert front["arxiv_id"] == "2402.03300"  # a str that looks like a float stays a str
    assert front["year"] == 2024
    assert body == "First paragraph.\n\nSecond paragraph."


def test_markdown_round_trip_keeps_every_field(make_paper):
    note = make_paper()
    back = parse_artifact(dump_artifact(note), PaperNote, "papers/x.md")
    assert isinstance(back, PaperNote)
    assert back.model_dump(exclude={"body"}) == note.model_dump(exclude={"body"})
    assert back.body.strip() == note.body.strip()
    assert dump_artifact(back) == dump_artifact(note)  # the text is a fixed point


def test_markdown_round_trip_is_exact(make_paper):
    note = make_paper(body="A body without a trailing newline.")
    assert parse_artifact(dump_artifact(note), PaperNote, "papers/x.md") == note


def test_markdown_body_may_contain_horizontal_rules(make_paper):
    note = make_paper(body="above\n\n---\n\nbelow")
    back = parse_artifact(dump_artifact(note), PaperNote, "papers/x.md")
    assert back.body == "above\n\n---\n\nbelow"
    assert back.title == note.title


def test_json_round_trip():
    result = RunResult(
        run_id="run-001",
        method="grpo",
        status="succeeded",
        started="2024-01-01T00:00:00+00:00",
        finished="2024-01-01T00:05:00+00:00",
        wall_seconds=300.0,
        steps=10,
        final_metrics={"train_loss": 0.5},
        checkpoint="runs/run-001/checkpoint",
    )
    text = dump_artifact(result)
    assert text.endswith("\n")
    assert json.loads(text)["final_metrics"] == {"train_loss": 0.5}
    assert parse_artifact(text, RunResult, "runs/run-001/result.json") == result


def test_yaml_round_trip(make_config):
    config = make_config(method="grpo", reward_funcs={"exact": 1.0, "format": 0.5}, learning_rate=5e-6)
    text = dump_artifact(config)
    data = yaml.safe_load(text)
    assert list(data)[:3] == ["run_id", "method", "base_model"]  # field order kept, not sorted
    assert data["learning_rate"] == 5e-6
    assert parse_artifact(text, TrainingConfig, "runs/run-001/config.yaml") == config


def test_goal_round_trip_and_template_defaults():
    goal = Goal()
    assert parse_artifact(dump_artifact(goal), Goal, "intern.yaml") == goal


def test_load_artifact_reads_from_disk(tmp_path, make_config):
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "config.yaml").write_text(dump_artifact(make_config(run_id="r1")))
    loaded = load_artifact(tmp_path, "runs/r1/config.yaml")
    assert isinstance(loaded, TrainingConfig)
    assert loaded.run_id == "r1"


def test_load_artifact_missing_file_and_unknown_schema(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist") as info:
        load_artifact(tmp_path, "runs/r1/config.yaml")
    assert (info.value.path, info.value.field) == ("runs/r1/config.yaml", "(file)")
    with pytest.raises(ArtifactError, match="no artifact schema"):
        load_artifact(tmp_path, "runs/r1/metrics.jsonl")


# --- parse errors -------------------------------------------------------------------------


def test_missing_front_matter_is_refused():
    with pytest.raises(ArtifactError) as info:
        parse_artifact("# Just a heading\n\nNo front matter.\n", PaperNote, "papers/x.md")
    err = info.value
    assert err.path == "papers/x.md"
    assert err.field == "(file)"
    assert "must start with a '---'" in str(err)
    assert str(err).startswith("papers/x.md: field '(file)': ")


def test_unclosed_front_matter_is_refused():
    with pytest.raises(ArtifactError, match="not closed") as info:
        parse_artifact("---\narxiv_id: '1'\ntitle: t\nyear: 2024\n\nbody\n", PaperNote, "papers/x.md")
    assert info.value.field == "(file)"


def test_front_matter_that_is_not_a_mapping_is_refused():
    with pytest.raises(ArtifactError, match="must be a YAML mapping"):
        parse_artifact("---\n- a\n- b\n---\n\nbody\n", PaperNote, "papers/x.md")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("---\narxiv_id: '1'\ntitle: t\nyear: soon\nrelevance: 1.0\n---\n\nbody\n", "year"),
        ("---\narxiv_id: '1'\ntitle: t\nyear: 2024\nrelevance: -1\n---\n\nbody\n", "relevance"),
        ("---\narxiv_id: 2402.03300\ntitle: t\nyear: 2024\nrelevance: 1\n---\n\nbody\n", "arxiv_id"),
        ("---\narxiv_id: '1'\ntitle: t\nyear: 2024\nrelevance: 1\ntags: grpo\n---\n\nbody\n", "tags"),
        ("---\ntitle: t\nyear: 2024\nrelevance: 1\n---\n\nbody\n", "arxiv_id"),
        ("---\narxiv_id: '1'\ntitle: t\nyear: 2024\nrelevance: 1\nextra: 1\n---\n\nbody\n", "extra"),
    ],
)
def test_wrong_field_names_the_field(text, field):
    with pytest.raises(ArtifactError) as info:
        parse_artifact(text, PaperNote, "papers/x.md")
    assert info.value.path == "papers/x.md"
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value)


def test_nested_field_error_names_the_dotted_path():
    text = "task:\n  digits: 9\n"
    with pytest.raises(ArtifactError) as info:
        parse_artifact(text, Goal, "intern.yaml")
    assert info.value.field == "task.digits"


@pytest.mark.parametrize(
    ("schema", "path", "text"),
    [
        (RunResult, "runs/r/result.json", "{not json"),
        (RunResult, "runs/r/result.json", "[1, 2]"),
        (TrainingConfig, "runs/r/config.yaml", "run_id: [unclosed"),
        (TrainingConfig, "runs/r/config.yaml", "- a list\n- not a mapping\n"),
    ],
)
def test_unparseable_text_is_a_file_error(schema, path, text):
    with pytest.raises(ArtifactError) as info:
        parse_artifact(text, schema, path)
    assert info.value.path == path
    assert info.value.field == "(file)"
    assert "\n" not in str(info.value)  # one line a user can act on


def test_training_config_rules(make_config):
    with pytest.raises(ValidationError):
        make_config(method="dpo")
    with pytest.raises(ValidationError):
        make_config(learning_rate=0)
    with pytest.raises(ValidationError):
        make_config(reward_funcs={"exact": 0.0})
    with pytest.raises(ValidationError):
        make_config(unknown_knob=1)


@pytest.mark.parametrize("brain", ["gpt", "hf:no-org", "local:", "hf:org/model:prov:extra", "OpenAI gpt-4"])
def test_goal_refuses_a_brain_it_cannot_read(brain: str):
    with pytest.raises(ArtifactError) as info:
        parse_artifact(f"brain: '{brain}'\n", Goal, "intern.yaml")
    assert info.value.field == "brain"


@pytest.mark.parametrize(
    "brain",
    ["none", "hf:Qwen/Qwen2.5-7B-Instruct", "hf:Qwen/Qwen3-8B:nscale", "local:./models/chat", "openai:gpt-4o-mini"],
)
def test_goal_reads_every_kind_of_brain(brain: str):
    goal = parse_artifact(f"brain: '{brain}'\nbrain_budget:\n  tokens: 5000\n", Goal, "intern.yaml")
    assert goal.brain == brain and goal.brain_budget.tokens == 5000


def test_hypothesis_needs_a_paper():
    with pytest.raises(ValidationError):
        Hypothesis(id="h1", title="t", method="sft", papers=[])


# --- schema_for ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("intern.yaml", Goal),
        ("papers/x.md", PaperNote),
        ("hypotheses/h1.md", Hypothesis),
        ("datasets/a/README.md", DatasetCard),
        ("runs/r1/config.yaml", TrainingConfig),
        ("runs/r1/result.json", RunResult),
        ("runs/r1/evaluation.md", Evaluation),
        ("reports/base-evaluation.md", Evaluation),
        ("runs/r1/diagnosis.md", Diagnosis),
        ("plan.md", None),
        ("README.md", None),
        ("reports/summary.md", None),
        ("runs/r1/metrics.jsonl", None),
        ("datasets/a/generate.py", None),
        ("eval/test.jsonl", None),
        ("papers/sub/x.md", None),  # one part deep only
        ("papers/x.txt", None),
        ("other/intern.yaml", None),
        ("x/runs/r1/config.yaml", None),
    ],
)
def test_schema_for_maps_paths(path, schema):
    assert schema_for(path) is schema


# --- dataset cards --------------------------------------------------------------------------


def test_dataset_card_round_trip(make_card):
    card = make_card()
    back = parse_artifact(dump_artifact(card), DatasetCard, "datasets/a/README.md")
    assert back.model_dump(exclude={"body"}) == card.model_dump(exclude={"body"})


def test_dataset_card_with_eval_overlap_is_refused(make_card, card_fields):
    with pytest.raises(ValidationError, match="evaluation split"):
        make_card(eval_overlap=3)
    text = dump_artifact(make_card()).replace("eval_overlap: 0", "eval_overlap: 3")
    with pytest.raises(ArtifactError) as info:
        parse_artifact(text, DatasetCard, "datasets/a/README.md")
    assert info.value.field == "eval_overlap"
    assert "3 training prompts are in the evaluation split" in str(info.value)


def test_artifacts_refuse_invalid_assignment(make_card):
    card = make_card()
    with pytest.raises(ValidationError):
        card.eval_overlap = 1
