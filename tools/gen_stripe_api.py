"""Generate simulator/definitions/stripe_api.json from Stripe's own SDKs pinned to 2025-08-27.basil.

Run by hand (it downloads two registry packages into ``.cache/``):

    .venv/bin/python tools/gen_stripe_api.py            # write the data file
    .venv/bin/python tools/gen_stripe_api.py --check    # exit 1 when the committed file differs

Where each fact comes from:
- operations (method, path, path parameters, answer) and their parameters (names, nesting,
  types, enums, required): the Python SDK ``stripe==12.5.1``, generated from Stripe's OpenAPI
  spec. Its ``*_service.py`` files are read with ``ast`` (the path of each ``_request``) and
  the parameter TypedDicts are read at run time with ``typing``.
- resource fields (type, nullable, may-be-absent, expandable targets): the Node SDK
  ``stripe@18.5.0`` type definitions (``types/**/*.d.ts``), which keep nullable and optional
  apart (the Python SDK folds both into ``Optional``).
- fields that appear only when expanded (``line_items``, ``total_details.breakdown``): optional
  object/list fields that Stripe's example object (``simulator/objects/examples.json``, a copy
  of the OpenAPI fixtures) leaves out.
- id prefixes: the example objects' ids. Event types: the Python SDK's ``Event.type`` literal.
- ``later_params``: parameter names ``stripe==16.1.0`` sends that basil's types lack (read
  with ``ast`` only); Stripe takes new parameters whatever version a request pins.

The output records a hash of its inputs (the two packages and the examples) so the test
can tell a stale file from a changed generator.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import tarfile
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "simulator" / "definitions" / "stripe_api.json"
EXAMPLES = ROOT / "simulator" / "objects" / "examples.json"
PY_SPEC, NODE_SPEC = "stripe==12.5.1", "stripe@18.5.0"
# Parameters newer SDKs send that basil's definitions lack (Stripe's API takes new parameters
# whatever version a request pins): their names are accepted, unchecked.
LATER_SPEC = "stripe==16.1.0"
API_VERSION = "2025-08-27.basil"
CACHE = Path(os.environ.get("POSX_STRIPE_DEFS_DIR", ROOT / ".cache" / "stripe-defs"))


# ---------------------------------------------------------------------------- packages

def ensure_packages(cache: Path = CACHE) -> tuple[Path, Path, Path]:
    """(python sdk dir, node types dir, later python sdk dir), downloading them once."""
    py_dir, node_dir, later_dir = cache / "py-12.5.1", cache / "node-18.5.0", cache / "py-16.1.0"
    if not (later_dir / "stripe" / "params").exists():
        later_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", str(later_dir), LATER_SPEC], check=True, timeout=300)
    if not (py_dir / "stripe" / "_api_version.py").exists():
        py_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", str(py_dir), PY_SPEC], check=True, timeout=300)
    if not (node_dir / "package" / "types").exists():
        node_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", NODE_SPEC], cwd=node_dir, check=True, timeout=300,
                       capture_output=True)
        tgz = next(node_dir.glob("stripe-*.tgz"))
        with tarfile.open(tgz) as tf:
            tf.extractall(node_dir, filter="data")
    return py_dir, node_dir / "package" / "types", later_dir


def inputs_hash(py_dir: Path, types_dir: Path, later_dir: Path) -> str:
    h = hashlib.sha256()
    files = (sorted((py_dir / "stripe").rglob("*.py")) + sorted(types_dir.rglob("*.d.ts"))
             + sorted((later_dir / "stripe").rglob("*.py")) + [EXAMPLES])
    for f in files:
        base = next((d for d in (py_dir, types_dir, later_dir) if f.is_relative_to(d)), ROOT)
        h.update(str(f.relative_to(base)).encode())
        h.update(f.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:32]


# ---------------------------------------------------------------------------- operations

def _plural(noun: str) -> str:
    if noun.endswith("y") and not noun.endswith(("ay", "ey", "oy")):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    return noun + "s"


def _noun(rel: Path) -> str:
    """stripe/checkout/_session_line_item_service.py -> checkout_session_line_item."""
    parts = list(rel.parts[1:-1]) + [rel.name[1:-len("_service.py")]]
    return "_".join(parts)


def _path_of(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)):
        return node.func.value.value
    return None


def read_services(py_dir: Path) -> list[dict]:
    ops = []
    for file in sorted((py_dir / "stripe").rglob("_*_service.py")):
        rel = file.relative_to(py_dir)
        if rel.parts[1] == "v2":
            continue  # the v2 API is another protocol (JSON bodies); not simulated
        tree = ast.parse(file.read_text())
        module = ".".join(rel.with_suffix("").parts)
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef) or not cls.name.endswith("Service"):
                continue
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                    continue
                for call in ast.walk(fn):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "_request" and len(call.args) >= 2):
                        base = next((k.value.value for k in call.keywords if k.arg == "base_address"), "api")
                        path = _path_of(call.args[1])
                        if base != "api" or path is None:
                            continue
                        arg_names = [a.arg for a in fn.args.args[1:]]
                        params_ann = next((a.annotation for a in fn.args.args if a.arg == "params"), None)
                        params_t = None
                        if params_ann is not None:
                            params_t = (ast.literal_eval(params_ann) if isinstance(params_ann, ast.Constant)
                                        else ast.unparse(params_ann))
                        ops.append({"module": module, "service": cls.name, "method_name": fn.name,
                                    "http": call.args[0].value.upper(), "path": path,
                                    "path_args": [a for a in arg_names if a not in ("params", "options")],
                                    "params_type": params_t, "returns": ast.unparse(fn.returns),
                                    "noun": _noun(rel)})
    return ops


def action_name(op: dict) -> str:
    """list_customers, retrieve_customer, finalize_invoice (InvoiceService.finalize_invoice),
    list_checkout_session_line_items: the backend method that carries the behaviour."""
    noun = op["noun"]
    name = op["method_name"]
    if name in ("list", "search"):
        return "%s_%s" % (name, _plural(noun))
    last = noun.rsplit("_", 1)[-1]
    if name.endswith("_" + last):
        name = name[: -len(last) - 1]
    return "%s_%s" % (name, noun)


# ---------------------------------------------------------------------------- parameter types

class ParamTypes:
    """TypedDicts -> compact nodes. Scalars: "s" str, "i" int, "f" float, "b" bool, "*" any.
    {"e": [...]} enum, {"l": T} list, {"d": T} map of str, "m" metadata, {"u": [T...]} union,
    {"r": name} a named object (``types[name]`` = {field: [T, required]}); a node may carry
    "z": 1 when "" is accepted (Stripe: empty string unsets)."""

    def __init__(self):
        self.types: dict[str, dict] = {}

    def node(self, t, owner_module) -> object:
        origin = typing.get_origin(t)
        args = typing.get_args(t)
        if t is str:
            return "s"
        if t is int:
            return "i"
        if t is float:
            return "f"
        if t is bool:
            return "b"
        if t is typing.Any or t is object:
            return "*"
        if origin is typing.Literal or (origin is not None and getattr(origin, "__name__", "") == "Literal"):
            return {"e": list(args)}
        if origin in (list, typing.List):
            return {"l": self.node(args[0], owner_module)}
        if origin in (dict, typing.Dict):
            if args and args[1] is str:
                return "m"
            return {"d": self.node(args[1], owner_module) if args else "*"}
        if origin is typing.Union or type(t).__name__ == "UnionType":
            members = list(args)
            empty = False
            nodes = []
            for m in members:
                if typing.get_origin(m) is typing.Literal and typing.get_args(m) == ("",):
                    empty = True
                    continue
                if m is type(None):
                    empty = True
                    continue
                nodes.append(self.node(m, owner_module))
            out = nodes[0] if len(nodes) == 1 else {"u": nodes}
            if empty:
                out = dict(out) if isinstance(out, dict) else {"k": out}
                out["z"] = 1
            return out
        if isinstance(t, type) and hasattr(t, "__required_keys__"):
            # qualified by namespace: checkout's and billing_portal's SessionService differ
            space = [m for m in t.__module__.split(".")[1:] if not m.startswith("_")]
            name = ".".join(space + [t.__qualname__])
            if name not in self.types:
                self.types[name] = {}  # placeholder first: the types recurse
                hints = typing.get_type_hints(t, globalns=vars(sys.modules[t.__module__]))
                self.types[name] = {k: [self.node(v, t.__module__), 1 if k in t.__required_keys__ else 0]
                                    for k, v in sorted(hints.items())}
            return {"r": name}
        raise TypeError("unhandled parameter type %r" % (t,))


# ---------------------------------------------------------------------------- d.ts fields

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_OPEN = re.compile(r"(?:export\s+)?(?:declare\s+module\s+'[^']*'|namespace\s+([\w.]+)|interface\s+(\w+)(?:<[^>{]*>)?"
                   r"(?:\s+extends\s+[^{]+)?|class\s+\w+(?:\s+extends\s+[^{]+)?)\s*\{")
_TYPE = re.compile(r"(?:export\s+)?type\s+(\w+)(?:<[^>=]*>)?\s*=\s*")
_FIELD = re.compile(r"(readonly\s+)?(\w+|'[^']+')(\??)\s*:\s*")


def _read_until_semicolon(text: str, i: int) -> tuple[str, int]:
    depth, start = 0, i
    while i < len(text):
        c = text[i]
        if c in "<({[":
            depth += 1
        elif c in ">)}]":
            depth -= 1
        elif c == ";" and depth == 0:
            return text[start:i].strip(), i + 1
        elif c == "'":
            i = text.index("'", i + 1)
        i += 1
    return text[start:].strip(), i


def parse_dts(text: str, interfaces: dict, aliases: dict) -> None:
    text = _COMMENTS.sub("", text)
    stack: list[tuple[str, str]] = []  # (kind, name)
    i = 0
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "}":
            stack.pop()
            i += 1
            continue
        m = _OPEN.match(text, i)
        if m:
            ns, iface = m.group(1), m.group(2)
            if ns:
                stack.append(("ns", ns))
            elif iface:
                stack.append(("iface", iface))
            else:
                stack.append(("other", ""))
            i = m.end()
            continue
        scope = ".".join(name for kind, name in stack if kind in ("ns", "iface") and name != "Stripe")
        m = _TYPE.match(text, i)
        if m:
            body, i = _read_until_semicolon(text, m.end())
            aliases[(scope + "." if scope else "") + m.group(1)] = (scope, body)
            continue
        if stack and stack[-1][0] == "iface":
            m = _FIELD.match(text, i)
            if m:
                body, i = _read_until_semicolon(text, m.end())
                interfaces.setdefault(scope, []).append((m.group(2).strip("'"), m.group(3) == "?", body))
                continue
        # anything else (methods, imports, class members): skip the statement
        body, i = _read_until_semicolon(text, i)


def _split_top(s: str, sep: str = "|") -> list[str]:
    parts, depth, cur, i = [], 0, "", 0
    while i < len(s):
        c = s[i]
        if c == "'":
            j = s.index("'", i + 1)
            cur += s[i:j + 1]
            i = j + 1
            continue
        if c in "<({[":
            depth += 1
        elif c in ">)}]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    parts.append(cur.strip())
    return [p for p in parts if p]


class FieldTypes:
    """Node types -> compact field nodes: [type, nullable, optional]. Types: "s" "n" "b" "m" "*",
    {"e": [...]}, {"l": T}, {"L": object} (a list object), {"d": T}, {"t": interface},
    {"o": object} (an embedded resource), {"x": [objects]} (an id, expandable to those),
    {"u": [T...]}."""

    def __init__(self, interfaces: dict, aliases: dict):
        self.interfaces = interfaces
        self.aliases = aliases
        self.object_of: dict[str, str] = {}
        for name, fields in interfaces.items():
            for fname, _opt, body in fields:
                if fname == "object" and re.fullmatch(r"'[\w.]+'", body):
                    self.object_of.setdefault(name, body.strip("'"))

    def resolve(self, ref: str, scope: str):
        if ref.startswith("Stripe."):  # qualified: from the root only
            ref, scope = ref[len("Stripe."):], ""
        parts = scope.split(".") if scope else []
        for k in range(len(parts), -1, -1):
            cand = ".".join(parts[:k] + [ref])
            if cand in self.interfaces:
                return "iface", cand
            if cand in self.aliases:
                return "alias", cand
        return None, ref

    def objects_in(self, alt: str, scope: str) -> list[str]:
        kind, name = self.resolve(alt, scope)
        if kind == "iface" and name in self.object_of:
            return [self.object_of[name]]
        if kind == "alias":
            ascope, body = self.aliases[name]
            out = []
            for a in _split_top(body):
                out.extend(self.objects_in(a, ascope))
            return out
        return []

    def node(self, body: str, scope: str):
        alts = _split_top(body)
        nullable = "null" in alts
        alts = [a for a in alts if a != "null"]
        if "string" in alts and len(alts) > 1 and all(a == "string" or self.objects_in(a, scope) for a in alts):
            objs = []
            for a in alts:
                if a != "string":
                    objs.extend(self.objects_in(a, scope))
            return {"x": sorted(set(objs))}, nullable
        nodes = [self.one(a, scope) for a in alts]
        if all(isinstance(n, dict) and "e" in n for n in nodes) and len(nodes) > 1:
            return {"e": [v for n in nodes for v in n["e"]]}, nullable
        return (nodes[0] if len(nodes) == 1 else {"u": nodes}), nullable

    def one(self, alt: str, scope: str):
        if alt == "string":
            return "s"
        if alt == "number":
            return "n"
        if alt == "boolean":
            return "b"
        if alt in ("any", "unknown"):
            return "*"
        if alt in ("true", "false"):
            return {"e": [alt == "true"]}
        if alt.startswith("'"):
            return {"e": [alt.strip("'")]}
        if re.fullmatch(r"-?\d+", alt):
            return {"e": [int(alt)]}
        if alt == "Stripe.Metadata" or alt == "Metadata":
            return "m"
        m = re.fullmatch(r"Array<(.*)>", alt, re.S)
        if m:
            return {"l": self.node(m.group(1), scope)[0]}
        m = re.fullmatch(r"(?:Api|Stripe\.Api)(?:List|SearchResult)<(.*)>", alt, re.S)
        if m:
            objs = self.objects_in(m.group(1).strip(), scope)
            return {"L": objs[0] if objs else "*"}
        m = re.fullmatch(r"\{\s*\[\w+: string\]: (.*?);?\s*\}", alt, re.S)
        if m:
            return {"d": self.node(m.group(1), scope)[0]}
        if alt.startswith("{"):
            return "*"
        kind, name = self.resolve(alt, scope)
        if kind == "iface":
            if self.is_resource(name):
                return {"o": self.object_of[name]}
            return {"t": name}
        if kind == "alias":
            ascope, body = self.aliases[name]
            return self.node(body, ascope)[0]
        return "*"

    def is_resource(self, name: str) -> bool:
        """Customer and Checkout.Session are resources; Customer.InvoiceSettings is nested in one."""
        if name not in self.object_of:
            return False
        parts = name.split(".")
        return not any(".".join(parts[:k]) in self.interfaces for k in range(1, len(parts)))


def read_types(types_dir: Path):
    interfaces: dict = {}
    aliases: dict = {}
    for f in sorted(types_dir.rglob("*.d.ts")):
        rel = f.relative_to(types_dir)
        skip = ("V2", "lib.d.ts", "index.d.ts", "Errors.d.ts", "Webhooks.d.ts", "crypto", "net",
                "UpcomingInvoices.d.ts")
        if f.name.endswith("Resource.d.ts") or rel.parts[0] in skip:
            continue
        parse_dts(f.read_text(), interfaces, aliases)
    return interfaces, aliases


# ---------------------------------------------------------------------------- later parameters

def read_later_params(later_dir: Path) -> tuple[dict, dict]:
    """(action -> top-level params class, (namespace, class) -> {field: annotation}) of a newer SDK."""
    classes: dict = {}
    for f in sorted((later_dir / "stripe" / "params").rglob("_*_params.py")):
        space = ".".join(f.relative_to(later_dir / "stripe" / "params").parts[:-1])
        for cls in ast.parse(f.read_text()).body:
            if isinstance(cls, ast.ClassDef):
                classes[(space, cls.name)] = {
                    st.target.id: ast.unparse(st.annotation) for st in cls.body
                    if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)}
    actions = {}
    for op in read_services(later_dir):
        m = re.search(r"(\w+Params)\b", op["params_type"] or "")
        if m:
            rel_space = ".".join(op["module"].split(".")[1:-1])
            actions[action_name(op)] = (rel_space, m.group(1))
    return actions, classes


def later_fields(basil: dict, pt: "ParamTypes", actions: dict, classes: dict) -> dict:
    """basil params type -> [field names only a newer SDK sends], walking nested hashes too."""
    out: dict = {}

    def walk(type_name: str, key: tuple, seen: set):
        if (type_name, key) in seen or key not in classes or type_name not in pt.types:
            return
        seen.add((type_name, key))
        ours = pt.types[type_name]
        extra = sorted(set(classes[key]) - set(ours))
        if extra:
            out.setdefault(type_name, sorted(set(out.get(type_name, [])) | set(extra)))
        for field, ann in classes[key].items():
            node = ours.get(field, [None])[0]
            ref = _ref_of(node)
            m = re.search(r"[\"']?(\w+Params\w*)[\"']?", ann)
            if ref and m and (key[0], m.group(1)) in classes:
                walk(ref, (key[0], m.group(1)), seen)

    seen: set = set()
    for action, type_name in basil.items():
        if action in actions and type_name:
            walk(type_name, actions[action], seen)
    return out


def _ref_of(node):
    if isinstance(node, dict):
        if "r" in node:
            return node["r"]
        if "k" in node:
            return _ref_of(node["k"])
        if "l" in node:
            return _ref_of(node["l"])
        if "u" in node:
            refs = [r for r in (_ref_of(n) for n in node["u"]) if r]
            return refs[0] if refs else None
    return None


# ---------------------------------------------------------------------------- assembly

def build(py_dir: Path, types_dir: Path, later_dir: Path) -> dict:
    sys.path.insert(0, str(py_dir))
    for mod in [m for m in sys.modules if m == "stripe" or m.startswith("stripe.")]:
        del sys.modules[mod]
    stripe = importlib.import_module("stripe")
    assert stripe._api_version._ApiVersion.CURRENT == API_VERSION, stripe._api_version._ApiVersion.CURRENT

    examples = json.loads(EXAMPLES.read_text())["resources"]
    interfaces, aliases = read_types(types_dir)
    ft = FieldTypes(interfaces, aliases)

    # resources: object name -> fields
    resources: dict[str, dict] = {}
    types: dict[str, dict] = {}
    iface_for_object = {}
    for name, obj in ft.object_of.items():
        if not ft.is_resource(name) or name.startswith("V2"):
            continue
        if name.split(".")[-1].startswith("Deleted"):
            iface_for_object.setdefault("deleted:" + obj, name)
        else:
            iface_for_object.setdefault(obj, name)

    def describe(iface: str, example) -> dict:
        out = {}
        for fname, optional, body in interfaces[iface]:
            node, nullable = ft.node(body, iface)
            present = isinstance(example, dict) and fname in example
            includable = (optional and isinstance(example, dict) and not present
                          and isinstance(node, dict) and ("t" in node or "L" in node or "o" in node or "l" in node))
            if isinstance(node, dict) and "t" in node and node["t"] not in types:
                types[node["t"]] = {}
                sub = example.get(fname) if isinstance(example, dict) else None
                types[node["t"]] = describe(node["t"], sub if isinstance(sub, dict) else None)
            if isinstance(node, dict) and "l" in node and isinstance(node["l"], dict) and "t" in node["l"]:
                t = node["l"]["t"]
                if t not in types:
                    types[t] = {}
                    sub = example.get(fname) if isinstance(example, dict) else None
                    sub = sub[0] if isinstance(sub, list) and sub and isinstance(sub[0], dict) else None
                    types[t] = describe(t, sub)
            flags = (1 if nullable else 0) | (2 if optional else 0) | (4 if includable else 0)
            out[fname] = [node, flags]
        return out

    for obj, iface in sorted(iface_for_object.items()):
        ex = examples.get(obj.replace("deleted:", "deleted_"))
        entry = {"iface": iface, "fields": describe(iface, ex)}
        if isinstance(ex, dict) and isinstance(ex.get("id"), str) and "_" in ex["id"]:
            entry["prefix"] = ex["id"].split("_")[0] if not ex["id"].startswith(("cs_test_", "cs_live_")) else "cs_test"
        resources[obj] = entry

    # events: Event.type literal, grouped by the object they concern
    event_types = sorted(typing.get_args(typing.get_type_hints(stripe.Event)["type"]))
    prefix_alias = {"charge.dispute": "dispute", "customer.subscription": "subscription",
                    "customer.discount": "discount", "customer.source": "source", "customer.tax_id": "tax_id",
                    "customer_cash_balance_transaction": "customer_cash_balance_transaction",
                    "charge.refund": "refund", "issuing_authorization": "issuing.authorization",
                    "issuing_card": "issuing.card", "issuing_cardholder": "issuing.cardholder",
                    "issuing_dispute": "issuing.dispute", "issuing_transaction": "issuing.transaction",
                    "issuing_personalization_design": "issuing.personalization_design",
                    "issuing_token": "issuing.token", "treasury": "treasury"}
    for et in event_types:
        prefix = et.rsplit(".", 1)[0]
        obj = prefix_alias.get(prefix, prefix)
        if obj in resources:
            resources[obj].setdefault("events", []).append(et)

    # operations
    pt = ParamTypes()
    operations = []
    seen = set()
    for op in read_services(py_dir):
        action = action_name(op)
        if action in seen:
            raise SystemExit("two operations map to the action name %s" % action)
        seen.add(action)
        params_ref = None
        if op["params_type"]:
            module = importlib.import_module(op["module"])
            td = eval(op["params_type"], vars(module))  # "CustomerService.CreateParams" in its own module
            params_ref = pt.node(td, op["module"])["r"]
        ret = op["returns"]
        kind = "obj"
        m = re.fullmatch(r"(ListObject|SearchResultObject)\[(.*)\]", ret, re.S)
        cls_name = ret
        if m:
            kind = "list" if m.group(1) == "ListObject" else "search"
            cls_name = m.group(2).strip()
        cls_name = cls_name.strip("'\"")
        module = importlib.import_module(op["module"])
        cls = getattr(module, cls_name, None)
        answer = getattr(cls, "OBJECT_NAME", None) if cls is not None else None
        if answer is None:  # Union["Account", "BankAccount", "Card"]: the first member stands for all
            for name in re.findall(r"\b([A-Z]\w+)\b", cls_name):
                found = getattr(module, name, None) or getattr(stripe, name, None)
                if getattr(found, "OBJECT_NAME", None):
                    answer = found.OBJECT_NAME
                    break
        operations.append([op["http"], op["path"], action, kind, answer, params_ref])
    operations.sort(key=lambda o: (o[1], o[0], o[2]))
    actions16, classes16 = read_later_params(later_dir)
    later = later_fields({o[2]: o[5] for o in operations}, pt, actions16, classes16)
    return {"api_version": API_VERSION, "operations": operations, "params": pt.types, "later_params": later,
            "resources": resources, "types": types, "event_types": event_types}


def render(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file; exit 1 if it differs")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    try:
        py_dir, types_dir, later_dir = ensure_packages()
    except (OSError, subprocess.SubprocessError) as exc:  # no network, no npm: say so (exit 3)
        print("could not get the pinned SDKs (%s, %s, %s): %s" % (PY_SPEC, NODE_SPEC, LATER_SPEC, exc),
              file=sys.stderr)
        return 3
    data = build(py_dir, types_dir, later_dir)
    data["_source"] = ("generated by tools/gen_stripe_api.py from %s (operations, parameters) and %s "
                       "(resource fields), pinned to %s; do not edit" % (PY_SPEC, NODE_SPEC, API_VERSION))
    data["_inputs"] = inputs_hash(py_dir, types_dir, later_dir)
    text = render(data)
    out = Path(args.out)
    if args.check:
        current = out.read_text() if out.exists() else ""
        if current != text:
            print("%s is stale: re-run tools/gen_stripe_api.py" % out, file=sys.stderr)
            return 1
        print("up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("wrote %s: %d operations, %d resources, %d parameter types"
          % (out, len(data["operations"]), len(data["resources"]), len(data["params"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
