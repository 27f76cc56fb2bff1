import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_at_once(*calls: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run each call in its own thread (and database connection), released together by a barrier.

    Returns each call's result, or the exception it raised, in call order, so a test
    can assert on both what happened and that nothing blew up.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # handed back to the test, which asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def raised(results: list[Any]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]
