"""Wall time of the researcher's step offline, the way `intern go` runs it on a machine with no network.

Times, in a fresh workspace each repeat: the cold-start step (ranking, notes, the knowledge-base
citation graph and its picture, the hypothesis), then a second step with nothing new to do, and the
same cold-start step with `research.online: auto` and HF_HUB_OFFLINE unset but every host refusing
connections (the offline detection that costs one failed connection, not one per paper). Run on demand:
`python benchmarks/researcher_speed.py [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from pathlib import Path

from agents.researcher import net
from agents.researcher.researcher import researcher_step
from bus import Workspace


def _timed_step(root: Path) -> tuple[float, float, str]:
    ws = Workspace.init(root)
    started = time.perf_counter()
    outcome = researcher_step(ws)
    first = time.perf_counter() - started
    started = time.perf_counter()
    researcher_step(ws)
    return first, time.perf_counter() - started, outcome.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported (default 3)")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once the socket closes
    rows = []
    for label, offline_flag in (("HF_HUB_OFFLINE=1", "1"), ("online: auto, hosts refuse", None)):
        if offline_flag:
            os.environ["HF_HUB_OFFLINE"] = offline_flag
        else:
            os.environ.pop("HF_HUB_OFFLINE", None)
            net.ARXIV_API, net.SEMANTIC_SCHOLAR_API, net.ARXIV_HTML = dead + "/api?{}", dead + "/graph/v1", dead + "/{}"
        best = None
        for i in range(args.repeats):
            net.forget_unreachable()
            with tempfile.TemporaryDirectory() as tmp:
                timed = _timed_step(Path(tmp) / f"ws{i}")
            best = timed if best is None or timed[0] < best[0] else best
        rows.append((label, *best))
    print(f"{'network':28} {'first step s':>12} {'second step s':>13}")
    for label, first, second, summary in rows:
        print(f"{label:28} {first:12.2f} {second:13.2f}   {summary[:90]}")


if __name__ == "__main__":
    main()
