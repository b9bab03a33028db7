"""Connect only to public addresses: a site must not steer the crawler into its own network.

A page can link or redirect to a name under the site's domain that resolves to
127.0.0.1, 10.0.0.5 or 169.254.169.254 (a cloud's metadata service); the
offsite filter sees an allowed domain and lets it through. So the address is
checked after resolution, twice:

- :class:`PrivateAddressMiddleware` resolves each request's host before it
  goes out (IP literals need no lookup) and refuses it if the address is not
  public: counted in ``crawler/private_address/refused`` (a run error),
  logged, never retried, never archived;
- :class:`PublicOnlyResolver` (``TWISTED_DNS_RESOLVER``) refuses the same
  answers where the connection itself looks the name up, so a name that
  changes its answer between the two lookups (DNS rebinding) gets nowhere
  either. Scrapy installs it in every ``CrawlerProcess`` (``crawler crawl``,
  ``crawl-all``, ``demo``, ``scrapy crawl``); a ``CrawlerRunner`` embedded in
  another program keeps its own resolver and only has the middleware.

Not public: loopback, private ranges, link-local, unique-local and site-local,
shared (100.64/10), multicast, reserved, the unspecified address, and IPv6
forms that carry one of those IPv4 addresses (IPv4-mapped, 6to4, Teredo,
NAT64). ``CRAWLER_ALLOW_PRIVATE_NETWORKS`` (CIDR networks, comma-separated)
allows some, e.g. a site on the intranet; with ``CRAWLER_MIRROR_URL`` set
every request goes to the local replica anyway and nothing is checked.

Requests sent through a proxy are resolved by the proxy: only the proxy's own
address and the request's IP literals are checked then.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED_STAT = "crawler/private_address/refused"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not public, whatever the Python version says (3.11 calls both global).
_SPECIAL = (
    (ipaddress.IPv4Network("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (ipaddress.IPv4Network("192.0.0.0/24"), "reserved for protocol assignments"),
)


def parse_networks(values: str | Iterable[str]) -> tuple[Network, ...]:
    """``CRAWLER_ALLOW_PRIVATE_NETWORKS``: CIDR networks (a list, or text split on commas)."""
    items = values.split(",") if isinstance(values, str) else values
    networks: list[Network] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"CRAWLER_ALLOW_PRIVATE_NETWORKS: not a network (e.g. 10.0.0.0/8): {text!r}"
            ) from None
    return tuple(networks)


def _kind(address: Address) -> str | None:
    """What makes ``address`` not public, or None."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        *((name, address in network) for network, name in _SPECIAL),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded(address: Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to (6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refusal(text: str, allowed: Iterable[Network] = ()) -> str | None:
    """Why the crawler must not connect to the address ``text``; None if it may."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # on the wire it is that IPv4 address
    networks = tuple(allowed)
    for candidate in (address, *_embedded(address)):
        kind = _kind(candidate)
        if kind is None or any(
            net.version == candidate.version and candidate in net for net in networks
        ):
            continue
        return f"{candidate} is {kind}" + ("" if candidate == address else f" (in {address})")
    return None


@dataclass(frozen=True)
class AddressGuard:
    """The policy of one crawl: off with the replica, else public addresses and the allowed networks."""

    enabled: bool = True
    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        return cls(
            enabled=not (settings.get("CRAWLER_MIRROR_URL") or "").strip(),
            allowed=parse_networks(settings.getlist("CRAWLER_ALLOW_PRIVATE_NETWORKS")),
        )

    def refusal(self, address: str) -> str | None:
        return refusal(address, self.allowed) if self.enabled else None


class PrivateAddressRefused(DNSLookupError):
    """A name resolved to an address the crawler must not connect to."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}, not a public address")
        self.name = name
        self.why = why


@implementer(IResolverSimple)
class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, whose answers (cached ones too) must pass the guard."""

    guard = AddressGuard()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> Self:
        resolver: Self = super().from_crawler(crawler, reactor)
        resolver.guard = AddressGuard.from_settings(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred[str]:
        return self.lookup(name, timeout).addCallback(self._checked, name)

    def lookup(self, name: str, timeout: Any = ()) -> defer.Deferred[str]:
        """The address of ``name``, unchecked (tests answer from a table here)."""
        return super().getHostByName(name, timeout)

    def _checked(self, address: str, name: str) -> str:
        why = self.guard.refusal(address)
        if why is not None:
            logger.warning("refused to connect to %s: %s, not a public address", name, why)
            raise PrivateAddressRefused(name, why)
        return address


class PrivateAddressMiddleware:
    """Downloader middleware: a request whose host is not a public address is refused.

    Settings: ``CRAWLER_ALLOW_PRIVATE_NETWORKS``; off when ``CRAWLER_MIRROR_URL`` is set.
    A host that does not resolve passes: its download fails (and is retried) as before.
    """

    def __init__(self, crawler: Any, guard: AddressGuard) -> None:
        self.crawler = crawler
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        guard = AddressGuard.from_settings(crawler.settings)
        if not guard.enabled:
            # CRAWLER_MIRROR_URL is set: every request goes to the replica. No message, so
            # that Scrapy does not warn about it once per spider (the demo printed seven).
            raise NotConfigured
        return cls(crawler, guard)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if not host:
            return None
        try:
            why = self.guard.refusal(await self.resolve(host))
        except PrivateAddressRefused as error:
            why = error.why
        except (DNSLookupError, OSError, ValueError):
            return None
        if why is None:
            return None
        self.crawler.stats.inc_value(REFUSED_STAT)
        logger.error(
            "refused %s (host %s): %s, not a public address; "
            "CRAWLER_ALLOW_PRIVATE_NETWORKS allows a network",
            request.url,
            host,
            why,
        )
        raise IgnoreRequest(f"not a public address: {host}: {why}")

    @staticmethod
    async def resolve(host: str) -> str:
        """``host`` itself if it is an IP address, else the reactor resolver's answer
        (cached: the connection then uses the same one)."""
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        from twisted.internet import reactor

        resolver: Any = reactor.resolver  # type: ignore[attr-defined]
        address: str = await maybe_deferred_to_future(resolver.getHostByName(host))
        return address
