"""A chatty Python job for the noisy example (examples/noisy/main.ts): print(), a progress bar and logging."""

import logging
import sys
import time

# The usual setup of a script: log records to stderr, with their level and logger name. In a SnakeBridge
# worker it does nothing: the runtime's handler is in place already, and the records go to the host as records.
FORMAT = "%(levelname)s %(name)s: %(message)s"
logging.basicConfig(level=logging.INFO, format=FORMAT, stream=sys.stderr)
log = logging.getLogger("noisy_job")


def crunch(steps=20, delay=0.02):
    """Adds up 1..steps slowly, reporting on the way as scripts do; returns the sum."""
    log.info("starting %d steps", steps)
    print(f"crunching {steps} steps")
    total = 0
    for step in range(1, steps + 1):
        time.sleep(delay)
        total += step
        # A progress bar drawn by hand, the way tqdm draws one: '\r' and redraw, on stderr.
        done = step * 20 // steps
        sys.stderr.write(f"\r[{'#' * done}{'.' * (20 - done)}] {step}/{steps}")
        sys.stderr.flush()
    sys.stderr.write("\n")
    if total > 100:
        log.warning("the total is large: %d", total)
    print(f"done: total={total}")
    return total
