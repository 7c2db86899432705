"""Runtime requirements are what the app imports (issue 9, item 5): every line of
requirements.in names a distribution that backend/anagen imports, or one it runs or loads
without an import of its own (listed here with why)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Needed at run time without an `import` of their name in backend/anagen.
RUN_NOT_IMPORTED = {
    "gunicorn": "the web server `make run` starts (deploy/supervisord.conf)",
    "supervisor": "supervises the web server and the dispatcher (`make run`)",
    "psycopg": "SQLAlchemy's PostgreSQL driver, loaded from DATABASE_URL",
    "tzdata": "zoneinfo's time zone data where the system has none",
    "redis": "Flask-Limiter's storage when RATELIMIT_STORAGE_URI is redis://",
    "brotli": "Flask-Compress's brotli encoding",
    "alembic": "runs the migrations (migrations/) under Flask-Migrate",
}


def requirement_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def imported_distributions() -> set[str]:
    modules = set()
    for path in (ROOT / "backend" / "anagen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    by_module = importlib.metadata.packages_distributions()
    return {dist.lower().replace("_", "-") for m in modules for dist in by_module.get(m, [])}


def test_every_runtime_requirement_is_imported_or_run():
    unused = requirement_names() - imported_distributions() - set(RUN_NOT_IMPORTED)
    assert unused == set(), f"in requirements.in but not imported by backend/anagen: {sorted(unused)}"


def test_the_exceptions_are_requirements_not_imported():
    assert set(RUN_NOT_IMPORTED) <= requirement_names()
    assert set(RUN_NOT_IMPORTED) & imported_distributions() == set()
