"""First-load weight of the patient PWA: the bytes a browser receives from the running server.

Starts the real app (werkzeug, on a free loopback port, with a throw-away instance folder) and
fetches what a first visit fetches: the page at "/", its stylesheets and module scripts, their
static ES-module imports (read from the bodies the server sent), the manifest and the service
worker; icons aside. Each request says `Accept-Encoding: br, gzip` (what every current browser
accepts) and the body is counted as it arrives, still encoded. The service worker's install then
revalidates the shell (`cache: "no-cache"` in frontend/patient/sw.js: a conditional request with
the ETag the page load got, answered 304 when nothing changed, else the file again); what that
costs is reported apart as `precache_bytes` (and the sum as `first_visit_bytes`). The budget applies to
`transfer_bytes`, the bodies of the page load. Prints one JSON line; exits 1 over budget.

    .venv/bin/python bench/pwa_weight.py                          # its own server
    .venv/bin/python bench/pwa_weight.py --accept-encoding gzip   # a browser without brotli
    .venv/bin/python bench/pwa_weight.py --url http://127.0.0.1:8000   # a running `make run`
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import logging
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from posixpath import dirname, join, normpath
from urllib.parse import urlsplit

import brotli

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
sys.path[:0] = [str(BACKEND), str(ROOT / "tests")]

from support.server import serving  # noqa: E402  (the tests' own threaded server helper)

BUDGET = 60 * 1024
ACCEPT_ENCODING = "br, gzip"
ICON_SUFFIXES = (".png", ".svg", ".ico")

IMPORT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+\s*from\s*)?["']([^"']+)["']""", re.MULTILINE
)
SHELL_LIST = re.compile(r"const SHELL = (\[.*?\]);", re.DOTALL)
DECODERS = {"br": brotli.decompress, "gzip": gzip.decompress, "identity": lambda data: data}


class ShellParser(HTMLParser):
    """The subresources the page asks for (icons are links too; they are left aside later)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("rel") in {"stylesheet", "manifest", "modulepreload"}:
            self.urls.append(a["href"])


def module_imports(url: str, source: str) -> list[str]:
    """The static imports of a module, as absolute paths."""
    # Comments could hold "import" examples; strip them before matching.
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    source = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)
    found = []
    for spec in IMPORT.findall(source):
        if spec.startswith(("./", "../", "/")):
            found.append(spec if spec.startswith("/") else normpath(join(dirname(url), spec)))
    return found


class Fetched:
    """One answer as it came over the wire."""

    def __init__(self, url: str, response: http.client.HTTPResponse):
        self.url = url
        self.status = response.status
        self.etag = response.getheader("ETag")
        self.encoding = response.getheader("Content-Encoding") or "identity"
        self.wire = response.read()  # http.client does not decode: these are the bytes sent
        status_line = f"HTTP/1.1 {response.status} {response.reason}\r\n"
        self.header_bytes = len(status_line) + len(str(response.msg).encode("latin-1"))
        self.body = DECODERS[self.encoding](self.wire)


class Client:
    """One keep-alive connection to the server, as a browser would use."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)

    def get(self, url: str, accept_encoding: str, etag: str | None = None) -> Fetched:
        headers = {"Accept-Encoding": accept_encoding}
        if etag:
            headers["If-None-Match"] = etag
        self.conn.request("GET", url, headers=headers)
        fetched = Fetched(url, self.conn.getresponse())
        if fetched.status not in ((200, 304) if etag else (200,)):
            raise SystemExit(f"{url}: HTTP {fetched.status}")
        return fetched

    def close(self) -> None:
        self.conn.close()


def first_load(client: Client, accept_encoding: str) -> list[Fetched]:
    """Everything a first visit loads, in the order a browser would discover it."""
    page = client.get("/", accept_encoding)
    parser = ShellParser()
    parser.feed(page.body.decode("utf-8"))
    fetched = [page]
    # The app registers the service worker once it runs: it comes last.
    queue = [url for url in parser.urls if not url.endswith(ICON_SUFFIXES)] + ["/sw.js"]
    seen = {"/"}
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url, accept_encoding)
        fetched.append(answer)
        if url.endswith(".js") and url != "/sw.js":
            queue.extend(module_imports(url, answer.body.decode("utf-8")))
    return fetched


def precache(client: Client, worker: Fetched, loaded: list[Fetched], accept_encoding: str) -> list[Fetched]:
    """What the service worker's install fetches (its shell list, icons aside), revalidating what
    the page load already holds."""
    urls = json.loads(SHELL_LIST.search(worker.body.decode("utf-8")).group(1))
    etags = {f.url: f.etag for f in loaded}
    return [
        client.get(url, accept_encoding, etags.get(url)) for url in urls if not url.endswith(ICON_SUFFIXES)
    ]


@contextlib.contextmanager
def running_app() -> Iterator[str]:
    """The real app on a free loopback port, in a thread; its base URL."""
    from anagen import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory(prefix="anagen-pwa-weight-") as tmp:
        app = create_app(
            {
                "INSTANCE_PATH": tmp,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench-only",
            }
        )
        with serving(app) as url:
            yield url


def measure(base_url: str, accept_encoding: str) -> dict:
    """The first-load figures against a running server."""
    client = Client(base_url)
    try:
        loaded = first_load(client, accept_encoding)
        plain = [client.get(f.url, "identity") for f in loaded]
        worker = next(f for f in loaded if f.url == "/sw.js")
        installed = precache(client, worker, loaded, accept_encoding)
    finally:
        client.close()
    transfer = sum(len(f.wire) for f in loaded)
    precache_bytes = sum(len(f.wire) for f in installed)
    encodings = Counter(f.encoding for f in loaded)
    return {
        "files": len(loaded),
        "raw_bytes": sum(len(f.body) for f in plain),
        "gzip_bytes": sum(len(gzip.compress(f.body, compresslevel=9)) for f in plain),
        "transfer_bytes": transfer,
        "header_bytes": sum(f.header_bytes for f in loaded),
        "encoding": next(iter(encodings)) if len(encodings) == 1 else dict(encodings),
        "accept_encoding": accept_encoding,
        "precache_files": len(installed),
        "precache_not_modified": sum(1 for f in installed if f.status == 304),
        "precache_bytes": precache_bytes,
        "first_visit_bytes": transfer + precache_bytes,
        "budget_bytes": BUDGET,
        "within_budget": transfer <= BUDGET,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON line; exit status 1 when over budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="measure this running server instead of starting one")
    parser.add_argument("--accept-encoding", default=ACCEPT_ENCODING)
    args = parser.parse_args(argv)
    if args.url:
        result = {"server": args.url, **measure(args.url.rstrip("/"), args.accept_encoding)}
    else:
        with running_app() as base_url:
            result = {"server": "werkzeug (own)", **measure(base_url, args.accept_encoding)}
    print(json.dumps(result))
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
