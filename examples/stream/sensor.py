"""A simulated sensor feed for the stream example (examples/stream/main.ts)."""

import math
import time

# What the last feed did, for status(): the example reads it with a second call.
_state = {"produced": 0, "closed": False}


def feed(interval=0.005, limit=None):
    """Yields a reading every `interval` seconds, for ever (or `limit` times)."""
    _state.update(produced=0, closed=False)
    try:
        seq = 0
        while limit is None or seq < limit:
            time.sleep(interval)
            _state["produced"] += 1
            yield {"seq": seq, "celsius": round(20 + 5 * math.sin(seq / 8), 2)}
            seq += 1
    finally:
        # Runs when the consumer breaks out of its loop or gives up: the generator is closed in Python.
        _state["closed"] = True


def status():
    """How many readings the last feed produced, and whether its `finally` block has run."""
    return dict(_state)
