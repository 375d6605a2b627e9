"""Work done once per server process: migrate the database, then run the mail and reminder worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.db import get_engine, migrate
from services.worker import start_embedded


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    await asyncio.to_thread(migrate)
    started = start_embedded(get_engine())
    try:
        yield
    finally:
        if started:
            thread, stop = started
            stop.set()
            await asyncio.to_thread(thread.join, 10)
