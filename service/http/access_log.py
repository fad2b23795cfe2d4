"""uvicorn's access log without query strings: a search page's URL carries the project description,
which is the PI's to keep, not the log's. Keys never reach the log: they travel in headers or a
cookie, and the access log writes neither."""

from __future__ import annotations

import logging


class WithoutQuery(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):  # client, method, path, version, status
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQuery) for f in logger.filters):
        logger.addFilter(WithoutQuery())
