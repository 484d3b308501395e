"""The backlog: every experiment the evidence in the tree makes worth considering, each with its reason.

Sources, all plain data: the standard moves (MOVES, one table with each move's prior and why), every
applicable remedy of every finding of every run (not only the first), the cause of each failed run,
the knobs and hyper-parameters of the matched papers (with their citation), and hypotheses a human or
the LLM brain wrote. A data action is proposed only if the curator carries it out (DATA_ACTIONS);
one it cannot do is left out, so no hypothesis claims a change that nothing makes.

The priors are rough, stated, and only a starting point: the policy (policy.py) turns each into an
expected gain over the best kept run, discounts moves the tree already refuted, and divides by cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from agents.search.data_actions import action as curator_action
from agents.search.data_actions import asks_for_own_samples
from agents.search.tree import BASE, CANCELLED, CRASH, INVALID, NON_FINITE, OOM, REFUSED, TIMEOUT, Node, Tree, signature
from bus import layout
from bus.schemas import TrainingConfig

COLD_START = 0.05  # below this pass rate GRPO groups nearly all score 0: no learning signal
AGREEMENT_LOW = 0.90  # demonstrations agreeing with the verifier less than this on a slice are wrong there
STALLED_LOSS = 0.8  # a training loss that ends above this share of its start did not fall: nothing was learned
FITTED = 0.95  # token accuracy on the demonstrations at which a model reproduces them: more steps only memorise

# move: (prior chance it delivers its headroom, why, paper). Priors from how reliably each move helped in
# the cited papers and in post-training-facts.md (e.g. GRPO fixing a systematic SFT error: 0.94-0.996 on
# 3 of 3 seeds; plain GRPO on a clean SFT checkpoint: never, so 0.15).
# fmt: off
MOVES: dict[str, tuple[float, str, str]] = {
    "sft cold start": (0.60, "the start solves almost nothing, so GRPO groups would all score 0; imitation of "
                             "demonstrations gives the first non-zero pass rate", "2501.12948"),
    "grpo from warm start": (0.15, "on-policy RL with the task's verifier as reward, from a checkpoint that solves "
                                   "enough prompts for the groups to differ", "2402.03300"),
    "grpo fixes demonstration error": (0.60, "the demonstrations carry a systematic error the model copied; a "
                                             "verifiable reward corrects what imitation cannot", "2501.12948"),
    "sft on verified rows": (0.60, "imitate only the demonstrations the grader accepts (rejection-sampling "
                                   "fine-tuning); its reach shrinks with the share of rows that survive", "2308.01825"),
    "sft on own samples": (0.20, "imitate the model's own solutions that the grader accepts, sampled on the "
                                 "training prompts (STaR, RFT): new right paths the demonstrations lack, in the "
                                 "model's own words", "2203.14465"),
    "sft after grpo": (0.02, "a supervised pass on the demonstrations again after RL; it tends to bring back "
                             "what RL corrected (SFT memorises its data)", "2501.17161"),
    "continue grpo": (0.30, "the reward was still rising when the run stopped: more steps from this checkpoint",
                      "2402.03300"),
    "continue sft": (0.15, "the loss was still falling: more supervised steps from this checkpoint", "2501.19393"),
    "longer sft": (0.35, "the run was learning (its loss fell) but stopped before it beat its start: the same "
                         "supervised run again from the same start with twice the steps", "2501.19393"),
    "learning rate x3": (0.10, "a larger step, if the run moved too little", "1707.06347"),
    "learning rate /3": (0.10, "a smaller step, if the run moved too far or noisily", "1707.06347"),
    "more generations": (0.10, "a larger group is more likely to hold both a right and a wrong completion",
                         "2402.03300"),
    "lower temperature": (0.05, "sharper samples, if exploration only adds noise", "2505.22312"),
    "lora rank x2": (0.05, "a LoRA adapter with more capacity", "2106.09685"),
    "finding remedy": (0.25, "the critic's finding names this cure", ""),
    "paper knob": (0.12, "a knob a matched paper sets against a failure this run shows", ""),
    "failure retry": (0.50, "the same change again from its parent, with the failure's cause removed", ""),
    "hypothesis on file": (0.35, "written by a human (or the LLM brain, schema-checked): their idea counts", ""),
}
# fmt: on
# The themes each move is about, for ranking the papers behind it (agents/researcher/knowledge.py tags).
MOVE_TAGS: dict[str, list[str]] = {
    "sft cold start": ["sft", "cold-start", "distillation"],
    "grpo from warm start": ["grpo", "verifiable-reward", "rl-after-sft"],
    "grpo fixes demonstration error": ["grpo", "verifiable-reward", "rl-after-sft"],
    "sft on verified rows": ["sft", "distillation", "data-quality"],
    "sft on own samples": ["sft", "distillation", "data-quality"],
    "sft after grpo": ["sft"],
    "continue grpo": ["grpo", "longer-training"],
    "continue sft": ["sft", "longer-training"],
    "longer sft": ["sft", "longer-training"],
    "learning rate x3": ["stability"],
    "learning rate /3": ["stability"],
    "more generations": ["grpo", "exploration"],
    "lower temperature": ["grpo", "exploration"],
    "lora rank x2": ["peft"],
    "failure retry": ["stability"],
}

# TrainingConfig fields only GRPO reads (TRL's GRPOConfig); an SFT run ignores them.
GRPO_ONLY = {
    "reward_funcs", "loss_type", "beta", "epsilon", "epsilon_high", "delta", "scale_rewards", "num_generations",
    "temperature", "top_p", "max_completion_length", "num_iterations", "mask_truncated_completions",
    "importance_sampling_level", "top_entropy_quantile", "overlong_buffer",
}  # fmt: skip

# Data actions a hypothesis can ask for, each one the curator carries out (agents/search/data_actions.py, checked
# at import): aim the next dataset at a slice the data_change names, and for SFT keep only demonstrations
# the grader accepts. GRPO data is always pass-rate filtered on its starting model, so that is no separate
# move; rejection sampling is switched on by intern.yaml (data.rejection), not by a hypothesis. Other
# remedies' data actions (dedup for variety, soft overlong rewards) are not carried out and never proposed.
DATA_ACTIONS = {
    "aim at slice": "aim the data at the weak slice {slice} ({where} finds it weak)",
    "verified rows": "SFT on grader-verified demonstrations only, aimed at the weak slice {slice} ({where} finds it "
    "weak)",
    # The curator finds its request by OWN_SAMPLES (agents/search/data_actions.py), checked below.
    "own samples": "add {run}'s own grader-verified samples on the training prompts to the demonstrations "
    "(rejection sampling, STaR / RFT)",
}
CURATOR_ACTION = {
    "aim at slice": ("target_slice",),
    "verified rows": ("target_slice", "verified_demonstrations_only"),
    "own samples": ("rejection_sample",),
}
assert asks_for_own_samples(DATA_ACTIONS["own samples"]), "the curator would not see the own-samples request"
for _names in CURATOR_ACTION.values():
    for _name in _names:
        curator_action(_name)  # KeyError naming what the curator does, if it stops doing one of these


@dataclass
class Candidate:
    """One experiment the search may run: start, method, change, data, and why."""

    method: str
    parent: str  # BASE or a run id
    delta: dict = field(default_factory=dict)  # TrainingConfig knobs vs the trainer's recipe
    data_action: str | None = None
    move: str = "finding remedy"
    reason: str = ""
    papers: list[str] = field(default_factory=list)
    prior: float = 0.1
    headroom: float | None = None  # score points the move can reach; None: all that is left above the parent
    steps: int | None = None  # planned max_steps (None: delta's or the recipe's)
    hypothesis: str | None = None  # an existing hypothesis file it comes from
    retry_of: str | None = None  # the run whose change it repeats from the same parent
    source: str = ""

    def signature(self) -> str:
        return signature(self.method, self.parent, self.delta, self.data_action)


@dataclass
class Backlog:
    candidates: list[Candidate]
    questions: list[str] = field(default_factory=list)  # for the human: what the search will not guess


def candidate(method: str, parent: str, move: str, **kw) -> Candidate:
    prior, why, paper = MOVES[move]
    kw.setdefault("prior", prior)
    kw.setdefault("reason", why)
    kw.setdefault("papers", [paper] if paper else [])
    return Candidate(method=method, parent=parent, move=move, **kw)


def build_backlog(tree: Tree, papers: list[dict] | None = None) -> Backlog:
    """Every candidate the tree's evidence supports; merged by signature (the higher prior, both reasons)."""
    out: list[Candidate] = []
    questions: list[str] = []
    for node in tree.nodes:
        if node.kept:
            out += continuations(node, tree)
        elif node.verdict == "failed":
            found, asked = failure_retries(node, tree)
            out += found
            questions += asked
        elif node.verdict == "discarded":
            out += finding_remedies(node, tree) + stalled_retry(node, tree) + longer_retry(node, tree)
        if node.kept and node.id != BASE:
            out += finding_remedies(node, tree)
            out += paper_knobs(node, tree, papers or [])
    out += hypotheses_on_file(tree)
    return Backlog(merge(c for c in out if valid(c, tree)), questions)


