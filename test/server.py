#!/usr/bin/env python3
r"""A scripted OpenAI-compatible chat-completions server for the tests.

    python3 test/server.py SCENARIO.json [--record REQUESTS.jsonl]
                                         [--max-seconds 60] [--port N]

It listens on 127.0.0.1 on a free port (or --port) and prints that port
on its first line of output. Each request it receives, on any connection
(keep-alive is supported), gets the next response of the scenario; once
the list runs out the last response is repeated. It exits when killed,
when its standard input is a pipe and that pipe closes (the test that
started it is gone), or after --max-seconds, so a crashed test never
leaves it running.

Before answering, it reads the whole request (Content-Length) and appends
one JSON line to the record file, flushed before the response is written:
    {"n":0,"method":"POST","path":"/v1/chat/completions",
     "headers":{"content-type":"application/json",...},
     "body":{...parsed, or the raw text when not JSON...},
     "body_raw":"...the body exactly as received..."}

The scenario is a JSON list of responses, or {"responses": [...]}. A
response is an object; every key is optional:

  status        HTTP status, default 200.
  headers       {"Name": "value"} added to the response head.
  content_type  default "application/json" with "json", else
                "text/event-stream".
  framing       "chunked" (default: one event per HTTP chunk, as real
                servers send), "length" (Content-Length) or "close" (the
                body ends when the connection closes).
  connection    "close": send "Connection: close" and close after the body.
  delay_ms      pause before every event.
  prefix, sep   how object events are framed: default "data: " and
                "\n\n"; TGI and mistral.rs send "data:",
                text-generation-webui ends events with "\r\n\r\n".

  The body, one of:
  events        a list; each item is
                  an object  sent as  "data: <compact JSON>\n\n"
                  a string   sent exactly as written (any SSE bytes:
                             "data:[DONE]\r\n\r\n", ": ping\n\n",
                             "error: {...}\n\n", ...)
                  {"send": object-or-string, ...}  the same, with options:
                     delay_ms  pause before this event
                     split     [byte offsets]: write the event as several
                               HTTP chunks cut there (a UTF-8 character
                               split across chunks)
                     ascii     true: escape non-ASCII in the JSON as \uXXXX
                               (surrogate pairs for emoji)
                     repeat    send it this many times
  reply         shorthand for a llama.cpp-shaped stream: a role-only chunk,
                one content chunk per string (a string or a list of them),
                a finish chunk (finish_reason "stop", with "usage" if the
                response has one) and "data: [DONE]".
  body          a string sent as one event.
  json          an object sent as one compact JSON event.

  Faults (counted in events; each repeat counts):
  reset_after_events N   after N events, reset the connection (RST).
  close_after_events N   after N events, close the connection: a chunked
                         or length body is left truncated.
  stall_after_events N   after N events send nothing more, keeping the
                         connection open until the client goes away.
  stall_before_headers   send nothing at all, as above.
  no_final_chunk         chunked: never send the terminating 0-size chunk;
                         hold the connection open as in a stall.
  reset_before_headers   reset the connection as soon as the request is in.
  early_response S       answer as soon as the request head is in, before
                         reading its body; then read nothing for S seconds
                         and close.
  close_after_ms N       keep-alive, but N ms after the body is sent, close
                         the connection, as llama-server closes after
                         every streamed answer: half-close it (shutdown
                         SHUT_WR: the client reads its end) and keep
                         reading. Requests that still come are never
                         answered; one whose first bytes had already
                         arrived when it closed is recorded with
                         "before_close": true (sent while it was open),
                         any later one with "after_close": true (written
                         into a closed connection).
  raw                    a string written as the whole response, head and
                         body, each character as one byte (latin-1: "\u00ff"
                         is the byte 0xff); the connection is then closed,
                         or with "keep": true serves the next request.

Each record line also has "conn": the number of the connection (from 0)
the request came on, so a test can tell a reused connection from a new
one.
"""
import json
import os
import select
import socket
import stat
import struct
import sys
import threading
import time
from http import HTTPStatus

STALL_SECONDS = 30
lock = threading.Lock()
state = {"next": 0, "responses": [], "record": None, "conns": 0}


def compact(obj, ascii_only=False):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only)


def chunk(finish=None, delta=None, usage=None):
    """One chat.completion.chunk, shaped like llama.cpp's."""
    c = {"choices": [{"finish_reason": finish, "index": 0,
                      "delta": delta if delta is not None else {}}],
         "created": 1700000000, "id": "chatcmpl-test",
         "model": "test", "object": "chat.completion.chunk"}
    if usage is not None:
        c["usage"] = usage
    return c


def events_of(resp):
    """The response body as a list of (bytes, options) pairs."""
    if "reply" in resp:
        parts = resp["reply"]
        if isinstance(parts, str):
            parts = [parts]
        evs = [chunk(delta={"role": "assistant", "content": None})]
        evs += [chunk(delta={"content": p}) for p in parts]
        evs.append(chunk(finish="stop", usage=resp.get("usage")))
        evs.append("data: [DONE]\n\n")
    elif "events" in resp:
        evs = resp["events"]
    elif "json" in resp:
        evs = [compact(resp["json"])]
    else:
        evs = [resp.get("body", "")]
    out = []
    for ev in evs:
        opt = ev if isinstance(ev, dict) and "send" in ev else {"send": ev}
        data = opt["send"]
        if not isinstance(data, str):
            data = (resp.get("prefix", "data: ") +
                    compact(data, opt.get("ascii", False)) +
                    resp.get("sep", "\n\n"))
        for _ in range(int(opt.get("repeat", 1))):
            out.append((data.encode("utf-8"), opt))
    return out


