"""The ground every agent stands on; it imports no specialist.

- `state`: a read-only view of the workspace's files (runs, hypotheses, cards, the best kept run).
- `steps`: what a specialist's step returns to the supervisor.
- `plan_rules`: the Rules a human writes in plan.md, read and applied.
- `recovery`: repairs after a crash or a kill, before the loop goes on.
- `doom_loop`: the guard against the loop repeating itself.
- `contamination`: overlap checks of training rows against the held-out split.
- `checkpoint_integrity`: is a kept checkpoint still the one its run produced.
- `records`: agents' records edited by hand, found from git.
- `spend`, `prices`: money spent and the prices it is counted with.
- `tracking`: Trackio, where runs stream their metrics.
"""
