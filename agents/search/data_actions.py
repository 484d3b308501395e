"""The data actions the curator really carries out, by name, and how the files ask for each.

Another agent (the researcher's experiment search, the LLM brain) may propose a data change; only the
actions listed here happen. Each says what the curator does, what in the workspace triggers it, and
for which tasks and methods, so a proposal can be checked against this list before it is made:
`from agents.search.data_actions import ACTIONS, ACTION_NAMES, action`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataAction:
    name: str
    does: str  # what the curator does, in one line
    asked_by: str  # what in the files makes it happen
    applies_to: str  # tasks and methods


ACTIONS: tuple[DataAction, ...] = (
    DataAction(
        "target_slice",
        "keep every row of a weak slice and draw the others so it makes 80% of each source's rows "
        "(the generator writes its rows that way); the card gives the share before and after",
        "a slice named in the hypothesis's data_change or a `- [ ] curator: ...` queue item, else the "
        "diagnosis's weak-slice finding or a remedy's data_action naming a slice",
        "any task whose held-out split has slices (addition carry, MATH level/subject, GPQA domain, "
        "GSM8K steps-N, a custom slice column); SFT and GRPO",
    ),
    DataAction(
        "verified_demonstrations_only",
        "drop demonstrations the task's grader rejects and rows with no reference answer",
        "SFT data aimed at a slice (target_slice)",
        "SFT",
    ),
    DataAction(
        "generate",
        "run the task's generator script (datasets/<name>/generate.py) in the sandbox",
        "data.synthetic and data.synthetic_rows in intern.yaml",
        "tasks with a generator (addition)",
    ),
    DataAction(
        "rejection_sample",
        "sample k completions per verified training prompt, keep the distinct ones the grader accepts "
        "(STaR / RFT), add them to the real rows",
        "data.synthetic with data.rejection (teacher, samples, temperature, max_prompts, seconds), or an SFT "
        "hypothesis whose data_change asks for the model's own grader-verified samples (OWN_SAMPLES) while "
        "data.rejection.enabled is true",
        "tasks without a generator; SFT",
    ),
    DataAction(
        "llm_examples",
        "add examples the LLM brain writes, each recomputed and graded first",
        "brain: in intern.yaml",
        "addition",
    ),
    DataAction(
        "pass_rate_filter",
        "drop prompts the starting model always or never solves in k samples, within a time budget",
        "a GRPO hypothesis; data.pass_rate_seconds and data.pass_rate_unscored",
        "GRPO",
    ),
    DataAction(
        "local_source",
        "read a file or folder (JSONL, JSON array, CSV/TSV, Parquet) and map its layout",
        "data.local in intern.yaml (columns overrides the detected mapping)",
        "any task",
    ),
    DataAction(
        "hub_source",
        "search the Hub and read the best-fitting dataset",
        "data.hub_search, when there is no generator and no local data",
        "any task; needs a network",
    ),
    DataAction(
        "mix_sources",
        "draw rows from each source in proportion to its weight",
        "data.weights in intern.yaml",
        "any task",
    ),
)
ACTION_NAMES: tuple[str, ...] = tuple(a.name for a in ACTIONS)
# The words in a hypothesis's data_change that ask the curator to rejection-sample from the run it starts from.
OWN_SAMPLES = "own grader-verified samples"


def action(name: str) -> DataAction:
    """The action called `name`; KeyError naming the supported ones otherwise."""
    for found in ACTIONS:
        if found.name == name:
            return found
    raise KeyError(f"the curator carries out no data action {name!r}; it does: {', '.join(ACTION_NAMES)}")


def asks_for_own_samples(data_change: str | None) -> bool:
    """Whether a hypothesis's data_change asks for SFT data sampled from its own starting model (STaR / RFT)."""
    return bool(data_change) and OWN_SAMPLES in data_change.lower()
