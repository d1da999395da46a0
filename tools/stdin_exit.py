"""Ends a loopback server when whoever started it goes away.

A test harness starts the emulator or the relying party with a pipe on stdin
(`--exit-on-stdin-eof`) and holds the other end; when the harness exits, even
killed, the pipe closes and so does the server: no orphan on a port.
"""

import os
import sys
import threading


def _wait_then_exit() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def exit_when_stdin_closes() -> None:
    """Exits the process once stdin reaches end of file (a background thread)."""
    threading.Thread(target=_wait_then_exit, daemon=True).start()
