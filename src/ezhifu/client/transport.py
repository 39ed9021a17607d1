"""Delivering messages to a peer's ``ezhifu serve`` over HTTP(S) (issue 16 item 2).

:class:`HttpTransport` is a push :class:`~ezhifu.flow.transport.Transport`: ``send`` POSTs the
serialised (link-signed) message to the peer's ``/ezhifu/messages``; the peer processes it in
one store transaction and answers 200 only after the outcome is committed, which is the
acknowledgement. Anything else raises :class:`~ezhifu.errors.TransportError` and the message
stays in the sender's outbox (at-least-once; the receiver drops copies by message id).

Each peer has its own retry state: after a failure, sends to that peer fail at once (without a
connection attempt) until its backoff delay has passed, doubling from ``backoff_initial`` to
``backoff_max`` seconds, so that a dead partner costs nothing to the others.
"""

from __future__ import annotations

import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ezhifu.errors import ConfigurationError, TransportError
from ezhifu.flow.transport import MAX_MESSAGE_BYTES, Delivery, Message, Transport

__all__ = ["MESSAGES_PATH", "HttpTransport", "PeerState"]

#: Where a service takes messages from its peers.
MESSAGES_PATH = "/ezhifu/messages"


@dataclass(slots=True)
class PeerState:
    failures: int = 0
    next_try: float = 0.0
    last_error: str = ""
    delivered: int = 0


class HttpTransport(Transport):
    """Sends each message to ``peers[recipient]`` (a base URL); receiving is the service's job."""

    def __init__(
        self,
        peers: Mapping[str, str],
        *,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for party, url in peers.items():
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"peer {party!r}: URL must start with http:// or https://, not {url[:40]!r}"
                )
        self.peers = {party: url.rstrip("/") for party, url in peers.items()}
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self._state: dict[str, PeerState] = {party: PeerState() for party in self.peers}
        self._lock = threading.Lock()

    def state(self, party: str) -> PeerState:
        with self._lock:
            return self._state.setdefault(party, PeerState())

    def send(self, message: Message) -> None:
        url = self.peers.get(message.recipient)
        if url is None:
            raise TransportError(f"no URL configured for peer {message.recipient!r}")
        state = self.state(message.recipient)
        now = self.clock()
        if state.next_try > now:
            raise TransportError(
                f"peer {message.recipient!r} backing off for {state.next_try - now:.1f}s "
                f"after: {state.last_error}"
            )
        data = message.to_bytes()
        if len(data) > MAX_MESSAGE_BYTES:
            raise TransportError(f"message {message.message_id} is larger than {MAX_MESSAGE_BYTES} bytes")
        request = urllib.request.Request(  # noqa: S310 (schemes checked in __init__)
            url + MESSAGES_PATH, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.ssl_context) as response:  # noqa: S310
                response.read(65536)
        except (urllib.error.URLError, OSError) as exc:
            detail = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else str(exc)
            self._failed(message.recipient, f"{url}: {detail}")
            raise TransportError(
                f"delivery of {message.message_id} to {message.recipient!r} failed: {detail}"
            ) from exc
        with self._lock:
            state.failures, state.next_try, state.last_error = 0, 0.0, ""
            state.delivered += 1

    def _failed(self, party: str, error: str) -> None:
        with self._lock:
            state = self._state.setdefault(party, PeerState())
            state.failures += 1
            delay = min(self.backoff_max, self.backoff_initial * 2 ** min(state.failures - 1, 16))
            state.next_try = self.clock() + delay
            state.last_error = error[:300]

    # Pushed messages are taken by the receiving service; nothing waits here to be received.
    def receive(self, party: str, *, limit: int = 100) -> list[Delivery]:
        return []

    def ack(self, delivery: Delivery) -> None:
        return None

    def recover(self, party: str) -> int:
        return 0
