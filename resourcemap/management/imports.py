"""What the import commands (``import_providers``, ``import_opendata``) share: the file, the
check-only default and the staff user named in the change history."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def add_import_arguments(parser) -> None:
    parser.add_argument("path")
    parser.add_argument("--commit", action="store_true", help="Save (default: check only).")
    parser.add_argument("--user", help="Staff user name recorded in the change history.")


def existing_file(path: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No such file: {path}")
    return file


def history_user(name: str | None):
    """The user named by ``--user`` (None when not given)."""
    if not name:
        return None
    try:
        return get_user_model().objects.get(username=name)
    except get_user_model().DoesNotExist as error:
        raise CommandError(f"No such user: {name}") from error
