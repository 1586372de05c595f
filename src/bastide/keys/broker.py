"""The key broker: wraps and unwraps Parquet file keys for an engine that runs outside Python
(Spark's JVM), without the data keys ever leaving this process (KEY-01, KEY-03).

An engine session is granted the data keys its work needs (a snapshot's, a workspace's) under a
random access token; its `KmsClient` (spark/BrokerKmsClient.java) posts a file key to `/wrap`
or a wrapped one to `/unwrap` with that token and the data key's id. A token opens only the keys
granted to it, and nothing once revoked: an engine session ends with its grant. The wrapped
form is pyarrow's (keys/parquet.py), so files written by either side are read by the other.

The broker listens on loopback by default (Spark local mode, or a driver on this host); a
cluster whose executors run elsewhere reaches it at `BASTIDE_KEY_BROKER_BIND`, which must be a
private network (the tokens are bearer secrets; put TLS in front of it there)."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bastide.keys.parquet import unwrap_file_key, wrap_file_key

MAX_BODY = 4096  # a wrapped file key is under 100 bytes


@dataclass
class Grant:
    """The keys one engine session may use, under its token; `revoke` ends it."""
    broker: KeyBroker
    token: str
    keys: dict[str, bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return self.broker.url

    def add(self, key_id: str, key: bytes) -> None:
        self.keys[key_id] = key

    def revoke(self) -> None:
        self.broker.revoke(self.token)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # every task opening files at once must not find the door shut (default 5)


class KeyBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._server = _Server((host, port), _handler(self))
        self.url = f"http://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="key-broker", daemon=True).start()

    def grant(self, keys: dict[str, bytes]) -> Grant:
        grant = Grant(self, secrets.token_urlsafe(32), dict(keys))
        with self._lock:
            self._grants[grant.token] = grant
        return grant

    def revoke(self, token: str) -> None:
        with self._lock:
            self._grants.pop(token, None)

    def key(self, token: str, key_id: str) -> bytes:
        """The data key, if this token was granted it; PermissionError otherwise."""
        with self._lock:
            # compare every token in constant time, so that timing tells nothing of them
            grant = next((g for t, g in self._grants.items() if hmac.compare_digest(t, token)), None)
        if grant is None or key_id not in grant.keys:
            raise PermissionError(f"key {key_id} is not granted to this session")
        return grant.keys[key_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(broker: KeyBroker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the JVM's client keeps its connection for the next key

        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            key_id = self.headers.get("X-Bastide-Key", "")
            if length > MAX_BODY or self.path not in ("/wrap", "/unwrap"):
                return self._answer(400, "bad request")
            body = self.rfile.read(length)
            try:
                data_key = broker.key(token, key_id)
                if self.path == "/wrap":
                    return self._answer(200, wrap_file_key(data_key, key_id, base64.b64decode(body, validate=True)).decode())
                return self._answer(200, base64.b64encode(unwrap_file_key(data_key, key_id, body)).decode())
            except PermissionError as exc:
                return self._answer(403, str(exc))
            except (binascii.Error, ValueError):
                return self._answer(400, "the body is not base64")

        def _answer(self, status: int, text: str) -> None:
            raw = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=us-ascii")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *_args) -> None:  # requests carry tokens: nothing goes to stderr
            pass

    return Handler


_BROKER: KeyBroker | None = None
_STARTING = threading.Lock()


def broker(host: str = "127.0.0.1") -> KeyBroker:
    """This process's broker, started on first use."""
    global _BROKER
    with _STARTING:
        if _BROKER is None:
            _BROKER = KeyBroker(host)
        return _BROKER
