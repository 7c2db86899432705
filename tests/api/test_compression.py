"""What the phone downloads: text compressed with brotli where the browser accepts it and gzip
otherwise, images as they are, `Vary: Accept-Encoding` always, and revalidation (ETag, 304)
still working on the compressed shell and service worker."""

from __future__ import annotations

import gzip

import brotli
import pytest

# A text file of each kind the first load fetches (page, module, stylesheet, manifest, worker).
SHELL = ["/", "/app/js/app.js", "/shared/api.js", "/app/app.css", "/manifest.webmanifest", "/sw.js"]
ICON = "/app/icons/icon-512.png"
# What Chromium and Firefox send, and what Safari sends.
CHROME = "gzip, deflate, br, zstd"
SAFARI = "gzip, deflate, br"


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}


@pytest.mark.parametrize("url", SHELL)
@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        (CHROME, "br", brotli.decompress),
        (SAFARI, "br", brotli.decompress),
        ("br;q=0.5, gzip", "gzip", gzip.decompress),
        ("gzip, deflate", "gzip", gzip.decompress),
    ],
)
def test_the_shell_is_compressed_with_the_best_encoding_the_browser_accepts(
    client, url, accept, encoding, decode
):
    plain = client.get(url)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    response = client.get(url, headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert int(response.headers["Content-Length"]) == len(response.data) < len(plain.data)
    assert decode(response.data) == plain.data
    assert "accept-encoding" in vary(response) and "accept-encoding" in vary(plain)
    assert response.headers["Cache-Control"] == "no-cache"


def test_nothing_is_compressed_for_a_client_that_accepts_only_identity(client):
    for accept in ("identity", "zstd", "deflate"):
        response = client.get("/app/js/app.js", headers={"Accept-Encoding": accept})
        assert "Content-Encoding" not in response.headers, accept


def test_images_are_sent_as_they_are(client):
    plain = client.get(ICON)
    response = client.get(ICON, headers={"Accept-Encoding": CHROME})
    assert response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers
    assert response.data == plain.data
    assert "accept-encoding" in vary(response)


@pytest.mark.parametrize("url", SHELL)
def test_a_compressed_file_revalidates_with_a_304(client, url):
    headers = {"Accept-Encoding": CHROME}
    first = client.get(url, headers=headers)
    etag = first.headers["ETag"]
    assert etag.endswith(':br"')
    # Each encoding is its own representation: its own validator.
    assert client.get(url, headers={"Accept-Encoding": "gzip"}).headers["ETag"] != etag
    assert client.get(url).headers["ETag"] != etag
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("url", ["/app/js/app.js", "/sw.js"])
def test_an_uncompressed_file_still_revalidates_with_a_304(client, url):
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_a_stale_validator_gets_the_whole_file(client):
    response = client.get("/sw.js", headers={"Accept-Encoding": CHROME, "If-None-Match": '"old:br"'})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert b"__ANAGEN_" not in brotli.decompress(response.data)


def test_json_answers_are_compressed(client):
    plain = client.get("/api/openapi.json")
    response = client.get("/api/openapi.json", headers={"Accept-Encoding": CHROME})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == plain.data


def test_an_answer_carrying_the_csrf_token_is_never_compressed(app, client, monkeypatch):
    # BREACH: the token's compressed length would leak it byte by byte. Whatever its size.
    monkeypatch.setitem(app.config, "COMPRESS_MIN_SIZE", 0)
    response = client.get("/api/auth/session", headers={"Accept-Encoding": CHROME})
    assert response.status_code == 200 and "csrf_token" in response.get_json()
    assert "Content-Encoding" not in response.headers
    assert client.get("/healthz", headers={"Accept-Encoding": CHROME}).headers["Content-Encoding"] == "br"


def test_a_byte_range_is_of_the_file_as_stored(client):
    plain = client.get("/app/app.css").data
    response = client.get("/app/app.css", headers={"Accept-Encoding": CHROME, "Range": "bytes=0-99"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.data == plain[:100]