def merge(cands) -> list[Candidate]:
    merged: dict[str, Candidate] = {}
    for cand in cands:
        key = cand.signature()
        old = merged.get(key)
        if old is None:
            merged[key] = cand
        elif cand.prior > old.prior:
            cand.papers = list(dict.fromkeys(cand.papers + old.papers))
            merged[key] = cand
        else:
            old.papers = list(dict.fromkeys(old.papers + cand.papers))
    return list(merged.values())


# --- from a kept node: what to build on it --------------------------------------------------------


def _weak_slice(node: Node) -> tuple[str, float, float] | None:
    """(slice, its score, its share of the held-out items) of the node's weakest slice, if one lags."""
    ev = node.evaluation
    if ev is None or len(ev.slices) < 2:
        return None
    best = max(s.score for s in ev.slices.values())
    name, worst = min(ev.slices.items(), key=lambda kv: kv[1].score)
    if best - worst.score < 0.2:
        return None
    return name, worst.score, worst.n / max(1, sum(s.n for s in ev.slices.values()))


def _agreement(node: Node, tree: Tree, slice_name: str) -> float | None:
    card = tree.cards.get(node.data or "")
    if card is None or slice_name not in card.slices:
        return None
    return card.slices[slice_name].label_agreement


def continuations(node: Node, tree: Tree) -> list[Candidate]:
    """Moves that start from a kept node (or the base model)."""
    score = node.score if node.score is not None else 0.0
    pid = node.id
    if node.id == BASE:
        if score < COLD_START:
            return [
                candidate(
                    "sft",
                    BASE,
                    "sft cold start",
                    reason=f"the base model solves {score:.1%}: " + MOVES["sft cold start"][1],
                ),
                candidate(
                    "grpo",
                    BASE,
                    "grpo from warm start",
                    prior=0.01,
                    reason=f"the base model solves {score:.1%}, "
                    "so nearly every GRPO group scores 0 and gives no gradient",
                ),
            ]
        return [
            candidate(
                "grpo", BASE, "grpo from warm start", prior=0.25, reason=f"the base model already solves {score:.1%}"
            ),
            candidate("sft", BASE, "sft cold start", prior=0.25),
        ]
    out: list[Candidate] = []
    cfg = node.config
    weak = _weak_slice(node)
    same = {k: v for k, v in node.delta.items() if k != "max_steps"}  # the recipe change this line of runs uses
    if node.method == "sft":
        if score < COLD_START:
            out.append(
                candidate(
                    "sft",
                    pid,
                    "continue sft",
                    prior=0.3,
                    delta=same | {"max_steps": node.steps * 2 or 1},
                    reason=f"the SFT model solves only {score:.1%}: GRPO would see no reward; "
                    "more supervised steps first",
                )
            )
            return out
        agreement = _agreement(node, tree, weak[0]) if weak else None
        if weak and agreement is not None and agreement < AGREEMENT_LOW:
            name, slice_score, share = weak
            where = layout.run_diagnosis(node.id)
            room = share * (1 - slice_score)
            out.append(
                candidate(
                    "grpo",
                    pid,
                    "grpo fixes demonstration error",
                    headroom=room,
                    data_action=DATA_ACTIONS["aim at slice"].format(slice=name, where=where),
                    reason=f"only {agreement:.0%} of the {name} demonstrations agree with the verifier "
                    f"and {node.id} scores {slice_score:.3f} there: GRPO with the verifier as reward "
                    "corrects what imitation copied",
                    papers=["2501.12948", "2501.17161"],
                )
            )
            out.append(
                candidate(
                    "sft",
                    pid,
                    "sft on verified rows",
                    headroom=room,
                    prior=MOVES["sft on verified rows"][0] * agreement,
                    data_action=DATA_ACTIONS["verified rows"].format(slice=name, where=where),
                    reason=f"only {agreement:.0%} of the {name} demonstrations are right: imitate only "
                    f"those (prior scaled by the {agreement:.0%} that survive)",
                    papers=["2308.01825", "2203.14465"],
                )
            )
        else:
            out.append(
                candidate(
                    "grpo",
                    pid,
                    "grpo from warm start",
                    reason=f"{node.id} solves {score:.1%}, enough for GRPO groups to differ",
                )
            )
        out.append(continue_sft(node, same))
        out += own_samples(node, tree)
    else:
        rising = any(f.name == "reward trend" and "still rising" in f.evidence for f in _findings(node))
        out.append(
            candidate(
                "grpo",
                pid,
                "continue grpo",
                delta=same,
                prior=0.3 if rising else 0.05,
                reason=MOVES["continue grpo"][1]
                if rising
                else "more GRPO steps from this checkpoint (the reward had flattened, so little is expected)",
            )
        )
        if cfg is not None:
            out.append(
                candidate("grpo", pid, "more generations", delta=same | {"num_generations": cfg.num_generations * 2})
            )
            if cfg.temperature > 0.7:
                out.append(candidate("grpo", pid, "lower temperature", delta=same | {"temperature": 0.7}))
        out.append(candidate("sft", pid, "sft after grpo"))
        out += own_samples(node, tree)
    if cfg is not None:
        out.append(
            candidate(node.method, pid, "learning rate x3", delta=same | {"learning_rate": cfg.learning_rate * 3})
        )
        out.append(
            candidate(node.method, pid, "learning rate /3", delta=same | {"learning_rate": cfg.learning_rate / 3})
        )
        if cfg.peft is not None:
            lora = cfg.peft.model_dump() | {"r": cfg.peft.r * 2, "alpha": cfg.peft.alpha * 2}
            out.append(candidate(node.method, pid, "lora rank x2", delta=same | {"peft": lora}))
    return out


