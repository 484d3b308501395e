"""The list of data actions names only what the curator's code carries out."""

from __future__ import annotations

import pytest

from agents.curator import rejection, reweight
from agents.curator.gate import UNVERIFIED, WRONG_DEMONSTRATION
from agents.search import data_actions as actions
from bus.schemas import DataSpec


def test_every_action_is_named_once_and_can_be_looked_up():
    assert len(set(actions.ACTION_NAMES)) == len(actions.ACTIONS)
    assert actions.action("rejection_sample").applies_to.endswith("SFT")
    with pytest.raises(KeyError, match="no data action 'paraphrase'"):
        actions.action("paraphrase")


def test_the_settings_the_actions_name_exist():
    fields = DataSpec.model_fields
    for name in ("synthetic", "synthetic_rows", "rejection", "pass_rate_seconds", "pass_rate_unscored", "weights"):
        assert name in fields
    assert {"teacher", "samples", "temperature", "max_prompts", "seconds"} <= set(
        fields["rejection"].annotation.model_fields
    )
    # The code behind the actions is there (not a plan for later).
    assert callable(rejection.rejection_sample) and callable(reweight.aim)
    assert UNVERIFIED and WRONG_DEMONSTRATION


def test_own_samples_is_asked_for_in_words_and_nothing_else_asks_for_it():
    from agents.search.data_actions import asks_for_own_samples

    assert asks_for_own_samples("add run-001's own grader-verified samples on the training prompts")
    assert not asks_for_own_samples("SFT on grader-verified demonstrations only, aimed at the weak slice carry")
    assert not asks_for_own_samples(None)
