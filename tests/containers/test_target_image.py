"""``--target-image`` logic against a fake Docker client whose container is a real HTTP server.

The fake stands in for the engine only; the waiting, the probing over real HTTP, the
environment handed to the container and the clean-up are the real code. A test against a
real engine follows, skipped with the reason where none is reachable.
"""
import argparse
import http.server
import threading

import pytest

from harness import containers


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the POSX order API answers 401 without a token: that means "up"
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args):
        pass


class FakeContainer:
    def __init__(self, port, answer_after, exit_after=None):
        self.id = "c0ffee"
        self.port = port
        self.answer_after = answer_after
        self.exit_after = exit_after
        self.reloads = 0
        self.status = "created"
        self.removed = False
        self.server = None
        self.attrs = {"NetworkSettings": {"Ports": {}}}

    def reload(self):
        self.reloads += 1
        self.status = "running"
        if self.exit_after is not None and self.reloads >= self.exit_after:
            self.status = "exited"
        elif self.answer_after is not None and self.reloads >= self.answer_after and self.server is None:
            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.attrs["NetworkSettings"]["Ports"] = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(self.port)}]}

    def logs(self, tail=30):
        return b"Traceback: DATABASE_URL is not set\n"

    def remove(self, force=False):
        assert force
        self.removed = True
        if self.server:
            self.server.shutdown()
            self.server.server_close()


class FakeClient:
    def __init__(self, container):
        self.container = container
        self.runs = []
        self.containers = self

    def run(self, image, **kwargs):
        self.runs.append((image, kwargs))
        return self.container


def _spec(port, **kw):
    kw.setdefault("start_timeout", 10)
    return containers.TargetSpec(image="posx/backend:candidate", port=port, **kw)


def test_host_network_env_wiring_wait_and_removal():
    port = containers.free_port()
    box = FakeContainer(port, answer_after=3)
    client = FakeClient(box)
    spec = _spec(port, env={"DATABASE_URL": "postgresql://db/posx"})
    with containers.running_target(spec, "http://127.0.0.1:41234", "whsec_abc", client=client, poll_interval=0.01) as target:
        assert target.url == f"http://127.0.0.1:{port}"
        assert containers.answers(target.url + "/api/v1/orders/")
        assert not box.removed
    assert box.removed
    assert box.reloads == 3  # it kept probing until the server came up, and no longer
    image, kwargs = client.runs[0]
    assert "command" not in kwargs  # the image's own CMD
    assert image == "posx/backend:candidate"
    assert kwargs["network_mode"] == "host" and kwargs["detach"] is True
    env = kwargs["environment"]
    assert env["STRIPE_API_BASE"] == "http://127.0.0.1:41234"
    assert env["STRIPE_WEBHOOK_SECRET"] == "whsec_abc"
    assert env["STRIPE_SECRET_KEY"].startswith("sk_test_")
    assert env["DATABASE_URL"] == "postgresql://db/posx"


def test_bridge_network_publishes_on_loopback_and_rewrites_api_base():
    port = containers.free_port()
    box = FakeContainer(port, answer_after=2)
    client = FakeClient(box)
    with containers.running_target(_spec(8000, network="bridge"), "http://127.0.0.1:41234", "whsec_abc",
                                   client=client, poll_interval=0.01) as target:
        assert target.url == f"http://127.0.0.1:{port}"
    _, kwargs = client.runs[0]
    assert kwargs["ports"] == {"8000/tcp": ("127.0.0.1", None)}
    assert kwargs["extra_hosts"] == {"host.docker.internal": "host-gateway"}
    assert kwargs["environment"]["STRIPE_API_BASE"] == "http://host.docker.internal:41234"
    assert box.removed


def test_container_that_exits_is_reported_with_its_logs_and_removed():
    box = FakeContainer(containers.free_port(), answer_after=None, exit_after=2)
    with pytest.raises(containers.ContainerError, match="(?s)stopped before it answered.*DATABASE_URL is not set"):
        with containers.running_target(_spec(box.port), "http://127.0.0.1:1", "whsec_abc",
                                       client=FakeClient(box), poll_interval=0.01):
            pytest.fail("must not yield")
    assert box.removed