def fitted_accuracy(node: Node) -> float | None:
    """The run's last token accuracy on its demonstrations when it reached FITTED, else None."""
    loss = next((f for f in node.findings if f.name == "training loss"), None)
    accuracy = loss.values.get("token_accuracy") if loss is not None else None
    return accuracy if isinstance(accuracy, (int, float)) and accuracy >= FITTED else None


def continue_sft(node: Node, same: dict) -> Candidate:
    """More supervised steps from a kept SFT run; half as likely to pay when the run already reproduces its
    demonstrations (token accuracy >= FITTED): more steps on the same rows mostly memorise them."""
    fitted = fitted_accuracy(node)
    if fitted is None:
        return candidate("sft", node.id, "continue sft", delta=same)
    return candidate(
        "sft",
        node.id,
        "continue sft",
        delta=same,
        prior=MOVES["continue sft"][0] * 0.5,
        reason=f"{node.id} already reproduces its demonstrations (token accuracy {fitted:.2f}): more steps on the "
        "same rows mostly memorise them (prior halved)",
    )


def own_samples(node: Node, tree: Tree) -> list[Candidate]:
    """SFT from a kept run on the demonstrations plus that run's own grader-verified samples (STaR, RFT), when the
    goal lets the curator sample (a task without a generator, data.rejection.enabled) and the run solves enough
    prompts for its samples to hold right answers."""
    score = node.score or 0.0
    if not tree.self_sampling or node.id == BASE or score < COLD_START:
        return []
    return [
        candidate(
            "sft",
            node.id,
            "sft on own samples",
            data_action=DATA_ACTIONS["own samples"].format(run=node.id),
            reason=f"{node.id} solves {score:.1%} of the held-out problems, so its samples on the training prompts "
            "hold right solutions the grader can pick: " + MOVES["sft on own samples"][1],
            papers=["2203.14465", "2308.01825"],
        )
    ]


