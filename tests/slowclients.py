"""Raw-socket clients for the slow-client tests of every front: stalled, idle keep-alive,
reset mid-body, never reading. Each returns open sockets the caller closes (``close_all``)."""
from __future__ import annotations

import re
import socket
import struct
import weakref
from typing import List, Optional, Tuple

STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")
# Bytes of the next answer that arrived with the previous one (pipelining), per socket.
_leftover: "weakref.WeakKeyDictionary[socket.socket, bytes]" = weakref.WeakKeyDictionary()


def connect(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket) -> Tuple[int, dict, bytes]:
    """One whole HTTP/1.1 answer (status, lower-cased headers, body) with a Content-Length."""
    data = _leftover.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers ended; got %r" % data[:200])
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = STATUS.match(head)
    if not m:
        raise AssertionError("not an HTTP answer: %r" % head[:200])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    if len(body) > length:
        _leftover[sock] = body[length:]
    return int(m.group(1)), headers, body[:length]


def stalled_clients(port: int, count: int, path: bytes = b"/v1/payment_intents") -> List[socket.socket]:
    """Clients that send a request line and one header, then nothing more."""
    socks = []
    for _ in range(count):
        sock = connect(port)
        sock.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(sock)
    return socks


def idle_keepalive_clients(port: int, count: int, path: bytes = b"/_sim/health",
                           headers: bytes = b"") -> List[socket.socket]:
    """Clients that each made one request, read its answer, and keep the connection open."""
    socks = [connect(port) for _ in range(count)]
    request = b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"
    for sock in socks:
        sock.sendall(request)
    for sock in socks:
        status, answer_headers, _ = read_response(sock)
        assert status == 200, status
        assert answer_headers.get("connection", "").lower() != "close"
    return socks


def reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0): the abrupt end of a crashed client."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def close_all(*groups: Optional[List[socket.socket]]) -> None:
    for group in groups:
        for sock in group or ():
            try:
                sock.close()
            except OSError:
                pass


def is_closed_by_peer(sock: socket.socket, timeout: float) -> bytes:
    """Read until the server closes; returns what it sent (raises socket.timeout if it doesn't)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
