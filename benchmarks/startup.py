"""How long the command line takes to start, against `python -c "import pandas"` in the same run (issue 15).

Best of several tries (the minimum is the least disturbed by other work on the machine). The target of issue 15:
`plasticity --help` within 1.5x of importing pandas, `plasticity compounds` within 3x.

    python benchmarks/startup.py [--tries 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time


def best(argv: list[str], tries: int) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=5)
    tries = parser.parse_args().tries
    exe = shutil.which("plasticity", path=os.path.dirname(sys.executable))
    cli = [exe] if exe else [sys.executable, "-m", "simulator.cli"]
    pandas = best([sys.executable, "-c", "import pandas"], tries)
    helps = best([*cli, "--help"], tries)
    compounds = best([*cli, "compounds"], tries)
    print(f"startup (best of {tries}): import pandas {pandas:.2f} s, plasticity --help {helps:.2f} s ({helps / pandas:.2f}x, "
          f"target 1.5x), plasticity compounds {compounds:.2f} s ({compounds / pandas:.2f}x, target 3x)")


if __name__ == "__main__":
    main()