def _findings(node: Node) -> list:
    return node.findings


# --- from a node's findings: every applicable remedy ----------------------------------------------


def finding_remedies(node: Node, tree: Tree) -> list[Candidate]:
    """Every remedy of every non-info finding that the trainer and the curator can apply.

    On a kept node the remedy continues from it; on a discarded one it repeats the node's change from the
    node's own parent with the cure added (a regressed node is never a parent).
    """
    kept = node.kept
    parent = node.id if kept else (node.parent or BASE)
    base_delta = {k: v for k, v in node.delta.items() if k != "max_steps"} if kept else dict(node.delta)
    out = []
    for finding in _findings(node):
        if finding.severity == "info":
            continue
        for remedy in finding.remedies:
            delta = {k: v for k, v in remedy.config_delta.items() if k in TrainingConfig.model_fields}
            if remedy.config_delta and len(delta) != len(remedy.config_delta):
                continue  # a knob this trainer does not offer
            if node.config is not None and delta and all(getattr(node.config, k) == v for k, v in delta.items()):
                continue  # no change
            if not delta:
                continue  # a data action alone: only the curator's own actions are proposed (continuations)
            if node.method == "sft" and set(delta) <= GRPO_ONLY:
                continue  # a GRPO knob changes nothing in an SFT run
            prior = MOVES["finding remedy"][0] * (1.2 if finding.severity == "critical" else 1.0)
            out.append(
                candidate(
                    node.method or "sft",
                    parent,
                    "finding remedy",
                    delta=base_delta | delta,
                    data_action=node.data_action,
                    prior=prior,
                    reason=f"{node.id} shows {finding.name} ({finding.severity}): {remedy.why}"
                    + ("" if kept else f"; the same change again from {parent} with the cure"),
                    papers=[remedy.paper],
                    retry_of=None if kept else node.id,
                    source=f"finding {finding.name} of {node.id}",
                )
            )
    return out


