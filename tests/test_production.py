"""The production path: static files with the production storage (the other tests use plain
StaticFilesStorage) and the README's deployment steps, which scripts/smoke-production.sh runs."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="database-independent: runs with the SQLite run; the smoke test covers PostgreSQL",
)
def test_collectstatic_works_with_the_production_manifest_storage(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "ALLOW_DEV_SECRET"}}
    env.update(
        DEBUG="0", TESTING="0", STATIC_ROOT=str(tmp_path),
        SECRET_KEY="collectstatic-test-" + "k" * 40, ALLOWED_HOSTS="map.example.jp",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in (
        "css/site.css",
        "js/map.js",
        "vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js",
        "vendor/leaflet.markercluster-1.5.3/MarkerCluster.css",
    ):
        hashed = manifest[name]
        assert hashed != name
        assert (tmp_path / hashed).is_file()
        assert (tmp_path / (hashed + ".gz")).is_file()  # compressed copy served by WhiteNoise


def _readme_production_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production on PostgreSQL", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        line = line.split("  #", 1)[0].strip()
        match = re.match(r"^\.venv/bin/(python manage\.py .+|gunicorn .+)$", line)
        if match:
            commands.append(match.group(1).strip())
    return commands


def test_readme_production_steps_are_the_smoke_test_steps():
    """Every command of the README section runs in the smoke test, in the same order."""
    commands = _readme_production_commands()
    assert len(commands) >= 7
    script = (ROOT / "scripts" / "smoke-production.sh").read_text()
    script = script.replace('"$PY" ', "python ").replace(".venv/bin/", "")
    position = 0
    for command in commands:
        words = command.split()
        if words[:3] == ["gunicorn", "resourcemap.wsgi", "--bind"]:
            # The smoke test binds a free port instead of 8000.
            words[3] = '"127.0.0.1:$port"'
        pattern = r"\s+".join(re.escape(w) for w in words)
        match = re.compile(pattern).search(script, position)
        assert match, f"README step not in scripts/smoke-production.sh (in order): {command}"
        position = match.end()
