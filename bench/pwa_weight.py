"""First-load weight of the patient PWA: every file the shell loads on a first visit
(index.html, its stylesheets and module scripts, their static ES-module imports, the shared
modules among them, the manifest and the service worker; icons aside), gzipped at level 9.
Prints one JSON line.

    .venv/bin/python bench/pwa_weight.py
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from posixpath import dirname, join, normpath

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
PATIENT = FRONTEND / "patient"
SHARED = FRONTEND / "shared"
BUDGET = 60 * 1024

IMPORT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+\s*from\s*)?["']([^"']+)["']""", re.MULTILINE
)


def url_to_path(url: str) -> Path:
    """Where Flask (anagen.web) serves each URL from."""
    if url == "/":
        return PATIENT / "index.html"
    if url in {"/sw.js", "/manifest.webmanifest"}:
        return PATIENT / url.lstrip("/")
    if url.startswith("/app/"):
        return PATIENT / url.removeprefix("/app/")
    if url.startswith("/shared/"):
        return SHARED / url.removeprefix("/shared/")
    raise ValueError(f"not part of the patient shell: {url}")


class ShellParser(HTMLParser):
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
    # Comments could hold "import" examples; strip them before matching.
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    source = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)
    found = []
    for spec in IMPORT.findall(source):
        if spec.startswith(("./", "../", "/")):
            found.append(spec if spec.startswith("/") else normpath(join(dirname(url), spec)))
    return found


def first_load() -> list[str]:
    parser = ShellParser()
    parser.feed(url_to_path("/").read_text(encoding="utf-8"))
    queue = ["/", *parser.urls, "/sw.js"]
    seen: list[str] = []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.append(url)
        if url.endswith(".js"):
            queue.extend(module_imports(url, url_to_path(url).read_text(encoding="utf-8")))
    return seen


def main() -> int:
    urls = first_load()
    raw = gz = 0
    for url in urls:
        data = url_to_path(url).read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9))
    print(
        json.dumps(
            {
                "files": len(urls),
                "raw_bytes": raw,
                "gzip_bytes": gz,
                "budget_bytes": BUDGET,
                "within_budget": gz <= BUDGET,
            }
        )
    )
    return 0 if gz <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
