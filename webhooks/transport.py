"""One POST to a checked target (webhooks.addresses.Target), connecting to the address that
was checked rather than looking the host up again, so DNS cannot point the request
elsewhere between the check and the connection. No redirects are followed. Standard
library only (http.client); pure, no Django.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .addresses import Target

EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code and the first characters of the body, or an
    error when nothing usable came back."""

    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, as for any https request.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `target`; never raises for network trouble (it is in Answer.error)."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
        return Answer(response.status, excerpt, "", _ms(started))
    except TimeoutError:
        return Answer(None, "", f"No answer within {timeout:g} s (timeout).", _ms(started))
    except ssl.SSLError as error:
        return Answer(None, "", f"TLS error: {error}", _ms(started))
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, "", f"Connection failed: {error!r}", _ms(started))
    finally:
        connection.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
