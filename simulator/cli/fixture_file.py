"""The Stripe CLI's fixture file format, read and run against the simulator's API.

Format facts (from the Stripe CLI's documentation and fixture files; the code is ours)::

    {"_meta": {"template_version": 0},
     "fixtures": [{"name": "pi", "path": "/v1/payment_intents", "method": "post",
                   "params": {"amount": 2000, "payment_method_types": ["card"]}},
                  {"name": "confirm", "path": "/v1/payment_intents/${pi:id}/confirm", "method": "post",
                   "params": {"payment_method": "pm_card_visa"}}],
     "env": {"PI_ID": "${pi:id}"}}

- ``${name:path}`` is a field of an earlier fixture's answer; the path is dotted and walks
  lists by index (``${list:data.0.id}``); ``${name:path|default}`` falls back to a default.
- ``${.env:VAR}`` is an environment variable, else a ``VAR=`` line of ``./.env``.
- ``params`` are sent form-encoded with Stripe's brackets (``metadata[k]``, ``items[0][price]``,
  ``payment_method_types[]``); booleans as ``true``/``false``.
- optional per fixture: ``expected_error_type`` (an error of that type is not a failure),
  ``idempotency_key``, ``headers``; ``env`` at the top writes answers into an existing ``./.env``.
- ``_meta.template_version`` above 0 is refused, as the Stripe CLI does.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Optional

SUPPORTED_TEMPLATE_VERSION = 0
QUERY = re.compile(r"\$\{([^|}:]+):([^|}]+)(?:\|([^}]*))?\}")
METHODS = ("get", "post", "delete")


class FixtureError(ValueError):
    """A problem with the file or one of its fixtures; the message names which."""


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise FixtureError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise FixtureError("%s is not valid JSON: %s" % (path, exc)) from None
    return check(data, path)


def check(data: Any, where: str = "the fixture file") -> dict:
    if not isinstance(data, dict):
        raise FixtureError("%s must be a JSON object with _meta and fixtures" % where)
    meta = data.get("_meta") or {}
    if not isinstance(meta, dict):
        raise FixtureError("_meta must be an object such as {\"template_version\": 0}")
    version = meta.get("template_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version > SUPPORTED_TEMPLATE_VERSION:
        raise FixtureError("fixture template_version %r is not supported (only %d)" % (version, SUPPORTED_TEMPLATE_VERSION))
    fixtures = data.get("fixtures")
    if not isinstance(fixtures, list) or not fixtures:
        raise FixtureError("fixtures must be a non-empty list of {name, path, method, params}")
    names = set()
    for i, fx in enumerate(fixtures):
        label = "fixtures[%d]" % i
        if not isinstance(fx, dict):
            raise FixtureError("%s must be an object" % label)
        name = fx.get("name")
        if not isinstance(name, str) or not name:
            raise FixtureError("%s needs a name" % label)
        label = "fixture %r" % name
        if name in names:
            raise FixtureError("%s: the name is used twice (answers are looked up by name)" % label)
        names.add(name)
        if not isinstance(fx.get("path"), str) or not fx["path"].startswith("/"):
            raise FixtureError("%s: path must be an API path such as /v1/payment_intents" % label)
        method = fx.get("method", "post")
        if not isinstance(method, str) or method.lower() not in METHODS:
            raise FixtureError("%s: method must be get, post or delete, got %r" % (label, method))
        if fx.get("params") is not None and not isinstance(fx["params"], dict):
            raise FixtureError("%s: params must be an object" % label)
    env = data.get("env")
    if env is not None and not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        raise FixtureError("env must map variable names to strings such as \"${pi:id}\"")
    return data


def walk(obj: Any, path: str) -> Any:
    """``data.0.id`` through dicts and lists; None when anything is missing."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.lstrip("-").isdigit():
            i = int(part)
            obj = obj[i] if -len(obj) <= i < len(obj) else None
        else:
            return None
        if obj is None:
            return None
    return obj


def read_dotenv(path: str = ".env") -> dict:
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                key = key.strip()
                if key.startswith("export "):
                    key = key[7:].strip()
                out[key] = value.strip().strip("'\"")
    except OSError:
        pass
    return out


class Resolver:
    def __init__(self, env: Optional[dict] = None, dotenv: Optional[Callable[[], dict]] = None):
        self.answers: dict[str, Any] = {}
        self.env = os.environ if env is None else env
        self._dotenv = dotenv or read_dotenv
        self._dotenv_cache: Optional[dict] = None

    def _lookup(self, name: str, path: str, default: Optional[str], where: str) -> str:
        if name == ".env":
            value = self.env.get(path)
            if not value:
                if self._dotenv_cache is None:
                    self._dotenv_cache = self._dotenv()
                value = self._dotenv_cache.get(path)
            if value:
                return value
            if default is not None:
                return default
            raise FixtureError("%s: ${.env:%s} is not set (neither in the environment nor in ./.env)" % (where, path))
        if name not in self.answers:
            if default is not None:
                return default
            known = ", ".join(self.answers) or "none yet"
            raise FixtureError("%s: ${%s:%s} refers to fixture %r, which has not run (answers so far: %s)"
                               % (where, name, path, name, known))
        value = walk(self.answers[name], path)
        if value is None:
            if default is not None:
                return default
            raise FixtureError("%s: ${%s:%s} is not in %r's answer" % (where, name, path, name))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise FixtureError("%s: ${%s:%s} is an object, not a value" % (where, name, path))
        return str(value)

    def text(self, value: str, where: str) -> str:
        return QUERY.sub(lambda m: self._lookup(m.group(1), m.group(2), m.group(3), where), value)


def scalar(value: Any, resolver: Resolver, where: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return resolver.text(value, where)
    raise FixtureError("%s: cannot send %r as a form value" % (where, value))


def form_pairs(params: Optional[dict], resolver: Resolver, where: str) -> list[tuple[str, str]]:
    """Stripe's bracket encoding of a params object (None values are left out)."""
    out: list[tuple[str, str]] = []

    def emit(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                emit("%s[%s]" % (key, k), v)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                for v in value:
                    s = scalar(v, resolver, where)
                    if s is not None:
                        out.append(("%s[]" % key, s))
            else:
                for i, v in enumerate(value):
                    emit("%s[%d]" % (key, i), v)
        else:
            s = scalar(value, resolver, where)
            if s is not None:
                out.append((key, s))

    for k, v in (params or {}).items():
        emit(k, v)
    return out


def update_dotenv(env_map: dict, resolver: Resolver, path: str = ".env") -> list[str]:
    """The Stripe CLI writes ``env`` into ./.env only when that file exists; so do we."""
    if not env_map or not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    values = {k: resolver.text(v, "env %s" % k) for k, v in env_map.items()}
    done = set()
    for i, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if key in values:
            lines[i] = "%s=%s" % (key, values[key])
            done.add(key)
    lines += ["%s=%s" % (k, v) for k, v in values.items() if k not in done]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return sorted(values)
