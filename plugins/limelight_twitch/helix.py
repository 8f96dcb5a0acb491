"""The few Helix endpoints the connector needs (https://dev.twitch.tv/docs/api/reference).

IRC can no longer delete messages, change chat settings or whisper; Helix can, and it is
also the recommended way for a bot to send chat. Every call sends ``Authorization: Bearer
<token>`` and ``Client-Id``; errors raise :class:`HelixError` with Twitch's message (never
the token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

log = logging.getLogger("limelight.twitch.helix")


class HelixError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Helix {status}: {message}")
        self.status = status
        self.message = message


class Helix:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        client_id: str,
        token: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.calls = 0
        self.errors = 0

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Client-Id": self.client_id}
        for attempt in (1, 2):
            self.calls += 1
            async with self.session.request(
                method,
                self.api_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=self.timeout,
            ) as resp:
                if resp.status == 429 and attempt == 1:
                    reset = resp.headers.get("Ratelimit-Reset", "")
                    wait = float(reset) - time.time() if reset.isdigit() else 1.0
                    await asyncio.sleep(min(max(wait, 0.0), 5.0))
                    continue
                if resp.status == 204:
                    return None
                try:
                    body = await resp.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
                if resp.status >= 400:
                    self.errors += 1
                    message = body.get("message", "") if isinstance(body, dict) else ""
                    raise HelixError(resp.status, message or resp.reason or "error")
                return body
        raise HelixError(429, "rate limited")

    async def users(self, logins: list[str] | None = None) -> list[dict[str, Any]]:
        """The token's own user without ``logins``; else those users."""
        params = [("login", login) for login in logins or []]
        body = await self.request("GET", "/users", params=params or None)
        return list(body.get("data", [])) if isinstance(body, dict) else []

    async def send_chat(
        self, broadcaster_id: str, sender_id: str, text: str, reply_to: str | None = None
    ) -> str | None:
        payload: dict[str, Any] = {
            "broadcaster_id": broadcaster_id,
            "sender_id": sender_id,
            "message": text,
        }
        if reply_to:
            payload["reply_parent_message_id"] = reply_to
        body = await self.request("POST", "/chat/messages", json=payload)
        data = (body or {}).get("data") or [{}]
        result = data[0]
        if not result.get("is_sent", False):
            reason = result.get("drop_reason") or {}
            raise HelixError(200, f"message dropped: {reason.get('message', 'unknown reason')}")
        message_id = result.get("message_id")
        return str(message_id) if message_id else None

    async def delete_message(self, broadcaster_id: str, moderator_id: str, message_id: str) -> None:
        await self.request(
            "DELETE",
            "/moderation/chat",
            params={
                "broadcaster_id": broadcaster_id,
                "moderator_id": moderator_id,
                "message_id": message_id,
            },
        )

    async def update_chat_settings(
        self, broadcaster_id: str, moderator_id: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        body = await self.request(
            "PATCH",
            "/chat/settings",
            params={"broadcaster_id": broadcaster_id, "moderator_id": moderator_id},
            json=settings,
        )
        data = (body or {}).get("data") or [{}]
        return dict(data[0])

    async def whisper(self, from_id: str, to_id: str, text: str) -> None:
        await self.request(
            "POST",
            "/whispers",
            params={"from_user_id": from_id, "to_user_id": to_id},
            json={"message": text},
        )

    async def subscribe(
        self, sub_type: str, version: str, condition: dict[str, str], session_id: str
    ) -> dict[str, Any]:
        body = await self.request(
            "POST",
            "/eventsub/subscriptions",
            json={
                "type": sub_type,
                "version": version,
                "condition": condition,
                "transport": {"method": "websocket", "session_id": session_id},
            },
        )
        data = (body or {}).get("data") or [{}]
        return dict(data[0])
