"""The device side of the ADB wire protocol over TCP, as adbd speaks it, for tests.

Why it exists: the Android env must be tested against the real adb-shell client, and no
emulator runs here. This server is what that client sees when it connects to a phone on
``HOST:5555``: CNXN, the RSA AUTH handshake, and OPEN/OKAY/WRTE/CLSE streams for the
``shell:`` and ``exec:`` services. What a command prints is someone else's job (a
``Service`` callable; the virtual phone passes its mini shell).

Behaviour copied from adbd, because clients depend on it:

- Every message is a 24-byte little-endian header (command, arg0, arg1, payload length,
  payload byte sum, command ^ 0xffffffff) plus the payload. A peer at protocol version
  0x01000001 or later may send a zero checksum, and then gets zero checksums back.
- A new connection must authenticate: the device sends AUTH TOKEN (20 random bytes); a
  SIGNATURE is checked against every key already accepted (PKCS#1 v1.5 with the SHA-1
  DigestInfo prefix, the token standing in for the digest); a wrong one gets a fresh
  TOKEN. An RSAPUBLICKEY is the "Allow USB debugging?" prompt: ``auth="accept"`` answers it
  at once (the key is remembered for later connections), ``"reject"`` never answers it.
- CNXN carries ``min(version)`` and ``min(maxdata)`` of both sides and the banner.
- A stream gets OKAY at once, then its output in WRTE packets of at most maxdata bytes,
  each sent only after the client's OKAY for the previous one, then CLSE. A client CLSE
  for an open stream is answered with CLSE; one for a stream already closed is ignored.
- A client may vanish at any moment; only its connection ends.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

__all__ = [
    "A_VERSION",
    "MAX_PAYLOAD",
    "AdbPublicKey",
    "AdbServer",
    "Service",
    "command_id",
    "pack_message",
    "parse_public_key",
]

_LOG = logging.getLogger(__name__)

A_VERSION = 0x01000001
"""Protocol version this device speaks (0x01000001: checksums may be skipped)."""
MAX_PAYLOAD = 256 * 1024
"""Largest payload this device sends or accepts (adbd's MAX_PAYLOAD since Android 9)."""
_SKIP_CHECKSUM_VERSION = 0x01000001
_HEADER = struct.Struct("<6I")
_AUTH_TOKEN, _AUTH_SIGNATURE, _AUTH_RSAPUBLICKEY = 1, 2, 3
_TOKEN_SIZE = 20
# DER DigestInfo header of a SHA-1 digest: what PKCS#1 v1.5 puts before the 20 bytes.
_SHA1_DIGEST_INFO = bytes.fromhex("3021300906052b0e03021a05000414")
_SERVICES = ("shell", "exec")
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def command_id(name: bytes) -> int:
    """The wire value of a 4-letter command (``b"CNXN"`` -> 0x4e584e43)."""
    return int.from_bytes(name, "little")


A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_WRTE, A_CLSE = (
    command_id(c) for c in (b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"WRTE", b"CLSE")
)
_NAMES = {command_id(c): c.decode() for c in (b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"WRTE", b"CLSE")}

Service = Callable[[str, str], bytes]
"""``(service, command) -> output``: service is ``"shell"`` or ``"exec"``."""


def pack_message(
    cmd: int, arg0: int, arg1: int, data: bytes = b"", *, checksum: bool = True
) -> bytes:
    """Header + payload, ready for the socket."""
    check = (sum(data) & 0xFFFFFFFF) if checksum else 0
    return _HEADER.pack(cmd, arg0, arg1, len(data), check, cmd ^ 0xFFFFFFFF) + data


# --- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdbPublicKey:
    """An RSA public key as adb sends it (``~/.android/adbkey.pub``)."""

    modulus: int
    exponent: int
    comment: str = ""

    def verify(self, token: bytes, signature: bytes) -> bool:
        """True if ``signature`` is the PKCS#1 v1.5 SHA-1 signature adb makes of ``token``."""
        size = (self.modulus.bit_length() + 7) // 8
        if len(signature) != size:
            return False
        value = int.from_bytes(signature, "big")
        if value >= self.modulus:
            return False
        block = pow(value, self.exponent, self.modulus).to_bytes(size, "big")
        digest = _SHA1_DIGEST_INFO + token
        padding = size - len(digest) - 3
        return padding >= 8 and block == b"\x00\x01" + b"\xff" * padding + b"\x00" + digest


def parse_public_key(data: bytes) -> AdbPublicKey:
    """Read adb's public key format: base64 of Android's ``RSAPublicKey`` struct, then
    `` user@host``. The struct is (word count, n0inv, modulus as little-endian words, R²
    the same way, exponent), all little-endian uint32. Raises ValueError when malformed."""
    text = data.rstrip(b"\x00").decode("ascii", "replace").strip()
    encoded, _, comment = text.partition(" ")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except ValueError as e:
        raise ValueError(f"public key is not base64: {e}") from None
    if len(blob) < 12:
        raise ValueError("public key too short")
    (words,) = struct.unpack_from("<I", blob, 0)
    size = 4 * words
    if words == 0 or len(blob) != 8 + 2 * size + 4:
        raise ValueError(f"public key has {len(blob)} bytes, not the {8 + 2 * size + 4} "
                         f"a {32 * words}-bit RSAPublicKey needs")
    modulus = int.from_bytes(blob[8 : 8 + size], "little")
    (exponent,) = struct.unpack_from("<I", blob, 8 + 2 * size)
    if modulus < 3 or exponent < 3:
        raise ValueError("public key has a degenerate modulus or exponent")
    return AdbPublicKey(modulus, exponent, comment.strip())


# --- one client connection -------------------------------------------------------------------


class _Stream:
    """One OPENed service on a connection."""

    def __init__(self, local_id: int, remote_id: int) -> None:
        self.local_id = local_id
        self.remote_id = remote_id
        self.acked = threading.Event()
        self.closed = False


class _Connection:
    """A client socket: a reader thread and one worker thread per open stream."""

    def __init__(self, server: AdbServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self._send_lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        self._streams_lock = threading.Lock()
        self._next_id = 0
        self._token: bytes | None = None
        self._authed = False
        self._peer_version = A_VERSION
        self._max_payload = MAX_PAYLOAD
        self.alive = True

    # -- io --

    def _recv_exact(self, n: int) -> bytes | None:
        chunks: list[bytes] = []
        while n:
            try:
                if _QUICKACK is not None:
                    # Clients (adb-shell too) write header and payload separately; with
                    # Nagle on their side and delayed ACKs on ours, every message would
                    # wait ~40 ms for an ACK. Linux resets this flag, so set it each time.
                    self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                chunk = self.sock.recv(min(n, 1 << 20))
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def send(self, cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bool:
        checksum = self._peer_version < _SKIP_CHECKSUM_VERSION
        packet = pack_message(cmd, arg0, arg1, data, checksum=checksum)
        try:
            with self._send_lock:
                self.sock.sendall(packet)
        except OSError:
            self.close()
            return False
        self.server._count(cmd)
        return True

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
        with self._streams_lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for stream in streams:
            stream.closed = True
            stream.acked.set()

    # -- reader --

    def serve(self) -> None:
        try:
            while self.alive:
                header = self._recv_exact(_HEADER.size)
                if header is None:
                    break
                cmd, arg0, arg1, length, check, magic = _HEADER.unpack(header)
                if magic != cmd ^ 0xFFFFFFFF or length > max(MAX_PAYLOAD, 1 << 20):
                    _LOG.info("adb: bad header %r; dropping the connection", header)
                    break
                data = self._recv_exact(length) if length else b""
                if data is None:
                    break
                if check and (sum(data) & 0xFFFFFFFF) != check:
                    _LOG.info("adb: bad checksum on %s; dropping the connection", _NAMES.get(cmd))
                    break
                self._handle(cmd, arg0, arg1, data)
        except Exception:  # a bug here must end this connection, never the server
            _LOG.exception("adb: connection failed")
        finally:
            self.close()
            self.server._forget(self)

    def _handle(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == A_CNXN:
            self._peer_version = min(arg0, A_VERSION) or A_VERSION
            self._max_payload = max(1, min(arg1, MAX_PAYLOAD))
            if self._authed:
                self._send_connect()
            else:
                self._send_token()
        elif cmd == A_AUTH:
            self._handle_auth(arg0, data)
        elif not self._authed:
            return  # adbd ignores stream traffic before the handshake
        elif cmd == A_OPEN:
            self._open(arg0, data)
        elif cmd == A_OKAY:
            stream = self._stream(arg1)
            if stream is not None:
                stream.acked.set()
        elif cmd == A_CLSE:
            with self._streams_lock:
                stream = self._streams.pop(arg1, None)
            if stream is not None:
                stream.closed = True
                stream.acked.set()
                self.send(A_CLSE, stream.local_id, stream.remote_id)
        # WRTE from the client (stdin for a shell) is not used by these services.

    # -- auth --

    def _send_token(self) -> None:
        self._token = os.urandom(_TOKEN_SIZE)
        self.send(A_AUTH, _AUTH_TOKEN, 0, self._token)

    def _send_connect(self) -> None:
        self._authed = True
        banner = self.server.banner.encode("utf-8")
        self.send(A_CNXN, self._peer_version, self._max_payload, banner)

    def _handle_auth(self, kind: int, data: bytes) -> None:
        if self._authed:
            return
        if kind == _AUTH_SIGNATURE and self._token is not None:
            token = self._token
            if any(key.verify(token, data) for key in self.server.accepted_keys):
                self.server._event("signature_ok")
                self._send_connect()
            else:
                self.server._event("signature_unknown")
                self._send_token()
        elif kind == _AUTH_RSAPUBLICKEY:
            try:
                key = parse_public_key(data)
            except ValueError as e:
                _LOG.info("adb: ignoring a malformed public key: %s", e)
                self.server._event("public_key_malformed")
                return
            if self.server.auth == "accept":
                self.server._accept_key(key)
                self.server._event("public_key_accepted")
                self._send_connect()
            else:
                self.server._event("public_key_ignored")  # the prompt nobody answers

    # -- streams --

    def _stream(self, local_id: int) -> _Stream | None:
        with self._streams_lock:
            return self._streams.get(local_id)

    def _open(self, remote_id: int, data: bytes) -> None:
        destination = data.rstrip(b"\x00").decode("utf-8", "replace")
        service, sep, command = destination.partition(":")
        if not sep or service not in _SERVICES or remote_id == 0:
            self.send(A_CLSE, 0, remote_id)  # adbd's answer to a service it cannot open
            return
        with self._streams_lock:
            self._next_id = self._next_id % 0x7FFFFFFF + 1
            stream = _Stream(self._next_id, remote_id)
            self._streams[stream.local_id] = stream
        self.send(A_OKAY, stream.local_id, remote_id)
        threading.Thread(
            target=self._run_stream,
            args=(stream, service, command),
            name=f"adb-stream-{stream.local_id}",
            daemon=True,
        ).start()

    def _run_stream(self, stream: _Stream, service: str, command: str) -> None:
        try:
            output = self.server.service(service, command)
        except Exception as e:  # the command's failure is the command's output
            _LOG.exception("adb: %s:%s failed", service, command)
            output = f"{type(e).__name__}: {e}\n".encode()
        view = memoryview(output)
        step = self._max_payload
        for start in range(0, len(view), step):
            if stream.closed or not self.alive:
                return
            stream.acked.clear()
            chunk = bytes(view[start : start + step])
            if not self.send(A_WRTE, stream.local_id, stream.remote_id, chunk):
                return
            stream.acked.wait()
        with self._streams_lock:
            still_open = self._streams.pop(stream.local_id, None) is not None
        if still_open and self.alive:
            stream.closed = True
            self.send(A_CLSE, stream.local_id, stream.remote_id)


# --- the server ------------------------------------------------------------------------------


class AdbServer:
    """A threaded ADB device on ``host:port`` (port 0 picks a free one).

    ``service(service, command)`` produces a stream's output; ``banner`` is the CNXN
    payload (``device::ro.product.name=…;ro.product.model=…;ro.product.device=…;features=…``).
    """

    def __init__(
        self,
        service: Service,
        *,
        banner: str = "device::ro.product.name=sdk;ro.product.model=Virtual;ro.product.device=sdk;",
        auth: Literal["accept", "reject"] = "accept",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.service = service
        self.banner = banner
        self.auth: Literal["accept", "reject"] = auth
        self.host = host
        self.port = port
        self._keys: list[AdbPublicKey] = []
        self._events: list[str] = []
        self._sent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> AdbServer:
        """Listen (again, on the same port after ``stop()``). Returns self."""
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError as e:
            listener.close()
            raise OSError(
                e.errno, f"cannot listen on {self.host}:{self.port} ({e.strerror}); pick another "
                "port, or 0 for a free one"
            ) from None
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(listener,), name=f"adb-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def drop_connections(self) -> None:
        """Close every client socket now; keep listening (a phone that comes back)."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()

    def stop(self) -> None:
        """Close every client socket and stop listening (a phone that is gone)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None
        self.drop_connections()

    close = stop

    def __enter__(self) -> AdbServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- observation --

    @property
    def serial(self) -> str:
        """``host:port``, what ``adb connect`` and ``--device`` take."""
        return f"{self.host}:{self.port}"

    @property
    def listening(self) -> bool:
        return self._listener is not None

    @property
    def accepted_keys(self) -> list[AdbPublicKey]:
        """Keys the user "allowed" so far (they authenticate later connections)."""
        with self._lock:
            return list(self._keys)

    @property
    def auth_events(self) -> list[str]:
        """What each AUTH message led to, in order: ``signature_ok``, ``signature_unknown``,
        ``public_key_accepted``, ``public_key_ignored``, ``public_key_malformed``."""
        with self._lock:
            return list(self._events)

    @property
    def packets_sent(self) -> dict[str, int]:
        """How many messages of each command the device sent (``{"WRTE": 5, …}``)."""
        with self._lock:
            return dict(self._sent)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    # -- internals --

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return  # stop() closed the listener
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(self, sock)
            with self._lock:
                if self._listener is not listener:
                    connection.close()
                    return
                self._connections.add(connection)
            threading.Thread(
                target=connection.serve, name=f"adb-conn-{self.port}", daemon=True
            ).start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _accept_key(self, key: AdbPublicKey) -> None:
        with self._lock:
            if all(k.modulus != key.modulus for k in self._keys):
                self._keys.append(key)

    def _event(self, name: str) -> None:
        with self._lock:
            self._events.append(name)

    def _count(self, cmd: int) -> None:
        with self._lock:
            self._sent[_NAMES.get(cmd, hex(cmd))] += 1
