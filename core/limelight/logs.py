"""Logging with secrets redacted: no configured token or password reaches a log line."""

from __future__ import annotations

import logging
import time

from .config import Settings

#: How often a repeating problem is logged (with how many times it happened meanwhile).
LOG_INTERVAL = 60.0


class Throttled:
    """Counts occurrences of one problem and logs one line per interval with their count.

    Why: a problem that repeats many times a second (a full descriptor table, a database
    that stopped answering) must not fill the disk with the same line; the first time is
    logged at once (with the traceback when one is given), then a count per interval.
    """

    def __init__(
        self, logger: logging.Logger, message: str, interval: float = LOG_INTERVAL
    ) -> None:
        self.logger = logger
        self.message = message
        self.interval = interval
        self.count = 0
        self.total = 0
        self._last = -interval

    def note(self, detail: str = "", exc: BaseException | None = None) -> None:
        self.count += 1
        self.total += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        suffix = f" ({detail})" if detail else ""
        self.logger.warning(
            "%s: %d time(s) in the last %.0f s%s",
            self.message,
            self.count,
            self.interval,
            suffix,
            exc_info=exc,
        )
        self.count = 0


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            if secret in redacted:
                redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.logging.level.upper())
    # obsws-python logs the OBS password at INFO; aiohttp.access is noisy at INFO.
    logging.getLogger("obsws_python").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
