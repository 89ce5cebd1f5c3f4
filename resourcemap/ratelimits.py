"""Rate limits shared by every app server: client address behind trusted proxies, atomic
counters in the database, and the one 429 page.

Counting and windows come from django-ratelimit (``django_ratelimit.core.get_usage``). Its
counters need a cache whose ``add`` and ``incr`` are atomic across processes; Django's database
cache is not (``incr`` is a read followed by a write, so parallel requests lose counts). The
``CounterCache`` below keeps each counter in one row of ``resourcemap_ratecounter`` and changes it
with single SQL statements (``INSERT … ON CONFLICT`` and ``UPDATE … SET count = count + 1
RETURNING count``), which PostgreSQL and SQLite both run atomically. No extra server (Redis,
memcached) is needed: the database the app servers already share is the shared cache.

The client address is ``REMOTE_ADDR``, unless that is one of ``TRUSTED_PROXIES``: then the
right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy. A client can prepend
anything to that header, so entries left of the first untrusted hop are never believed.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import random
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connection
from django.shortcuts import render
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

_TABLE = "resourcemap_ratecounter"


# --- client address ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse(value: str):
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The visitor's address, reading X-Forwarded-For only when a trusted proxy sent it."""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return "0.0.0.0"  # noqa: S104 - a bucket name, not a bind address
    if not networks or not _trusted(remote, networks):
        return str(remote)
    hops = [
        part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    for part in reversed(hops):
        address = _parse(part)
        if address is None:
            break  # garbage from the client side of the chain: stop believing the header
        if not _trusted(address, networks):
            return str(address)
        remote = address
    return str(remote)


# --- atomic counters --------------------------------------------------------------------------


class CounterCache(BaseCache):
    """A cache of integer counters only, for django-ratelimit, in one database table.

    ``add`` and ``incr`` are single statements, so they are atomic on PostgreSQL and SQLite and
    shared by every process that uses the same database.
    """

    cull_probability = 0.01

    def __init__(self, location, params):
        super().__init__(params)

    def _now(self) -> int:
        return int(time.time())

    def _expires(self, timeout) -> int:
        seconds = self.get_backend_timeout(timeout)
        return 10 * 365 * 86400 if seconds is None else int(seconds)

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        return timeout

    def _cull(self, now: int) -> None:
        if random.random() < self.cull_probability:  # noqa: S311 - not security relevant
            self.delete_expired(now)

    def delete_expired(self, now: int | None = None) -> int:
        """Remove counters whose window is over (also done by ``jobs.retention``)."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_TABLE} WHERE expires < %s", [now or self._now()])  # noqa: S608
            return cursor.rowcount

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        now = self._now()
        self._cull(now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_TABLE} (bucket, count, expires) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (bucket) DO UPDATE SET count = excluded.count, "
                f"expires = excluded.expires WHERE {_TABLE}.expires < %s",
                [key, int(value), now + self._expires(timeout), now],
            )
            return cursor.rowcount == 1

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} SET count = count + %s "  # noqa: S608
                f"WHERE bucket = %s AND expires >= %s RETURNING count",
                [int(delta), key, self._now()],
            )
            row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key '{key}' not found")
        return row[0]

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count FROM {_TABLE} WHERE bucket = %s AND expires >= %s",  # noqa: S608
                [key, self._now()],
            )
            row = cursor.fetchone()
        return default if row is None else row[0]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        now = self._now()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_TABLE} (bucket, count, expires) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (bucket) DO UPDATE SET count = excluded.count, "
                f"expires = excluded.expires",
                [key, int(value), now + self._expires(timeout)],
            )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        now = self._now()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} SET expires = %s WHERE bucket = %s AND expires >= %s",  # noqa: S608
                [now + self._expires(timeout), key, now],
            )
            return cursor.rowcount == 1

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_TABLE} WHERE bucket = %s", [key])  # noqa: S608
            return cursor.rowcount == 1

    def delete_if(self, key, value, version=None) -> bool:
        """Delete ``key`` only while it still holds ``value`` (a lease given back by its owner)."""
        key = self.make_and_validate_key(key, version=version)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_TABLE} WHERE bucket = %s AND count = %s",  # noqa: S608
                [key, int(value)],
            )
            return cursor.rowcount == 1

    def has_key(self, key, version=None):
        return self.get(key, version=version) is not None

    def clear(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608


# --- limits -----------------------------------------------------------------------------------


def _constant(value: str):
    def key(group, request):
        return value

    return key


def hit(request, group: str, rate: str, *, target: str | None = None) -> bool:
    """Count one try against ``rate`` (e.g. ``"10/m"``); False when over the limit.

    Without ``target`` the count is per client address; with it, per target (an invitation, a
    provider, "every access code"), whatever address the tries come from. A limit that is hit
    leaves the seconds until its window ends on the request (``retry_after``), so the 429 page
    says how long to wait for the limit that was actually hit (a minute or an hour).
    """
    key = "ip" if target is None else _constant(f"target:{target}")
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return True
    seconds = max(1, int(usage["time_left"]))
    request.ratelimit_retry_after = max(getattr(request, "ratelimit_retry_after", 0), seconds)
    return False


def wait_text(seconds: int) -> str:
    """How long to wait, in plain words: 「1分ほど」「20分ほど」「1時間ほど」."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return ngettext("%(n)d分ほど", "%(n)d分ほど", minutes) % {"n": minutes}
    hours = math.ceil(minutes / 60)
    return ngettext("%(n)d時間ほど", "%(n)d時間ほど", hours) % {"n": hours}


def too_many(request, exception=None, *, template="429.html", context=None, retry_after=None):
    """The 429 page (also django-ratelimit's RATELIMIT_VIEW).

    ``Retry-After`` and the wording follow the limit that was hit (``hit`` records it), 60
    seconds when none was recorded (django-ratelimit's own decorator)."""
    if retry_after is None:
        retry_after = getattr(request, "ratelimit_retry_after", None) or 60
    response = render(request, template, {"wait": wait_text(retry_after), **(context or {})}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
