"""Artifact schemas: what each file on the bus must contain.

Human-facing artifacts are markdown with YAML front matter (Hugging Face card style): every
field but `body` goes in the front matter, `body` is the markdown below it. Bulky machine data
is JSON. The goal is YAML because people edit it by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


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
    """The task: `addition` is embedded; gsm8k, gpqa and math read a Hub id or a local file; custom reads any.

    `digits` and `teacher_error` apply to addition only. `dataset`, `config` and `split` override a
    task's default source; `columns` maps our names (prompt, answer, slice) to the dataset's columns.
    """

    model_config = ConfigDict(extra="forbid")
    # Kept in step with agents.tasks.TASKS by a test: bus/ imports no agent code.
    NAMES: ClassVar[tuple[str, ...]] = ("addition", "gsm8k", "gpqa", "math", "custom")
    COLUMN_KEYS: ClassVar[tuple[str, ...]] = ("prompt", "answer", "slice")
    name: str = "addition"
    digits: int = Field(2, ge=1, le=4)
    teacher_error: float = Field(0.5, ge=0.0, le=1.0)
    eval_size: int = Field(500, ge=10)
    dataset: str | None = None  # Hub id, or a local .jsonl/.json/.parquet/.csv file or folder
    config: str | None = None  # Hub config name (gsm8k: main, gpqa: gpqa_diamond)
    split: str | None = None
    columns: dict[str, str] | None = None
    grader: Literal["exact", "numeric", "choice", "boxed"] | None = Field(None, validate_default=True)
    max_new_tokens: int | None = Field(None, ge=1, le=32768)  # overrides the task's answer length
    # A thinking model's reasoning (chat templates that read enable_thinking, e.g. Qwen3): off by default; on,
    # answers get THINKING_TOKENS new tokens unless max_new_tokens says otherwise.
    thinking: bool = False

    @field_validator("name")
    @classmethod
    def _known_task(cls, value: str) -> str:
        if value not in cls.NAMES:
            raise ValueError(f"task.name {value!r} is not a known task; use one of {', '.join(cls.NAMES)}")
        return value

    @field_validator("dataset", "config", "split")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty; leave it out to use the task's default")
        return value

    @field_validator("columns")
    @classmethod
    def _our_column_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, column in (value or {}).items():
            if key not in cls.COLUMN_KEYS:
                raise ValueError(f"task.columns key {key!r} is not one of {', '.join(cls.COLUMN_KEYS)}")
            if not column.strip():
                raise ValueError(f"task.columns.{key} names no dataset column")
        return value

    @field_validator("grader")
    @classmethod
    def _custom_is_complete(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Runs after the fields above (declaration order), so they are in info.data when they validated.
        if info.data.get("name") != "custom":
            return value
        columns = info.data.get("columns") or {}
        missing = [f for f in ("dataset", "columns") if not info.data.get(f)]
        missing += [f"columns.{k}" for k in ("prompt", "answer") if columns and k not in columns]
        if value is None:
            missing.append("grader (exact, numeric, choice or boxed)")
        if missing:
            raise ValueError(f"task custom needs task.{', task.'.join(missing)}")
        return value


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["exact_match"] = "exact_match"
    value: float = Field(0.9, gt=0.0, le=1.0)


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: int = Field(4, ge=1)
    minutes: float = Field(30, gt=0)
    # Money over the whole goal (HF Jobs runs and the LLM brain), counted in .intern/spend.json; None: no cap.
    usd: float | None = Field(None, gt=0)
    prices: dict[str, float] = {}  # HF Jobs flavor -> USD per hour, over agents/common/prices.py's table
    token_prices: dict[str, tuple[float, float]] = {}  # brain -> USD per million (input, output) tokens

    @field_validator("prices", "token_prices")
    @classmethod
    def _not_negative(cls, value: dict) -> dict:
        for name, price in value.items():
            if min(price if isinstance(price, tuple) else (price,)) < 0:
                raise ValueError(f"price of {name} is negative")
        return value


class TrainingScale(BaseModel):
    """Multipliers for the embedded recipes; tests use small ones to stay fast."""

    model_config = ConfigDict(extra="forbid")
    steps: float = Field(1.0, gt=0, le=10)


# none | hf:<org>/<model>[:<provider>] | local:<path> | <provider>:<model> (LangChain init_chat_model)
# | injected:<name> (a chat model object registered from Python, e.g. by the tests).
_BRAIN = re.compile(r"^(none|hf:[\w.\-]+/[\w.\-]+(:[\w.\-]+)?|local:\S.*|(?!hf:|local:)[a-z][a-z0-9_\-]*:\S+)$")


class BrainBudget(BaseModel):
    """What the LLM brain may spend over the whole goal; when it is spent the deterministic brain decides."""

    model_config = ConfigDict(extra="forbid")
    tokens: int = Field(200_000, ge=1)


_ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}$")


class ResearchSettings(BaseModel):
    """How far the researcher reads: search and citation graph when online, the knowledge base always.

    `online`: auto = try arXiv and Semantic Scholar unless the machine is known to be offline
    (HF_HUB_OFFLINE=1, set by `intern go` when the Hub is unreachable); false = never touch the network;
    true = try even then. `depth` and `papers` bound the breadth-first citation walk from `anchors`.
    """

    model_config = ConfigDict(extra="forbid")
    online: Literal["auto"] | bool = "auto"
    depth: int = Field(1, ge=0, le=3)
    papers: int = Field(25, ge=1, le=300)  # paper budget of the citation graph
    read_full_text: int = Field(3, ge=0, le=20)  # top papers read in full (arXiv HTML) when online
    search_results: int = Field(10, ge=1, le=100)
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    anchors: list[str] = ["2402.03300", "2501.12948"]

    @field_validator("anchors")
    @classmethod
    def _arxiv_ids(cls, value: list[str]) -> list[str]:
        for anchor in value:
            if not _ARXIV_ID.match(anchor):
                raise ValueError(f"research.anchors entry {anchor!r} is not an arXiv id such as 2402.03300")
        return value


class Compute(BaseModel):
    """Where training runs (`compute:` in intern.yaml). `compute: local` is short for `compute: {launcher: local}`.

    - local: a subprocess on this machine.
    - accelerate: `accelerate launch --num_processes N` on this machine (CPU processes use gloo).
    - hf-jobs: a Hugging Face Job on `flavor` hardware, stopped after `timeout`; it pushes its checkpoint
      to `hub_repo`, which the trainer downloads for the critic. `secrets` names environment variables
      of this machine sent to the job as secrets (never as plain environment); HF_TOKEN is always sent.
    """

    model_config = ConfigDict(extra="forbid")
    launcher: Literal["local", "accelerate", "hf-jobs"] = "local"
    num_processes: int = Field(2, ge=1, le=64)
    flavor: str = "cpu-basic"
    timeout: str = "30m"
    hub_repo: str | None = None
    secrets: list[str] = ["HF_TOKEN"]
    namespace: str | None = None  # the Jobs namespace; default: the token's user

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?[smhd]?", value.strip()):
            raise ValueError(f"timeout {value!r} is not a duration such as 90m, 2h or 3600 (seconds)")
        return value.strip()

    @field_validator("hub_repo")
    @classmethod
    def _repo_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
            raise ValueError(f"hub_repo {value!r} is not a Hub repo id such as you/intern-checkpoints")
        return value

    @model_validator(mode="after")
    def _hf_jobs_needs_a_repo(self) -> Compute:
        if self.launcher == "hf-jobs" and not self.hub_repo:
            raise ValueError(
                "compute hf-jobs needs hub_repo: the job pushes its checkpoint there (e.g. you/intern-runs)"
            )
        return self


class LocalDataset(BaseModel):
    """A dataset file or folder the user names for training; it goes through the curator's gate like any other."""

    model_config = ConfigDict(extra="forbid")
    path: str  # relative to the workspace, or absolute
    name: str | None = None  # the source's name in the mixture (default: the file or folder name)
    split: str | None = None
    # Our names (prompt, answer, completion, solution, slice) -> its columns; found automatically when left out.
    columns: dict[str, str] | None = None

    @field_validator("path")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("data.local[].path must name a file or folder")
        return value


