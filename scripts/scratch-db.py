"""Create a fresh scratch database beside the one in a PostgreSQL URL; print its URL.

    python scripts/scratch-db.py postgres://user@host:5432/resourcemap bench
    -> drops and creates resourcemap_bench on the same server, prints its URL
"""

from __future__ import annotations

import re
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg


def main() -> None:
    url, suffix = sys.argv[1], sys.argv[2]
    if not re.fullmatch(r"[a-z0-9_]+", suffix):
        raise SystemExit("suffix: lower-case letters, digits and _ only")
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "resourcemap"
    name = f"{base}_{suffix}"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"unexpected database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    print(urlunsplit(parts._replace(path=f"/{name}")))


if __name__ == "__main__":
    main()
