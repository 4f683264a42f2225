#!/usr/bin/env python3
# A user-space delay line for the multi-host test (test/helpers/delay-line.ts), for kernels
# without sch_netem: each link is a pair of TAP devices, both held open here. A frame the
# kernel sends out of one end is read here, held `delay` ms, and written into the other end,
# where the kernel receives it: each direction of each link is delayed like netem's
# `delay <ms>` on both ends of a veth pair. Taps that carry no offload flags get frames with
# their checksums done and segments cut, so nothing needs fixing on the way.
#
# argv: delay in ms, then one "a,b" pair of interface names per link (made in this process's
# network namespace; the caller moves them where they belong). Prints "ready" once all exist.
# stdin: a line with a number sets a new delay (answered "delay <ms>"); end of input (the
# caller is gone) stops it, and the taps vanish with their file descriptors.
import fcntl
import heapq
import itertools
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main() -> None:
    delay = float(sys.argv[1]) / 1000
    peer: dict[int, int] = {}
    for pair in sys.argv[2:]:
        a, b = (open_tap(n) for n in pair.split(","))
        peer[a], peer[b] = b, a
    print("ready", flush=True)
    held: list[tuple[float, int, int, bytes]] = []  # (due, order, out fd, frame), soonest first
    order = itertools.count()
    control = sys.stdin.fileno()
    pending = b""  # control input short of a newline
    while True:
        wait = None if not held else max(0.0, held[0][0] - time.monotonic())
        ready, _, _ = select.select([control, *peer], [], [], wait)
        now = time.monotonic()
        for fd in ready:
            if fd == control:
                data = os.read(control, 1024)
                if data == b"":
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    delay = float(line) / 1000
                    print(f"delay {line.decode().strip()}", flush=True)
                continue
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                heapq.heappush(held, (now + delay, next(order), peer[fd], frame))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, out, frame = heapq.heappop(held)
            try:
                os.write(out, frame)
            except OSError:
                pass  # the other end is down: the frame is lost, as on a wire


if __name__ == "__main__":
    main()
