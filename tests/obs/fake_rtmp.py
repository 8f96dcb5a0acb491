"""Just enough of an RTMP ingest server for real OBS to go live against it.

OBS's stream output reports ``OBS_WEBSOCKET_OUTPUT_STARTED`` once the RTMP server has
accepted ``publish`` (librtmp's ``NetStream.Publish.Start``). This server does the plain
RTMP handshake, reads chunks until the client has published (connect, createStream,
publish; answering each as an ingest server does), then reads and discards the media.
Nothing here decodes audio or video.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any

HANDSHAKE = 1536


def _amf_value(value: Any) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + bytes([value])
    if isinstance(value, int | float):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = b"\x03"
        for key, item in value.items():
            raw = key.encode()
            out += struct.pack(">H", len(raw)) + raw + _amf_value(item)
        return out + b"\x00\x00\x09"
    raise TypeError(type(value))


def amf(*values: Any) -> bytes:
    return b"".join(_amf_value(v) for v in values)


def _command_head(payload: bytes) -> tuple[str, float]:
    """The command name and transaction id at the start of an AMF0 command."""
    if payload[:1] != b"\x02":
        return "", 0.0
    (size,) = struct.unpack(">H", payload[1:3])
    name = payload[3 : 3 + size].decode(errors="replace")
    rest = payload[3 + size :]
    txn = struct.unpack(">d", rest[1:9])[0] if rest[:1] == b"\x00" else 0.0
    return name, txn


class _Conn:
    def __init__(self, sock: socket.socket, server: FakeRtmp) -> None:
        self.sock = sock
        self.server = server
        self.in_chunk = 128
        self.streams: dict[int, dict[str, Any]] = {}

    def recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise ConnectionError("closed")
            data += part
        return data

    def send(self, csid: int, mtype: int, payload: bytes, stream_id: int = 0) -> None:
        header = bytes([csid]) + b"\x00\x00\x00" + len(payload).to_bytes(3, "big")
        header += bytes([mtype]) + struct.pack("<I", stream_id)
        self.sock.sendall(header + payload)

    def handshake(self) -> None:
        c0c1 = self.recv(1 + HANDSHAKE)
        s1 = b"\x00" * 8 + os.urandom(HANDSHAKE - 8)
        self.sock.sendall(b"\x03" + s1 + c0c1[1:])
        self.recv(HANDSHAKE)  # C2

    def read_message(self) -> tuple[int, int, bytes]:
        first = self.recv(1)[0]
        fmt, csid = first >> 6, first & 0x3F
        if csid == 0:
            csid = 64 + self.recv(1)[0]
        elif csid == 1:
            b = self.recv(2)
            csid = 64 + b[0] + b[1] * 256
        state = self.streams.setdefault(
            csid, {"length": 0, "type": 0, "sid": 0, "ext": False, "buf": b""}
        )
        if fmt <= 2:
            ts = int.from_bytes(self.recv(3), "big")
            if fmt <= 1:
                state["length"] = int.from_bytes(self.recv(3), "big")
                state["type"] = self.recv(1)[0]
                if fmt == 0:
                    state["sid"] = struct.unpack("<I", self.recv(4))[0]
            state["ext"] = ts == 0xFFFFFF
            if state["ext"]:
                self.recv(4)
        elif state["ext"]:
            self.recv(4)
        need = state["length"] - len(state["buf"])
        state["buf"] += self.recv(min(self.in_chunk, need))
        if len(state["buf"]) < state["length"]:
            return -1, 0, b""
        payload, state["buf"] = state["buf"], b""
        return state["type"], state["sid"], payload

    def serve(self) -> None:
        self.handshake()
        published = False
        while not published:
            mtype, _sid, payload = self.read_message()
            if mtype == 1:
                self.in_chunk = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            elif mtype in (17, 20):
                body = payload[1:] if mtype == 17 else payload
                name, txn = _command_head(body)
                if name == "connect":
                    self.send(2, 5, struct.pack(">I", 2_500_000))
                    self.send(2, 6, struct.pack(">IB", 2_500_000, 2))
                    self.send(2, 1, struct.pack(">I", 4096))
                    self.send(
                        3,
                        20,
                        amf(
                            "_result",
                            txn,
                            {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                            {
                                "level": "status",
                                "code": "NetConnection.Connect.Success",
                                "description": "Connection succeeded.",
                                "objectEncoding": 0,
                            },
                        ),
                    )
                elif name == "createStream":
                    self.send(3, 20, amf("_result", txn, None, 1))
                elif name == "publish":
                    self.send(
                        5,
                        20,
                        amf(
                            "onStatus",
                            0,
                            None,
                            {
                                "level": "status",
                                "code": "NetStream.Publish.Start",
                                "description": "Publishing.",
                            },
                        ),
                        stream_id=1,
                    )
                    published = True
        self.server.publishes += 1
        while self.sock.recv(65536):
            pass


class FakeRtmp:
    """``rtmp://127.0.0.1:<port>/live`` accepting any stream key."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.publishes = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True, name="fake-rtmp")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            _Conn(conn, self).serve()
        except (OSError, ConnectionError, struct.error):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
