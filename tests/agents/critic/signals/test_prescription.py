"""One coherent prescription: no two values for one setting, none the run already has, pipeline faults first."""

from __future__ import annotations

from agents.critic.signals.logrows import RunLog, finding
from agents.critic.signals.prescription import coherent
from bus.schemas import Remedy, TrainingConfig

CFG = TrainingConfig(
    run_id="r",
    method="sft",
    base_model="m",
    dataset="d",
    learning_rate=2e-4,
    max_steps=100,
    per_device_train_batch_size=4,
)


def _remedy(**delta) -> Remedy:
    return Remedy(config_delta=delta, paper="1211.5063", why="because")


def test_a_later_contradicting_value_and_the_runs_own_value_are_dropped_and_faults_lead():
    plateau = finding("loss plateau", "warning", "flat", "loss", [1, 9], {}, [_remedy(learning_rate=6e-4)])
    spike = finding("gradient blow-up", "critical", "up", "grad_norm", [5], {},
                    [_remedy(learning_rate=1e-4), _remedy(max_grad_norm=CFG.max_grad_norm)])  # fmt: skip
    fault = finding("no parameter update", "critical", "0", "grad_norm", [1, 9], {}, [_remedy(max_grad_norm=0.5)])
    run = RunLog(CFG, [], known=frozenset({"max_grad_norm", "learning_rate"}))
    out = coherent(run, [plateau, spike, fault])
    assert [f.name for f in out] == ["no parameter update", "gradient blow-up", "loss plateau"]
    by = {f.name: f for f in out}
    assert [r.config_delta for r in by["gradient blow-up"].remedies] == [{"learning_rate": 1e-4}]
    assert by["loss plateau"].remedies == []  # 6e-4 contradicts the blow-up's 1e-4


def test_a_setting_the_log_does_not_show_is_said_to_be_assumed():
    spike = finding("gradient blow-up", "warning", "up", "grad_norm", [5], {}, [_remedy(max_grad_norm=0.5)])
    out = coherent(RunLog(CFG, [], known=frozenset()), [spike])
    assert "assumed" in out[0].remedies[0].why and "max_grad_norm" in out[0].remedies[0].why
