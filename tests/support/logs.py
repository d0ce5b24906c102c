"""Errors logged while a test runs, for the fuzz tests' "nothing logged as an error"."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class Records(logging.Handler):
    """Keeps every record at ERROR or above, and every record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.found.append(record)

    def text(self) -> str:
        return "\n".join(
            f"{record.name} {record.levelname} {self.format(record)}" for record in self.found
        )


@contextlib.contextmanager
def logged_errors() -> Iterator[Records]:
    """Errors logged anywhere in this process: the gateways, the services, and uvicorn,
    which does not propagate to the root logger (and whose handlers are set when it starts)."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
