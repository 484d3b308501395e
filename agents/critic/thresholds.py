"""The diagnosis's tables: every threshold with its reason, and every remedy with its paper.

A reader can see and argue with each number and each cure in one place. The rules that use them
are plain functions in agents/critic/signals/training.py (training signals; with spikes.py, evals.py and
rewards.py) and diagnose.py (held-out side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bus.schemas import Remedy, TrainingConfig

# name: (value, why). THRESHOLDS is the same table without the reasons.
# fmt: off
LIMITS: dict[str, tuple[float, str]] = {
    "z": (1.96, "z for the 95% interval of a difference of two proportions"),
    "slice_gap": (0.20, "a slice this far below the best one is a systematic weakness, not noise"),
    "label_agreement_low": (0.90, "demonstrations agreeing with the verifier less than this on a slice are wrong there"),
    "min_pass_rate_for_grpo": (0.05, "below this greedy pass rate GRPO groups nearly all score 0: keep to SFT"),
    "reward_still_rising": (0.01, "last-quarter mean reward above the third quarter's by this much: still climbing"),
    "frac_reward_zero_std_high": (0.90, "groups with identical rewards give no gradient; above this share little is learned"),
    "reward_std_low": (0.01, "within-group reward spread this small leaves no advantage to learn from"),
    "reward_solved": (0.95, "at this mean train reward identical rewards mean solved prompts, not a dead signal"),
    "grad_norm_dead": (1e-8, "a gradient norm this small at every step means no parameter moved"),
    "clipped_ratio_warning": (0.10, "one completion in ten cut at the cap biases the loss toward truncated text"),
    "clipped_ratio_critical": (0.30, "with a third of completions cut the reward mostly measures the length cap"),
    "length_growth": (1.5, "mean completion length grew this much from the first to the last quarter"),
    "length_near_max": (0.9, "a mean length this close to max_completion_length is about to be cut"),
    "entropy_drop": (0.30, "entropy below this share of its start within the first half: exploration collapsed"),
    "reward_gain_flat": (0.05, "a train-reward (or accuracy) gain below this from first to last quarter is flat"),
    "warmup_share": (0.10, "the first tenth of logged rows is warm-up; spikes there are expected"),
    "spike_ratio_warning": (10.0, "grad_norm or kl this many times the run's own median is a spike"),
    "spike_ratio_critical": (50.0, "a spike this large usually comes right before divergence (NaN loss)"),
    "kl_spike_min": (0.05, "kl peaks below this are noise around a near-zero median, not a blow-up"),
    "clip_region_high": (0.20, "over a fifth of tokens clipped by the trust region: the policy moves too far"),
    "format_saturated": (0.99, "a format reward at this mean gives every completion the same score"),
    "format_std_zero": (0.01, "format-reward spread this small carries no signal"),
    "format_stuck": (0.01, "a format reward never above this: the model never produces the format"),
    "reward_rise_hacking": (0.10, "train reward up this much while held-out did not move: the two disagree (info)"),
    "reward_rise_hacking_alarm": (0.30, "a rise this large with a flat held-out is reward hacking: the healthy embedded "
                                  "GRPO run's sampled train reward rose +0.15 (first to last quarter) as the policy "
                                  "sharpened, so a rise only above 0.10 does not tell hacking from healthy; twice it does"),
    "sft_loss_drop": (0.50, "SFT loss at or below this share of its start: the model fits its demonstrations"),
    "sft_loss_late_drop": (0.50, "last-quarter loss at or below this share of the third quarter's: still being driven "
                           "down late, i.e. memorising (the healthy embedded SFT run flattens to 0.76 under cosine)"),
    # Reading runs intern did not make (agents/critic/signals/spikes.py, evals.py, rewards.py).
    "min_rows": (3.0, "fewer logged rows than this are a snapshot, not a trend: no trend rule reads them"),
    "group_size_small": (4.0, "below this many completions per group the spread is 0 in most groups by chance (a pair "
                         "of 0/1 rewards agrees at least half the time at any pass rate) and the advantage is ±1 or 0"),
    "spike_abs_warning": (10.0, "a grad_norm this many times the clipping threshold (kl: times kl_spike_min) is large "
                          "in absolute terms; below it clipping already bounds the step"),
    "recover_rows": (3.0, "a spike back near its median within this many logged rows is transient, not divergence"),
    "recovered_ratio": (3.0, "within this many times the median counts as back to normal after a spike"),
    "early_loss_ratio": (2.0, "a train loss still at this multiple of its final level: the run has not settled, and "
                         "spikes then are an unstable start"),
    "corroborate_loss": (1.5, "the loss at a gradient spike's row this many times its neighbours': the batch itself "
                         "was bad, the loss moved with the gradient"),
    "divergence_giveback": (0.5, "a loss that gave back this share of what it had gained and stays there diverged"),
    "lr_jump": (2.0, "a learning rate this many times its previous row's after the schedule had begun: a restart"),
    "overfit_rise": (0.05, "eval_loss this share above its minimum over two or more later evaluations: over-fitting "
                     "(evaluation noise on a fixed eval set is far below this)"),
    "memorise_loss": (0.1, "a train loss below this (nats per token or per example) fits the training data nearly "
                      "exactly"),
    "sft_loss_flat": (0.03, "a train loss that moved less than this share from its first quarter to its last, and "
                      "within its noise, did not learn: a plateau"),
    "eval_flat": (0.02, "an eval_loss whose best is within this share of its first value did not improve"),
    "train_eval_scale": (2.0, "a train loss this many times eval_loss at the same steps: no generalisation gap runs "
                         "that way, the two are on different scales (a logging or aggregation anomaly)"),
    "ceiling_share": (0.8, "a reward component at its observed ceiling with zero spread in this share of the last "
                      "quarter is saturated: it pays every completion the same"),
    "ceiling_share_note": (0.25, "a component at its ceiling with zero spread in this share of all rows gives no "
                           "signal in those rows: worth noting"),
    "lr_zero": (1e-9, "a learning rate at or below this at every logged row trains nothing"),
    "zero_grad_share": (0.10, "grad_norm exactly 0 at this share of rows or more: a tenth of the steps update nothing"),
    "pinned_share": (0.90, "a loss on its no-difference constant at this share of rows is pinned there, not passing"),
    "preference_chance": (0.60, "rewards/accuracies at or below this is near the 0.5 of a coin: no preference learned"),
    "margin_zero": (0.05, "rewards/margins never beyond this (beta-scaled log-ratio) has not left 0"),
    "memorise_epochs": (2.0, "a second pass over the data or more with a train loss near 0: memorisation risk (the "
                        "model has seen each example before it fits it exactly)"),
    "eval_set_tiny": (30.0, "an eval set of fewer examples than this (eval samples/s x runtime) cannot show over-fitting: "
                      "one example more or less moves its loss by several percent"),
}
# fmt: on
THRESHOLDS: dict[str, float] = {name: value for name, (value, _) in LIMITS.items()}

# arXiv ids of the papers the remedies cite.
PAPERS = {
    "gradient_clipping": "1211.5063",  # Pascanu, Mikolov, Bengio: on the difficulty of training RNNs
    "ppo": "1707.06347",
    "instructgpt": "2203.02155",
    "reward_overoptimization": "2210.10760",
    "lima": "2305.11206",
    "grpo": "2402.03300",
    "tulu3": "2411.15124",
    "r1": "2501.12948",
    "sft_memorizes": "2501.17161",
    "dapo": "2503.14476",
    "dr_grpo": "2503.20783",
    "high_entropy_tokens": "2506.01939",
    "gspo": "2507.18071",
    "warmup": "1908.03265",  # Liu et al.: the variance of the adaptive learning rate (why warm-up helps Adam)
    "process_supervision": "2305.20050",  # Lightman et al.: Let's verify step by step (denser feedback)
    "lora": "2106.09685",
    "dpo": "2305.18290",  # Rafailov et al.: Direct Preference Optimization
}

FILTER_BY_PASS_RATE = "filter prompts by pass rate, keeping 0 < p < 1"


def _r(paper: str, why: str, delta: dict | None = None, action: str | None = None) -> Remedy:
    return Remedy(config_delta=delta or {}, data_action=action, paper=PAPERS[paper], why=why)


def remedies(failure: str, cfg: TrainingConfig, cold: bool = False, best_step: int | None = None) -> list[Remedy]:
    """The cures for one failure, as TRL config deltas computed from the run's own config, or data actions."""
    # fmt: off
    table: dict[str, list[Remedy]] = {
        "no learning signal": [
            _r("dapo", "dynamic sampling: only groups whose rewards differ carry an advantage", action=FILTER_BY_PASS_RATE),
            _r("grpo", "a larger group more likely holds both a right and a wrong completion",
               {"num_generations": cfg.num_generations * 2}),
            *([_r("r1", "a cold-start SFT stage gives RL non-zero rewards to learn from",
                  action="SFT warm start on demonstrations before GRPO (pass@k is about 0)"),
               _r("process_supervision", "feedback on partial progress is denser than a pass/fail outcome",
                  action="make the reward denser (partial credit for near misses) or use easier prompts")] if cold else []),
        ],
        "solved prompts": [
            _r("dapo", "dynamic sampling keeps only groups whose rewards differ",
               action="drop prompts the policy always solves (pass rate 1) and add harder ones; keep 0 < p < 1"),
        ],
        "truncation / length blow-up": [
            _r("dapo", "truncated completions are left out of the loss instead of scored as answers",
               {"mask_truncated_completions": True}),
            _r("dapo", "penalise length smoothly before the hard cap",
               action="add a soft overlong punishment reward (trl.rewards.get_soft_overlong_punishment)"),
            _r("dapo", "room for complete answers if they are legitimately longer",
               {"max_completion_length": cfg.max_completion_length * 2}),
            *([_r("dr_grpo", "no per-sequence length normalisation, which favours long wrong answers",
                  {"loss_type": "dr_grpo"})] if cfg.loss_type != "dr_grpo" else []),
        ],
        "entropy collapse": [
            _r("dapo", "clip-higher lets low-probability tokens gain mass, which keeps entropy up", {"epsilon_high": 0.28}),
            _r("high_entropy_tokens", "learn only from the 20% highest-entropy tokens, the forks of a solution",
               {"top_entropy_quantile": 0.2}),
        ],
        "instability": [
            _r("ppo", "smaller policy steps stay where the surrogate objective is trustworthy",
               {"learning_rate": cfg.learning_rate / 2}) if cfg.method == "grpo" else
            _r("warmup", "a smaller step keeps Adam's update where its moment estimates hold",
               {"learning_rate": cfg.learning_rate / 2}),
            _r("gradient_clipping", "clip the gradient norm so one bad batch cannot throw the weights far",
               {"max_grad_norm": 0.5}),
            *([_r("gspo", "sequence-level importance ratios are far less noisy than token-level ones",
                  {"importance_sampling_level": "sequence"})] if cfg.method == "grpo" else []),
            *([_r("ppo", "stay on-policy: no stale samples", {"num_iterations": 1})] if cfg.num_iterations > 1 else []),
        ],
        "format-reward saturation": [
            _r("r1", "an additive format reward at 1 for everyone is a constant: no signal, and it hides accuracy's",
               action="gate the correctness reward on the format (0 unless well-formed) instead of adding them"),
        ],
        "format reward stuck at 0": [
            _r("r1", "a cold-start SFT stage teaches the format RL cannot discover from zero reward",
               action="SFT format warm-up on well-formed demonstrations before GRPO"),
        ],
        "reward hacking": [
            _r("tulu3", "decontaminated, untouchable held-out data is the only judge the policy cannot game",
               action="read sampled completions for length or repetition tricks; re-check the eval hash and overlap"),
            _r("reward_overoptimization", "optimising a proxy reward past a point lowers the true objective",
               action="score with the task's verifier only; drop partial-credit or learned rewards"),
            _r("instructgpt", "a KL penalty keeps the policy near its reference", {"beta": 0.04}),
        ],
        "over-fitting": [
            _r("sft_memorizes", "stop before memorising the demonstrations", {"max_steps": max(1, cfg.max_steps // 2)}),
            _r("sft_memorizes", "a gentler fit of the same data", {"learning_rate": cfg.learning_rate / 2}),
            _r("lima", "diversity and quality of demonstrations matter more than their count",
               action="more varied demonstrations: more distinct prompts, fewer repeats (deduplicate)"),
            _r("sft_memorizes", "RL generalises where SFT memorises",
               action="switch to GRPO from the parent checkpoint with the task's verifier as reward"),
        ],
        "plateau": [
            _r("dapo", "spend the batch on prompts the policy sometimes solves", action=FILTER_BY_PASS_RATE),
            _r("grpo", "wider exploration per prompt", {"num_generations": cfg.num_generations * 2}),
        ],
        "over-fitting on the logged eval": [
            *([_r("sft_memorizes", "stop where held-out was best, before the model memorises its data",
                  {"max_steps": best_step})] if best_step else []),
            _r("sft_memorizes", "keep the checkpoint held-out liked best, not the last one",
               {"load_best_model_at_end": True, "metric_for_best_model": "eval_loss"}),
            _r("lima", "diversity and quality of demonstrations matter more than their count",
               action="more varied training data: more distinct prompts, fewer repeats (deduplicate)"),
            _r("sft_memorizes", "a gentler fit of the same data", {"learning_rate": cfg.learning_rate / 2}),
        ],
        "unstable start": [
            _r("warmup", "Adam's first steps use badly estimated second moments: a warm-up keeps them small",
               {"warmup_steps": max(2 * cfg.warmup_steps, cfg.max_steps // 20, 1)}),
            _r("gradient_clipping", "clip the gradient norm so one bad batch cannot throw the weights far",
               {"max_grad_norm": min(cfg.max_grad_norm, 1.0)}),
        ],
        "loss plateau": [
            _r("tulu3", "Tulu 3's SFT and DPO sweeps found the learning rate decides most of the outcome",
               {"learning_rate": cfg.learning_rate * 3}),
            _r("lora", "LoRA learns only through its target modules and the tokens the loss covers",
               action="check what is trained and what the loss covers: the trainable parameter count, LoRA "
               "target_modules, and that the completion/assistant mask is not empty"),
        ],
        "no held-out improvement": [
            _r("lima", "diversity and quality of demonstrations matter more than their count",
               action="check that the eval set is the task you train for, and vary the training data"),
            _r("sft_memorizes", "RL generalises where SFT memorises",
               action="switch to GRPO with a verifiable reward for the task"),
        ],
        "dead reward components": [
            _r("r1", "a rule-based reward pays only when its pattern matches what the model actually writes",
               action="score a few logged completions with each dead reward by hand; fix its pattern or drop it"),
        ],
        "reward saturation": [
            _r("r1", "a reward that pays every completion the same is a constant: no signal, and it hides the others'",
               action="drop the saturated component or gate the others on it instead of adding them"),
        ],
        "group too small": [
            _r("grpo", "GRPO's advantage is a completion's reward against its group's: DeepSeekMath sampled 64",
               {"num_generations": max(8, cfg.num_generations * 4)}),
        ],
        "no parameter update": [
            _r("lora", "only parameters with requires_grad and on the forward path receive a gradient",
               action="print the trainable parameter count (model.print_trainable_parameters()); check that no "
               "weights are frozen or detached and that the adapter is attached to the model the trainer calls"),
        ],
        "steps that update nothing": [
            _r("dapo", "a step whose loss covers no token (every completion masked or filtered out) updates nothing",
               action="find what the zero-gradient steps share: how many completion tokens their loss covers "
               "(truncated ones masked, filtered groups), and whether the logged grad_norm is the one of an "
               "accumulation step or a sharded optimiser that reports 0"),
        ],
        "nothing to learn from": [
            _r("lima", "SFT learns only from the target tokens the loss covers",
               action="decode one batch's labels where they are not -100: check the completion/assistant mask "
               "or response template matches the chat template, and that max_length leaves the targets in"),
        ],
        "policy equals its reference": [
            _r("dpo", "DPO's loss is -log sigmoid(beta times the log-ratio margin): ln 2 means a margin of 0 on every pair",
               action="check that the policy is trainable and not the reference model itself, that beta > 0 and "
               "the learning rate is above 0 after warm-up"),
        ],
        "no preference learned": [
            _r("dpo", "the implicit reward margin is what DPO maximises: it moves once the policy learns the pairs",
               action="check the chosen/rejected columns are not swapped or identical, and that the pairs differ "
               "in what the preference is about"),
        ],
        "memorisation risk": [
            _r("sft_memorizes", "many passes over few examples fit them exactly and generalise worse",
               {"num_train_epochs": 3} if best_step is None else {"max_steps": best_step}),
            _r("lima", "a held-out set large enough to see over-fitting, and more varied examples",
               action="hold out at least a few dozen examples for eval_loss, and add more distinct training examples"),
        ],
        "reward from shaping only": [
            _r("reward_overoptimization", "a proxy reward optimised alone rises while the true objective does not",
               action="gate the shaping rewards on the task reward (pay format or length only when the task is "
               "solved), or lower their weight"),
        ],
        "systematic demonstration error": [
            _r("r1", "a verifiable reward corrects what imitation of a flawed teacher cannot",
               action="GRPO from this checkpoint with the task's verifier as the reward"),
        ],
    }
    # fmt: on
    return table[failure]


@dataclass(frozen=True)
class HeldOut:
    """The run's held-out score against what it started from, with the interval that says if it moved."""

    score: float
    reference: float
    against: str  # "parent run-001" or "base model"
    low: float
    high: float
    real_gain: bool  # interval above 0 and gain above the noise floor

    def describe(self) -> str:
        return (
            f"held-out {self.reference:.3f} -> {self.score:.3f} against the {self.against} "
            f"({self.score - self.reference:+.3f}, 95% interval {self.low:+.3f}..{self.high:+.3f})"
        )


def gain_interval(p_new: float, p_old: float, n: int) -> tuple[float, float]:
    """95% interval of a difference of two accuracies measured on the same n problems (independent approx.)."""
    half = THRESHOLDS["z"] * math.sqrt(max(p_new * (1 - p_new), 1e-9) / n + max(p_old * (1 - p_old), 1e-9) / n)
    return p_new - p_old - half, p_new - p_old + half
