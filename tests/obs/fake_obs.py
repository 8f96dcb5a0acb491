"""A local obs-websocket 5 server that speaks the exact protocol, for tests.

It follows obs-websocket's protocol.md (rpcVersion 1): ``Hello`` (op 0) with an
authentication challenge and salt, ``Identify`` (op 1) checked with the salted-challenge
scheme ``base64(sha256(base64(sha256(password + salt)) + challenge))``, ``Identified``
(op 2), ``Reidentify`` (op 3), ``Event`` (op 5) filtered by the client's
``eventSubscriptions``, ``Request``/``RequestResponse`` (ops 6/7) with ``requestStatus``
codes and comments as OBS sends them, and the close codes (4009 for a wrong password).

It keeps a small model of OBS (scenes with items, inputs with settings, filters, the
program scene, the stream output) so the requests Limelight uses behave as in OBS, and it
lists ``browser_source`` among its input kinds unless told not to, which the Debian OBS
used by the real-OBS tests cannot do.

It runs its own event loop in a thread, so blocking clients (obsws-python, the
``limelight obs setup`` command) and async tests can both use it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import secrets
import threading
from typing import Any

from aiohttp import WSMsgType, web

OP_HELLO, OP_IDENTIFY, OP_IDENTIFIED, OP_REIDENTIFY = 0, 1, 2, 3
OP_EVENT, OP_REQUEST, OP_RESPONSE, OP_BATCH, OP_BATCH_RESPONSE = 5, 6, 7, 8, 9

SUB_GENERAL, SUB_SCENES, SUB_INPUTS, SUB_OUTPUTS, SUB_SCENEITEMS = 1, 4, 8, 64, 128

LINUX_KINDS = [
    "image_source",
    "color_source_v3",
    "slideshow",
    "ffmpeg_source",
    "text_ft2_source_v2",
    "vlc_source",
]


def auth_string(password: str, salt: str, challenge: str) -> str:
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest())
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


class RequestFailed(Exception):
    def __init__(self, code: int, comment: str) -> None:
        super().__init__(comment)
        self.code = code
        self.comment = comment


def _need(data: dict[str, Any], *names: str) -> None:
    for name in names:
        if name not in data:
            raise RequestFailed(300, f"Your request is missing the `{name}` field.")


class FakeObs:
    def __init__(
        self,
        password: str | None = "fake-secret",
        *,
        browser: bool = True,
        port: int = 0,
        kinds: list[str] | None = None,
    ) -> None:
        self.password = password
        self.port = port
        self.kinds = list(kinds or LINUX_KINDS)
        if browser and "browser_source" not in self.kinds:
            self.kinds.append("browser_source")
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.identify_attempts = 0
        self.auth_failures = 0
        #: Requests of these types get no answer (to test timeouts).
        self.hang: set[str] = set()
        #: Request type -> (code, comment) answered once instead of the real thing.
        self.fail_next: dict[str, tuple[int, str]] = {}
        self.scenes: dict[str, list[dict[str, Any]]] = {"Scene": []}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.filters: dict[tuple[str, str], dict[str, Any]] = {}
        self.program = "Scene"
        self.streaming = False
        self.transition = "Fade"
        self.media_restarts: list[str] = []
        self.canvas = (1920, 1080)
        self._next_item = 1
        self._clients: dict[web.WebSocketResponse, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- running ----------------------------------------------------------------------------

    def start(self) -> FakeObs:
        """Start (or start again, on the same port) and return once it is listening."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-obs", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OBS did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._ws)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Stop like OBS quitting: drop every client and stop listening."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            for ws in list(self._clients):
                await ws.close(code=1001, message=b"Server stopping.")
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None
        with self.lock:
            self._clients.clear()

    def quit(self) -> None:
        """Quit like OBS closing normally: ``ExitStarted`` first, then the sockets close."""
        self.emit("ExitStarted", {}, SUB_GENERAL)
        self.stop()

    def __enter__(self) -> FakeObs:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- state helpers for tests --------------------------------------------------------------

    def add_scene(self, name: str) -> None:
        with self.lock:
            self.scenes.setdefault(name, [])

    def add_input(
        self,
        scene: str,
        name: str,
        kind: str,
        settings: dict[str, Any] | None = None,
        enabled: bool = True,
    ) -> int:
        with self.lock:
            return self._create_input(scene, name, kind, settings or {}, enabled)

    def add_filter(self, source: str, name: str, enabled: bool = True) -> None:
        with self.lock:
            self.filters[(source, name)] = {
                "filterEnabled": enabled,
                "filterKind": "color_filter_v2",
                "filterSettings": {},
            }

    def item_enabled(self, scene: str, source: str) -> bool:
        with self.lock:
            return next(
                i["sceneItemEnabled"] for i in self.scenes[scene] if i["sourceName"] == source
            )

    def request_types(self) -> list[str]:
        with self.lock:
            return [t for t, _ in self.requests]

    def snapshot(self) -> dict[str, Any]:
        """The whole model, to prove that something changed nothing."""
        with self.lock:
            return copy.deepcopy(
                {
                    "scenes": self.scenes,
                    "inputs": self.inputs,
                    "filters": {f"{k[0]}/{k[1]}": v for k, v in self.filters.items()},
                    "program": self.program,
                }
            )

    def emit(
        self, event_type: str, data: dict[str, Any] | None = None, intent: int = SUB_GENERAL
    ) -> None:
        """Send an event to subscribed clients (from any thread)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(
            self._broadcast(event_type, data or {}, intent), self._loop
        ).result(5)

    def set_streaming(self, active: bool) -> None:
        """Start or stop the stream output as OBS does: a starting and a final state."""
        self.streaming = active
        if active:
            self.emit(
                "StreamStateChanged",
                {"outputActive": False, "outputState": "OBS_WEBSOCKET_OUTPUT_STARTING"},
                SUB_OUTPUTS,
            )
            self.emit(
                "StreamStateChanged",
                {"outputActive": True, "outputState": "OBS_WEBSOCKET_OUTPUT_STARTED"},
                SUB_OUTPUTS,
            )
        else:
            self.emit(
                "StreamStateChanged",
                {"outputActive": False, "outputState": "OBS_WEBSOCKET_OUTPUT_STOPPING"},
                SUB_OUTPUTS,
            )
            self.emit(
                "StreamStateChanged",
                {"outputActive": False, "outputState": "OBS_WEBSOCKET_OUTPUT_STOPPED"},
                SUB_OUTPUTS,
            )

    # -- the protocol -------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("obswebsocket.json",), autoping=True)
        await ws.prepare(request)
        hello: dict[str, Any] = {"obsWebSocketVersion": "5.1.0", "rpcVersion": 1}
        challenge = salt = ""
        if self.password is not None:
            challenge, salt = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            hello["authentication"] = {"challenge": challenge, "salt": salt}
        await ws.send_json({"op": OP_HELLO, "d": hello})
        session: dict[str, Any] = {"identified": False, "subs": 0}
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                    op, d = message["op"], message["d"]
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Message decode error.")
                    break
                if op == OP_IDENTIFY:
                    if session["identified"]:
                        await ws.close(code=4008, message=b"Already identified.")
                        break
                    with self.lock:
                        self.identify_attempts += 1
                    if d.get("rpcVersion") != 1:
                        await ws.close(code=4010, message=b"Unsupported rpc version.")
                        break
                    if self.password is not None and d.get("authentication") != auth_string(
                        self.password, salt, challenge
                    ):
                        with self.lock:
                            self.auth_failures += 1
                        await ws.close(code=4009, message=b"Authentication failed.")
                        break
                    session["identified"] = True
                    session["subs"] = int(d.get("eventSubscriptions", 0x7FF))
                    self._clients[ws] = session
                    await ws.send_json({"op": OP_IDENTIFIED, "d": {"negotiatedRpcVersion": 1}})
                elif not session["identified"]:
                    await ws.close(code=4007, message=b"Not identified.")
                    break
                elif op == OP_REIDENTIFY:
                    session["subs"] = int(d.get("eventSubscriptions", session["subs"]))
                    await ws.send_json({"op": OP_IDENTIFIED, "d": {"negotiatedRpcVersion": 1}})
                elif op == OP_REQUEST:
                    response = await self._answer(d)
                    if response is not None:
                        await ws.send_json({"op": OP_RESPONSE, "d": response})
                elif op == OP_BATCH:
                    results = []
                    for item in d.get("requests", []):
                        answer = await self._answer(item)
                        if answer is not None:
                            results.append(answer)
                    await ws.send_json(
                        {
                            "op": OP_BATCH_RESPONSE,
                            "d": {"requestId": d.get("requestId"), "results": results},
                        }
                    )
                else:
                    await ws.close(code=4006, message=b"Unknown op code.")
                    break
        finally:
            self._clients.pop(ws, None)
        return ws

    async def _broadcast(self, event_type: str, data: dict[str, Any], intent: int) -> None:
        for ws, session in list(self._clients.items()):
            if session["subs"] & intent and not ws.closed:
                try:
                    await ws.send_json(
                        {
                            "op": OP_EVENT,
                            "d": {
                                "eventType": event_type,
                                "eventIntent": intent,
                                "eventData": data,
                            },
                        }
                    )
                except ConnectionError:
                    pass

    async def _answer(self, d: dict[str, Any]) -> dict[str, Any] | None:
        request_type = d.get("requestType", "")
        request_id = d.get("requestId", "")
        data = d.get("requestData") or {}
        with self.lock:
            self.requests.append((request_type, copy.deepcopy(data)))
            hang = request_type in self.hang
            forced = self.fail_next.pop(request_type, None)
        if hang:
            return None
        out: dict[str, Any] = {"requestType": request_type, "requestId": request_id}
        events: list[tuple[str, dict[str, Any], int]] = []
        try:
            if forced is not None:
                raise RequestFailed(*forced)
            handler = getattr(self, f"_req_{request_type}", None)
            if handler is None:
                raise RequestFailed(204, "Your request type is not valid.")
            with self.lock:
                result = handler(data, events)
        except RequestFailed as exc:
            out["requestStatus"] = {"result": False, "code": exc.code, "comment": exc.comment}
        else:
            out["requestStatus"] = {"result": True, "code": 100}
            if result is not None:
                out["responseData"] = result
        for event in events:
            await self._broadcast(*event)
        return out

    # -- the OBS model (called with the lock held) --------------------------------------------

    def _scene(self, name: Any) -> list[dict[str, Any]]:
        if name not in self.scenes:
            raise RequestFailed(600, f"No source was found by the name of `{name}`.")
        return self.scenes[name]

    def _input(self, name: Any) -> dict[str, Any]:
        if name not in self.inputs:
            raise RequestFailed(600, f"No source was found by the name of `{name}`.")
        return self.inputs[name]

    def _create_input(
        self, scene: str, name: str, kind: str, settings: dict[str, Any], enabled: bool
    ) -> int:
        items = self._scene(scene)
        if name in self.inputs or name in self.scenes:
            raise RequestFailed(601, "A source already exists by that input name.")
        if kind not in self.kinds:
            raise RequestFailed(
                605,
                "Your specified input kind is not supported by OBS. "
                "Check that your specified kind is properly versioned "
                "and that any necessary plugins are loaded.",
            )
        self.inputs[name] = {"inputKind": kind, "inputSettings": dict(settings)}
        return self._add_item(items, name, enabled)

    def _add_item(self, items: list[dict[str, Any]], source: str, enabled: bool) -> int:
        item_id = self._next_item
        self._next_item += 1
        items.append(
            {
                "sceneItemId": item_id,
                "sourceName": source,
                "sceneItemEnabled": enabled,
                "sceneItemIndex": len(items),
                "inputKind": self.inputs.get(source, {}).get("inputKind"),
            }
        )
        return item_id

    def _item(self, data: dict[str, Any]) -> dict[str, Any]:
        _need(data, "sceneName", "sceneItemId")
        for item in self._scene(data["sceneName"]):
            if item["sceneItemId"] == data["sceneItemId"]:
                return item
        raise RequestFailed(600, "No scene items were found in the specified scene by that ID.")

    def _req_GetVersion(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        return {
            "obsVersion": "29.0.2",
            "obsWebSocketVersion": "5.1.0",
            "rpcVersion": 1,
            "platform": "fake",
            "platformDescription": "tests/obs/fake_obs.py",
            "availableRequests": sorted(n[5:] for n in dir(self) if n.startswith("_req_")),
            "supportedImageFormats": ["png", "jpg"],
        }

    def _req_GetInputKindList(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        return {"inputKinds": list(self.kinds)}

    def _req_GetVideoSettings(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        w, h = self.canvas
        return {
            "baseWidth": w,
            "baseHeight": h,
            "outputWidth": w,
            "outputHeight": h,
            "fpsNumerator": 30,
            "fpsDenominator": 1,
        }

    def _req_GetSceneList(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        names = list(self.scenes)
        return {
            "currentProgramSceneName": self.program,
            "currentPreviewSceneName": None,
            "scenes": [
                {"sceneName": n, "sceneIndex": len(names) - 1 - i}
                for i, n in enumerate(reversed(names))
            ],
        }

    def _req_GetCurrentProgramScene(
        self, data: dict[str, Any], events: list[Any]
    ) -> dict[str, Any]:
        return {"currentProgramSceneName": self.program}

    def _req_SetCurrentProgramScene(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "sceneName")
        self._scene(data["sceneName"])
        if data["sceneName"] != self.program:
            self.program = data["sceneName"]
            events.append(("CurrentProgramSceneChanged", {"sceneName": self.program}, SUB_SCENES))

    def _req_CreateScene(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "sceneName")
        name = data["sceneName"]
        if name in self.scenes or name in self.inputs:
            raise RequestFailed(601, "A source already exists by that scene name.")
        self.scenes[name] = []
        events.append(("SceneCreated", {"sceneName": name, "isGroup": False}, SUB_SCENES))

    def _req_GetInputList(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        kind = data.get("inputKind")
        return {
            "inputs": [
                {
                    "inputName": n,
                    "inputKind": i["inputKind"],
                    "unversionedInputKind": i["inputKind"].removesuffix("_v2"),
                }
                for n, i in self.inputs.items()
                if kind in (None, i["inputKind"])
            ]
        }

    def _req_CreateInput(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "sceneName", "inputName", "inputKind")
        item_id = self._create_input(
            data["sceneName"],
            data["inputName"],
            data["inputKind"],
            data.get("inputSettings") or {},
            data.get("sceneItemEnabled", True),
        )
        events.append(
            (
                "InputCreated",
                {"inputName": data["inputName"], "inputKind": data["inputKind"]},
                SUB_INPUTS,
            )
        )
        return {"sceneItemId": item_id}

    def _req_GetInputSettings(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "inputName")
        found = self._input(data["inputName"])
        return {
            "inputKind": found["inputKind"],
            "inputSettings": copy.deepcopy(found["inputSettings"]),
        }

    def _req_SetInputSettings(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "inputName", "inputSettings")
        found = self._input(data["inputName"])
        if not isinstance(data["inputSettings"], dict):
            raise RequestFailed(401, "The field value of `inputSettings` must be an object.")
        if data.get("overlay", True):
            found["inputSettings"].update(data["inputSettings"])
        else:
            found["inputSettings"] = dict(data["inputSettings"])

    def _req_GetSceneItemList(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "sceneName")
        return {"sceneItems": copy.deepcopy(self._scene(data["sceneName"]))}

    def _req_GetSceneItemId(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "sceneName", "sourceName")
        for item in self._scene(data["sceneName"]):
            if item["sourceName"] == data["sourceName"]:
                return {"sceneItemId": item["sceneItemId"]}
        raise RequestFailed(
            600, "No scene items were found in the specified scene by that name or offset."
        )

    def _req_CreateSceneItem(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "sceneName", "sourceName")
        items = self._scene(data["sceneName"])
        if data["sourceName"] not in self.inputs and data["sourceName"] not in self.scenes:
            raise RequestFailed(600, f"No source was found by the name of `{data['sourceName']}`.")
        return {
            "sceneItemId": self._add_item(
                items, data["sourceName"], data.get("sceneItemEnabled", True)
            )
        }

    def _req_GetSceneItemEnabled(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        return {"sceneItemEnabled": self._item(data)["sceneItemEnabled"]}

    def _req_SetSceneItemEnabled(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "sceneItemEnabled")
        item = self._item(data)
        item["sceneItemEnabled"] = bool(data["sceneItemEnabled"])
        events.append(
            (
                "SceneItemEnableStateChanged",
                {
                    "sceneName": data["sceneName"],
                    "sceneItemId": item["sceneItemId"],
                    "sceneItemEnabled": item["sceneItemEnabled"],
                },
                SUB_SCENEITEMS,
            )
        )

    def _req_TriggerMediaInputAction(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "inputName", "mediaAction")
        self._input(data["inputName"])
        if data["mediaAction"] == "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART":
            self.media_restarts.append(data["inputName"])

    def _req_GetSourceFilter(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        _need(data, "sourceName", "filterName")
        key = (data["sourceName"], data["filterName"])
        if key not in self.filters:
            raise RequestFailed(600, "No filter was found in the source by that name.")
        return dict(self.filters[key], filterIndex=0)

    def _req_SetSourceFilterEnabled(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "sourceName", "filterName", "filterEnabled")
        key = (data["sourceName"], data["filterName"])
        if data["sourceName"] not in self.inputs and data["sourceName"] not in self.scenes:
            raise RequestFailed(600, f"No source was found by the name of `{data['sourceName']}`.")
        if key not in self.filters:
            raise RequestFailed(600, "No filter was found in the source by that name.")
        self.filters[key]["filterEnabled"] = bool(data["filterEnabled"])

    def _req_SetCurrentSceneTransition(self, data: dict[str, Any], events: list[Any]) -> None:
        _need(data, "transitionName")
        if data["transitionName"] not in ("Fade", "Cut"):
            raise RequestFailed(600, "No scene transition was found by that name.")
        self.transition = data["transitionName"]

    def _req_GetStreamStatus(self, data: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        return {
            "outputActive": self.streaming,
            "outputReconnecting": False,
            "outputTimecode": "00:00:00.000",
            "outputDuration": 0,
            "outputCongestion": 0.0,
            "outputBytes": 0,
            "outputSkippedFrames": 0,
            "outputTotalFrames": 0,
        }