class RejectionSpec(BaseModel):
    """Rejection-sampled SFT data for a task without a generator (STaR, arXiv 2203.14465; RFT, arXiv 2308.01825).

    k completions per training prompt from the model the hypothesis trains from, or from `teacher` (a local
    path or Hub id); those the task's grader accepts are kept, distinct ones only.
    """

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    teacher: str | None = None
    samples: int = Field(4, ge=1, le=64)
    # RFT samples at 0.7: diverse reasoning paths that are still mostly coherent.
    temperature: float = Field(0.7, gt=0, le=2)
    max_prompts: int = Field(1024, ge=1)
    seconds: float = Field(600, gt=0)  # sampling stops here; the prompts left are reported as unsampled

    @field_validator("teacher")
    @classmethod
    def _teacher_named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("data.rejection.teacher must name a local path or a Hub id, or be left out")
        return value


class DataSpec(BaseModel):
    """Where training data comes from besides the task's own generator, and how sources are mixed."""

    model_config = ConfigDict(extra="forbid")
    local: list[LocalDataset] = []
    hub_search: bool = True  # search the Hub for candidate datasets (skipped, with a note, when offline)
    hub_candidates: int = Field(5, ge=1, le=50)  # how many search results are read and judged
    synthetic: bool = True  # the task's generator script (the embedded task has one)
    synthetic_rows: int = Field(4000, ge=10)  # rows the generator writes, before the gate
    # Tasks without a generator: `synthetic` means rejection-sampled rows from the training prompts.
    rejection: RejectionSpec = RejectionSpec()
    pass_rate_seconds: float = Field(600, gt=0)  # the GRPO pass-rate filter's time budget
    pass_rate_unscored: Literal["keep", "drop"] = "keep"  # prompts the budget left unscored
    # Source name -> mixture weight; sources not named weigh 1. Names: `synthetic`, a local name, a Hub id.
    weights: dict[str, float] = {}

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for source, weight in value.items():
            if weight <= 0:
                raise ValueError(f"data.weights.{source} is {weight}; weights must be positive")
        return value


