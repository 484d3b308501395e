#!/usr/bin/env python3
"""Generate training data for the embedded fixed-width addition task.

Self-contained on purpose: the curator copies this file to datasets/<name>/generate.py so a
human can read it and rerun it with plain Python. Each row has the prompt, the teacher's
demonstration (`completion`) and the verified reference (`answer`) that rewards use.
The teacher forgets the carry on --teacher-error of carry problems, a stand-in for
distilling demonstrations from a weaker model.

    python generate.py --rows 4000 --digits 2 --teacher-error 0.5 --seed 0 \
        --exclude ../../eval/addition/test.jsonl --out data/train.jsonl

With --focus-slice carry --focus-share 0.8, four rows in five are carry problems: the curator asks for
that when the critic finds the model weak on a slice.
"""

import argparse
import json
import random
from pathlib import Path


def has_carry(a, b):
    while a or b:
        if a % 10 + b % 10 >= 10:
            return True
        a, b = a // 10, b // 10
    return False


def sum_without_carry(a, b, digits):
    out, place = 0, 1
    for _ in range(digits):
        out += ((a % 10 + b % 10) % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return out


def slice_of(a, b):
    return "carry" if has_carry(a, b) else "no_carry"


def draw(pool, rows, rng, focus_slice, focus_share):
    """`rows` distinct pairs; with a focus slice, round(rows * focus_share) of them from that slice."""
    if focus_slice is None:
        if rows > len(pool):
            raise SystemExit(
                f"asked for {rows} rows but only {len(pool)} problems are left after excluding the held-out split"
            )
        return rng.sample(pool, rows)
    focus = [p for p in pool if slice_of(*p) == focus_slice]
    rest = [p for p in pool if slice_of(*p) != focus_slice]
    wanted = round(rows * focus_share)
    if wanted > len(focus) or rows - wanted > len(rest):
        raise SystemExit(
            f"asked for {wanted} {focus_slice} and {rows - wanted} other rows but only {len(focus)} and "
            f"{len(rest)} problems are left after excluding the held-out split"
        )
    picked = rng.sample(focus, wanted) + rng.sample(rest, rows - wanted)
    rng.shuffle(picked)
    return picked


def generate(rows, digits, teacher_error, seed, exclude, focus_slice=None, focus_share=1.0):
    top = 10**digits
    pool = [(a, b) for a in range(top) for b in range(top) if f"{a:0{digits}d}+{b:0{digits}d}=" not in exclude]
    rng = random.Random(seed)
    out = []
    for a, b in draw(pool, rows, rng, focus_slice, focus_share):
        answer = f"{a + b:0{digits + 1}d}"
        carry = has_carry(a, b)
        completion = answer
        if carry and rng.random() < teacher_error:
            completion = f"{sum_without_carry(a, b, digits):0{digits + 1}d}"
        out.append(
            {
                "prompt": f"{a:0{digits}d}+{b:0{digits}d}=",
                "completion": completion,
                "answer": answer,
                "slice": slice_of(a, b),
            }
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--digits", type=int, default=2)
    parser.add_argument("--teacher-error", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exclude", type=Path, help="JSONL file whose prompts must not appear in the output")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--focus-slice", choices=["carry", "no_carry"], help="draw most rows from this slice")
    parser.add_argument("--focus-share", type=float, default=0.8, help="share of rows from --focus-slice")
    args = parser.parse_args(argv)
    exclude = set()
    if args.exclude:
        # Self-contained, so not bus/jsonl.py; split on "\n" only, as it does (str.splitlines also splits on U+2028).
        lines = args.exclude.read_text(encoding="utf-8").split("\n")
        exclude = {json.loads(line)["prompt"] for line in lines if line.strip()}
    if not 0.0 <= args.focus_share <= 1.0:
        raise SystemExit(f"--focus-share must be between 0 and 1, got {args.focus_share}")
    rows = generate(args.rows, args.digits, args.teacher_error, args.seed, exclude, args.focus_slice, args.focus_share)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # ensure_ascii (the default) escapes U+2028 and friends, so any reader's line split is safe.
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
