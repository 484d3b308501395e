"""`compute:` in intern.yaml: the short form stays valid, each launcher's settings are checked before anything runs."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from bus.schemas import Goal


def test_the_short_form_and_the_default_are_local():
    assert Goal().compute.launcher == "local"
    assert Goal.model_validate({"compute": "local"}).compute.launcher == "local"
    assert Goal.model_validate({"compute": "accelerate"}).compute.num_processes == 2


def test_the_template_goal_is_valid_and_local(tmp_path):
    from bus.workspace import template_root

    goal = Goal.model_validate(yaml.safe_load(template_root().joinpath("intern.yaml").read_text()))
    assert goal.compute.launcher == "local"


def test_hf_jobs_settings_load():
    compute = Goal.model_validate(
        {"compute": {"launcher": "hf-jobs", "flavor": "a10g-small", "timeout": "2h", "hub_repo": "me/intern-runs"}}
    ).compute
    assert (compute.flavor, compute.timeout, compute.hub_repo, compute.secrets) == (
        "a10g-small",
        "2h",
        "me/intern-runs",
        ["HF_TOKEN"],
    )


@pytest.mark.parametrize(
    ("compute", "message"),
    [
        ("slurm", "Input should be 'local', 'accelerate' or 'hf-jobs'"),
        ({"launcher": "hf-jobs"}, "compute hf-jobs needs hub_repo"),
        ({"launcher": "hf-jobs", "hub_repo": "no-slash"}, "is not a Hub repo id"),
        ({"launcher": "hf-jobs", "hub_repo": "me/r", "timeout": "two hours"}, "is not a duration"),
        ({"launcher": "accelerate", "num_processes": 0}, "greater than or equal to 1"),
        ({"launcher": "local", "gpus": 2}, "Extra inputs are not permitted"),
    ],
)
def test_bad_compute_settings_are_refused_with_a_reason(compute, message):
    with pytest.raises(ValidationError, match=message):
        Goal.model_validate({"compute": compute})
