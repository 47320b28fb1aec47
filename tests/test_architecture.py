"""The layering rules of ARCHITECTURE.md, checked on the source: imports point one way, down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mistudio"
DOMAINS = ["models", "datasets", "extraction", "training", "features", "steering", "templates", "system"]
WEB_AND_DB = ["fastapi", "starlette", "sqlalchemy", "alembic", "celery", "redis", "uvicorn", "typer"]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def violations(package: str, forbidden: list[str]) -> list[str]:
    found = []
    for path in sorted((SRC / package).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == bad or module.startswith(bad + ".") for bad in forbidden):
                found.append(f"{path.relative_to(SRC)} imports {module}")
    return found


def test_lens_imports_no_web_database_job_or_domain_code() -> None:
    forbidden = WEB_AND_DB + ["mistudio.platform", "mistudio.api", "mistudio.cli"]
    forbidden += [f"mistudio.{domain}" for domain in DOMAINS]
    assert violations("lens", forbidden) == []


def test_platform_imports_no_domain() -> None:
    forbidden = [f"mistudio.{domain}" for domain in DOMAINS] + ["mistudio.api", "mistudio.cli"]
    assert violations("platform", forbidden) == []


@pytest.mark.parametrize("domain", [d for d in DOMAINS if (SRC / d).is_dir()])
def test_domains_do_not_reach_into_other_domains_tables(domain: str) -> None:
    forbidden = [f"mistudio.{other}.tables" for other in DOMAINS if other != domain]
    forbidden += ["mistudio.api", "mistudio.cli"]
    assert violations(domain, forbidden) == []
