"""The blocking side: one live obs-websocket session over obsws-python.

obsws-python is synchronous. :class:`ObsLink` wraps one request client and one event
client; every method here blocks and is meant to run in a worker thread
(``asyncio.to_thread``). Events arrive on obsws-python's own reader thread and are handed
to ``on_event``; ``on_close`` is called once when the event socket ends, which is how a
dead OBS is noticed without polling.

obsws-python logs the password at INFO and a traceback for every refused connection, so
its loggers are kept at WARNING and expected failures are left to our own log lines (with
more context and no secret).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import obsws_python
from obsws_python.error import OBSSDKError, OBSSDKTimeoutError
from obsws_python.subs import Subs
from websocket import WebSocketBadStatusException, WebSocketException, WebSocketTimeoutException

from .errors import ObsAuthError, ObsRequestError, ObsTimeout, ObsUnavailable

log = logging.getLogger("limelight.obs")

#: Event groups we listen to: scene switches, stream state, scene items, OBS exiting.
SUBSCRIPTIONS = Subs.GENERAL | Subs.SCENES | Subs.OUTPUTS | Subs.SCENEITEMS | Subs.INPUTS

EventSink = Callable[[str, dict[str, Any]], None]

_EXPECTED = (OSError, WebSocketException, OBSSDKError, ValueError)


class _DropExpected(logging.Filter):
    """Drop obsws-python's tracebacks for failures we report ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, _EXPECTED):
            return False
        return not record.getMessage().startswith(("OBSSDKError", "OBSSDKRequestError"))


_quieted = False


def quiet_obsws_logging() -> None:
    """WARNING for obsws-python (its INFO lines carry the password), minus known noise."""
    global _quieted
    logging.getLogger("obsws_python").setLevel(logging.WARNING)
    if _quieted:
        return
    _quieted = True
    for name in (
        "obsws_python.baseclient.ObsClient",
        "obsws_python.reqs.ReqClient",
        "obsws_python.events.EventClient",
    ):
        logging.getLogger(name).addFilter(_DropExpected())