class Goal(Artifact):
    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "yaml"
    model: str = "embedded:tiny"
    task: TaskSpec = TaskSpec()
    target: Target = Target()
    budget: Budget = Budget()
    brain: str = "none"
    brain_budget: BrainBudget = BrainBudget()
    compute: Compute = Compute()
    seed: int = 0
    scale: TrainingScale = TrainingScale()
    research: ResearchSettings = ResearchSettings()
    data: DataSpec = DataSpec()

    @field_validator("compute", mode="before")
    @classmethod
    def _launcher_name(cls, value: Any) -> Any:
        return {"launcher": value} if isinstance(value, str) else value

    @field_validator("brain")
    @classmethod
    def _known_brain(cls, value: str) -> str:
        value = value.strip()
        if not _BRAIN.match(value):
            raise ValueError(
                f"brain {value!r} is not one of: none (the deterministic brain), hf:<org>/<model>[:<provider>] "
                "(Hugging Face Inference Providers, needs HF_TOKEN), local:<path> (a local chat model), or "
                "<provider>:<model> as LangChain's init_chat_model reads it (e.g. openai:gpt-4o-mini)"
            )
        return value


# --- researcher ---------------------------------------------------------------------------


class PaperNote(MarkdownArtifact):
    """What the researcher read in one paper, and how (knowledge base, abstract or full text)."""

    arxiv_id: str | None  # required; null for a source with no arXiv id (then `url` says where it is)
    title: str
    year: int
    relevance: float = Field(ge=0.0)
    tags: list[str] = []
    knobs: dict[str, Any] = {}
    written: str = Field(default_factory=utc_now)
    # Added with defaults so notes written before them still load.
    url: str | None = None
    read: Literal["knowledge-base", "abstract", "full-text"] = "knowledge-base"
    failure_modes: list[str] = []  # the critic's finding names the paper addresses
    hyperparameters: dict[str, list[str]] = {}  # extracted: knob -> the values the text states
    datasets: list[str] = []
    results: list[str] = []  # "dataset X + method Y -> score" rows from the paper's tables
    citations: int | None = None


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
    # Added with defaults so hypotheses written before them still load.
    claim: str = ""
    metric: str = "exact_match"
    expected: str = ""  # the effect on `metric` the claim predicts
    priority: int = Field(1, ge=1)  # 1 = tried first among the candidates it was chosen from
    status: Literal["proposed", "running", "supported", "refuted", "withdrawn"] = "proposed"
    tested_by: list[str] = []  # run ids
    status_reason: str = ""
    new_evidence: list[str] = []  # what a repeat of a refuted change names that its predecessor did not


