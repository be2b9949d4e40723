"""compose.yaml, the Dockerfile and .dockerignore, checked without a Docker engine.

The wiring (who talks to whom, on which port, with which secret) and every command line are
checked against the real CLIs; `docker compose config` runs too where the client has it.
"""
import pathlib
import shlex
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml

from tests.containers.clis import commands_in, parse_error

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def _command(service) -> list:
    cmd = service["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def _script(service) -> str:
    """The shell text the container runs, after compose's own `$$` -> `$` interpolation."""
    cmd = _command(service)
    return (cmd[2] if cmd[:2] == ["sh", "-c"] else shlex.join(cmd)).replace("$$", "$")


def _opt(args, name):
    return args[args.index(name) + 1]


def _only(found, program):
    hits = [args for prog, args in found if prog == program]
    assert len(hits) == 1, found
    return hits[0]


def test_services_and_images(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "simulator", "setup", "receiver", "locust-master", "locust-worker"}
    for name, svc in services.items():
        if name != "postgres":
            assert svc["build"] == "." and svc["image"] == "posx-harness:local", name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["locust-worker"]["deploy"]["replicas"] >= 2


def test_every_command_is_accepted_by_our_clis(compose):
    checked = 0
    for name, svc in compose["services"].items():
        if "command" not in svc:
            continue
        for program, args in commands_in(_script(svc)):
            err = parse_error(program, args)
            assert err is None, (name, program, args, err)
            checked += 1
    assert checked == 4  # serve, receiver, locust master and worker


def test_wiring_between_services(compose):
    s = compose["services"]
    serve = _only(commands_in(_script(s["simulator"])), "stripe-sim")
    assert serve[0] == "serve" and _opt(serve, "--host") == "0.0.0.0"
    sim_port = int(_opt(serve, "--port"))
    receiver = _only(commands_in(_script(s["receiver"])), "posx-harness")
    assert receiver[0] == "receiver" and _opt(receiver, "--host") == "0.0.0.0"
    rcv_port = int(_opt(receiver, "--port"))

    env = s["receiver"]["environment"]
    api = urlsplit(env["STRIPE_API_BASE"])
    assert (api.hostname, api.port) == ("simulator", sim_port)
    db = urlsplit(env["DATABASE_URL"])
    pg = s["postgres"]["environment"]
    assert db.scheme.startswith("postgresql") and db.hostname == "postgres"
    assert (db.username, db.password, db.path.lstrip("/")) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
    assert env["STRIPE_SECRET_KEY"].startswith("sk_test_")

    # setup registers the receiver's webhook on the simulator and keeps the secret in a file
    setup = _command(s["setup"])
    assert setup[:4] == ["python", "-m", "harness.containers", "endpoint"]
    sim_base, hook, secret_file = setup[4:]
    assert urlsplit(sim_base).hostname == "simulator" and urlsplit(sim_base).port == sim_port
    hook = urlsplit(hook)
    assert (hook.hostname, hook.port, hook.path) == ("receiver", rcv_port, "/api/v1/webhooks/stripe/")
    # ... which the receiver verifies with and Locust signs with
    assert f'STRIPE_WEBHOOK_SECRET="$(cat {secret_file})"' in _script(s["receiver"])
    for name in ("locust-master", "locust-worker"):
        assert f'LOCUST_WEBHOOK_SECRET="$(cat {secret_file})"' in _script(s[name])
    volume = secret_file.rsplit("/", 1)[0]
    for name in ("setup", "receiver", "locust-master", "locust-worker"):
        assert any(v.split(":")[1] == volume for v in s[name]["volumes"]), name

    master = _only(commands_in(_script(s["locust-master"])), "locust")
    worker = _only(commands_in(_script(s["locust-worker"])), "locust")
    assert "--master" in master and "--worker" in worker
    assert urlsplit(_opt(master, "--host")).hostname == "receiver"
    assert urlsplit(_opt(master, "--host")).port == rcv_port
    assert _opt(worker, "--master-host") == "locust-master"
    assert int(_opt(master, "--expect-workers")) == s["locust-worker"]["deploy"]["replicas"]
    for args in (master, worker):
        locustfile = _opt(args, "-f")
        assert locustfile.startswith("/app/") and (ROOT / locustfile[len("/app/"):]).is_file(), locustfile


def test_published_ports_are_loopback_and_match_the_commands(compose):
    s = compose["services"]
    expected = {"simulator": 12111, "receiver": 8000, "locust-master": 8089}
    for name, svc in s.items():
        for mapping in svc.get("ports", []):
            host_ip, host_port, container_port = mapping.split(":")
            assert host_ip == "127.0.0.1", (name, mapping)
            assert int(container_port) == expected[name], (name, mapping)
    assert int(_opt(_only(commands_in(_script(s["simulator"])), "stripe-sim"), "--port")) == 12111
    assert int(_opt(_only(commands_in(_script(s["receiver"])), "posx-harness"), "--port")) == 8000


def test_depends_on_waits_for_health_and_healthchecks_exist(compose):
    s = compose["services"]
    want = {
        "setup": {"simulator": "service_healthy"},
        "receiver": {"postgres": "service_healthy", "simulator": "service_healthy",
                     "setup": "service_completed_successfully"},
        "locust-master": {"receiver": "service_healthy"},
        "locust-worker": {"locust-master": "service_healthy"},
    }
    for name, deps in want.items():
        assert {k: v["condition"] for k, v in s[name]["depends_on"].items()} == deps, name
        for dep, cond in deps.items():
            if cond == "service_healthy":
                assert "healthcheck" in s[dep], dep
    for name in ("simulator", "receiver", "locust-master"):
        test = s[name]["healthcheck"]["test"]
        assert test[:5] == ["CMD", "python", "-m", "harness.containers", "probe"], name
        port = urlsplit(test[5]).port
        assert port == {"simulator": 12111, "receiver": 8000, "locust-master": 8089}[name]


def test_dockerfile():
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    text = "\n".join(lines)
    assert lines[0] == "FROM python:3.11-slim"
    for copy in [ln for ln in lines if ln.startswith("COPY ")]:
        for src in copy.split()[1:-1]:
            assert (ROOT / src).exists(), src
    for package in ("simulator", "harness", "scenarios", "loadtests"):
        assert f"COPY {package} ./{package}" in text
    assert 'pip install ".[postgres]"' in text
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] != "USER root"
    assert "/data /shared" in text  # the volumes compose mounts are owned by that user
    cmd = [ln for ln in lines if ln.startswith("CMD ")][-1]
    assert cmd.startswith('CMD ["stripe-sim", "serve", "--host", "0.0.0.0"')


def test_dockerignore_keeps_local_state_out_but_not_the_sources():
    patterns = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv", "**/__pycache__", ".env", "reports"} <= patterns
    assert not patterns & {"README.md", "pyproject.toml", "simulator", "harness", "scenarios", "loadtests"}


def _compose_cli():
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.skipif(_compose_cli() is None, reason="no `docker compose` plugin or docker-compose binary on this machine")
def test_docker_compose_config_accepts_the_file():
    result = subprocess.run(_compose_cli() + ["-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
