"""The curator's step: which dataset the next hypothesis needs, then reuse a checked one or build it.

The plan names the dataset (task, sources, a content hash; the weak slice it is aimed at; for GRPO the
model its pass rates were measured on) and the hypothesis it serves. A checked dataset with the same plan
is reused (its card lists the later hypotheses it serves); otherwise agents/curator/build.py gathers the
sources, gates every row, mixes them and writes the card. A rejected dataset gets a card saying why, and
nothing trains on it (agents/common/state.dataset_cards).
"""

from __future__ import annotations

import json

from agents.common import plan_rules, state
from agents.common.steps import StepOutcome
from agents.curator import card as cards
from agents.curator.build import DataPlan, build_dataset
from agents.curator.naming import dataset_name
from agents.curator.targets import evaluated_slices, weak_slice
from agents.search.data_actions import asks_for_own_samples
from agents.tasks import addition
from bus import Workspace, layout, sha256_file
from bus.schemas import DatasetCard, DataSpec, Goal, Hypothesis

TRAIN_ROWS = DataSpec().synthetic_rows  # the default; intern.yaml data.synthetic_rows changes it


def _next_hypothesis(ws: Workspace) -> tuple[str, Hypothesis] | None:
    """The hypothesis the data is for: the one the trainer runs next (the first no run has configured, not
    withdrawn, of a method the plan's rules allow), else the latest. The card names it, and the trainer
    trains that hypothesis on that card only."""
    found = state.hypotheses(ws)
    tested = {r.config.hypothesis for r in state.runs(ws) if r.config is not None}
    withdrawn = state.withdrawn(ws)
    rules, _ = plan_rules.parse_rules(ws.plan().rules())
    allowed = [r.value for r in rules if r.kind == "methods"]
    runnable = (
        (p, h) for p, h in found if p not in tested and p not in withdrawn and all(h.method in m for m in allowed)
    )
    return next(runnable, found[-1] if found else None)


def withdrawn_names(ws: Workspace) -> dict[str, str]:
    """Dataset names a human withdrew (reverted a commit under datasets/<name>/) -> the revert's sha."""
    return {
        p.split("/")[1]: sha
        for p, sha in state.withdrawn(ws).items()
        if layout.under(p, layout.DATASETS) and p.count("/") >= 2
    }


def plan_dataset(ws: Workspace, goal: Goal, instruction: str = "") -> DataPlan:
    found = _next_hypothesis(ws)
    path, hyp = found if found else (None, None)
    slices = list(addition.SLICES) if goal.task.name == addition.NAME else evaluated_slices(ws)
    target = weak_slice(ws, hyp, instruction, slices)
    method = hyp.method if hyp else "sft"
    parent = hyp.parent_run if hyp else None
    name = dataset_name(goal, ws.root)
    if target is not None:
        name += f"-{target.slice.replace('_', '-')}"
    if method == "grpo":
        name += f"-grpo-{parent or 'base'}"  # pass rates belong to the model they were measured on
    own = method == "sft" and asks_for_own_samples(hyp.data_change if hyp else None)
    if own:
        name += f"-own-{parent or 'base'}"  # samples belong to the model that drew them
    note = None
    withdrawn = withdrawn_names(ws)
    if name in withdrawn:
        # Never re-create or reuse what a human took back: the next free version of the name instead.
        version = next(v for v in range(2, 10_000) if f"{name}-v{v}" not in withdrawn)
        note = (
            f"named -v{version} because a human withdrew datasets/{name} (revert {withdrawn[name][:8]}); "
            "the withdrawn dataset is never re-created or reused"
        )
        name = f"{name}-v{version}"
    return DataPlan(name, method, parent, path, target, note, own_samples=own)


def curator_step(ws: Workspace, instruction: str = "") -> StepOutcome:
    goal = ws.goal()
    plan = plan_dataset(ws, goal, instruction)
    card_rel = layout.dataset_card(plan.name)
    data_rel = layout.dataset_file(plan.name, cards.DATA_FILE)
    existing = next((c for p, c in state.dataset_cards(ws, include_rejected=True) if p == card_rel), None)
    if existing is not None and existing.verdict != "rejected" and not _mapping_edited(ws, plan.name, existing):
        if ws.exists(data_rel) and sha256_file(ws.path(data_rel)) == existing.data_sha256:
            return _reuse(ws, card_rel, existing, plan)
    eval_rel = layout.eval_split(goal.task.name)
    if not ws.exists(eval_rel):
        return StepOutcome(
            "curator", "the held-out split does not exist yet; the critic must create it first", ok=False
        )
    return build_dataset(ws, goal, plan, eval_rel, existing)


def _reuse(ws: Workspace, card_rel: str, card: DatasetCard, plan: DataPlan) -> StepOutcome:
    """The same data plan again (a later hypothesis repeats an earlier one's data): the checked dataset serves it
    too, and its card says so, so the trainer finds the data built for the hypothesis it runs."""
    said = f"{card_rel} already holds a checked dataset for this data plan; reusing it"
    hyp = plan.hypothesis
    if hyp is None or card.hypothesis is None or hyp == card.hypothesis or hyp in card.serves:
        # (a card built for no hypothesis already serves any that has none of its own)
        return StepOutcome("curator", said)
    served = card.model_copy(update={"serves": [*card.serves, hyp]})
    sha = ws.write_artifact(
        "curator",
        card_rel,
        cards.render(served),
        f"Reuse {card.name} for {hyp}: the same data plan as {card.hypothesis}",
    )
    return StepOutcome("curator", f"{said} for {hyp} (built for {card.hypothesis})", [sha])


def _mapping_edited(ws: Workspace, name: str, card: DatasetCard) -> bool:
    """A human changed the card's column_mapping since the curator wrote card.json: rebuild with theirs."""
    rel = layout.dataset_file(name, cards.FIGURES_FILE)
    if not card.column_mapping or not ws.exists(rel):
        return False
    try:
        return json.loads(ws.read_text(rel)).get("column_mapping") != card.column_mapping
    except ValueError:
        return True
