"""Functions that log, for the tests of log forwarding (test_log_forwarding.py)."""

import asyncio
import logging

log = logging.getLogger("logging_targets")


def warn(message):
    log.warning(message)
    return "done"


def debug_then_info(message):
    log.debug("debug: %s", message)
    log.info("info: %s", message)
    return "done"


def fail():
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("it failed")
    return "done"


async def warn_async(message):
    await asyncio.sleep(0)
    log.warning(message)
    return "done"


def count(n):
    for i in range(n):
        log.warning("item %d", i)
        yield i


def configure_and_warn(message):
    """What a script does: basicConfig to stderr. With the runtime's handler in place, it changes nothing."""
    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(message)s")
    log.warning(message)
    return "done"
