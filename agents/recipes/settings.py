"""Training settings that fit the model, the device and the data: one table, each row citing its source.

A row is chosen by the model's size and the device (first match wins); the row gives the method's
learning rate, schedule, steps, effective batch and, for GRPO, the group size. What the row leaves open is
derived, never assumed:
- full fine-tuning or LoRA: full when its memory estimate (agents/recipes/memory.py) fits the device, else
  LoRA with the row's rank;
- `max_length` from the long tail (99th percentile) of the measured prompt + completion token lengths,
  and `max_completion_length` from the measured answers, both capped by the model's context;
- per-device batch and gradient accumulation: the largest per-device batch whose estimate fits, and
  accumulation up to the row's effective batch;
- gradient checkpointing when the step would not fit without it (GPU only: on a CPU it made a step 9x
  slower, facts file); bf16 mixed precision on GPUs that have it (train_entry.device_settings);
- `use_vllm` (colocate) for GRPO on CUDA when vllm is installed.
The embedded tiny model keeps its measured recipe as its own row, with its fixed lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.recipes.memory import GIB, USABLE, VLLM_SHARE, Memory, ModelShape, estimate

# The embedded task's verifier; other tasks name theirs (agents.tasks.correctness_reward_name).
DEFAULT_REWARD = "exact_match"

TINY_SFT: dict[str, Any] = {
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 30,
    "max_steps": 800,
    "per_device_train_batch_size": 64,
    "max_length": 64,
}
TINY_GRPO: dict[str, Any] = {
    "learning_rate": 5e-5,
    "lr_scheduler_type": "constant_with_warmup",
    "warmup_steps": 20,
    "max_steps": 500,
    "per_device_train_batch_size": 128,
    "num_generations": 8,
    "temperature": 1.0,
    "top_p": 1.0,
    "beta": 0.0,
    "loss_type": "dapo",
    "scale_rewards": "group",
}
# GRPO knobs every real-model row shares: TRL 1.16's defaults, which are DAPO's choices (arXiv 2503.14476:
# no KL term, token-level loss) with DeepSeekMath's group-normalised advantages (arXiv 2402.03300).
_GRPO_COMMON: dict[str, Any] = {
    "temperature": 1.0,
    "top_p": 1.0,
    "beta": 0.0,
    "loss_type": "dapo",
    "scale_rewards": "group",
}


@dataclass(frozen=True)
class Row:
    name: str
    when: str  # the condition, in words (matches() is the code)
    max_parameters: float  # the row applies up to this many parameters ...
    device: str  # ... on this kind of device: cpu, cuda or any
    sft: dict[str, Any]
    grpo: dict[str, Any]
    effective_batch: dict[str, int]  # sequences (SFT) or completions (GRPO) per optimizer step
    lora_rank: int | None  # rank when full fine-tuning does not fit; None: this row never uses LoRA
    source: str
    fixed: bool = False  # the row's lengths and batch are measured as they are (the tiny model)
    # Seconds of a GRPO step over an SFT step with this row's settings (generation included): how the search
    # prices a model's first GRPO run from its measured SFT steps. Measured where the source says so.
    grpo_step_ratio: float = 3.0

    def matches(self, parameters: int, cuda: bool) -> bool:
        return parameters <= self.max_parameters and self.device in ("any", "cuda" if cuda else "cpu")


TABLE: tuple[Row, ...] = (
    Row(
        name="embedded-tiny",
        when="the embedded ~350k-parameter character model, any device",
        max_parameters=5e6,
        device="any",
        sft=TINY_SFT,
        grpo=TINY_GRPO,
        effective_batch={"sft": 64, "grpo": 128},
        lora_rank=None,
        source="facts file, 'CPU pitfalls measured here': fixed-width SFT lr 1e-3, 800 steps, batch 64, cosine, "
        "30 warm-up steps (0.92-0.94 on every seed); GRPO lr 5e-5 constant_with_warmup, batch 128, 8 generations, "
        "beta 0, dapo (carry slice 0.32-0.44 -> 0.94-0.99); a GRPO step 0.11-0.13 s against 0.04 s for SFT",
        fixed=True,
        grpo_step_ratio=3.0,
    ),
    Row(
        name="small-cpu",
        when="a pretrained model up to 1B parameters on a CPU",
        max_parameters=1e9,
        device="cpu",
        sft={"learning_rate": 5e-5, "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 2, "max_steps": 40},
        grpo={
            **_GRPO_COMMON,
            "learning_rate": 5e-6,
            "lr_scheduler_type": "constant_with_warmup",
            "warmup_steps": 2,
            "max_steps": 20,
            "num_generations": 4,
        },
        effective_batch={"sft": 16, "grpo": 16},
        lora_rank=16,
        source="facts file, 'A real model on this CPU': SmolLM2-135M full fine-tuning, AdamW lr 5e-5, batch 16: "
        "0.05 -> 0.73 (20 steps) -> 0.83 (40). GRPO measured here (2026-12-07, benchmarks/grpo_step.py) on "
        "SmolLM2-135M after 40 SFT steps of the smollm2-word-problems example, scored on 150 dev problems "
        "(0.553): 16 steps of 4 prompts x 4 generations, 32 completion tokens: lr 1e-6 (TRL's default) 0.560, "
        "1e-5 0.527, 3e-5 0.147 (collapse); 4 x 8 at 5e-6 0.547; 40 steps at 5e-6 0.493. No setting raised the "
        "score; 5e-6 is the middle of those that did not break it, 20 steps what a run of minutes affords. A "
        "step took 9-12.5 s (generation 28-40%), 2.3x an SFT step of 16; 8 generations doubled it (20.8 s)",
        grpo_step_ratio=2.3,
    ),
    Row(
        name="gpu-small",
        when="a model up to 3B parameters on a CUDA GPU",
        max_parameters=3e9,
        device="cuda",
        sft={"learning_rate": 2e-5, "lr_scheduler_type": "cosine", "warmup_steps": 10, "max_steps": 300},
        grpo={
            **_GRPO_COMMON,
            "learning_rate": 1e-6,
            "lr_scheduler_type": "cosine",
            "warmup_steps": 10,
            "max_steps": 200,
            "num_generations": 8,
        },
        effective_batch={"sft": 32, "grpo": 64},
        lora_rank=32,
        source="TRL 1.16 defaults: SFTConfig learning_rate 2e-5, GRPOConfig learning_rate 1e-6 and num_generations 8 "
        "(DeepSeekMath and DAPO both train GRPO at lr 1e-6); cosine schedule with warm-up as open-r1's "
        "recipes/Qwen2.5-1.5B-Instruct configs; LoRA rank 32 (alpha 64, all linear layers) as Unsloth's Qwen3 "
        "GRPO notebook when full fine-tuning does not fit",
    ),
    Row(
        name="gpu-large",
        when="a model above 3B parameters on a CUDA GPU",
        max_parameters=float("inf"),
        device="cuda",
        sft={"learning_rate": 1e-5, "lr_scheduler_type": "cosine", "warmup_steps": 10, "max_steps": 300},
        grpo={
            **_GRPO_COMMON,
            "learning_rate": 1e-6,
            "lr_scheduler_type": "cosine",
            "warmup_steps": 10,
            "max_steps": 200,
            "num_generations": 8,
        },
        effective_batch={"sft": 32, "grpo": 64},
        lora_rank=32,
        source="open-r1 recipes for 7B models (SFT lr 1e-5 to 5e-5 with cosine, e.g. OpenR1-Distill-7B); GRPO lr "
        "1e-6 as DeepSeekMath (arXiv 2402.03300) and DAPO (arXiv 2503.14476); LoRA rank 32 as Unsloth's GRPO "
        "notebooks, whose LoRA learning rates (2e-4 SFT, 5e-6 GRPO) replace these when LoRA is chosen",
    ),
    Row(
        name="cpu-large",
        when="a model above 1B parameters on a CPU (slow: minutes per step)",
        max_parameters=float("inf"),
        device="cpu",
        sft={"learning_rate": 2e-4, "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 2, "max_steps": 20},
        grpo={
            **_GRPO_COMMON,
            "learning_rate": 5e-6,
            "lr_scheduler_type": "constant_with_warmup",
            "warmup_steps": 2,
            "max_steps": 10,
            "num_generations": 4,
        },
        effective_batch={"sft": 8, "grpo": 8},
        lora_rank=16,
        source="Unsloth's notebooks: LoRA SFT lr 2e-4, LoRA GRPO lr 5e-6 with 4 generations; steps kept few because "
        "a CPU step of a 1B+ model takes minutes",
    ),
)
# LoRA learning rates (Unsloth's SFT and GRPO notebooks): adapters start at zero and need a larger step.
LORA_LEARNING_RATE = {"sft": 2e-4, "grpo": 5e-6}


@dataclass(frozen=True)
class Device:
    cuda: bool
    memory_bytes: float  # free memory for training: the GPU's, or the machine's RAM on a CPU
    bf16: bool = False
    vllm: bool = False
    name: str = ""


@dataclass(frozen=True)
class Lengths:
    """Token lengths measured on the training data (through the chat template when the model has one)."""

    prompt_p99: int
    sequence_p99: int  # prompt + completion
    sequence_max: int
    answer_max: int  # the longest completion (SFT) or reference answer (GRPO) in tokens
    rows: int


@dataclass
class Settings:
    row: Row
    config: dict[str, Any]
    memory: Memory
    notes: list[str] = field(default_factory=list)


def row_for(parameters: int, cuda: bool) -> Row:
    return next(r for r in TABLE if r.matches(parameters, cuda))


def row_named(name: str) -> Row:
    return next(r for r in TABLE if r.name == name)


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.999999))]


def measure_lengths(prompt_tokens: list[int], completion_tokens: list[int]) -> Lengths:
    """Lengths from per-row token counts (agents/trainer/trainer.py counts them with the model's tokenizer)."""
    totals = [p + c for p, c in zip(prompt_tokens, completion_tokens, strict=True)]
    return Lengths(
        prompt_p99=percentile(prompt_tokens, 0.99),
        sequence_p99=percentile(totals, 0.99),
        sequence_max=max(totals, default=0),
        answer_max=max(completion_tokens, default=0),
        rows=len(totals),
    )


def _round_up(value: int, step: int) -> int:
    return max(step, -(-value // step) * step)


def choose(
    method: str,
    shape: ModelShape,
    device: Device,
    lengths: Lengths | None,
    *,
    step_scale: float = 1.0,
    completion_budget: int | None = None,
) -> Settings:
    """Settings for `method` on this model, device and data. `completion_budget` caps GRPO's completions
    (the task's max new tokens); `lengths` None keeps the row's own lengths (the tiny model's row)."""
    row = row_for(shape.parameters, device.cuda)
    values = dict(row.sft if method == "sft" else row.grpo)
    values["max_steps"] = max(10, int(round(values["max_steps"] * step_scale)))
    values["warmup_steps"] = min(values["warmup_steps"], values["max_steps"] // 10)
    notes = [f"row {row.name} ({row.when}): {row.source}"]
    act_bytes = 2 if device.cuda and device.bf16 else 4
    budget = device.memory_bytes * USABLE
    if lengths is None and not row.fixed:
        # Nothing to measure (no rows yet): TRL's SFT default max_length, said so in the notes.
        lengths = Lengths(prompt_p99=512, sequence_p99=1024, sequence_max=1024, answer_max=512, rows=0)
        notes.append("no training rows to measure: lengths assumed at TRL's default max_length 1024")
    if row.fixed or lengths is None:
        batch = values["per_device_train_batch_size"]
        sequence = values.get("max_length", 64) + (completion_budget or 0)
        memory = estimate(
            shape,
            lora_rank=None,
            batch=batch,
            sequence=sequence,
            checkpointing=False,
            activation_bytes=act_bytes,
            cuda=device.cuda,
        )
        return Settings(row, values, memory, notes)

    if method == "sft":
        values["max_length"] = min(shape.context, _round_up(lengths.sequence_p99, 32))
        sequence = values["max_length"]
    else:
        wanted = _round_up(int(lengths.answer_max * 1.25) + 8, 8)
        completion = min(wanted, completion_budget) if completion_budget else wanted
        values["max_completion_length"] = max(8, min(completion, shape.context - lengths.prompt_p99))
        values["max_length"] = min(shape.context, _round_up(lengths.prompt_p99, 32))
        sequence = values["max_length"] + values["max_completion_length"]
    vllm = method == "grpo" and device.cuda and device.vllm
    vllm_bytes = device.memory_bytes * VLLM_SHARE if vllm else 0.0
    effective = row.effective_batch[method]

    def fits(lora: int | None, batch: int, checkpointing: bool) -> Memory:
        return estimate(
            shape,
            lora_rank=lora,
            batch=batch,
            sequence=sequence,
            checkpointing=checkpointing,
            activation_bytes=act_bytes,
            cuda=device.cuda,
            generation_batch=0 if vllm or method == "sft" else batch,
            vllm_device_bytes=vllm_bytes,
        )

    group = values.get("num_generations", 1)
    smallest = group if method == "grpo" else 1  # TRL needs whole groups per device batch
    lora: int | None = None
    checkpointing = False
    plan = fits(None, smallest, False)
    if plan.total > budget and device.cuda:
        checkpointing, plan = True, fits(None, smallest, True)
    if plan.total > budget and row.lora_rank is not None:
        lora = row.lora_rank
        checkpointing = False
        plan = fits(lora, smallest, False)
        if plan.total > budget and device.cuda:
            checkpointing, plan = True, fits(lora, smallest, True)
        values["learning_rate"] = LORA_LEARNING_RATE[method]
        values["peft"] = {"r": lora, "alpha": 2 * lora, "dropout": 0.0, "target_modules": "all-linear"}
        notes.append(f"LoRA r={lora}: full fine-tuning needs {fits(None, smallest, device.cuda).total / GIB:.1f} GiB")
    if plan.total > budget:
        notes.append(f"does not fit: {plan.total / GIB:.1f} GiB needed, {budget / GIB:.1f} GiB usable")
    batch = smallest
    while batch * 2 <= effective and fits(lora, batch * 2, checkpointing).total <= budget:
        batch *= 2
    plan = fits(lora, batch, checkpointing)
    values["per_device_train_batch_size"] = batch
    values["gradient_accumulation_steps"] = max(1, effective // batch)
    values["gradient_checkpointing"] = checkpointing
    if method == "grpo":
        values["use_vllm"] = vllm
    return Settings(row, values, plan, notes)


def tiny_recipe(
    method: str, digits: int, step_scale: float, *, reward: str = DEFAULT_REWARD, completion_tokens: int | None = None
) -> dict[str, Any]:
    """The embedded tiny model's row as a config: today's measured recipe, scaled."""
    base = dict(TINY_SFT if method == "sft" else TINY_GRPO)
    base["max_steps"] = max(10, int(round(base["max_steps"] * step_scale)))
    base["warmup_steps"] = min(base["warmup_steps"], base["max_steps"] // 10)
    if method == "grpo":
        base["reward_funcs"] = {reward: 1.0}
        # The answer, eos, and one token of slack.
        base["max_completion_length"] = completion_tokens or digits + 3
    return base
