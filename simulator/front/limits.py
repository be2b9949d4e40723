"""The per-connection limits of the event-loop front, in one place (docs/RELIABILITY.md)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one client can cost the server before it is refused or cut off.

    The defaults are generous for a local test tool (an SDK on loopback answers in
    microseconds) and strict enough that a stuck or hostile client costs a bounded amount
    of memory and never a thread.
    """

    #: Open connections at most; one more is answered ``503`` and closed at once.
    max_connections: int = 4096
    #: From a request's first byte to the end of its headers (else ``408``, closed).
    header_timeout: float = 10.0
    #: From the end of the headers to the end of the body (else ``408``, closed).
    body_timeout: float = 30.0
    #: A kept-alive connection with no request under way is closed after this long.
    keepalive_timeout: float = 75.0
    #: An answer the client does not read is dropped (and the connection aborted) after this long.
    write_timeout: float = 30.0
    #: Request line plus headers, in bytes (else ``431``, closed).
    max_header_bytes: int = 64 * 1024
    #: The body, in bytes: the API's own cap (else ``413``, closed, before the body is read).
    max_body_bytes: int = 1024 * 1024
    #: Complete requests pipelined on one connection that wait behind the one being served.
    max_pipelined: int = 16

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError("Limits.%s must be a positive number, got %r" % (field.name, value))
