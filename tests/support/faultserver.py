"""A small HTTP server on 127.0.0.1 that misbehaves on purpose, one way per article path.

Each article path is ``/a/<case>-<n>``; ``/list`` links to all of them. The
server counts requests per path so tests can check retries and their timing,
and per ``Host`` header so tests can tell which name a request was sent to.
``/disk`` lists 20 small articles and 10 big ones (``/a/big-<n>``, about 200 kB
of text that does not compress well); ``/dns`` lists, with relative links, two
articles and one (``/a/intranet-<n>``) that redirects to ``intranet.news.test``.
"""

from __future__ import annotations

import functools
import gzip
import random
import socket
import threading
import time
import unicodedata
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VIETNAMESE = (
    "Quân đội nhân dân Việt Nam tổ chức hội nghị tổng kết công tác năm, biểu dương các đơn vị."
)


def article(title: str, body: str, charset: str = "utf-8", head: str = "") -> str:
    return (
        f"<!doctype html><html><head>{head}<title>{title}</title></head><body>"
        f"<h1>{title}</h1><article><p>{body}</p><p>Đoạn thứ hai của bài.</p></article></body></html>"
    )


def cp1258(text: str) -> bytes:
    """Vietnamese in windows-1258: letters with a tone mark are a base letter plus a combining tone."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        for mark in list(marks):
            joined = unicodedata.normalize("NFC", base + mark)
            if len(joined) == 1:
                try:
                    joined.encode("cp1258")
                except UnicodeEncodeError:
                    continue
                base = joined
                marks.remove(mark)
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


def big_body(seed: int) -> str:
    """About 200 kB of words that compress poorly: a Parquet file of it is ~100 kB."""
    rng = random.Random(seed)
    return " ".join(f"{rng.getrandbits(64):016x}" for _ in range(12_000))


CASES = [
    "ok",
    "retry503",
    "retry429",
    "gone",
    "missing",
    "reset",
    "truncated",
    "slow",
    "loop",
    "offsite",
    "file",
    "huge",
    "bomb",
    "cp1258",
    "liar",
    "metaliar",
    "empty",
    "picture",
    "hostile",
    "video",
]


@functools.cache
def gzip_bomb() -> bytes:
    """48 kB that decompress to 50 MB. Made once, before any request: compressing it takes
    half a second, and on a loaded machine a request that waits for it times out."""
    return gzip.compress(b"<html><body>" + b"0" * 50_000_000 + b"</body></html>")


class FaultServer:
    def __init__(self, robots_delay: float = 0.0) -> None:
        gzip_bomb()
        self.robots_delay = robots_delay  # a slow robots.txt: requests queue up behind it
        self.hits: dict[str, list[float]] = defaultdict(list)
        self.hosts: dict[str, int] = defaultdict(int)  # Host header (without port) -> requests
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, case: str) -> str:
        return f"{self.base}/a/{case}-{CASES.index(case) + 1}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def send(
                self,
                status: int,
                body: bytes,
                ctype: str = "text/html; charset=utf-8",
                **headers: str,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.hits[path].append(time.monotonic())
                server.hosts[(self.headers.get("Host") or "").rsplit(":", 1)[0].lower()] += 1
                tries = len(server.hits[path])
                if path == "/robots.txt":
                    time.sleep(server.robots_delay)
                    return self.send(200, b"User-agent: *\nDisallow: /a/private\n", "text/plain")
                if path == "/list":
                    links = "".join(f'<li><a href="{server.url(c)}">{c}</a></li>' for c in CASES)
                    links += (
                        f'<li><a href="{server.url("ok")}?utm_source=x&fbclid=y">ok again</a></li>'
                    )
                    links += f'<li><a href="{server.base}/a/private-99">private</a></li>'
                    return self.send(200, f"<html><body><ul>{links}</ul></body></html>".encode())
                if path == "/disk":
                    links = "".join(
                        f'<li><a href="/a/ok-{2000 + n}">{n}</a></li>' for n in range(20)
                    )
                    links += "".join(
                        f'<li><a href="/a/big-{3000 + n}">{n}</a></li>' for n in range(10)
                    )
                    return self.send(200, f"<html><body><ul>{links}</ul></body></html>".encode())
                if path == "/dns":
                    links = '<li><a href="/a/ok-4001">1</a></li><li><a href="/a/ok-4002">2</a></li>'
                    links += '<li><a href="/a/intranet-4003">3</a></li>'
                    return self.send(200, f"<html><body><ul>{links}</ul></body></html>".encode())
                if path == "/trap":  # a calendar: every page has new articles and a next page
                    page = int(self.path.partition("page=")[2] or 1)
                    links = "".join(
                        f'<li><a href="/a/ok-{1000 * page + n}">{n}</a></li>' for n in range(3)
                    )
                    nav = f'<div class="pages"><a href="/trap?page={page + 1}">{page + 1}</a></div>'
                    return self.send(
                        200, f"<html><body><ul>{links}</ul>{nav}</body></html>".encode()
                    )
                case = path.removeprefix("/a/").rsplit("-", 1)[0]
                good = article(f"Bài {case}", VIETNAMESE).encode()
                if case == "ok":
                    return self.send(200, good)
                if case == "big":
                    seed = int(path.rsplit("-", 1)[1])
                    return self.send(200, article(f"Bài big {seed}", big_body(seed)).encode())
                if case == "intranet":  # a name under the site's domain, resolving to loopback
                    target = f"http://intranet.news.test:{server.port}/a/ok-4004"
                    return self.send(302, b"", Location=target)
                if case == "retry503":
                    return self.send(503, b"busy") if tries <= 2 else self.send(200, good)
                if case == "retry429":
                    return (
                        self.send(429, b"slow down", Retry_After="2")
                        if tries == 1
                        else self.send(200, good)
                    )
                if case == "gone":
                    return self.send(410, b"gone")
                if case == "missing":
                    return self.send(404, b"not found")
                if case == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    return None
                if case == "truncated":
                    if tries == 1:
                        self.send_response(200)
                        self.send_header("Content-Type", "text/html; charset=utf-8")
                        self.send_header("Content-Length", str(len(good) + 5000))
                        self.end_headers()
                        self.wfile.write(good[:200])
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return None
                    return self.send(200, good)
                if case == "slow":
                    if tries == 1:
                        time.sleep(2.5)
                    return self.send(200, good)
                if case == "loop":
                    return self.send(302, b"", Location=f"{path}?n={tries}")
                if case == "offsite":
                    return self.send(302, b"", Location=f"http://localhost:{server.port}/a/ok-1")
                if case == "file":
                    return self.send(302, b"", Location="file:///etc/passwd")
                if case == "huge":
                    return self.send(200, article("Huge", "x " * 3_000_000).encode())
                if case == "bomb":
                    return self.send(200, gzip_bomb(), Content_Encoding="gzip")
                if case == "cp1258":
                    body = cp1258(article("Bài cp1258", VIETNAMESE))
                    return self.send(200, body, "text/html; charset=windows-1258")
                if case == "liar":
                    return self.send(200, cp1258(article("Bài liar", VIETNAMESE)))
                if case == "metaliar":
                    page = article("Bài metaliar", VIETNAMESE, head='<meta charset="iso-8859-1">')
                    return self.send(200, page.encode("utf-8"), "text/html")
                if case == "empty":
                    return self.send(200, b"")
                if case == "picture":
                    return self.send(
                        200,
                        b"<html><body><h1>Picture</h1><article><img src='/p.jpg'></article></body></html>",
                    )
                if case == "video":
                    return self.send(
                        200,
                        b"<html><body><h1>Video</h1><article><video src='/v.mp4'></video></article></body></html>",
                    )
                if case == "hostile":
                    body = (
                        "<html><head><style>p { color: red }</style><script>var secret = 1;</script></head>"
                        "<body><h1>Hostile\x00 title\x07</h1><article><p>Text<script>alert('x')</script> with"
                        " \x01control\x1f chars</p><p>"
                        + "long " * 240_000
                        + "</p></article></body></html>"
                    )
                    return self.send(200, body.encode("utf-8"))
                return self.send(404, b"no such case")

        return Handler