def stalled_retry(node: Node, tree: Tree) -> list[Candidate]:
    """A discarded run whose training loss did not fall learned nothing at its learning rate: too large a step
    (Adam moves every weight by about the rate, whatever the gradient) or diverged without a NaN. The same change
    again from its parent at a tenth of the rate, with clipping."""
    loss = next((f for f in node.findings if f.name == "training loss" and {"first", "last"} <= set(f.values)), None)
    if node.config is None or loss is None or loss.values["last"] < STALLED_LOSS * loss.values["first"]:
        return []
    lr = node.config.learning_rate
    parent = node.parent or BASE
    change = {"learning_rate": lr / 10, "max_grad_norm": min(node.config.max_grad_norm, 0.5)}
    return [
        candidate(node.method or "sft", parent, "failure retry", delta=dict(node.delta) | change,
                  data_action=node.data_action, retry_of=node.id, papers=["1211.5063", "1707.06347"],
                  source=f"stalled loss of {node.id}",
                  reason=f"{node.id}'s training loss went {loss.values['first']:.3f} -> {loss.values['last']:.3f} and "
                  f"it was not kept: at learning rate {lr:g} it learned nothing (or diverged); the same change again "
                  f"from {parent} at a tenth of the rate ({lr / 10:g}) with clipping")
    ]  # fmt: skip


