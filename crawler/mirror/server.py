"""HTTP server for the bundled site replicas, bound to loopback.

Requests arrive with the real site's path and query; the real host and scheme
travel in the ``X-Mirror-Host`` and ``X-Mirror-Scheme`` headers (set by
``crawler.mirror.middleware.MirrorMiddleware``). An absolute-form request line
(``GET https://www.qdnd.vn/ HTTP/1.1``, as a client sends to a proxy) or a plain
``Host`` header naming a replicated host work too, for poking at the replica by
hand.

Each replica is a folder ``<root>/<domain>/`` with a ``site.json`` and a
``pages/`` tree::

    {"hosts": ["www.qdnd.vn", "qdnd.vn"], "cookie_gate": {"name": "muid_mly"}}

URL path ``/`` is ``pages/index.html``; ``/a/b`` is ``pages/a/b.html`` or
``pages/a/b/index.html``; a path whose last segment has an extension
(``/robots.txt``, ``/rss/cate/x.rss``) is the file of that name. The query
string plays no part in the lookup, so tracking parameters reach the same page.

``cookie_gate`` reproduces qdnd.vn's gate: a request without the cookie gets a
``302`` back to the same URL with a ``Set-Cookie``; with the cookie it gets the
page. Paths listed in ``cookie_gate.exempt`` (default ``/robots.txt``) are not
gated. Any non-empty value of the cookie opens the gate.

Run ``python -m crawler.mirror.server [--port N]`` to browse the replicas.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

SITES_ROOT = Path(__file__).resolve().parent / "sites"
"""Default replica root: ``crawler/mirror/sites``."""

HOST_HEADER = "X-Mirror-Host"
SCHEME_HEADER = "X-Mirror-Scheme"

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_NOT_FOUND_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    b"<body><h1>Not Found</h1></body></html>\n"
)


@dataclass(frozen=True)
class CookieGate:
    """The cookie a client must send back before it gets any page."""

    name: str
    exempt: frozenset[str] = frozenset({"/robots.txt"})

    def admits(self, cookie_header: str | None) -> bool:
        """True if the ``Cookie`` header carries a non-empty gate cookie."""
        if not cookie_header:
            return False
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.name and value.strip():
                return True
        return False

    def new_cookie(self) -> str:
        """A fresh ``Set-Cookie`` value, random like the real site's."""
        return f"{self.name}={secrets.token_hex(16)}; Path=/"


@dataclass(frozen=True)
class Site:
    """One replica folder: its host names, its pages and its quirks."""

    folder: Path
    hosts: tuple[str, ...]
    gate: CookieGate | None

    @property
    def pages(self) -> Path:
        return self.folder / "pages"

    @classmethod
    def load(cls, folder: Path) -> Site:
        """Read ``site.json``; the host list defaults to the folder name."""
        config: dict[str, Any] = json.loads((folder / "site.json").read_text(encoding="utf-8"))
        hosts = tuple(h.lower() for h in config.get("hosts") or [folder.name])
        gate_config = config.get("cookie_gate")
        gate = None
        if gate_config:
            exempt = frozenset(gate_config.get("exempt", ["/robots.txt"]))
            gate = CookieGate(name=str(gate_config["name"]), exempt=exempt)
        return cls(folder=folder.resolve(), hosts=hosts, gate=gate)

    def resolve(self, url_path: str, query: str = "") -> Path | None:
        """The file that serves ``url_path`` (percent-encoded), or None.

        A page that differs by query string (``/list?page=2``) is stored as
        ``list@page=2.html`` (``index@page=2.html`` for ``/``, ``x@page=2.html``
        for ``/x.html?page=2``); any other query (tracking parameters) is ignored.
        """
        segments = [s for s in unquote(url_path).split("/") if s]
        if any(s in {".", ".."} or "\\" in s or "\0" in s for s in segments):
            return None
        pages = self.pages
        query = unquote(query)
        if "/" in query or "\0" in query:
            query = ""
        if not segments:
            candidates = [pages / "index.html"]
            if query:
                candidates.insert(0, pages / f"index@{query}.html")
        elif "." in segments[-1]:
            candidates = [pages.joinpath(*segments)]
            if query:
                file = candidates[0]
                candidates.insert(0, file.with_name(f"{file.stem}@{query}{file.suffix}"))
        else:
            base = pages.joinpath(*segments)
            candidates = [base.with_name(base.name + ".html"), base / "index.html"]
            if query:
                candidates.insert(0, base.with_name(f"{base.name}@{query}.html"))
        for candidate in candidates:
            if candidate.is_file() and candidate.resolve().is_relative_to(pages):
                return candidate
        return None