# --- curator ------------------------------------------------------------------------------


class SliceFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(ge=0)
    label_agreement: float = Field(ge=0.0, le=1.0)


class PassRateFigures(BaseModel):
    """The GRPO pass-rate filter: the parent model sampled k times per prompt; kept when 0 < passes < k."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: str
    samples: int = Field(ge=1)
    temperature: float = Field(gt=0)
    seed: int = 0
    scored: int = Field(ge=0)
    too_easy: int = Field(ge=0)  # solved in every sample: the GRPO group has no reward variance
    too_hard: int = Field(ge=0)  # solved in no sample: no reward to learn from
    kept: int = Field(ge=0)
    unscored: int = Field(0, ge=0)  # left when the time budget ran out: kept or dropped, as unscored_policy says
    unscored_policy: Literal["kept", "dropped"] = "kept"
    budget_seconds: float | None = Field(None, gt=0)
    backend: str | None = None  # transformers or vllm
    seconds: float = Field(0.0, ge=0)


class MixturePart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    weight: float = Field(gt=0)
    rows_available: int = Field(ge=0)
    rows_used: int = Field(ge=0)


class RejectionSamplingFigures(BaseModel):
    """Rows sampled from a model and kept when the task's grader accepts them (STaR / RFT)."""

    model_config = ConfigDict(extra="forbid")
    sampler: str  # the model sampled: the current model, or the teacher intern.yaml names
    samples: int = Field(ge=1)  # k completions per prompt
    temperature: float = Field(gt=0)
    seed: int = 0
    prompts: int = Field(ge=0)  # training prompts with a reference answer
    sampled_prompts: int = Field(ge=0)  # of them, sampled (the rest: over the budget or too long for the sampler)
    too_long: int = Field(0, ge=0)  # prompts the sampler's context cannot hold with room for the answer
    completions: int = Field(ge=0)  # completions drawn
    accepted: int = Field(ge=0)  # of them, graded correct
    kept: int = Field(ge=0)  # accepted and distinct per prompt: the rows written
    prompts_solved: int = Field(ge=0)  # prompts with at least one accepted completion
    seconds: float = Field(0.0, ge=0)
    unscored_reason: str | None = None  # why some prompts were not sampled


VERDICTS = ("usable", "usable with warnings", "rejected")


