"""The layering rules of ARCHITECTURE.md, checked on the source of every module: imports point one way, down.

A module's references are everything that can load another module: `import`, `from … import` (relative ones
resolved), imports inside functions, `importlib.import_module("…")` / `__import__("…")` with a literal name,
and string literals that spell a `mistudio` module (lists that something else imports by name).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mistudio"
DOMAINS = ["models", "datasets", "extraction", "training", "features", "steering", "templates", "system"]
# Modules a domain keeps to itself: another domain calls its service (and may use its schemas), never these.
DOMAIN_PRIVATE = ["tables", "tasks", "routes"]
WEB_AND_DB = ["fastapi", "starlette", "sqlalchemy", "alembic", "celery", "redis", "uvicorn", "typer"]
SHARED = ["mistudio", "mistudio.config", "mistudio.errors", "mistudio.envelopes"]  # leaves every layer may use
ROOT = "mistudio.domains"  # the composition root: only faces (and tests) call it
MODULE_NAME = re.compile(r"^mistudio(\.\w+)+(:\w+)?$")


@dataclass(frozen=True)
class Reference:
    module: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package (the CLI as files cli*.py or as the package cli/, whichever exists)."""
    return {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def is_module(name: str) -> bool:
    """Whether a dotted name is a module or package of the source tree (not a class, constant or file name)."""
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _literal_import(node: ast.Call) -> str | None:
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    if name in ("import_module", "__import__") and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def references(source: str, importer: str, *, is_package: bool = False) -> list[Reference]:
    """Every module `source` (the module `importer`) loads or names, as absolute dotted names."""
    found: list[Reference] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Reference(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, importer, is_package)
            found.append(Reference(base, node.lineno))
            # `from mistudio.models import tables` loads the module mistudio.models.tables.
            found += [Reference(f"{base}.{alias.name}", node.lineno) for alias in node.names
                      if is_module(f"{base}.{alias.name}")]
        elif isinstance(node, ast.Call) and (name := _literal_import(node)):
            level = len(name) - len(name.lstrip("."))
            found.append(Reference(_resolve(name[level:] or None, level, importer, is_package), node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.match(node.value):
            named = node.value.split(":")[0]  # "mistudio.worker:celery_app" names mistudio.worker
            if is_module(named):  # not "mistudio.db" (a file name) or "mistudio.run_job" (a task name)
                found.append(Reference(named, node.lineno))
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_face(module: str) -> bool:
    """api.py, worker.py, host_worker.py, `python -m mistudio`, and the CLI (cli.py + cli_*.py, or the package cli/)."""
    return module in ("mistudio.api", "mistudio.worker", "mistudio.host_worker", "mistudio.__main__") or bool(
        re.match(r"^mistudio\.cli($|[._])", module))


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def layer_of(module: str) -> str:
    if within(module, "mistudio.lens"):
        return "lens"
    if within(module, "mistudio.platform"):
        return "platform"
    if domain_of(module):
        return "domain"
    if is_face(module):
        return "face"
    if module == ROOT:
        return "root"
    if module == "mistudio" or any(within(module, shared) for shared in SHARED[1:]):
        return "shared"
    return "unknown"


def _lens_may_not(importer: str, target: str) -> bool:
    # lens is the bottom layer, a library of its own: not even the studio's errors (it raises lens.errors).
    return any(within(target, bad) for bad in WEB_AND_DB) or (
        within(target, "mistudio") and layer_of(target) != "lens")


def _platform_may_not(importer: str, target: str) -> bool:
    return layer_of(target) in ("domain", "face", "root")


def _domain_may_not(importer: str, target: str) -> bool:
    if layer_of(target) in ("face", "root"):
        return True
    other = domain_of(target)
    private = len(target.split(".")) > 2 and target.split(".")[2] in DOMAIN_PRIVATE
    return other is not None and other != domain_of(importer) and private


def _face_may_not(importer: str, target: str) -> bool:
    # The faces are thin: they call services (the API mounts routers); job bodies and tables are the domains'.
    parts = target.split(".")
    private = ["tables", "tasks"] if importer == "mistudio.api" else DOMAIN_PRIVATE
    return domain_of(target) is not None and len(parts) > 2 and parts[2] in private


def _root_may_not(importer: str, target: str) -> bool:
    return layer_of(target) == "face"


def _shared_may_not(importer: str, target: str) -> bool:
    # errors.py gives lens's errors their HTTP status, so it may see lens.errors (the bottom layer), nothing else.
    return within(target, "mistudio") and layer_of(target) != "shared" and not within(target, "mistudio.lens.errors")


# layer -> (what the rule says, is this reference forbidden)
RULES: dict[str, tuple[str, Callable[[str, str], bool]]] = {
    "lens": ("lens imports no web, database or job library, and nothing of the studio outside lens", _lens_may_not),
    "platform": ("platform imports no domain, no face and not the composition root", _platform_may_not),
    "domain": ("a domain imports no face, nor another domain's tables, tasks or routes", _domain_may_not),
    "shared": ("config, errors and envelopes import no layer above them (errors may map lens.errors)", _shared_may_not),
    "face": ("a face calls a domain's service (the API mounts its routes), never its tables or tasks", _face_may_not),
    "root": ("the composition root imports no face", _root_may_not),
}


def check(source: str, importer: str, *, is_package: bool = False) -> list[str]:
    """The rule violations of one module's source, as '<module>:<line> <what it references>'."""
    rule = RULES.get(layer_of(importer))
    if rule is None:
        return []
    return [f"{importer}:{ref.line} references {ref.module} ({rule[0]})"
            for ref in references(source, importer, is_package=is_package) if rule[1](importer, ref.module)]


def violations(layer: str) -> list[str]:
    found = []
    for name, path in all_modules().items():
        if layer_of(name) == layer:
            found += check(path.read_text(), name, is_package=path.name == "__init__.py")
    return found


# --- the checker itself can fail ----------------------------------------------------------------------------
def test_references_resolve_relative_function_level_and_importlib_imports() -> None:
    source = (
        "from . import runner\n"
        "from ..tables import import_all_tables\n"
        "def later():\n"
        "    import mistudio.api\n"
        "    importlib.import_module('mistudio.worker')\n"
        "    __import__('mistudio.cli.models')\n"
        "    import_module('.celery_app', __package__)\n"
        "MODULES = ['mistudio.models.tasks', 'mistudio.worker:celery_app', 'not a module']\n"
    )
    names = {ref.module for ref in references(source, "mistudio.platform.jobs.celery")}
    assert {"mistudio.platform.jobs.runner", "mistudio.platform.tables", "mistudio.api",
            "mistudio.worker", "mistudio.cli.models", "mistudio.platform.jobs.celery_app",
            "mistudio.models.tasks"} <= names
    assert "not a module" not in names
    assert not any(ref.module == "mistudio.db" for ref in references("URL = 'mistudio.db'", "mistudio.config"))
    package_names = {ref.module for ref in references("from . import tables", "mistudio.models", is_package=True)}
    assert "mistudio.models.tables" in package_names


@pytest.mark.parametrize(("importer", "source"), [
    ("mistudio.platform.jobs.celery", "def f():\n    from mistudio.worker import make_celery\n"),
    ("mistudio.platform.jobs.registry", "MODULES = ['mistudio.models.tasks']\n"),
    ("mistudio.platform.runtime", "from mistudio.domains import register_domains\n"),
    ("mistudio.lens.model", "from mistudio.platform import storage\n"),
    ("mistudio.lens.hooks", "from mistudio.errors import InvalidInput\n"),
    ("mistudio.errors", "from mistudio.lens.hooks import Hooks\n"),
    ("mistudio.lens.hub", "import importlib\nimportlib.import_module('mistudio.models.service')\n"),
    ("mistudio.datasets.service", "from ..models.tables import Model\n"),
    ("mistudio.extraction.tasks", "from mistudio.datasets import tasks\n"),
    ("mistudio.models.service", "from mistudio.cli.common import console\n"),
    ("mistudio.templates.service", "from mistudio.cli_models import follow_job\n"),
    ("mistudio.errors", "from mistudio.platform.db import Base\n"),
    ("mistudio.cli.models", "from mistudio.models.tables import Model\n"),
    ("mistudio.api", "from mistudio.models import tasks\n"),
    ("mistudio.domains", "from mistudio.api import create_app\n"),
])
def test_checker_reports_a_forbidden_reference(importer: str, source: str) -> None:
    assert check(source, importer) != []


@pytest.mark.parametrize(("importer", "source"), [
    ("mistudio.datasets.tasks", "from mistudio.models.service import folder_bytes\n"),
    ("mistudio.templates.service", "from mistudio.extraction.schemas import HookType\n"),
    ("mistudio.models.tasks", "from .tables import Model\n"),
    ("mistudio.platform.jobs.process", "from mistudio.platform.jobs.registry import get_job_kind\n"),
    ("mistudio.lens.quantize", "from mistudio.lens.memory import estimate\nfrom mistudio.lens.errors import X\n"),
    ("mistudio.errors", "import mistudio.lens.errors as lens_errors\n"),
    ("mistudio.api", "from mistudio.models.routes import router\n"),
    ("mistudio.domains", "TASK_MODULES = ['mistudio.models.tasks']\n"),
])
def test_checker_allows_what_the_layers_allow(importer: str, source: str) -> None:
    assert check(source, importer) == []


# --- the rules, on the real source ---------------------------------------------------------------------------
def test_every_module_belongs_to_a_layer() -> None:
    """A new top-level module must be placed in a layer (and so under a rule) before it can land."""
    unknown = [name for name in all_modules() if layer_of(name) == "unknown"]
    assert unknown == [], f"add these to a layer in tests/test_architecture.py: {unknown}"


def test_the_faces_are_checked() -> None:
    names = all_modules()
    assert {"mistudio.api", "mistudio.worker"} <= set(names)
    assert any(is_face(name) and name.startswith("mistudio.cli") for name in names)


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_rules_hold(layer: str) -> None:
    assert violations(layer) == []