def load_sites(root: Path) -> dict[str, Site]:
    """Map every host name to its replica; a host may belong to one site only."""
    by_host: dict[str, Site] = {}
    for config in sorted(root.glob("*/site.json")):
        site = Site.load(config.parent)
        for host in site.hosts:
            if host in by_host:
                other = by_host[host].folder
                raise ValueError(f"host {host} is served by both {other} and {site.folder}")
            by_host[host] = site
    return by_host


def _hostname(netloc: str) -> str:
    """Host name of a ``host[:port]`` string, lower case, without the port."""
    netloc = netloc.strip().lower().rpartition("@")[2]
    if netloc.startswith("["):
        return netloc.partition("]")[0] + "]"
    return netloc.partition(":")[0]


class _Handler(BaseHTTPRequestHandler):
    """Answers GET and HEAD from the replica folders."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end, so stop() leaves no thread behind

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _serve(self, *, send_body: bool) -> None:
        target = urlsplit(self.path)
        if target.scheme in {"http", "https"} and target.netloc:
            scheme, netloc = target.scheme, target.netloc
        else:
            netloc = self.headers.get(HOST_HEADER) or self.headers.get("Host") or ""
            scheme = self.headers.get(SCHEME_HEADER) or "http"
        host = _hostname(netloc)
        path = target.path or "/"
        mirror = self.server.mirror
        site = mirror.site_for(host)

        status, body, suffix = HTTPStatus.NOT_FOUND, _NOT_FOUND_BODY, ".html"
        headers: dict[str, str] = {}
        if site is None:
            pass
        elif (
            site.gate is not None
            and path not in site.gate.exempt
            and not site.gate.admits(self.headers.get("Cookie"))
        ):
            location = f"{scheme}://{netloc}{path}" + (f"?{target.query}" if target.query else "")
            status, body = HTTPStatus.FOUND, b""
            headers = {"Location": location, "Set-Cookie": site.gate.new_cookie()}
        elif (file := site.resolve(path, target.query)) is not None:
            status, body, suffix = HTTPStatus.OK, file.read_bytes(), file.suffix
        if mirror.delay:
            time.sleep(mirror.delay)
        # Counted before answering, so a client that has its answer sees the count.
        mirror._count(host, path, int(status))
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPES.get(suffix.lower(), DEFAULT_CONTENT_TYPE))
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its MirrorServer."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], mirror: MirrorServer) -> None:
        self.mirror = mirror
        super().__init__(address, _Handler)


class MirrorServer:
    """Serves the replica folders under ``root`` on ``host:port`` (0: a free port).

    Use as a context manager, or call ``start()`` and ``stop()``. The server
    runs in a daemon thread, so it serves a Twisted/asyncio crawl in the same
    process without touching its event loop.
    """

    def __init__(
        self, root: Path | None = None, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0
    ) -> None:
        self.root = Path(root) if root is not None else SITES_ROOT
        self.delay = delay  # seconds before each answer: a slow site, for crash tests
        self._sites = load_sites(self.root)
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def start(self) -> MirrorServer:
        """Bind and serve in the background; returns self."""
        if self._httpd is not None:
            raise RuntimeError("MirrorServer already started")
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"mirror-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("mirror serving %s at %s", ", ".join(self.hosts()), self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("MirrorServer not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for the CRAWLER_MIRROR_URL setting."""
        return f"http://{self._address[0]}:{self.port}"

    def hosts(self) -> list[str]:
        """Every host name the replicas answer for, sorted."""
        return sorted(self._sites)

    def site_for(self, host: str) -> Site | None:
        """The replica serving ``host`` (a host name without port), or None."""
        return self._sites.get(host.lower())

    def requests_for(self, host: str, path: str, status: int | None = None) -> int:
        """How many requests for ``host`` + ``path`` (no query) were answered,
        optionally only those answered with ``status``."""
        host = host.lower()
        with self._lock:
            return sum(
                n
                for (h, p, s), n in self._counts.items()
                if h == host and p == path and (status is None or s == status)
            )

    def reset_counts(self) -> None:
        """Forget all request counts (between tests)."""
        with self._lock:
            self._counts.clear()

    def _count(self, host: str, path: str, status: int) -> None:
        with self._lock:
            self._counts[(host, path, status)] += 1


def main(argv: list[str] | None = None) -> int:
    """Serve the replicas until interrupted, for browsing them by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, help="replica root (default: the bundled sites)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    args = parser.parse_args(argv)
    with MirrorServer(args.root, port=args.port) as server:
        print(f"serving {', '.join(server.hosts())} at {server.base_url}", file=sys.stderr)
        print(f"try: curl -x {server.base_url} http://www.qdnd.vn/robots.txt", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