class DatasetCard(MarkdownArtifact):
    """`datasets/<name>/README.md`: a Hugging Face dataset card and the curator's quality record at once.

    The first fields are Hugging Face card metadata (`huggingface_hub.DatasetCardData` keys; `configs`
    tells `datasets.load_dataset(folder)` where the data is); the rest are intern's. Every figure of the
    quality gate is here or in `card.json` beside it. A rejected card records why; nothing trains on it.
    """

    pretty_name: str | None = None
    license: str | None = None
    language: list[str] = []
    task_categories: list[str] = []
    size_categories: list[str] = []
    source_datasets: list[str] = []
    configs: list[dict[str, Any]] = []
    name: str
    task: str
    rows: int = Field(ge=0)  # rows kept by the gate, the rows in data_file
    columns: list[str]
    data_file: str
    data_sha256: str
    generator: str | None = None
    # Per source: our names (prompt, answer, completion, solution, slice) -> its columns. A human may edit
    # it: the curator reads it back on its next run and maps that source that way.
    column_mapping: dict[str, dict[str, str]] = {}
    verdict: Literal["usable", "usable with warnings", "rejected"] = "usable"
    verdict_reasons: list[str] = []
    rows_in: int | None = Field(None, ge=0)  # rows read before the gate
    dropped: dict[str, int] = {}  # reason -> rows dropped for it
    duplicates: int = Field(ge=0)
    prompt_length: dict[str, float]
    answer_format_ok: float = Field(ge=0.0, le=1.0)
    # Over verified rows only (those with a reference answer); None when no row has one.
    label_agreement: float | None = Field(None, ge=0.0, le=1.0)
    verified_rows: int | None = Field(None, ge=0)
    slices: dict[str, SliceFigures] = {}
    eval_overlap: int = Field(ge=0)
    pass_rate: PassRateFigures | None = None
    targets_slice: str | None = None  # the weak slice this data is built to lift
    target_reason: str | None = None
    # The targeted slice's share of the rows before and after re-weighting ({"before": .., "after": ..}).
    target_share: dict[str, float] | None = None
    source_layouts: dict[str, str] = {}  # per source: its layout and mapping, in words
    unverified_sources: list[str] = []  # sources without reference answers: SFT demonstrations only
    # Per source: rows in which a secret-shaped string was masked as [REDACTED] (the source file is left unchanged).
    secrets_masked: dict[str, int] = {}
    rejection_sampling: RejectionSamplingFigures | None = None
    mixture: list[MixturePart] = []
    figures_file: str | None = None  # card.json beside the card: the full figures
    note: str | None = None  # e.g. why this name and not a withdrawn one
    hypothesis: str | None = None
    # Later hypotheses whose data plan is this one (same task, slice, method and parent): the curator reuses the
    # dataset for them rather than build it again, and says so here, so the trainer trains each on it knowingly.
    serves: list[str] = []
    written: str = Field(default_factory=utc_now)

    @field_validator("eval_overlap")
    @classmethod
    def _disjoint(cls, value: int) -> int:
        if value:
            raise ValueError(f"{value} training prompts are in the evaluation split; a card must be disjoint")
        return value

    @model_validator(mode="after")
    def _rows_unless_rejected(self) -> DatasetCard:
        if self.rows < 1 and self.verdict != "rejected":
            raise ValueError(f"a {self.verdict} dataset needs at least one row; a dataset with none is rejected")
        if self.verdict == "rejected" and not self.verdict_reasons:
            raise ValueError("a rejected dataset must say why in verdict_reasons")
        return self


# --- trainer ------------------------------------------------------------------------------


class LoraSpec(BaseModel):
    """LoRA adapters instead of full fine-tuning (PEFT names: r, alpha, dropout, target modules)."""

    model_config = ConfigDict(extra="forbid")
    r: int = Field(16, ge=1, le=1024)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    # PEFT's "all-linear" targets every linear layer but the output head, whatever the architecture.
    target_modules: list[str] | Literal["all-linear"] = "all-linear"

    @field_validator("target_modules")
    @classmethod
    def _some_modules(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and (not value or any(not m.strip() for m in value)):
            raise ValueError("peft.target_modules must name at least one module, or be all-linear")
        return value


# Every loss TRL has offered; which ones the installed TRL has is checked in agents/trainer/validation.py.
LossType = Literal["grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo"]
SchedulerName = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
]