class _Sink:
    """Stands in for obsws-python's Callback: forwards raw ``(type, data)`` pairs."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    def trigger(self, event_type: str | None, data: dict[str, Any]) -> None:
        if not event_type:
            return
        try:
            self._sink(event_type, data)
        except Exception:  # a failing sink must never end the reader thread
            log.exception("OBS event %s could not be handed over", event_type)


class _EventClient(obsws_python.EventClient):  # type: ignore[misc]  # untyped library
    def __init__(self, sink: EventSink, on_close: Callable[[], None], **kwargs: Any) -> None:
        self._limelight_sink = sink
        self._limelight_on_close = on_close
        super().__init__(**kwargs)

    def subscribe(self) -> None:
        # Replace the callback registry before the reader thread starts: no event is missed.
        self.callback = _Sink(self._limelight_sink)
        super().subscribe()

    def trigger(self, stop_event: threading.Event) -> None:
        try:
            super().trigger(stop_event)
        except Exception as exc:
            log.debug("OBS event reader ended: %s", exc)
        finally:
            self._limelight_on_close()


def _close_ws(ws: Any, polite: bool) -> None:
    if ws is None:
        return
    if polite:
        try:
            ws.close(timeout=0.5)
        except Exception:
            pass
    try:
        ws.abort()
    except Exception:
        pass
    try:
        ws.shutdown()
    except Exception:
        pass


def describe_connect_error(exc: BaseException, where: str, timeout: float) -> ObsUnavailable:
    """Turn whatever obsws-python or the socket raised into one plain sentence."""
    if isinstance(exc, OBSSDKError):
        text = str(exc)
        if "no password" in text:
            return ObsAuthError(
                f"OBS at {where} requires a password and obs.password is empty "
                "(OBS: Tools > WebSocket Server Settings > Show Connect Info)"
            )
        if "identify" in text:
            return ObsAuthError(
                f"OBS at {where} refused the password: obs.password does not "
                "match the WebSocket server password set in OBS"
            )
        return ObsUnavailable(f"OBS at {where}: {text}")
    if isinstance(exc, ConnectionRefusedError):
        return ObsUnavailable(
            f"connection refused at {where} (is OBS running, with Tools > "
            "WebSocket Server Settings > Enable WebSocket server on?)"
        )
    if isinstance(exc, TimeoutError | WebSocketTimeoutException):
        return ObsUnavailable(f"no answer from OBS at {where} within {timeout:g} s")
    if isinstance(exc, WebSocketBadStatusException):
        return ObsUnavailable(f"{where} is not an obs-websocket server ({exc})")
    if isinstance(exc, ValueError):
        return ObsUnavailable(f"{where} did not greet like obs-websocket 5 ({exc})")
    if isinstance(exc, OSError):
        return ObsUnavailable(f"cannot reach OBS at {where}: {exc.strerror or exc}")
    return ObsUnavailable(f"cannot reach OBS at {where}: {type(exc).__name__}: {exc}")


class ObsLink:
    """One authenticated session: a request socket and (optionally) an event socket."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        timeout: float,
        *,
        on_event: EventSink | None = None,
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        quiet_obsws_logging()
        self.host = host
        self.port = port
        self._password = password
        self.timeout = timeout
        self._on_event = on_event
        self._on_close = on_close
        self._req: obsws_python.ReqClient | None = None
        self._events: _EventClient | None = None
        self._closed = threading.Event()
        self._close_lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never the password
        return f"ObsLink({self.where})"

    def connect(self) -> None:
        """Connect and identify both sockets; raises :class:`ObsUnavailable` (or auth)."""
        kwargs = {
            "host": self.host,
            "port": self.port,
            "password": self._password,
            "timeout": self.timeout,
        }
        try:
            self._req = obsws_python.ReqClient(**kwargs)
            if self._on_event is not None:
                self._events = _EventClient(
                    self._on_event, self._event_reader_ended, subs=int(SUBSCRIPTIONS), **kwargs
                )
        except Exception as exc:
            self.close()
            raise describe_connect_error(exc, self.where, self.timeout) from None
        if self._closed.is_set():
            # Closed (given up on) while connecting: let go of what was just opened.
            self._closed.clear()
            self.close()
            raise ObsUnavailable(f"gave up connecting to OBS at {self.where}")

    def _event_reader_ended(self) -> None:
        if not self._closed.is_set() and self._on_close is not None:
            self._on_close("OBS closed the connection")

    @property
    def alive(self) -> bool:
        if self._req is None or self._closed.is_set():
            return False
        worker = getattr(self._events, "worker", None)
        return worker is None or worker.is_alive()

    def request(self, request_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its ``responseData``.

        Raises :class:`ObsRequestError` with OBS's status code and comment when OBS says
        no, :class:`ObsTimeout` when it does not answer within the timeout and
        :class:`ObsUnavailable` when the socket is gone. After a timeout the session is
        closed: a late answer would otherwise be taken for the next request's.
        """
        req = self._req
        if req is None or self._closed.is_set():
            raise ObsUnavailable(f"not connected to OBS at {self.where}")
        try:
            response = req.base_client.req(request_type, data)
        except (OBSSDKTimeoutError, WebSocketTimeoutException, TimeoutError):
            self._lost(f"no answer to {request_type} within {self.timeout:g} s")
            raise ObsTimeout(
                f"OBS at {self.where} did not answer {request_type} within {self.timeout:g} s"
            ) from None
        except (WebSocketException, OSError, ValueError, KeyError, TypeError) as exc:
            self._lost(f"{type(exc).__name__} during {request_type}")
            raise ObsUnavailable(
                f"connection to OBS at {self.where} lost during "
                f"{request_type}: {exc or type(exc).__name__}"
            ) from None
        if not isinstance(response, dict) or response.get("requestType") != request_type:
            self._lost(f"answer out of order to {request_type}")
            raise ObsUnavailable(f"OBS at {self.where} answered out of order; reconnecting")
        status = response.get("requestStatus") or {}
        if not status.get("result"):
            raise ObsRequestError(
                request_type, int(status.get("code", 0)), str(status.get("comment") or "")
            )
        return response.get("responseData") or {}

    def _lost(self, reason: str) -> None:
        was_open = not self._closed.is_set()
        self.close()
        if was_open and self._on_close is not None:
            self._on_close(reason)

    def close(self) -> None:
        """Close both sockets; safe to call twice and from any thread."""
        with self._close_lock:
            if self._closed.is_set():
                return
            self._closed.set()
        req, events = self._req, self._events
        if req is not None:
            _close_ws(getattr(req.base_client, "ws", None), polite=True)
        if events is not None:
            _close_ws(getattr(events.base_client, "ws", None), polite=False)
            worker = getattr(events, "worker", None)
            if worker is not None and worker is not threading.current_thread():
                worker.join(timeout=2)


def dumps(data: Any) -> str:
    """Compact JSON for debug lines."""
    return json.dumps(data, separators=(",", ":"), default=str)[:500]
