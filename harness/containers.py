"""Run the scenario suite against a POSX backend shipped as a container image.

``posx-harness run --target-image IMAGE`` starts IMAGE through the Docker SDK with the
simulator's Stripe API base and webhook secret in its environment (the names the POSX
guide uses), waits until it answers HTTP, hands its URL to the suite, and removes the
container whatever happens. The SDK is the optional ``containers`` extra; without it, or
without a reachable engine, the error says which.

Networking: on Linux the default is the host network, so the container reaches the
in-process simulator on 127.0.0.1 and the harness reaches the container on 127.0.0.1 too,
with nothing exposed beyond loopback. ``--target-network bridge`` (Docker Desktop) publishes
the target's port on 127.0.0.1 and points the container at ``host.docker.internal``;
the simulator must then listen where the container can reach it (``--posx-sim-host``).
"""
from __future__ import annotations

import argparse
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

LABEL = "posx-harness.role"
NETWORKS = ("host", "bridge")
DEFAULT_PORT = 8000
DEFAULT_PROBE = "/api/v1/orders/"
# Test-mode keys the guide's settings expect; the simulator accepts any sk_test_ key.
DEFAULT_SECRET_KEY = "sk_test_posx_harness"
DEFAULT_PUBLISHABLE_KEY = "pk_test_posx_harness"


class ContainerError(RuntimeError):
    """The target container could not be started or never answered; the message says why."""


class SpecError(ContainerError):
    """A --target-* option has a value that cannot work (a usage error, exit 2)."""


class EngineUnavailable(ContainerError):
    """No Docker SDK, or no Docker engine answering; the message says which."""


def docker_client(factory: Optional[Callable[[], Any]] = None) -> Any:
    """A connected Docker SDK client, or EngineUnavailable naming what is missing."""
    if factory is None:
        try:
            import docker  # optional: pip install 'posx-harness[containers]'
        except ImportError:
            raise EngineUnavailable("the Docker SDK is not installed: pip install 'posx-harness[containers]'") from None
        factory = docker.from_env
    try:
        client = factory()
        client.ping()
    except Exception as exc:  # the SDK raises DockerException subclasses and raw socket errors
        raise EngineUnavailable(f"no Docker engine reachable ({type(exc).__name__}: {exc})") from None
    return client


def engine_unavailable_reason() -> Optional[str]:
    """None when a Docker engine answers, else the reason (for skips and `doctor`-like output)."""
    try:
        docker_client().close()
    except EngineUnavailable as exc:
        return str(exc)
    return None


def parse_env_pairs(pairs: Sequence[str]) -> Dict[str, str]:
    env: Dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise SpecError(f"--target-env wants NAME=VALUE with a valid variable name, got {pair!r}")
        env[name] = value
    return env


@dataclass
class TargetSpec:
    image: str
    port: int = DEFAULT_PORT
    network: str = "host"
    env: Dict[str, str] = field(default_factory=dict)
    probe_path: str = DEFAULT_PROBE
    start_timeout: float = 60.0
    name: Optional[str] = None
    command: Optional[Sequence[str]] = None  # None: the image's own CMD

    def __post_init__(self) -> None:
        if not self.image or self.image != self.image.strip():
            raise SpecError(f"the target image name is empty or has spaces: {self.image!r}")
        if self.network not in NETWORKS:
            raise SpecError(f"--target-network must be one of {', '.join(NETWORKS)}, got {self.network!r}")
        if not 0 < self.port < 65536:
            raise SpecError(f"--target-port must be 1-65535, got {self.port}")
        if self.start_timeout <= 0:
            raise SpecError(f"--target-start-timeout must be positive, got {self.start_timeout}")
        if not self.probe_path.startswith("/"):
            raise SpecError(f"the probe path must start with '/', got {self.probe_path!r}")


