"""Test spiders whose sites fail in one way each, for the failure kinds of a run.

Each reads its base URL from its own setting (the ports are known late):
``REFUSED_BASE`` (a port nothing listens on), ``BUSY_BASE`` (a server answering
503), ``NOWHERE_BASE`` (a name the fake resolver does not know).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from support.fault_spider import FaultSpider


class _OwnBase(FaultSpider):
    base_setting = ""

    async def start(self) -> AsyncIterator[Any]:
        self.base = self.settings.get(self.base_setting, "")
        async for request in super().start():
            yield request


class RefusedSpider(_OwnBase):
    name = "refused"
    base_setting = "REFUSED_BASE"


class BusySpider(_OwnBase):
    name = "busy"
    base_setting = "BUSY_BASE"


class NowhereSpider(_OwnBase):
    name = "nowhere"
    site = "nowhere.test"
    allowed_domains = ["nowhere.test"]
    base_setting = "NOWHERE_BASE"
