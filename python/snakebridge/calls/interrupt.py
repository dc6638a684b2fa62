"""Interrupting user code running in another thread: the stdio worker's and
the gRPC server's thread pools both stop a cancelled sync call this way."""

from __future__ import annotations


def raise_in_thread(ident: int, exception: type[BaseException] | None) -> None:
    """Raises ``exception`` in the thread ``ident`` at its next bytecode; None clears a pending one.

    Pure-Python code stops at once; C code (``time.sleep`` in a pool thread,
    a numpy kernel) only when it returns to the interpreter.
    """
    # Imported here: ctypes costs every worker's start about 2 ms, and most workers never cancel a pool call.
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None
    )
