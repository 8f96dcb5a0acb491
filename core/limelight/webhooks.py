"""What webhook providers raise when a delivery cannot be accepted."""

from __future__ import annotations


class WebhookError(Exception):
    """Reject a delivery with ``status`` (4xx) and a message that says what is wrong.

    Nothing is written for a rejected delivery."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
