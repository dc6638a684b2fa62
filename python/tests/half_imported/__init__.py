"""A package whose import takes a while after it has loaded a submodule, as asyncio's does:
stopped in between, it could never be imported again (see test_worker_cancel_races.py)."""

import sys
import time

from .first import *  # noqa: F403 - binds `first` here only while first.py is being loaded for the first time

print("half_imported: importing", flush=True)
time.sleep(0.5)
sys.stdout.flush()
VALUE = first.VALUE  # noqa: F405


def value() -> int:
    return VALUE
