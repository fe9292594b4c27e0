"""How much 200 cross-origin page GETs slow a bystander's page load in `plasticity app` (issue 26).

Starts the app, then alternates rounds: three bystander page loads with the server quiet, then three while four
threads send cross-origin GETs of the page (what `fetch(url, {mode: "no-cors"})` from any site sends), until at least
200 were refused. Prints the median load quiet and under attack and their ratio, from the same run. Before the guard
each such GET built a full session on the one event loop (200 took 178 s); the guard refuses them from the headers.

    pip install -e ".[app]" && python benchmarks/app_bystander.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, headers: dict) -> tuple[int, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/", headers={"Host": f"127.0.0.1:{port}", **headers})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - start
    finally:
        conn.close()


def measure(port: int, rounds: int) -> tuple[list[float], list[float], list[int]]:
    """Rounds alternate (quiet, then under attack) so that load from other processes falls on both alike."""
    same = {"Sec-Fetch-Site": "none"}
    quiet: list[float] = []
    attacked: list[float] = []
    statuses: list[int] = []
    for r in range(1, rounds + 1):
        quiet += [_get(port, same)[1] for _ in range(3)]
        stop = threading.Event()

        def attack(stop: threading.Event = stop) -> None:
            while not stop.is_set():
                statuses.append(_get(port, {"Sec-Fetch-Site": "cross-site"})[0])

        attackers = [threading.Thread(target=attack) for _ in range(4)]
        for t in attackers:
            t.start()
        attacked += [_get(port, same)[1] for _ in range(3)]
        while len(statuses) < 200 * r // rounds:
            time.sleep(0.01)
        stop.set()
        for t in attackers:
            t.join()
    return quiet, attacked, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "app", "--port", str(port), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8", env=env)
    try:
        for line in proc.stdout:
            if "serving on" in line:
                break
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        time.sleep(5)  # let the first prefetch wave pass
        quiet, attacked, statuses = measure(port, args.rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    refused = sum(s in (302, 403) for s in statuses)
    q, a = statistics.median(quiet), statistics.median(attacked)
    print(f"bystander page load, median of {len(quiet)}: {q * 1000:.0f} ms quiet, {a * 1000:.0f} ms while "
          f"{refused} of {len(statuses)} cross-origin GETs were refused: {a / q:.2f}x")


if __name__ == "__main__":
    main()
