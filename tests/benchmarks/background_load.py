"""A stand-in for "other test runs on the box", to measure a benchmark under load.

``python tests/benchmarks/background_load.py SECONDS`` keeps one core busy and writes and
``fsync``s 64 kB in a loop (a file under the current directory, removed after), for
SECONDS. Used for the "loaded" rows of docs/performance.md, run beside a benchmark:

    python tests/benchmarks/background_load.py 40 & make bench PYTEST_ARGS="-k chat_flood"
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time


def _burn() -> None:
    count = 0
    while True:
        count += 1


def _disk() -> None:
    fd, path = tempfile.mkstemp(dir=".", prefix=".background-load-")
    try:
        while True:
            os.write(fd, b"x" * 65536)
            os.fsync(fd)
            if os.lseek(fd, 0, os.SEEK_CUR) > 64 << 20:
                os.lseek(fd, 0, os.SEEK_SET)
    finally:
        os.close(fd)
        os.unlink(path)


def main(seconds: float) -> None:
    workers = [multiprocessing.Process(target=f, daemon=True) for f in (_burn, _disk)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(seconds)
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()
        for leftover in os.listdir("."):
            if leftover.startswith(".background-load-"):
                os.unlink(leftover)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
