#!/usr/bin/env python3
"""Server-Sent Events subscribers for scripts/bench-sse (standard library only).

Usage: bench-sse-clients.py ADDR MODE COUNT AFTER TOKENS_FILE

Opens COUNT streams `GET /api/v1/events/stream?after=AFTER` on ADDR
(host:port), the i-th with the (i mod n)-th bearer token of TOKENS_FILE (one
a line), and checks that each one answers 200 with `text/event-stream`.
Then prints `READY` and, by MODE:

  idle     reads nothing more: the subscribers stay connected and the
           server's writes fill their sockets' buffers;
  reading  reads every stream as fast as it can, counting the events
           (`event:` lines) each one receives.

It waits for a line `STOP LAST` on its standard input, LAST being the log
position of the last event appended. A reading run then keeps reading, at
most 30 s, until every open stream has received the events up to LAST.
It prints one line and exits:

  RESULT subscribers=… complete=… min_events=… max_events=… ended=… bytes=…

complete: streams that received every event after AFTER up to LAST (0 when
idle); ended: streams the server closed (a reader that fell behind the
server's ring is dropped); bytes: bytes read after the response heads.
"""

import selectors
import socket
import sys
import time

NEEDLE = b"\nevent: "


class Subscriber:
    """One stream: its socket and what it received."""

    def __init__(self, sock):
        self.sock = sock
        self.events = 0
        self.bytes = 0
        self.tail = b""
        self.ended = False

    def take(self, data):
        """Counts the events in `data`, also across the edge of two reads."""
        self.bytes += len(data)
        joined = self.tail + data
        self.events += joined.count(NEEDLE)
        self.tail = joined[-(len(NEEDLE) - 1):]


def open_stream(host, port, token, after):
    """Sends the request and reads the response head; the subscriber."""
    sock = socket.create_connection((host, port), timeout=30)
    sock.sendall(
        (
            f"GET /api/v1/events/stream?after={after} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit(f"bench-sse-clients: the server closed a stream before its head: {head!r}")
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status or b"text/event-stream" not in head.lower():
        sys.exit(f"bench-sse-clients: a stream was refused: {head.decode(errors='replace')}")
    sock.setblocking(False)
    sub = Subscriber(sock)
    sub.take(rest)
    return sub


def read_ready(selector, wanted=None, deadline=None):
    """Reads the streams that have data; returns the STOP line once stdin has one."""
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if deadline is not None and timeout == 0.0:
            return None
        for key, _ in selector.select(timeout=timeout if timeout is not None else 1.0):
            if key.data is None:
                return sys.stdin.readline()
            sub = key.data
            try:
                data = sub.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sub.ended = True
                selector.unregister(sub.sock)
                continue
            sub.take(data)
        if wanted is not None and wanted():
            return None


def main():
    addr, mode, count, after, tokens_file = sys.argv[1:6]
    host, port = addr.rsplit(":", 1)
    count, after = int(count), int(after)
    if mode not in ("idle", "reading"):
        sys.exit("bench-sse-clients: MODE is idle or reading")
    with open(tokens_file) as f:
        tokens = [line.strip() for line in f if line.strip()]
    subs = [open_stream(host, int(port), tokens[i % len(tokens)], after) for i in range(count)]
    print("READY", flush=True)

    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    if mode == "reading":
        for sub in subs:
            selector.register(sub.sock, selectors.EVENT_READ, sub)
        line = read_ready(selector)
    else:
        line = sys.stdin.readline()
    parts = (line or "").split()
    if len(parts) != 2 or parts[0] != "STOP":
        sys.exit(f"bench-sse-clients: expected `STOP LAST`, got {line!r}")
    expected = int(parts[1]) - after

    complete = 0
    if mode == "reading":
        selector.unregister(sys.stdin)

        def all_in():
            return all(s.ended or s.events >= expected for s in subs)

        if not all_in():
            read_ready(selector, wanted=all_in, deadline=time.monotonic() + 30)
        complete = sum(1 for s in subs if s.events == expected)
    events = [s.events for s in subs]
    print(
        f"RESULT subscribers={count} complete={complete} min_events={min(events)} "
        f"max_events={max(events)} ended={sum(s.ended for s in subs)} "
        f"bytes={sum(s.bytes for s in subs)}",
        flush=True,
    )
    for sub in subs:
        sub.sock.close()


if __name__ == "__main__":
    main()