def longer_retry(node: Node, tree: Tree) -> list[Candidate]:
    """A discarded SFT run that was learning (its loss fell) and did not regress stopped too early: an imitation
    run from a model that solves nothing needs enough steps to reach the answer format before the score moves.
    The same change again from its parent with twice the steps. Not when the model already fits its
    demonstrations (token accuracy >= FITTED): more steps of the same data would only memorise it."""
    loss = next((f for f in node.findings if f.name == "training loss" and {"first", "last"} <= set(f.values)), None)
    if node.method != "sft" or node.config is None or loss is None or node.steps <= 0:
        return []
    fell = loss.values["last"] < STALLED_LOSS * loss.values["first"]
    fitted = loss.values.get("token_accuracy", 0.0) >= FITTED
    if not fell or fitted or (node.gain is not None and node.gain < 0):
        return []
    parent, steps = node.parent or BASE, node.steps * 2
    return [
        candidate("sft", parent, "longer sft", delta=dict(node.delta) | {"max_steps": steps}, steps=steps,
                  data_action=node.data_action, retry_of=node.id, source=f"undertrained {node.id}",
                  reason=f"{node.id}'s loss fell {loss.values['first']:.3f} -> {loss.values['last']:.3f} in "
                  f"{node.steps} steps but it scored {node.score or 0:.3f} and was not kept: it was learning and "
                  f"stopped early; the same run from {parent} with {steps} steps")
    ]  # fmt: skip


# --- from a failed node: the cure its cause calls for ---------------------------------------------