def container_api_base(api_base: str, network: str) -> str:
    """The simulator's URL as seen from inside the container."""
    if network == "host":
        return api_base
    parts = urllib.parse.urlsplit(api_base)
    if parts.hostname in ("127.0.0.1", "localhost", "0.0.0.0", "::1"):
        netloc = "host.docker.internal" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return api_base


def target_environment(api_base: str, webhook_secret: str, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment of the POSX container: the guide's variable names, plus the base URL."""
    env = {
        "STRIPE_API_BASE": api_base,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": DEFAULT_PUBLISHABLE_KEY,
        "MOCK_STRIPE": "false",
    }
    env.update(extra or {})
    return env


def answers(url: str, timeout: float = 2.0) -> bool:
    """True if ``url`` gives any HTTP answer below 500 (401/404/405 all mean "up")."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class RunningTarget:
    container: Any
    url: str

    def logs_tail(self, lines: int = 30) -> str:
        return _logs_tail(self.container, lines)


def _logs_tail(container: Any, lines: int = 30) -> str:
    try:
        raw = container.logs(tail=lines)
    except Exception as exc:
        return f"(logs unavailable: {exc})"
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _published_url(container: Any, port: int) -> Optional[str]:
    bindings = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in bindings.get(f"{port}/tcp") or ():
        if binding.get("HostPort"):
            return f"http://127.0.0.1:{binding['HostPort']}"
    return None


@contextmanager
def running_target(spec: TargetSpec, api_base: str, webhook_secret: str, client: Any = None,
                   poll_interval: float = 0.2, log: Callable[[str], None] = lambda _m: None) -> Iterator[RunningTarget]:
    """Start ``spec.image``, wait until it answers, yield it, and always remove it."""
    client = client if client is not None else docker_client()
    env = target_environment(container_api_base(api_base, spec.network), webhook_secret, spec.env)
    kwargs: Dict[str, Any] = dict(detach=True, environment=env, labels={LABEL: "target"}, name=spec.name)
    if spec.command is not None:
        kwargs["command"] = list(spec.command)
    if spec.network == "host":
        kwargs["network_mode"] = "host"
    else:
        kwargs["ports"] = {f"{spec.port}/tcp": ("127.0.0.1", None)}
        kwargs["extra_hosts"] = {"host.docker.internal": "host-gateway"}
    log(f"starting {spec.image} ({spec.network} network)")
    try:
        container = client.containers.run(spec.image, **kwargs)
    except Exception as exc:
        raise ContainerError(f"could not start {spec.image}: {type(exc).__name__}: {exc}") from None
    try:
        url = _wait_until_answers(container, spec, poll_interval)
        log(f"{spec.image} answers at {url}")
        yield RunningTarget(container, url)
    finally:
        try:
            container.remove(force=True)
        except Exception as exc:  # already gone is fine; anything else is worth a line
            if type(exc).__name__ != "NotFound":
                log(f"could not remove container {getattr(container, 'id', '?')}: {exc}")


def _wait_until_answers(container: Any, spec: TargetSpec, poll_interval: float) -> str:
    deadline = time.monotonic() + spec.start_timeout
    url = f"http://127.0.0.1:{spec.port}" if spec.network == "host" else None
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            raise ContainerError(f"{spec.image} stopped before it answered (status {container.status}); "
                                 f"last log lines:\n{_logs_tail(container)}")
        if url is None:
            url = _published_url(container, spec.port)
        if url is not None and answers(url + spec.probe_path):
            return url
        if time.monotonic() >= deadline:
            raise ContainerError(f"{spec.image} did not answer on {url or 'its published port'}{spec.probe_path} "
                                 f"within {spec.start_timeout:g} s; last log lines:\n{_logs_tail(container)}")
        time.sleep(poll_interval)  # polling interval between probes, bounded by the deadline above


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--target-image`` family of options, added to ``posx-harness run``."""
    g = parser.add_argument_group("container target (needs a Docker engine and the 'containers' extra)")
    g.add_argument("--target-image", metavar="IMAGE",
                   help="start this POSX backend image, run the suite against it, then remove it")
    g.add_argument("--target-port", type=int, default=DEFAULT_PORT, metavar="PORT",
                   help="port the image's HTTP server listens on (default %(default)s)")
    g.add_argument("--target-network", choices=NETWORKS, default="host",
                   help="host (Linux; default) or bridge (Docker Desktop: publishes the port on 127.0.0.1)")
    g.add_argument("--target-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the container (repeatable), e.g. DATABASE_URL=...")
    g.add_argument("--target-start-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the container to answer (default %(default)s)")


def spec_from_args(args: argparse.Namespace) -> TargetSpec:
    return TargetSpec(image=args.target_image, port=args.target_port, network=args.target_network,
                      env=parse_env_pairs(args.target_env), start_timeout=args.target_start_timeout)


def run_with_image(args: argparse.Namespace, api_base: str, webhook_secret: str,
                   run_suite: Callable[[str], int], client: Any = None) -> int:
    """Start the image from ``args``, call ``run_suite(target_url)``, return its exit code.

    A bad --target-* value exits 2 (usage); container problems exit 3 (distinct from a
    failing suite); each with one line on stderr.
    """
    try:
        spec = spec_from_args(args)
    except SpecError as exc:
        print(f"posx-harness run: {exc}", file=sys.stderr)
        return 2
    try:
        with running_target(spec, api_base, webhook_secret, client=client,
                            log=lambda m: print(f"posx-harness: {m}", file=sys.stderr)) as target:
            return run_suite(target.url)
    except ContainerError as exc:
        print(f"posx-harness: --target-image: {exc}", file=sys.stderr)
        return 3


def ensure_webhook_endpoint(api_base: str, url: str, secret_file: str, api_key: str = DEFAULT_SECRET_KEY,
                            events: Sequence[str] = ("*",), session: Any = None) -> str:
    """Register ``url`` as a webhook endpoint on the simulator (Stripe's own API call) and keep
    its signing secret in ``secret_file`` for the services that verify or sign with it.

    Idempotent across restarts: when the file holds a secret and the simulator still has an
    endpoint for ``url`` (a state file keeps it), nothing is created.
    """
    import os

    import requests

    http = session or requests.Session()
    auth = {"Authorization": f"Bearer {api_key}"}
    base = api_base.rstrip("/")
    if os.path.exists(secret_file):
        with open(secret_file, encoding="utf-8") as fh:
            kept = fh.read().strip()
        listed = http.get(f"{base}/v1/webhook_endpoints", params={"limit": 100}, headers=auth, timeout=10)
        listed.raise_for_status()
        if kept and any(e.get("url") == url for e in listed.json().get("data", [])):
            return kept
    form = [("url", url)] + [("enabled_events[]", e) for e in events]
    created = http.post(f"{base}/v1/webhook_endpoints", data=form, headers=auth, timeout=10)
    if created.status_code != 200:
        raise ContainerError(f"the simulator refused the webhook endpoint ({created.status_code}): {created.text[:300]}")
    secret = created.json()["secret"]
    tmp = secret_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(secret)
    os.replace(tmp, secret_file)  # readers never see half a secret
    return secret


USAGE = """usage: python -m harness.containers probe URL
       python -m harness.containers endpoint API_BASE WEBHOOK_URL SECRET_FILE"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Small helpers for compose.yaml: ``probe`` is the healthcheck (exit 0 if the URL
    answers); ``endpoint`` registers the receiver on the simulator and writes its secret."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2 and argv[0] == "probe":
        return 0 if answers(argv[1]) else 1
    if len(argv) == 4 and argv[0] == "endpoint":
        try:
            ensure_webhook_endpoint(argv[1], argv[2], argv[3])
        except (ContainerError, OSError, ValueError) as exc:  # requests' errors are OSError/ValueError
            print(f"harness.containers endpoint: {exc}", file=sys.stderr)
            return 1
        print(f"webhook endpoint for {argv[2]} ready; its secret is in {argv[3]}")
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
