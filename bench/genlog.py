#!/usr/bin/env python3
"""Write N_BYTES of log to stdout, every format log_analyzer_agent
reads, mixed, for measuring it on large inputs (the same N gives the same
bytes):  python3 bench/genlog.py 1000000000 | build/log_analyzer_agent
--summary-only"""
import random
import sys

FORMATS = [
    '{{"timestamp":"2024-03-{d:02}T{h:02}:{m:02}:{s:02}Z","level":"{lvl}",'
    '"message":"request {n} from 10.0.{a}.{b} took {n} ms"}}',
    "2024-03-{d:02}T{h:02}:{m:02}:{s:02}.{n}+01:00 [{LVL}] job 0x{n:x} "
    "failed on /var/lib/app/{n}.db",
    '10.1.{a}.{b} - - [{d:02}/Mar/2024:{h:02}:{m:02}:{s:02} -0700] '
    '"GET /api/items/{n} HTTP/1.1" {code} {n} "-" "curl/8.0"',
    "<{pri}>Mar {d:2} {h:02}:{m:02}:{s:02} web{a} sshd[{n}]: session {n} "
    "closed",
    "<{pri}>1 2024-03-{d:02}T{h:02}:{m:02}:{s:02}Z host app {n} - - "
    "worker {a} restarted",
    "{h:02}:{m:02}:{s:02} {LVL} cache miss for key {n}",
    "    at com.example.Service.call(Service.java:{n})",
]

rnd = random.Random(1)
lines = []
for _ in range(20000):  # a pool of lines, repeated: fast for a gigabyte
    lvl = rnd.choice(["info", "info", "info", "warning", "error", "debug"])
    lines.append(rnd.choice(FORMATS).format(
        d=rnd.randint(1, 28), h=rnd.randint(0, 23), m=rnd.randint(0, 59),
        s=rnd.randint(0, 59), n=rnd.randint(0, 99999), a=rnd.randint(0, 255),
        b=rnd.randint(0, 255), lvl=lvl, LVL=lvl.upper(),
        code=rnd.choice([200, 200, 200, 404, 500, 503]),
        pri=rnd.choice([11, 12, 14, 30, 165])) + "\n")
block = "".join(lines).encode()
left = int(sys.argv[1])
while left > 0:
    sys.stdout.buffer.write(block[:left])
    left -= len(block)
