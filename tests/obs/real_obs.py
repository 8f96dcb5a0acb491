"""Real OBS Studio, headless under Xvfb, in a throw-away HOME (for tests and benchmarks).

OBS reads ``~/.config/obs-studio/global.ini``: ``[General] FirstRun=true`` skips the
auto-configuration wizard, ``[OBSWebSocket]`` turns on obs-websocket 5 on a free port
with a random password (``FirstLoad=false`` keeps it from generating its own). Software
GL (``LIBGL_ALWAYS_SOFTWARE=1``) lets it render without a GPU. Readiness is a completed
obs-websocket handshake, never a sleep. The whole process group (xvfb-run, Xvfb, obs)
is killed at the end, whatever happened.

Flags: ``--minimize-to-tray --multi --disable-missing-files-check --disable-updater``.
``--startstreaming`` is not needed (tests go live through obs-websocket when they want
to), and OBS 29.0.2 has no ``--disable-shutdown-check`` (OBS 30's safe mode added it):
after a SIGKILL it simply starts again.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import obsws_python

from ..support import free_port

logging.getLogger("obsws_python").setLevel(logging.CRITICAL)

OBS_ARGS = ["--minimize-to-tray", "--multi", "--disable-missing-files-check", "--disable-updater"]
START_TIMEOUT = 90.0


def obs_available() -> bool:
    return bool(shutil.which("obs") and shutil.which("xvfb-run"))


class RealObs:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.host = "127.0.0.1"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._output: Any = None

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "obs-studio"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "global.ini").write_text(
            "[General]\nFirstRun=true\n\n"
            "[OBSWebSocket]\nServerEnabled=true\n"
            f"ServerPort={self.port}\nAuthRequired=true\n"
            f"ServerPassword={self.password}\nFirstLoad=false\n"
            "AlertsEnabled=false\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        """Start OBS and return once obs-websocket completes a handshake."""
        if self.running:
            return
        self._write_config()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DISPLAY", "WAYLAND"))
        }
        env.update(HOME=str(self.home), LIBGL_ALWAYS_SOFTWARE="1", QT_QPA_PLATFORM="xcb")
        self._output = open(self.home / "obs-output.log", "ab")
        self.proc = subprocess.Popen(
            ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", "obs", *OBS_ARGS],
            env=env,
            cwd=self.home,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(f"OBS exited during startup (code {code}):\n{self.log_tail()}")
            try:
                client = self.client(timeout=2)
            except Exception as exc:  # not listening yet, or mid-startup
                last = exc
                time.sleep(0.1)
                continue
            try:
                client.base_client.req("GetVersion")
                return
            finally:
                client.disconnect()
        self.kill()
        raise RuntimeError(
            f"OBS did not complete an obs-websocket handshake within "
            f"{START_TIMEOUT:g} s ({last}):\n{self.log_tail()}"
        )

    def client(self, timeout: float = 5) -> obsws_python.ReqClient:
        return obsws_python.ReqClient(
            host=self.host, port=self.port, password=self.password, timeout=timeout
        )

    def request(self, request_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request on a fresh connection; returns the full response ``d``."""
        client = self.client()
        try:
            return client.base_client.req(request_type, data)
        finally:
            client.disconnect()

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would end OBS."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM, grace=5)

    def _signal(self, sig: int, grace: float = 0) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace or 10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        # Xvfb may outlive xvfb-run's shell for a moment: make sure the group is gone.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def log_tail(self, lines: int = 40) -> str:
        logs = sorted((self.config_dir / "logs").glob("*.txt"))
        text = ""
        if logs:
            text += "".join(logs[-1].read_text(errors="replace").splitlines(True)[-lines:])
        out = self.home / "obs-output.log"
        if out.exists():
            text += "\n--- output ---\n" + "".join(
                out.read_text(errors="replace").splitlines(True)[-lines:]
            )
        return text

    # -- known state for tests ------------------------------------------------------------------

    def reset_scenes(self) -> None:
        """Scenes ``Scene``, ``Big Tip``, ``Other``; in ``Scene`` a text source ``Label``
        and a colour source ``Box`` (visible); program scene ``Scene``."""
        client = self.client()
        req = client.base_client.req
        try:
            scenes = {s["sceneName"] for s in req("GetSceneList")["responseData"]["scenes"]}
            for name in ("Scene", "Big Tip", "Other"):
                if name not in scenes:
                    req("CreateScene", {"sceneName": name})
            inputs = {i["inputName"] for i in req("GetInputList")["responseData"]["inputs"]}
            if "Label" not in inputs:
                req(
                    "CreateInput",
                    {
                        "sceneName": "Scene",
                        "inputName": "Label",
                        "inputKind": "text_ft2_source_v2",
                        "inputSettings": {"text": ""},
                    },
                )
            if "Box" not in inputs:
                req(
                    "CreateInput",
                    {
                        "sceneName": "Scene",
                        "inputName": "Box",
                        "inputKind": "color_source_v3",
                        "inputSettings": {"width": 200, "height": 200},
                    },
                )
            req("SetInputSettings", {"inputName": "Label", "inputSettings": {"text": ""}})
            item = req("GetSceneItemId", {"sceneName": "Scene", "sourceName": "Box"})
            req(
                "SetSceneItemEnabled",
                {
                    "sceneName": "Scene",
                    "sceneItemEnabled": True,
                    "sceneItemId": item["responseData"]["sceneItemId"],
                },
            )
            req("SetCurrentProgramScene", {"sceneName": "Scene"})
        finally:
            client.disconnect()

    def go_live(self, rtmp_url: str) -> None:
        """Start streaming to ``rtmp_url`` (see fake_rtmp.py); returns once OBS is live."""
        self.request(
            "SetStreamServiceSettings",
            {
                "streamServiceType": "rtmp_custom",
                "streamServiceSettings": {"server": rtmp_url, "key": "limelight-test"},
            },
        )
        self.request("StartStream")
        deadline = time.monotonic() + 30
        while not self.request("GetStreamStatus")["responseData"]["outputActive"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"OBS did not go live:\n{self.log_tail()}")
            time.sleep(0.05)

    def streaming(self) -> bool:
        return bool(self.request("GetStreamStatus")["responseData"]["outputActive"])

    def program_scene(self) -> str:
        return self.request("GetCurrentProgramScene")["responseData"]["currentProgramSceneName"]

    def item_enabled(self, scene: str, source: str) -> bool:
        item = self.request("GetSceneItemId", {"sceneName": scene, "sourceName": source})
        state = self.request(
            "GetSceneItemEnabled",
            {"sceneName": scene, "sceneItemId": item["responseData"]["sceneItemId"]},
        )
        return bool(state["responseData"]["sceneItemEnabled"])

    def input_settings(self, name: str) -> dict[str, Any]:
        return self.request("GetInputSettings", {"inputName": name})["responseData"][
            "inputSettings"
        ]

    def snapshot(self) -> dict[str, Any]:
        """Scenes, their items and every input's settings: proof that nothing changed."""
        scenes = self.request("GetSceneList")["responseData"]["scenes"]
        out: dict[str, Any] = {"scenes": {}, "inputs": {}}
        for scene in scenes:
            items = self.request("GetSceneItemList", {"sceneName": scene["sceneName"]})
            out["scenes"][scene["sceneName"]] = sorted(
                (i["sourceName"], i["sceneItemEnabled"])
                for i in items["responseData"]["sceneItems"]
            )
        for item in self.request("GetInputList")["responseData"]["inputs"]:
            out["inputs"][item["inputName"]] = self.input_settings(item["inputName"])
        return out
