"""Run a coroutine to the end from a test, whatever else runs in the test process."""

from __future__ import annotations

from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)` in a thread of its own: the browser tests' Playwright keeps an event loop running in
    the main thread for the whole session, and `asyncio.run` refuses to start beside a running loop."""
    import asyncio

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
