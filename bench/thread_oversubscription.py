"""Why the tests run one torch thread per process (tests/conftest.py): a small MLP's forward passes, alone and as
three processes side by side on this machine's cores, with torch's default threads and with one.

    python bench/thread_oversubscription.py            # prints seconds per process for each setting

Torch's OpenMP threads spin while they wait; with more threads than cores they burn the cores they wait for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def forward_passes() -> float:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(256, 256) for _ in range(4)])
    batch = torch.randn(8, 256)
    started = time.monotonic()
    for step in range(4000):
        model(batch)
        if step % 50 == 0:
            time.sleep(0.001)  # the gaps of a Python-heavy loop, where waiting threads spin
    return time.monotonic() - started


def timed(threads: str | None, processes: int) -> list[float]:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["OMP_NUM_THREADS"] = threads
    command = [sys.executable, __file__, "--child"]
    running = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    return [float(process.communicate()[0]) for process in running]


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        print(forward_passes())
        return
    for threads in (None, "1"):
        for processes in (1, 3):
            seconds = ", ".join(f"{s:.2f}" for s in timed(threads, processes))
            print(f"threads {threads or 'default'}, {processes} process(es) side by side: {seconds} s")


if __name__ == "__main__":
    main()
