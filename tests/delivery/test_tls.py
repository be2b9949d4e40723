"""HTTPS delivery: a self-signed receiver is a TLS failure unless the engine is told to trust it."""
import shutil
import ssl
import subprocess

import pytest

from tests.delivery.support import Receiver

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a cert")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(crt), str(key)


@pytest.fixture
def tls_receiver(cert):
    r = Receiver()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    r.server.socket = ctx.wrap_socket(r.server.socket, server_side=True)
    r.url = r.url.replace("http://", "https://")
    yield r
    r.close()


def test_self_signed_receiver_fails_with_a_tls_error_by_default(engine, backend, tls_receiver):
    backend.add_endpoint(tls_receiver.url)
    backend.record_event("charge.succeeded")
    (entry,) = engine.wait_for(outcome="failed", timeout=10)
    assert entry["error"].startswith("tls_error") and "CERTIFICATE_VERIFY_FAILED" in entry["error"]
    assert engine.pending == 1  # retried like any failure


def test_insecure_flag_trusts_the_self_signed_receiver(make_engine, backend, tls_receiver):
    eng = make_engine(insecure=True)
    backend.add_endpoint(tls_receiver.url)
    backend.record_event("charge.succeeded")
    eng.wait_idle(10)
    (got,) = tls_receiver.requests
    assert got["accepted"], got["error"]


def test_ca_file_trusts_that_certificate(make_engine, backend, tls_receiver, cert):
    eng = make_engine(ca_file=cert[0])
    backend.add_endpoint(tls_receiver.url)
    backend.record_event("charge.succeeded")
    eng.wait_idle(10)
    assert [e["status"] for e in eng.log.query()] == [200]
