"""SocketWaiter: the engine loop's wait on every socket of the process (gateway/fix/wait.py)."""

from __future__ import annotations

import socket

import pytest

from gateway.fix.wait import SocketWaiter

pytestmark = pytest.mark.skipif(not SocketWaiter().available, reason="needs /proc/self/fd")


def test_wait_when_a_socket_reuses_the_fd_numbers_of_closed_files_then_it_is_watched(tmp_path):
    # The venue simulator stalled 100 ms per message for half a second when a client connected
    # just after store files were reopened: the new socket had a file's old fd number, the set
    # of numbers was unchanged, and the waiter kept its old list.
    files = [open(tmp_path / f"f{i}", "w") for i in range(2)]  # noqa: SIM115
    numbers = sorted(f.fileno() for f in files)
    waiter = SocketWaiter()
    assert waiter.wait(0, False) is False  # first scan: the files are not sockets
    for f in files:
        f.close()
    a, b = socket.socketpair()
    try:
        if sorted((a.fileno(), b.fileno())) != numbers:
            pytest.skip("the kernel did not hand out the closed fd numbers again")
        b.send(b"x")
        waiter._next_rescan = 0.0  # the periodic rescan
        assert waiter.wait(0.2, False) is True
    finally:
        a.close()
        b.close()


def test_wait_when_muted_then_sleeps_briefly_and_rescans_once_the_mute_ends():
    a, b = socket.socketpair()
    try:
        waiter = SocketWaiter()
        waiter.wait(0, False)
        b.send(b"x")  # readable, and nobody drains it: two fruitless wakes mute it
        assert waiter.wait(0.2, True) is True
        assert waiter.wait(0.2, True) is False  # muted: a short sleep, not a spin
        c, d = socket.socketpair()  # accepted while muted
        try:
            waiter._muted_until = 0.0
            d.send(b"y")
            a.recv(1)  # only the new connection is readable now
            assert waiter.wait(0.2, False) is True
            assert c.fileno() in waiter._fds
        finally:
            c.close()
            d.close()
    finally:
        a.close()
        b.close()
