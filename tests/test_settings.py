import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE", "ALLOW_DEV_SECRET"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY="x" * 20 + "-production-secret-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="map.example.jp", SITE_URL="https://map.example.jp", DEBUG="0", TESTING="0",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The one silenced check is django-ratelimit's "backend not officially supported": our
    # counter cache is its own, atomic backend (resourcemap/ratelimits.py, tested in
    # tests/surveys/test_ratelimits.py).
    assert "no issues (1 silenced)" in result.stdout
    from django.conf import settings

    assert settings.SILENCED_SYSTEM_CHECKS == ["django_ratelimit.W001"]
    assert settings.CACHES["ratelimit"]["BACKEND"] == "resourcemap.ratelimits.CounterCache"


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", DEBUG="0", TESTING="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_database_url_selects_the_database_engine():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    pg = _manage("shell", "-c", code, DEBUG="1",
                 DATABASE_URL="postgres://postgres@127.0.0.1:5432/resourcemap")
    assert pg.stdout.strip().splitlines()[-1] == "django.db.backends.postgresql", pg.stderr
    default = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    sqlite = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
        env={**default, "DEBUG": "1"}, capture_output=True, text=True, timeout=120,
    )
    assert sqlite.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3", sqlite.stderr


def test_two_writers_on_a_sqlite_file_take_turns_instead_of_failing(tmp_path, django_db_blocker):
    """Both read first and then write (as an approval does); neither gets "database is locked"."""
    import threading
    import time

    from django.db import connections, transaction

    from resourcemap.settings import database_settings

    config = database_settings(f"sqlite:///{tmp_path / 'two-staff.sqlite3'}")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] >= 5
    alias = "two_staff_sqlite"
    configured = connections.configure_settings({"default": config, alias: dict(config)})
    connections.settings[alias] = configured[alias]
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def approve():
        try:
            start.wait(5)
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute("SELECT n FROM counter")
                n = cursor.fetchone()[0]
                time.sleep(0.3)  # the other writer arrives while this one holds its transaction
                cursor.execute("UPDATE counter SET n = %s", [n + 1])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections[alias].close()

    try:
        with django_db_blocker.unblock():
            with connections[alias].cursor() as cursor:
                cursor.execute("CREATE TABLE counter (n integer)")
                cursor.execute("INSERT INTO counter VALUES (0)")
            threads = [threading.Thread(target=approve) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT n FROM counter")
                total = cursor.fetchone()[0]
            connections[alias].close()
    finally:
        del connections.settings[alias]
    assert errors == []
    assert total == 2


def test_sqlite_test_database_is_a_file_even_when_its_folder_is_missing(tmp_path):
    """Never Django's shared-cache memory database: there parallel requests (the 60 parallel
    access-code guesses) fail with "database table is locked" instead of waiting their turn."""
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['TEST']['NAME'])"
    )
    missing = tmp_path / "not-yet" / "test.sqlite3"
    result = _manage("shell", "-c", code, DEBUG="1", TESTING="1", DATABASE_URL=f"sqlite:///{missing}")
    name = result.stdout.strip().splitlines()[-1]
    assert name == str(missing.with_name("test_test.sqlite3")), result.stderr
    assert missing.parent.is_dir()
    memory = _manage("shell", "-c", code, DEBUG="1", TESTING="1", DATABASE_URL="sqlite:///:memory:")
    name = memory.stdout.strip().splitlines()[-1]
    assert name.endswith(".sqlite3") and "memory" in Path(name).name and "mode=memory" not in name