class TrainingConfig(Artifact):
    """One run, as the trainer writes it to runs/<id>/config.yaml and a human may edit it before it starts.

    This schema checks types, ranges and unknown keys; what depends on the task and the installed
    libraries (reward names, TRL versions, field combinations) is checked by
    agents/trainer/validation.py before the run starts and again in the training process.
    New fields have defaults so configs written by earlier versions still load.
    """

    FORMAT: ClassVar[Literal["markdown", "json", "yaml"]] = "yaml"
    run_id: str
    method: Literal["sft", "grpo"]
    base_model: str  # embedded:tiny, a local model directory, or a Hub id
    parent_run: str | None = None  # start from this run's checkpoint instead of base_model
    dataset: str
    hypothesis: str | None = None
    reward_funcs: dict[str, float] = {}  # reward name (agents/tasks/rewards.py) -> weight
    seed: int = Field(0, ge=0)
    learning_rate: float = Field(gt=0, le=1.0)
    lr_scheduler_type: SchedulerName = "cosine"
    warmup_steps: int = Field(0, ge=0)
    max_steps: int = Field(gt=0)
    per_device_train_batch_size: int = Field(gt=0)
    # Out of memory: a smaller per-device batch over more accumulation steps keeps the effective batch.
    gradient_accumulation_steps: int = Field(1, ge=1)
    gradient_checkpointing: bool | None = None  # None: the device decides (off on CPU: 9x slower there)
    max_length: int = Field(64, gt=0)
    max_grad_norm: float = Field(1.0, gt=0)
    # agents/recipes/settings.py chooses batch, accumulation and checkpointing to fit the device's memory.
    use_vllm: bool = False  # GRPO generation through vLLM, colocated on the training GPU (CUDA + vllm only)
    enable_thinking: bool = False  # passed to chat templates that read it (task.thinking in intern.yaml)
    # trl runs anywhere; unsloth needs an NVIDIA GPU; auto picks unsloth when both are there.
    backend: Literal["auto", "trl", "unsloth"] = "auto"
    peft: LoraSpec | None = None  # None: full fine-tuning
    # Prompts as chat messages through the tokenizer's template; None: when the model has a real one.
    chat_template: bool | None = None
    # GRPO knobs, TRL names (ignored for sft); each cites its paper in agents/critic/thresholds.py.
    loss_type: LossType = "dapo"
    beta: float = Field(0.0, ge=0)
    epsilon: float = Field(0.2, gt=0, lt=1)
    epsilon_high: float | None = Field(None, gt=0, lt=1)
    delta: float | None = Field(None, gt=1)  # two-sided clip (INTELLECT-2): above 1 + epsilon
    scale_rewards: Literal["group", "batch", "none"] = "group"
    num_generations: int = Field(8, ge=2)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_completion_length: int = Field(8, gt=0)
    num_iterations: int = Field(1, ge=1)
    mask_truncated_completions: bool = False
    importance_sampling_level: Literal["token", "sequence"] = "token"
    top_entropy_quantile: float = Field(1.0, gt=0, le=1)
    # DAPO's soft-punishment zone before max_completion_length, for the soft_overlong reward; None: 20%.
    overlong_buffer: int | None = Field(None, ge=1)

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
    # cancelled: stopped by `intern stop --now`; not a failure to diagnose, not a spent run (trained again later).
    status: Literal["succeeded", "failed", "cancelled"]
    started: str
    finished: str
    wall_seconds: float = Field(ge=0)
    steps: int = Field(ge=0)
    final_metrics: dict[str, float] = {}
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    error: str | None = None
    log_tail: str | None = None
    # Training rows the critic's contamination report listed and the trainer left out.
    rows_dropped_contaminated: int = Field(0, ge=0)
    contamination_report: str | None = None
    # A run stopped cleanly before its planned steps (its checkpoint is saved and scored like any run's):
    # the steps it planned and why it stopped; None for a run that ran its course.
    planned_steps: int | None = Field(None, ge=0)
    cut: str | None = None

    @property
    def cut_note(self) -> str | None:
        """ "cut at step N of M: why", for the critic's diagnosis and the report."""
        if self.cut is None:
            return None
        return (
            f"cut at step {self.steps} of {self.planned_steps if self.planned_steps is not None else '?'}: {self.cut}"
        )


