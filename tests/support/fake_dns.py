"""A resolver for tests: the project's checks, answers from a table, never from the network.

``-s TWISTED_DNS_RESOLVER=support.fake_dns.FakeNames -s 'FAKE_DNS={"www.news.test": "127.0.0.1"}'``
(tests/ on PYTHONPATH): names not in the table do not resolve.
"""

from __future__ import annotations

from typing import Any, Self

from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.crawling.netguard import PublicOnlyResolver


class FakeNames(PublicOnlyResolver):
    names: dict[str, str] = {}  # set in from_crawler

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> Self:
        resolver: Self = super().from_crawler(crawler, reactor)
        resolver.names = {
            k.lower(): str(v) for k, v in crawler.settings.getdict("FAKE_DNS").items()
        }
        return resolver

    def lookup(self, name: str, timeout: Any = ()) -> defer.Deferred[str]:
        address = self.names.get(name.lower().rstrip("."))
        if address is None:
            return defer.fail(DNSLookupError(f"{name} is not in FAKE_DNS"))
        return defer.succeed(address)