def read_request(conn, buf, with_body=True):
    """Read one request; returns (method, path, headers, body, rest) or
    None when the client closed the connection. Without with_body only
    the head is read (body b"")."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    size = int(headers.get("content-length", "0"))
    if not with_body:
        return method, path, headers, b"", b""
    while len(buf) < size:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    return method, path, headers, buf[:size], buf[size:]


def record(n, method, path, headers, body, conn_no=0, closed=None):
    raw = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw
    rec = {"n": n, "method": method, "path": path, "headers": headers,
           "body": parsed, "body_raw": raw, "conn": conn_no}
    if closed is not None:
        rec[closed] = True
    line = compact(rec)
    if state["record"] is not None:
        with open(state["record"], "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()


def hold(conn):
    """Keep the connection open, sending nothing, until the client goes
    away or STALL_SECONDS pass."""
    end = time.monotonic() + STALL_SECONDS
    while time.monotonic() < end:
        r, _, _ = select.select([conn], [], [], 0.1)
        if r:
            try:
                if not conn.recv(65536):
                    return
            except OSError:
                return


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    conn.close()


def fault(conn, resp, i):
    """Apply the fault due before event i, if any. True: stop there."""
    if resp.get("reset_after_events") == i:
        time.sleep(0.2)  # let the client read what came before
        reset(conn)
        return True
    if resp.get("close_after_events") == i:
        time.sleep(0.2)
        return True
    if resp.get("stall_after_events") == i:
        hold(conn)
        return True
    return False


def respond(conn, resp):
    """Write one response. Returns False when the connection must end."""
    if resp.get("stall_before_headers"):
        hold(conn)
        return False
    if resp.get("reset_before_headers"):
        reset(conn)
        return False
    if "raw" in resp:
        conn.sendall(resp["raw"].encode("latin-1"))
        return bool(resp.get("keep"))
    status = int(resp.get("status", 200))
    framing = resp.get("framing", "chunked")
    ctype = resp.get("content_type",
                     "application/json" if "json" in resp
                     else "text/event-stream")
    close = framing == "close" or resp.get("connection") == "close"
    events = events_of(resp)
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: " + ctype]
    if framing == "chunked":
        head.append("Transfer-Encoding: chunked")
    elif framing == "length":
        head.append("Content-Length: %d" % sum(len(e) for e, _ in events))
    head.append("Connection: " + ("close" if close else "keep-alive"))
    head += ["%s: %s" % kv for kv in resp.get("headers", {}).items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

    for i, (data, opt) in enumerate(events):
        if fault(conn, resp, i):
            return False
        delay = opt.get("delay_ms", resp.get("delay_ms", 0))
        if delay:
            time.sleep(delay / 1000.0)
        cuts = [0] + list(opt.get("split", [])) + [len(data)]
        for a, b in zip(cuts, cuts[1:]):
            piece = data[a:b]
            if framing == "chunked" and piece:  # a 0-size chunk ends it
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            conn.sendall(piece)
            if b < len(data):
                time.sleep(0.05)  # so the pieces arrive in separate reads
    if fault(conn, resp, len(events)):
        return False
    if resp.get("no_final_chunk"):
        hold(conn)
        return False
    if framing == "chunked":
        conn.sendall(b"0\r\n\r\n")
    return not close


def half_closed(conn, buf, conn_no, early):
    """After close_after_ms: record whatever requests still arrive on the
    connection we closed for writing, until the client goes away. early:
    bytes of the first one had come before the close."""
    while True:
        req = read_request(conn, buf)
        if req is None:
            return
        method, path, headers, body, buf = req
        with lock:
            record(-1, method, path, headers, body, conn_no,
                   "before_close" if early else "after_close")
        early = False


def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    with lock:
        conn_no = state["conns"]
        state["conns"] += 1
    try:
        while True:
            with lock:
                responses = state["responses"]
                early = responses[min(state["next"], len(responses) - 1)
                                  ].get("early_response")
            req = read_request(conn, buf, with_body=early is None)
            if req is None:
                break
            method, path, headers, body, buf = req
            with lock:
                n = state["next"]
                state["next"] += 1
                resp = responses[min(n, len(responses) - 1)]
                record(n, method, path, headers, body, conn_no)
            if early is not None:
                respond(conn, resp)
                time.sleep(float(early))
                break
            if not respond(conn, resp):
                break
            wait = resp.get("close_after_ms")
            if wait is not None:
                time.sleep(float(wait) / 1000)
                early = bool(buf) or bool(
                    select.select([conn], [], [], 0)[0])
                conn.shutdown(socket.SHUT_WR)
                half_closed(conn, buf, conn_no, early)
                break
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def watch_stdin():
    """Exit once the pipe from the parent closes."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def main(argv):
    args = argv[1:]
    if not args or args[0].startswith("-"):
        sys.stderr.write(__doc__)
        return 2
    with open(args[0], encoding="utf-8") as f:
        scenario = json.load(f)
    if isinstance(scenario, dict):
        scenario = scenario["responses"]
    state["responses"] = scenario or [{"reply": ""}]
    max_seconds = 60.0
    port = 0
    i = 1
    while i + 1 < len(args):
        if args[i] == "--record":
            state["record"] = args[i + 1]
        elif args[i] == "--max-seconds":
            max_seconds = float(args[i + 1])
        elif args[i] == "--port":
            port = int(args[i + 1])
        i += 2

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print(srv.getsockname()[1], flush=True)

    if stat.S_ISFIFO(os.fstat(0).st_mode):
        threading.Thread(target=watch_stdin, daemon=True).start()
    timer = threading.Timer(max_seconds, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
