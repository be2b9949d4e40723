"""What a clean install (the Docker image, CI's fresh venv) gets is what pyproject declares:
every third-party module the shipped packages import must come from a declared
distribution, in the base dependencies or an extra."""
import ast
import pathlib
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ("simulator", "harness", "loadtests", "scenarios")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Alternatives picked by an explicit option, not what a default install runs
# (SimulatorServer(server="waitress")).
OPT_IN = {"waitress"}


def _spec_name(spec: str) -> str:
    return _norm(re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0])


def _closure(names: set) -> set:
    """The distributions ``names`` bring along (their own requirements, without extras)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [_spec_name(r) for r in reqs if "extra ==" not in r]
    return seen


def _declared() -> tuple[set, set]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = _closure({_spec_name(s) for s in project["dependencies"]})
    extras = _closure({_spec_name(s) for specs in project.get("optional-dependencies", {}).values() for s in specs})
    return base, extras


def _imports(path: pathlib.Path):
    """(module, optional) for each absolute import; optional = guarded by `except ImportError`."""
    tree = ast.parse(path.read_text(), str(path))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                or isinstance(h.type, ast.Tuple) and any(getattr(e, "id", "") in ("ImportError", "ModuleNotFoundError")
                                                         for e in h.type.elts)
                for h in node.handlers):
            guarded.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], id(node) in guarded
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], id(node) in guarded


def _integration_extra(path: pathlib.Path) -> set:
    """``harness/integrations/<name>/`` is importable only where its extra ``<name>`` is
    installed (a team's test env), so it may import that extra's distributions unguarded."""
    parts = path.relative_to(ROOT).parts
    if parts[:2] != ("harness", "integrations") or len(parts) < 4:
        return set()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project.get("optional-dependencies", {}).get(parts[2])
    assert specs, "%s has no extra named %r in pyproject.toml" % (path.relative_to(ROOT), parts[2])
    return _closure({_spec_name(s) for s in specs})


def test_every_imported_distribution_is_declared():
    base, extras = _declared()
    dists = packages_distributions()
    own = set(SHIPPED) | {"tests"}
    missing = []
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            integration = _integration_extra(path)
            for module, optional in _imports(path):
                if module in own or module in sys.stdlib_module_names or module in OPT_IN:
                    continue
                names = {_norm(d) for d in dists.get(module, [module])}
                if names & base or (optional and names & extras) or names & integration:
                    continue
                if names & extras:
                    missing.append(f"{path.relative_to(ROOT)}: {module} is only in an extra but imported unguarded")
                elif not optional:
                    missing.append(f"{path.relative_to(ROOT)}: {module} ({', '.join(sorted(names))}) is not declared")
    assert not missing, "\n".join(missing)
