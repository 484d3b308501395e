"""Artifact schemas: what each file on the bus must contain.

Human-facing artifacts are markdown with YAML front matter (Hugging Face card style): every
field but `body` goes in the front matter, `body` is the markdown below it. Bulky machine data
is JSON. The goal is YAML because people edit it by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Artifact(BaseModel):
    """Base of every artifact. `FORMAT` decides how it is written to disk."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "json"


class MarkdownArtifact(Artifact):
    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "markdown"
    body: str = ""


# --- the goal (intern.yaml) -------------------------------------------------------------


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "addition"
    digits: int = Field(2, ge=1, le=4)
    teacher_error: float = Field(0.5, ge=0.0, le=1.0)
    eval_size: int = Field(500, ge=10)


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["exact_match"] = "exact_match"
    value: float = Field(0.9, gt=0.0, le=1.0)


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: int = Field(4, ge=1)
    minutes: float = Field(30, gt=0)


class TrainingScale(BaseModel):
    """Multipliers for the embedded recipes; tests use small ones to stay fast."""

    model_config = ConfigDict(extra="forbid")
    steps: float = Field(1.0, gt=0, le=10)


class Goal(Artifact):
    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "yaml"
    model: str = "embedded:tiny"
    task: TaskSpec = TaskSpec()
    target: Target = Target()
    budget: Budget = Budget()
    brain: str = "none"
    compute: Literal["local"] = "local"
    seed: int = 0
    scale: TrainingScale = TrainingScale()

    @field_validator("brain")
    @classmethod
    def _known_brain(cls, value: str) -> str:
        if value != "none":
            raise ValueError("only brain: none (the deterministic brain) is available in this version")
        return value


# --- researcher ---------------------------------------------------------------------------


class PaperNote(MarkdownArtifact):
    arxiv_id: str
    title: str
    year: int
    relevance: float = Field(ge=0.0)
    tags: list[str] = []
    knobs: dict[str, Any] = {}
    written: str = Field(default_factory=utc_now)


class Hypothesis(MarkdownArtifact):
    id: str
    title: str
    method: Literal["sft", "grpo"]
    parent_run: str | None = None
    config_delta: dict[str, Any] = {}
    data_change: str | None = None
    papers: list[str] = Field(min_length=1)
    based_on: str | None = None  # the diagnosis or evaluation it answers
    written: str = Field(default_factory=utc_now)


# --- curator ------------------------------------------------------------------------------


class SliceFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(ge=0)
    label_agreement: float = Field(ge=0.0, le=1.0)


class DatasetCard(MarkdownArtifact):
    name: str
    task: str
    rows: int = Field(ge=1)
    columns: list[str]
    data_file: str
    data_sha256: str
    generator: str
    duplicates: int = Field(ge=0)
    prompt_length: dict[str, float]
    answer_format_ok: float = Field(ge=0.0, le=1.0)
    label_agreement: float = Field(ge=0.0, le=1.0)
    slices: dict[str, SliceFigures] = {}
    eval_overlap: int = Field(ge=0)
    hypothesis: str | None = None
    written: str = Field(default_factory=utc_now)

    @field_validator("eval_overlap")
    @classmethod
    def _disjoint(cls, value: int) -> int:
        if value:
            raise ValueError(f"{value} training prompts are in the evaluation split; a card must be disjoint")
        return value


# --- trainer ------------------------------------------------------------------------------


class TrainingConfig(Artifact):
    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "yaml"
    run_id: str
    method: Literal["sft", "grpo"]
    base_model: str
    parent_run: str | None = None
    dataset: str
    hypothesis: str | None = None
    reward_funcs: dict[str, float] = {}
    seed: int = 0
    learning_rate: float = Field(gt=0, le=1.0)
    lr_scheduler_type: str = "cosine"
    warmup_steps: int = Field(0, ge=0)
    max_steps: int = Field(gt=0)
    per_device_train_batch_size: int = Field(gt=0)
    max_length: int = Field(64, gt=0)
    # GRPO knobs, TRL names (ignored for sft)
    loss_type: str = "dapo"
    beta: float = Field(0.0, ge=0)
    epsilon: float = Field(0.2, gt=0)
    scale_rewards: Literal["group", "batch", "none"] = "group"
    num_generations: int = Field(8, ge=2)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_completion_length: int = Field(8, gt=0)
    num_iterations: int = Field(1, ge=1)

    @field_validator("reward_funcs")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if weight <= 0:
                raise ValueError(f"reward {name} has weight {weight}; weights must be positive")
        return value


class RunResult(Artifact):
    run_id: str
    method: Literal["sft", "grpo"]
    status: Literal["succeeded", "failed"]
    started: str
    finished: str
    wall_seconds: float = Field(ge=0)
    steps: int = Field(ge=0)
    final_metrics: dict[str, float] = {}
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    error: str | None = None
    log_tail: str | None = None


# --- critic -------------------------------------------------------------------------------


class SliceScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=0)
    score: float = Field(ge=0.0, le=1.0)


class Evaluation(MarkdownArtifact):
    subject: str  # "base" or a run id
    checkpoint: str
    checkpoint_sha256: str | None = None
    task: str
    split: str
    split_sha256: str
    metric: Literal["exact_match"] = "exact_match"
    n: int = Field(ge=1)
    score: float = Field(ge=0.0, le=1.0)
    ci_low: float = Field(ge=0.0, le=1.0)
    ci_high: float = Field(ge=0.0, le=1.0)
    slices: dict[str, SliceScore] = {}
    seconds: float = Field(ge=0)
    written: str = Field(default_factory=utc_now)


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    severity: Literal["info", "warning", "critical"]
    evidence: str


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["stop", "train"]
    method: Literal["sft", "grpo"] | None = None
    parent_run: str | None = None
    config_delta: dict[str, Any] = {}
    tags: list[str] = []
    reason: str


class Diagnosis(MarkdownArtifact):
    run_id: str
    score: float
    gain_vs_base: float
    gain_vs_parent: float | None = None
    significant: bool
    findings: list[Finding] = []
    recommendation: Recommendation
    written: str = Field(default_factory=utc_now)