def failure_retries(node: Node, tree: Tree) -> tuple[list[Candidate], list[str]]:
    parent = node.parent or BASE
    cfg = node.config
    if cfg is None or node.cause in (CANCELLED, REFUSED):
        return [], []  # a human stopped it, or a rule refused it: not the search's to retry
    delta = dict(node.delta)

    def retry(change: dict, why: str, papers: list[str] | None = None, drop: tuple = ()) -> Candidate:
        new = {k: v for k, v in delta.items() if k not in drop} | change
        return candidate(
            cfg.method,
            parent,
            "failure retry",
            delta=new,
            data_action=node.data_action,
            reason=f"{node.id} failed ({node.cause}: {(node.error or '')[:120]}); {why}",
            papers=papers or [],
            retry_of=node.id,
            source=f"failure {node.cause} of {node.id}",
        )

    out: list[Candidate] = []
    if node.cause == OOM:
        batch, accum = cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps
        if batch > 1:
            out.append(
                retry(
                    {"per_device_train_batch_size": batch // 2, "gradient_accumulation_steps": accum * 2},
                    f"half the per-device batch ({batch} -> {batch // 2}) over twice the gradient "
                    "accumulation keeps the effective batch in less memory",
                )
            )
        if not cfg.gradient_checkpointing:
            out.append(
                retry(
                    {"gradient_checkpointing": True},
                    "gradient checkpointing recomputes activations instead of storing them",
                    ["1604.06174"],
                )
            )
            out[-1].prior *= 0.8  # slower per step
        if cfg.peft is None:
            out.append(
                retry(
                    {"peft": {"r": 16, "alpha": 32}},
                    "a LoRA adapter trains a small fraction of the weights, so optimizer state shrinks",
                    ["2106.09685"],
                )
            )
            out[-1].prior *= 0.6  # a different model capacity, not only less memory
    elif node.cause == TIMEOUT:
        steps = cfg.max_steps
        out.append(
            retry(
                {"max_steps": max(10, steps // 2)},
                f"half the steps ({steps} -> {max(10, steps // 2)}) to finish within the time",
            )
        )
        if cfg.method == "grpo" and cfg.max_completion_length > 2:
            shorter = max(2, cfg.max_completion_length // 2)
            out.append(
                retry(
                    {"max_completion_length": shorter},
                    f"a shorter generation ({cfg.max_completion_length} -> {shorter} tokens) makes each step cheaper",
                )
            )
    elif node.cause == NON_FINITE:
        lower = cfg.learning_rate / 10
        out.append(
            retry(
                {"learning_rate": lower, "max_grad_norm": min(cfg.max_grad_norm, 0.5)},
                f"the loss went NaN/inf: a learning rate ten times lower ({cfg.learning_rate:g} -> {lower:g}) "
                "and gradient clipping at 0.5",
                ["1211.5063", "1707.06347"],
            )
        )
    elif node.cause == INVALID:
        bad = [k for k in TrainingConfig.model_fields if re.search(rf"\b{k}\b", node.error or "")]
        fixable = [k for k in bad if k in delta]
        if fixable:
            out.append(
                retry(
                    {},
                    f"without the invalid field{'s' if len(fixable) > 1 else ''} {', '.join(fixable)} "
                    "(back to the recipe's value)",
                    drop=tuple(fixable),
                )
            )
        else:
            return [], [
                f"{node.id}'s config is invalid ({(node.error or '')[:160]}) and no field the search set is "
                "to blame: please fix the config or the hypothesis"
            ]
    elif node.cause == CRASH:
        same = [
            n
            for n in tree.runs
            if n.verdict == "failed" and n.cause == CRASH and n.parent == node.parent and n.method == node.method
        ]
        if len(same) >= 2:
            return [], [
                f"{', '.join(n.id for n in same)} crashed with a cause the search does not know "
                f"({(node.error or '')[:160]}); rather than guess a third time: what should change?"
            ]
        out.append(
            retry(
                {"seed": cfg.seed + 1},
                "an unknown crash: the same change once more (another seed), "
                "then a question to the human if it crashes again",
            )
        )
        out[-1].prior = 0.3
    return out, []


# --- papers and hypotheses on file -----------------------------------------------------------------


def _number(text) -> float | None:
    try:
        return float(str(text).strip().split()[0].rstrip(",;"))
    except (ValueError, IndexError):
        return None


def paper_knobs(node: Node, tree: Tree, papers: list[dict]) -> list[Candidate]:
    """Knobs (and numeric hyper-parameters read from the text) of papers addressing a finding of `node`."""
    if node.config is None or node.method != "grpo":
        return []
    names = {f.name for f in _findings(node) if f.severity != "info"}
    same = {k: v for k, v in node.delta.items() if k != "max_steps"}
    out = []
    for paper in papers:
        addressed = sorted(names & set(paper.get("failure_modes", [])))
        if not addressed:
            continue
        knobs = dict(paper.get("knobs", {}))
        for key, values in paper.get("hyperparameters", {}).items():
            number = _number(values[0]) if values else None
            if key in TrainingConfig.model_fields and number is not None and key not in knobs:
                knobs[key] = number
        delta = {k: v for k, v in knobs.items() if k in TrainingConfig.model_fields and getattr(node.config, k) != v}
        if not delta:
            continue
        cite = paper.get("arxiv_id") or paper.get("key") or paper.get("short", "")
        out.append(
            candidate(
                "grpo",
                node.id,
                "paper knob",
                delta=same | delta,
                papers=[cite] if cite else [],
                reason=f"{node.id} shows {', '.join(addressed)}, which {paper.get('short') or cite} "
                f"addresses with {delta} (arXiv {cite})",
                source=f"paper {cite}",
            )
        )
    return out


def hypotheses_on_file(tree: Tree) -> list[Candidate]:
    """Untested hypotheses the search did not write (a human's, or the LLM brain's, schema-checked on load)."""
    out = []
    for path, (hyp, status) in tree.hypotheses.items():
        if status != "proposed" or "**Move:**" in hyp.body:
            continue
        out.append(
            candidate(
                hyp.method,
                hyp.parent_run or BASE,
                "hypothesis on file",
                delta=dict(hyp.config_delta),
                data_action=hyp.data_change,
                papers=list(hyp.papers),
                hypothesis=path,
                reason=f"{path}: {hyp.claim or hyp.title}",
                source=f"on file: {path}",
            )
        )
    return out


def valid(cand: Candidate, tree: Tree) -> bool:
    """A change the trainer can build: every key a TrainingConfig field with a legal value, whole GRPO groups."""
    parent = tree.node(cand.parent)
    if parent is None:
        return False
    ref = next((n.config for n in tree.runs if n.config is not None), None)
    if ref is None:
        return all(k in TrainingConfig.model_fields for k in cand.delta)
    values = ref.model_dump() | {"method": cand.method} | cand.delta
    try:
        cfg = TrainingConfig(**values)
    except ValidationError:
        return False
    if cand.method == "grpo":
        return (cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps) % cfg.num_generations == 0
    return True