class DiscardedCheckpoint(Artifact):
    """runs/<id>/checkpoint-discarded.json: the trainer removed a checkpoint the critic did not keep.

    The weights are gone (disk stays bounded); their sha256 stays here so the record still says
    exactly which checkpoint the run's evaluation scored.
    """

    run_id: str
    checkpoint: str
    checkpoint_sha256: str
    bytes_freed: int = Field(ge=0)
    score: float | None = None  # the run's held-out score
    best_run: str | None = None  # the best kept run when it was discarded ("base" when none)
    reason: str
    discarded: str = Field(default_factory=utc_now)


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
    # Added with defaults so evaluations written before them still load.
    slice_ci: dict[str, tuple[float, float]] = {}  # 95% Wilson interval per slice (greedy)
    grader_sha256: str | None = None
    samples_per_problem: int = Field(0, ge=0)  # 0: greedy only, no pass@k
    temperature: float = Field(0.0, ge=0)
    sample_seed: int | None = None
    pass_at_k: dict[str, float] = {}  # "k" -> unbiased pass@k (Chen et al. 2021)
    pass_at_k_ci: dict[str, tuple[float, float]] = {}  # 95% bootstrap interval over problems
    tokens_generated: int = Field(0, ge=0)  # greedy and sampled, padding excluded
    problems_per_second: float = Field(0.0, ge=0)
    wrong_reasons: dict[str, int] = {}  # why greedy answers were wrong: wrong answer, no answer, grader raised, ...
    # Greedy correctness per held-out item, in split order ("1" right, "0" wrong): two evaluations on the
    # same split are compared item by item (a paired interval). Empty in evaluations written before it existed.
    correct: str = Field("", pattern=r"^[01]*$")
    # The base model's language check at start (agents/models/language_check.py): bits_per_byte, perplexity, bound.
    language_check: dict[str, float | bool] = {}


class Remedy(BaseModel):
    """One concrete way out of a finding: a TrainingConfig change (TRL names) or a data action, and its paper."""

    model_config = ConfigDict(extra="forbid")
    config_delta: dict[str, Any] = {}
    data_action: str | None = None
    paper: str  # arXiv id of the paper that motivates it
    why: str = ""


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    severity: Literal["info", "warning", "critical"]
    evidence: str
    # Where the evidence is: the metric as logged, the [first, last] step it covers, the numbers that decided.
    metric: str | None = None
    steps: list[int] = []
    values: dict[str, float] = {}
    remedies: list[Remedy] = []


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["stop", "train"]
    method: Literal["sft", "grpo"] | None = None
    parent_run: str | None = None
    config_delta: dict[str, Any] = {}
    tags: list[str] = []
    reason: str
    papers: list[str] = []  # arXiv ids behind a remedy the recommendation adopts


class Diagnosis(MarkdownArtifact):
    run_id: str
    score: float
    gain_vs_base: float
    gain_vs_parent: float | None = None
    significant: bool
    noise_floor: float = 0.0  # a gain must exceed this (run-to-run spread) as well as its 95% interval
    gain_vs_base_interval: tuple[float, float] | None = None  # 95% interval of gain_vs_base
    gain_vs_parent_interval: tuple[float, float] | None = None
    best_before: str | None = None  # the best kept run before this one ("base" when none was kept)
    gain_vs_best: float | None = None  # against best_before
    gain_vs_best_interval: tuple[float, float] | None = None
    kept: bool | None = None  # the new best: gain over best_before above 0 and above the noise floor
    findings: list[Finding] = []
    unchecked: list[str] = []  # what the diagnosis could not check, and why
    recommendation: Recommendation
    written: str = Field(default_factory=utc_now)
