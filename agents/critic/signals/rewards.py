"""GRPO's reward components and groups: dead components, saturated ones, and groups too small to read.

TRL logs each reward function as `rewards/<fn>/mean` and `/std` (older TRL: `rewards/<fn>`, no std),
whatever the function is called; a component is judged by its own numbers (its observed ceiling, its
spread, whether it ever pays), not by its name. Names matter only to tell a format-like component
(format, xml, json, tag...) from the task's, which decides which remedy applies.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from agents.critic.signals.logrows import RunLog, finding, finite, mean, moved, tail
from agents.critic.thresholds import THRESHOLDS, remedies
from bus.schemas import Finding

FORMAT_LIKE = re.compile(r"format|xml|json|tag|schema|struct|syntax|valid|parse", re.IGNORECASE)


def components(rows: list[dict]) -> list[str]:
    return sorted({k for row in rows for k in row if k.startswith("rewards/") and k.endswith("/mean")})


def _lattice(values: list[float]) -> int | None:
    """The least common denominator of values that are all small fractions (shares of a count), else None."""
    denominator = 1
    for value in values:
        fraction = Fraction(value).limit_denominator(1024)
        if abs(float(fraction) - value) > 1e-6:
            return None
        denominator = denominator * fraction.denominator // math.gcd(denominator, fraction.denominator)
        if denominator > 4096:
            return None
    return denominator


def estimate_group_size(rows: list[dict]) -> tuple[int | None, str]:
    """Completions per group from the logged shares: clipped_ratio counts completions, frac_reward_zero_std groups.

    Each logged share is a count over the logged row's completions (or groups), so the least common
    denominator of many rows is the number of completions (groups) per row, and their ratio the group
    size. With fewer than 8 rows, or shares that are not small fractions, there is no estimate.
    """
    _, zero = finite(rows, "frac_reward_zero_std")
    _, clipped = finite(rows, "completions/clipped_ratio")
    if len(zero) < 8 or sum(0 < c < 1 for c in clipped) < 3:
        return None, ""
    groups, completions = _lattice(zero), _lattice(clipped)
    if not groups or not completions or completions % groups or completions // groups < 2:
        return None, ""
    size = completions // groups
    return (
        size,
        f"clipped_ratio in 1/{completions} steps, frac_reward_zero_std in 1/{groups} steps over {len(zero)} rows",
    )


def group_size(run: RunLog) -> list[Finding]:
    steps, zero = finite(run.train, "frac_reward_zero_std")
    if run.cfg.method != "grpo":
        return []
    size, how = None, ""
    if run.knows("num_generations"):
        size, how = run.cfg.num_generations, "num_generations in the config"
    else:
        size, how = estimate_group_size(run.train)
        how = f"estimated from the logged shares: {how}" if size else ""
    binary = len(zero) >= 8 and all(z in (0.0, 1.0) for z in zero)
    if size is None and not zero:
        return []
    said = f"{size} completions per group, {how}" if size else "unknown: no config, and too few shares to estimate it"
    run.checked.append(f"group size ({said})")
    if size is not None and size < THRESHOLDS["group_size_small"]:
        evidence = (
            f"{size} completions per group ({how}): a group that small has zero reward spread whenever its "
            f"completions agree, {0.5 ** (size - 1):.0%} of groups or more at any pass rate for a 0/1 reward, and "
            "its advantage is little more than a sign: too few to read frac_reward_zero_std or the advantage"
        )
    elif binary:
        evidence = (
            f"frac_reward_zero_std is only ever 0 or 1 over {len(zero)} rows: one group per logged step, so each row "
            "says whether that single group agreed, not what share of groups carry a signal; the gradient of a step "
            "comes from one prompt"
        )
        values = {"rows": float(len(zero))}
        return [finding("one group per step", "info", evidence, "frac_reward_zero_std", steps, values, [])]
    else:
        return []
    values = {"group_size": float(size), "rows": float(len(zero))}
    name = "group too small"
    cures = remedies(name, run.cfg.model_copy(update={"num_generations": size}))
    return [finding(name, "warning", evidence, "frac_reward_zero_std", steps, values, cures)]


def _near_ceiling(value: float, std: float | None, ceiling: float) -> bool:
    scale = max(abs(ceiling), 1e-9)
    return value >= ceiling - 0.01 * scale and (std is None or std <= THRESHOLDS["format_std_zero"] * max(1.0, scale))


def _component(run: RunLog, key: str) -> tuple[list[int], list[float], list[float | None]]:
    """Steps, means and the matching std (None where not logged) of one reward component."""
    std_key = key.removesuffix("/mean") + "/std"
    steps, values, stds = [], [], []
    for row in run.train:
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            steps.append(int(row["step"]))
            values.append(float(value))
            std = row.get(std_key)
            stds.append(float(std) if isinstance(std, (int, float)) and math.isfinite(std) else None)
    return steps, values, stds


def reward_components(run: RunLog) -> list[Finding]:
    """Dead components (0 at every step), a format reward stuck at 0, and saturated components."""
    keys = components(run.train)
    if run.cfg.method != "grpo" or not keys:
        return []
    data = {k: _component(run, k) for k in keys}
    data = {k: v for k, v in data.items() if len(v[1]) >= 4}
    if not data:
        run.unchecked.append(f"reward components: fewer than 4 logged rows of {', '.join(keys)}")
        return []
    run.checked.append(f"reward components ({len(data)}: dead, stuck at 0, saturated)")
    findings: list[Finding] = []
    paying_format = [
        k for k, (_, v, _) in data.items() if FORMAT_LIKE.search(k) and max(v) > THRESHOLDS["format_stuck"]
    ]
    dead = [k for k, (_, v, s) in data.items() if all(abs(x) <= 1e-9 for x in v) and all((d or 0) <= 1e-9 for d in s)]
    for key, (steps, values, _) in data.items():
        if FORMAT_LIKE.search(key) and max(values) <= THRESHOLDS["format_stuck"] and not paying_format:
            name = "format reward stuck at 0"
            evidence = (
                f"{key} never above {max(values):.2f} over steps {steps[0]}-{steps[-1]}, and no other format "
                "reward pays: no completion has the format"
            )
            findings.append(
                finding(name, "critical", evidence, key, steps, {"max": max(values)}, remedies(name, run.cfg))
            )
    stuck = {f.metric for f in findings}
    dead = [k for k in dead if k not in stuck]
    if dead:
        steps = data[dead[0]][0]
        others = [k for k in data if k not in dead and k not in stuck]
        evidence = (
            f"{' and '.join(dead)} {'is' if len(dead) == 1 else 'are'} 0 at every one of {len(steps)} logged rows "
            f"(steps {steps[0]}-{steps[-1]}): {'it' if len(dead) == 1 else 'they'} never pay, so add nothing to any "
            "advantage; the run learns from " + (", ".join(others) if others else "nothing else")
        )
        name = "dead reward components"
        findings.append(
            finding(name, "info", evidence, dead[0], steps, {"dead": float(len(dead))}, remedies(name, run.cfg))
        )
    findings += _saturation(run, data, set(dead) | stuck)
    return findings


def _saturation(run: RunLog, data: dict, dead: set[str]) -> list[Finding]:
    findings = []
    live = {k: v for k, v in data.items() if k not in dead}
    saturated: dict[str, tuple[float, float, float]] = {}
    for key, (steps, values, stds) in live.items():
        ceiling = max(values)
        if ceiling <= 0 or len(values) < 8:
            continue
        at = [_near_ceiling(v, s, ceiling) for v, s in zip(values, stds)]
        share_tail = mean([float(a) for a in tail(at)])
        if share_tail >= THRESHOLDS["ceiling_share"]:
            tail_std = mean([s or 0.0 for s in tail(stds)])
            saturated[key] = (ceiling, share_tail, tail_std)
        elif mean([float(a) for a in at]) >= THRESHOLDS["ceiling_share_note"]:
            count = sum(at)
            evidence = (
                f"{key} at its ceiling {ceiling:.2f}"
                + (" with zero spread" if any(s is not None for s in stds) else "")
                + f" in {count} of {len(values)} rows: in those rows it pays every completion the same and carries "
                "no signal (often, not always, saturated)"
            )
            values_ = {"ceiling": ceiling, "share_at_ceiling": count / len(values)}
            findings.append(finding("reward often at its ceiling", "info", evidence, key, steps, values_, []))
    for key, (ceiling, share, tail_std) in saturated.items():
        others = [k for k in live if k not in saturated]
        gains = {k: m for k in others if (m := moved(live[k][1])) is not None}
        if gains:
            best = max(gains, key=lambda k: gains[k][2])
            first, last, diff, real = gains[best]
            scale = max(abs(v) for v in live[best][1]) or 1.0
            flat = not (real and diff >= THRESHOLDS["reward_gain_flat"] * max(1.0, scale))
            about = f"{best} moved {first:.3f} -> {last:.3f} ({diff:+.3f})" + ("" if real else ", within its noise")
            about = ("the other components stayed flat (best: " + about + ")") if len(gains) > 1 else about
        elif run.held is not None:
            flat, about = not run.held.real_gain, run.held.describe()
        else:
            run.unchecked.append(
                f"reward saturation: {key} is at its ceiling {ceiling:.2f}, but no other reward or held-out "
                "comparison says whether the task improved"
            )
            continue
        if not flat:
            continue
        formatish = bool(FORMAT_LIKE.search(key))
        name = "format-reward saturation" if formatish else "reward saturation"
        evidence = (
            f"{key} {mean(tail(live[key][1])):.2f} at its observed ceiling {ceiling:.2f} in {share:.0%} of the last "
            f"quarter with std {tail_std:.3f} while {about}: "
            + ("format learned, accuracy not" if formatish else "it pays every completion the same")
        )
        values = {"tail_mean": mean(tail(live[key][1])), "tail_std": tail_std, "ceiling": ceiling}
        cures = remedies("format-reward saturation" if formatish else "reward saturation", run.cfg)
        findings.append(finding(name, "warning", evidence, key, live[key][0], values, cures))
    return findings


# What a component measures, from its function's name: the task's outcome, or the shape of the answer.
TASK_LIKE = re.compile(
    r"correct|accura|pass|test|solve|score|game|win|exact|match|answer|grader|verif|pnl|profit|success|task",
    re.IGNORECASE,
)
SHAPING_LIKE = re.compile(
    FORMAT_LIKE.pattern + r"|length|len_|_len|concise|brev|style|count|repetit|soft|strict|think|reason_tag",
    re.IGNORECASE,
)
AGGREGATE = re.compile(r"total|sum|combined|overall|aggregate", re.IGNORECASE)


def classify_components(keys: list[str]) -> tuple[list[str], list[str]]:
    """(task rewards, shaping rewards); a component whose name says neither, or an aggregate, is in neither."""
    task = [k for k in keys if TASK_LIKE.search(k) and not AGGREGATE.search(k)]
    shaping = [k for k in keys if k not in task and SHAPING_LIKE.search(k) and not AGGREGATE.search(k)]
    return task, shaping


def _tracks_length(run: RunLog, key: str) -> bool:
    """A component whose row means follow the mean completion length closely (r >= 0.8) pays for length."""
    pairs = [(r[key], r["completions/mean_length"]) for r in run.train
             if isinstance(r.get(key), (int, float)) and isinstance(r.get("completions/mean_length"), (int, float))
             and math.isfinite(r[key]) and math.isfinite(r["completions/mean_length"])]  # fmt: skip
    if len(pairs) < 8:
        return False
    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
    mx, my = mean(xs), mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) * (x - mx) for x in xs)  # * gives inf on junk where ** raises
    syy = sum((y - my) * (y - my) for y in ys)
    return sxx > 0 and syy > 0 and sxy / math.sqrt(sxx * syy) >= 0.8


def shaping_only(run: RunLog) -> list[Finding]:
    """Several rewards, one task: the total (or a shaping reward) rose while the task reward did not."""
    if run.cfg.method != "grpo":
        return []
    data = {k: _component(run, k) for k in components(run.train)}
    data = {k: v for k, v in data.items() if len(v[1]) >= 8 and max(abs(x) for x in v[1]) > 1e-9}
    task, shaping = classify_components(list(data))
    pays_length = [k for k in data if k not in task and k not in shaping and _tracks_length(run, k)]
    shaping += pays_length  # by how it behaves: it rises and falls with the completions' length
    if not task or not shaping:
        return []
    run.checked.append(f"task against shaping rewards (task: {', '.join(task)}; shaping: {', '.join(shaping)})")
    task_moves = {k: moved(data[k][1]) for k in task}
    improving = [
        k for k, m in task_moves.items()
        if m is not None and m[3] and m[2] >= THRESHOLDS["reward_gain_flat"] * max(1.0, max(abs(v) for v in data[k][1]))
    ]  # fmt: skip
    if improving:
        return []
    rising = []
    for k in shaping:
        m, values = moved(data[k][1]), data[k][1]
        ceiling = max(values)
        # Climbed to its cap: well below it in the first quarter, at it in the last (a noisy start can hide
        # the climb from `moved`, but not from where it ends).
        capped = m is not None and ceiling > 0 and m[1] >= 0.9 * ceiling > m[0]
        if m is not None and m[2] > 0 and (m[3] or capped):
            rising.append(
                f"{k} {m[0]:.3g} -> {m[1]:.3g}"
                + (f" (at {m[1] / ceiling:.0%} of its ceiling {ceiling:.3g})" if capped else "")
            )
    if not rising:
        return []
    parts = [", ".join(rising)]
    total = moved(finite(run.train, "reward")[1])
    if total is not None and total[3] and total[2] > 0:
        parts.append(f"the total reward {total[0]:.3g} -> {total[1]:.3g}")
    task_said = "; ".join(
        f"{k} {m[0]:.3g} -> {m[1]:.3g}" + ("" if m[3] else " (within its noise)") if m else f"{k} (too few rows)"
        for k, m in task_moves.items()
    )
    lengths = finite(run.train, "completions/mean_length")[1]
    grew = ""
    if len(lengths) >= 8:
        q = len(lengths) // 4
        first, last = mean(lengths[:q]), mean(lengths[3 * q :])
        if first > 0 and last / first >= THRESHOLDS["length_growth"]:
            grew = f", while completions lengthened {first:.0f} -> {last:.0f} tokens"
    evidence = (
        f"shaping rewards rose ({'; '.join(parts)}){grew}, but the task reward did not ({task_said}): "
        "the run optimises the shaping, not the task"
    )
    values = {"task_components": float(len(task)), "shaping_rising": float(len(rising))}
    key = shaping[0]
    cures = remedies("reward from shaping only", run.cfg)
    return [finding("reward from shaping only", "warning", evidence, key, data[key][0], values, cures)]
