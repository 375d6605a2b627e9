"""Work done once per server process: migrate the database before the first page is served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.db import migrate


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    await asyncio.to_thread(migrate)
    yield
