"""Small messages leave the server at once (TCP_NODELAY on its sockets).

Streamlit 1.67 binds its listening socket with ``socket.socket(family)``, whose protocol number
is 0, and asyncio turns Nagle's algorithm off only for sockets that say ``IPPROTO_TCP``. So every
reply the server wrote in two parts (a picture's headers, then its bytes; the deltas of a run)
waited for the browser's delayed acknowledgement: 40 ms a time on a reused connection, about
0.1 s of a click (docs/performance.md, "The 40 ms wait"). The page turns Nagle off on the
process's TCP sockets once: the listening one, whose setting Linux copies to every connection
accepted later, and the connections already open (the first visitor's). Where the process's
file descriptors cannot be listed this does nothing, and the page works as before.
"""

from __future__ import annotations

import os
import socket
import stat
import threading

FD_FOLDERS = ("/proc/self/fd", "/dev/fd")
_done = threading.Event()


def open_descriptors() -> list[int]:
    for folder in FD_FOLDERS:
        try:
            return [int(name) for name in os.listdir(folder) if name.isdigit()]
        except OSError:
            continue
    return []


def send_without_delay() -> int:
    """Turn Nagle's algorithm off on every TCP socket of this process; returns how many. Sockets are
    reached through duplicates of their descriptors, so nothing of the server's is closed."""
    changed = 0
    for fd in open_descriptors():
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            with socket.socket(fileno=os.dup(fd)) as sock:
                if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    changed += 1
        except OSError:  # closed meanwhile, or not a socket this can set
            continue
    return changed


def once_per_process() -> None:
    """:func:`send_without_delay` at the first page run of a server process."""
    if not _done.is_set():
        _done.set()
        send_without_delay()
