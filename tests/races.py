"""Run the same piece of work in N threads released at once (a barrier), for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """``work(i)`` in ``n`` threads started together; the results and the exceptions, each collected."""
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            value = work(i)
            with lock:
                results.append(value)
        except BaseException as exc:  # collected and asserted on by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a racing thread did not finish"
    return results, errors
