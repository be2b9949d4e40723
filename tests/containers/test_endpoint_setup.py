"""compose's setup step against a real simulator: the receiver's webhook registered by
Stripe's own API call, its secret kept in a file, idempotent across restarts."""
import requests

from harness import containers
from simulator.core import Simulator
from simulator.server import SimulatorServer

HOOK = "http://receiver:8000/api/v1/webhooks/stripe/"


def test_registers_once_and_keeps_the_secret(tmp_path):
    secret_file = tmp_path / "whsec"
    with SimulatorServer(Simulator(seed=3)) as server:
        assert containers.main(["endpoint", server.url, HOOK, str(secret_file)]) == 0
        secret = secret_file.read_text()
        listed = requests.get(server.url + "/v1/webhook_endpoints", headers={"Authorization": "Bearer sk_test_x"},
                              timeout=5).json()["data"]
        assert [(e["url"], e["enabled_events"]) for e in listed] == [(HOOK, ["*"])]
        assert secret.startswith("whsec_") and secret == server.sim.backend.webhook_endpoints[listed[0]["id"]]["secret"]
        # A restart of the setup container: same endpoint, same secret, nothing new.
        assert containers.ensure_webhook_endpoint(server.url, HOOK, str(secret_file)) == secret
        assert len(server.sim.backend.webhook_endpoints) == 1
        # The simulator lost its state (no state file): a new endpoint, the file follows.
        server.sim.reset()
        assert server.sim.backend.webhook_endpoints == {}
        fresh = containers.ensure_webhook_endpoint(server.url, HOOK, str(secret_file))
        (endpoint,) = server.sim.backend.webhook_endpoints.values()
        assert endpoint["url"] == HOOK and secret_file.read_text() == fresh == endpoint["secret"]


def test_a_refusal_is_reported_and_writes_nothing(tmp_path, capsys):
    secret_file = tmp_path / "whsec"
    with SimulatorServer(Simulator(seed=3)) as server:
        assert containers.main(["endpoint", server.url, "not a url", str(secret_file)]) == 1
    assert "refused the webhook endpoint (400)" in capsys.readouterr().err
    assert not secret_file.exists()


def test_usage_errors(capsys):
    assert containers.main([]) == 2
    assert containers.main(["endpoint", "only-one"]) == 2
    assert "usage: python -m harness.containers" in capsys.readouterr().err
