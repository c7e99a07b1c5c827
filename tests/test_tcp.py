"""shirtsim.web.tcp: Nagle's algorithm off on the server's sockets, Streamlit's way of binding them."""

import contextlib
import socket

from shirtsim.web.tcp import send_without_delay


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_the_listening_socket_open_connections_and_later_ones_send_without_delay():
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket(socket.AF_INET))  # protocol 0, as Streamlit 1.67 binds
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        early = stack.enter_context(socket.create_connection(listener.getsockname()))
        early_served = stack.enter_context(listener.accept()[0])
        stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))  # not TCP: left alone
        assert (nodelay(listener), nodelay(early_served)) == (0, 0)  # asyncio would leave these so

        assert send_without_delay() >= 3  # the listener and both ends of the open connection
        assert (nodelay(listener), nodelay(early_served), nodelay(early)) == (1, 1, 1)
        stack.enter_context(socket.create_connection(listener.getsockname()))
        later_served = stack.enter_context(listener.accept()[0])
        assert nodelay(later_served) == 1  # Linux copies the listener's setting to what it accepts
        early.sendall(b"still open")  # duplicates of the descriptors were closed, not the sockets
        assert early_served.recv(32) == b"still open"
