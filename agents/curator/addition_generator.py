#!/usr/bin/env python3
"""Generate training data for the embedded fixed-width addition task.

Self-contained on purpose: the curator copies this file to datasets/<name>/generate.py so a
human can read it and rerun it with plain Python. Each row has the prompt, the teacher's
demonstration (`completion`) and the verified reference (`answer`) that rewards use.
The teacher forgets the carry on --teacher-error of carry problems, a stand-in for
distilling demonstrations from a weaker model.

    python generate.py --rows 4000 --digits 2 --teacher-error 0.5 --seed 0 \
        --exclude ../../eval/addition/test.jsonl --out data/train.jsonl
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


def generate(rows, digits, teacher_error, seed, exclude):
    top = 10**digits
    pool = [(a, b) for a in range(top) for b in range(top) if f"{a:0{digits}d}+{b:0{digits}d}=" not in exclude]
    if rows > len(pool):
        raise SystemExit(
            f"asked for {rows} rows but only {len(pool)} problems are left after excluding the held-out split"
        )
    rng = random.Random(seed)
    out = []
    for a, b in rng.sample(pool, rows):
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
                "slice": "carry" if carry else "no_carry",
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
    args = parser.parse_args(argv)
    exclude = set()
    if args.exclude:
        exclude = {json.loads(line)["prompt"] for line in args.exclude.read_text().splitlines() if line.strip()}
    rows = generate(args.rows, args.digits, args.teacher_error, args.seed, exclude)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