def test_container_that_never_answers_times_out_and_is_removed():
    box = FakeContainer(containers.free_port(), answer_after=None)
    with pytest.raises(containers.ContainerError, match=r"did not answer on http://127.0.0.1:\d+/api/v1/orders/ within 0.3 s"):
        with containers.running_target(_spec(box.port, start_timeout=0.3), "http://127.0.0.1:1", "whsec_abc",
                                       client=FakeClient(box), poll_interval=0.02):
            pass
    assert box.removed and box.reloads >= 2


def test_run_with_image_returns_the_suite_exit_code_and_3_on_container_errors(capsys):
    parser = argparse.ArgumentParser()
    containers.add_arguments(parser)
    port = containers.free_port()
    args = parser.parse_args(["--target-image", "posx/backend:1", "--target-port", str(port),
                              "--target-env", "POSX_API_TOKEN=t0k", "--target-start-timeout", "10"])
    box = FakeContainer(port, answer_after=1)
    seen = []
    code = containers.run_with_image(args, "http://127.0.0.1:9", "whsec_x", lambda url: seen.append(url) or 1,
                                     client=FakeClient(box))
    assert code == 1 and seen == [f"http://127.0.0.1:{port}"] and box.removed

    dead = FakeContainer(port, answer_after=None, exit_after=1)
    assert containers.run_with_image(args, "http://127.0.0.1:9", "whsec_x", lambda url: 0, client=FakeClient(dead)) == 3
    assert "--target-image: posx/backend:1 stopped before it answered" in capsys.readouterr().err


@pytest.mark.parametrize("bad, message", [
    (dict(image=" img"), "empty or has spaces"),
    (dict(image="img", network="overlay"), "--target-network must be one of host, bridge"),
    (dict(image="img", port=0), "--target-port must be 1-65535"),
    (dict(image="img", start_timeout=0), "--target-start-timeout must be positive"),
])
def test_bad_specs_name_the_problem(bad, message):
    with pytest.raises(containers.ContainerError, match=message):
        containers.TargetSpec(**bad)


def test_bad_env_pairs_name_the_pair():
    assert containers.parse_env_pairs(["A=1", "B_2=x=y"]) == {"A": "1", "B_2": "x=y"}
    for bad in ("NOEQUALS", "=v", "1A=v", "A-B=v"):
        with pytest.raises(containers.ContainerError, match=repr(bad).replace("(", r"\(")):
            containers.parse_env_pairs([bad])


def test_engine_unavailable_is_reported_not_raised_elsewhere():
    def broken():
        raise ConnectionRefusedError("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
    with pytest.raises(containers.EngineUnavailable, match="no Docker engine reachable.*docker.sock"):
        containers.docker_client(broken)


def test_probe_command_exit_codes():
    port = containers.free_port()
    assert containers.main(["probe", f"http://127.0.0.1:{port}/"]) == 1  # nothing listens
    assert containers.main(["nonsense"]) == 2


_REASON = containers.engine_unavailable_reason()


@pytest.mark.docker
@pytest.mark.skipif(_REASON is not None, reason=f"needs a Docker engine: {_REASON}")
def test_real_engine_runs_and_removes_a_container():
    # The python base image the project's Dockerfile uses anyway; its http.server answers 200.
    import docker
    client = docker.from_env()
    port = containers.free_port()
    spec = containers.TargetSpec(image="python:3.11-slim", port=port, probe_path="/", start_timeout=60,
                                 command=["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    client.images.pull("python", tag="3.11-slim")
    with containers.running_target(spec, "http://127.0.0.1:1", "whsec_x", client=client) as target:
        cid = target.container.id
        assert containers.answers(target.url + "/")
        env = target.container.attrs["Config"]["Env"]
        assert "STRIPE_API_BASE=http://127.0.0.1:1" in env and "STRIPE_WEBHOOK_SECRET=whsec_x" in env
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(cid)


@pytest.mark.skipif(_REASON is None, reason="a Docker engine is reachable here; this checks the message without one")
def test_cli_without_an_engine_exits_3_saying_why(capsys):
    from harness.cli import main

    assert main(["run", "--target-image", "posx/backend:candidate"]) == 3
    err = capsys.readouterr().err
    assert "--target-image:" in err and _REASON in err


def test_cli_rejects_a_bad_target_env_as_a_usage_error(capsys):
    from harness.cli import main

    assert main(["run", "--target-image", "posx/backend:1", "--target-env", "NOEQUALS"]) == 2
    assert "--target-env wants NAME=VALUE" in capsys.readouterr().err
