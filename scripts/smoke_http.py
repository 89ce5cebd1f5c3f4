"""HTTP checks of the production smoke test (scripts/smoke-production.sh).

Usage: smoke_http.py BASE_URL HOST

Requests go to BASE_URL (gunicorn on 127.0.0.1) as the HTTPS reverse proxy sends them:
``Host: HOST`` and ``X-Forwarded-Proto: https``. Every page must answer 200, every static URL
found in the pages (and the url(...) references inside the CSS) must be a hashed name from the
manifest that answers 200 with a long cache lifetime. Exits non-zero with a list of failures.
"""

from __future__ import annotations

import http.client
import re
import sys
import time
from urllib.parse import urljoin, urlsplit

PAGES = ["/", "/en/", "/admin/login/", "/survey/", "/api/providers.json", "/opendata/", "/flyer/"]
STATIC_RE = re.compile(r"""(?:href|src)=["'](/static/[^"'?#]+)""")
CSS_URL_RE = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
HASHED_RE = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")


class Client:
    def __init__(self, base: str, host: str) -> None:
        parts = urlsplit(base)
        self.netloc = parts.netloc
        self.host = host
        self.count = 0

    def get(self, path: str, *, https: bool = True, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.netloc, timeout=60)
        all_headers = {"Host": self.host, "Accept-Language": "ja"}
        if https:
            all_headers["X-Forwarded-Proto"] = "https"
        all_headers.update(headers or {})
        try:
            conn.request("GET", path, headers=all_headers)
            response = conn.getresponse()
            body = response.read()
            self.count += 1
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()


def wait_until_up(client: Client, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.get("/robots.txt")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s") from None
            time.sleep(0.5)


def main(base: str, host: str) -> int:
    client = Client(base, host)
    wait_until_up(client)
    failures: list[str] = []
    static_urls: set[str] = set()

    for path in PAGES:
        status, headers, body = client.get(path)
        if status != 200:
            failures.append(f"GET {path}: {status} (expected 200)")
            continue
        if "text/html" in headers.get("content-type", ""):
            static_urls.update(STATIC_RE.findall(body.decode("utf-8", "replace")))

    if not static_urls:
        failures.append("no static file URLs found in the pages")
    checked: set[str] = set()
    queue = sorted(static_urls)
    while queue:
        url = queue.pop()
        if url in checked:
            continue
        checked.add(url)
        name = url.rsplit("/", 1)[-1]
        if not HASHED_RE.search(name):
            failures.append(f"{url}: not a hashed (manifest) name")
        status, headers, body = client.get(url, headers={"Accept-Encoding": "gzip"})
        if status != 200:
            failures.append(f"GET {url}: {status} (expected 200)")
            continue
        if "immutable" not in headers.get("cache-control", ""):
            failures.append(f"{url}: Cache-Control {headers.get('cache-control')!r} is not immutable")
        if url.endswith(".css"):
            if headers.get("content-encoding") != "gzip":
                failures.append(f"{url}: not served compressed")
            # Follow the references inside the stylesheet (images, fonts) too.
            status, _headers, text = client.get(url)
            for ref in CSS_URL_RE.findall(text.decode("utf-8", "replace")):
                if ref.startswith(("data:", "http:", "https:", "#")):
                    continue
                queue.append(urljoin(url, ref).split("?")[0].split("#")[0])

    # Without the proxy's header the production settings redirect to HTTPS.
    status, headers, _body = client.get("/", https=False)
    if status != 301 or not headers.get("location", "").startswith(f"https://{host}/"):
        failures.append(f"GET / over plain HTTP: {status} {headers.get('location')!r} (expected 301 to https)")

    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    print(
        f"smoke: {len(PAGES)} pages, {len(checked)} static files, {client.count} requests, "
        f"{len(failures)} failures"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
