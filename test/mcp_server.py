#!/usr/bin/env python3
r"""A scripted MCP server for the tests, standard library only.

    python3 test/mcp_server.py [--http] [--log FILE] [--version V]
                               [--page N] [--odd-names] [--max-seconds S]

Over stdio (the default) it speaks newline-delimited JSON-RPC on stdin and
stdout; with --http it serves Streamable HTTP on 127.0.0.1 at /mcp on a
free port and prints the port on its first line. Every message and HTTP
request it receives is appended to --log as one JSON line, flushed at
once, so a test can check what the client sent (cancellations, headers,
DELETE).

It always sends notifications/tools/list_changed before answering
initialize, as real servers do; answers initialize with protocol version
--version (default 2025-11-25); lists its tools --page at a time with
nextCursor (default: all on one page); --odd-names adds tools whose names
are invalid or collide; --stubborn ignores SIGTERM and the end of stdin. It writes one line to stderr when it starts.
Over HTTP it assigns a session id at initialize, requires it afterwards
(404 for an unknown one) and answers every request as an event stream
opened by a priming event (an id, retry: 300, empty data).

The tools script the faults (arguments in parentheses):
  echo(text)     the text back
  slow(ms)       answers after ms milliseconds
  silent         never answers
  die            exits with status 3 in the middle of the call
  junk           a non-JSON line and a JSON non-message first, then echo
  huge(bytes)    a single line of that many bytes, then nothing
  interleave     first a notification, a stale response, a ping, and
                 sampling, elicitation and roots requests; answers with
                 the client's replies to them (a JSON text)
  mixed          text, text, image, audio, resource, resource_link items
                 and structuredContent
  fail           isError: true
  rpcerr         a JSON-RPC error -32602
  expire         (HTTP) forgets the session: the next request gets 404
  drop           (HTTP) ends the stream after the priming event; the
                 response comes on the GET that resumes it
"""
import json
import os
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = sys.argv[1:]


def opt(name, default=None):
    return ARGS[ARGS.index(name) + 1] if name in ARGS else default


LOG = opt("--log")
VERSION = opt("--version", "2025-11-25")
PAGE = int(opt("--page", "0"))
LOCK = threading.Lock()


def log(entry):
    if LOG:
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


TOOLS = [
    {"name": "echo", "description": "Echo the text",
     "inputSchema": {"type": "object", "properties":
                     {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "slow", "description": "Answer after ms milliseconds",
     "inputSchema": {"type": "object", "properties":
                     {"ms": {"type": "integer"}}, "required": ["ms"]}},
]
for n in ("silent", "die", "junk", "interleave", "mixed", "fail", "rpcerr",
          "expire", "drop"):
    TOOLS.append({"name": n, "description": "Scripted: " + n,
                  "inputSchema": {"type": "object"}})
TOOLS.append({"name": "huge", "description": "A line of that many bytes",
              "inputSchema": {"type": "object", "properties":
                              {"bytes": {"type": "integer"}}}})
if "--odd-names" in ARGS:
    TOOLS += [{"name": "read file", "description": "a space in the name"},
              {"name": "echo", "description": "a second echo"},
              {"name": "x" * 70, "description": "too long"}]

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD" \
      "hgGAWjR9awAAAABJRU5ErkJggg=="


def result(text, **more):
    r = {"content": [{"type": "text", "text": text}]}
    r.update(more)
    return r


class Server:
    """The protocol, apart from the transport: send(msg) writes one
    message to the client; replies() waits for the client's answers."""

    def __init__(self, send):
        self.send = send
        self.answers = queue.Queue()

    def handle(self, msg):
        """Act on one client message; None, or the response to send."""
        log({"got": msg})
        if "method" not in msg:
            self.answers.put(msg)          # an answer to our request
            return None
        if "id" not in msg:
            return None                    # a notification
        m, i, p = msg["method"], msg["id"], msg.get("params") or {}
        if m == "initialize":
            self.send({"jsonrpc": "2.0",
                       "method": "notifications/tools/list_changed"})
            return {"jsonrpc": "2.0", "id": i, "result": {
                "protocolVersion": VERSION, "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted mcp", "version": "1"}}}
        if m == "tools/list":
            start = int(p.get("cursor", "0"))
            n = PAGE or len(TOOLS)
            r = {"tools": TOOLS[start:start + n]}
            if start + n < len(TOOLS):
                r["nextCursor"] = str(start + n)
            return {"jsonrpc": "2.0", "id": i, "result": r}
        if m == "tools/call":
            return self.call(i, p.get("name"), p.get("arguments") or {})
        return {"jsonrpc": "2.0", "id": i,
                "error": {"code": -32601, "message": "no " + m}}

    def call(self, i, name, a):
        ok = lambda r: {"jsonrpc": "2.0", "id": i, "result": r}
        if name == "echo":
            return ok(result(a.get("text", "")))
        if name == "slow":
            time.sleep(a.get("ms", 0) / 1000)
            return ok(result("slept %d ms" % a.get("ms", 0)))
        if name == "silent":
            time.sleep(3600)
        if name == "die":
            sys.stdout.flush()
            os._exit(3)
        if name == "junk":
            self.send("this is not JSON")
            self.send([1, 2, 3])
            return ok(result("after junk"))
        if name == "huge":
            self.send("x" * int(a.get("bytes", 10 << 20)))
            return None
        if name == "interleave":
            self.send({"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "data": "working"}})
            self.send({"jsonrpc": "2.0", "id": 99999,
                       "result": result("stale")})
            asked = [("ping", "p-1"), ("sampling/createMessage", 501),
                     ("elicitation/create", 502), ("roots/list", 503)]
            for m, rid in asked:
                self.send({"jsonrpc": "2.0", "id": rid, "method": m,
                           "params": {}})
            got = {}
            while len(got) < len(asked):
                r = self.answers.get(timeout=20)
                got[str(r.get("id"))] = r.get("result", r.get("error"))
            return ok(result(json.dumps(got, sort_keys=True)))
        if name == "mixed":
            return ok({"content": [
                {"type": "text", "text": "one"},
                {"type": "text", "text": "two"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
                {"type": "audio", "data": "UklGRg==",
                 "mimeType": "audio/wav"},
                {"type": "resource", "resource": {
                    "uri": "file:///a.txt", "text": "A",
                    "mimeType": "text/plain"}},
                {"type": "resource_link", "uri": "file:///b.txt",
                 "name": "b"}],
                "structuredContent": {"n": 2}})
        if name == "fail":
            return ok(result("the disk is full", isError=True))
        if name == "rpcerr":
            return {"jsonrpc": "2.0", "id": i,
                    "error": {"code": -32602, "message": "bad arguments"}}
        if name in ("expire", "drop"):
            return ok(result(name))
        return {"jsonrpc": "2.0", "id": i,
                "error": {"code": -32602, "message": "unknown tool"}}


def stdio():
    out_lock = threading.Lock()

    def send(msg):
        line = msg if isinstance(msg, str) else json.dumps(msg)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    srv = Server(send)

    def work(msg):
        r = srv.handle(msg)
        if r is not None:
            send(r)

    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        # Calls run on threads so that answers to the server's own
        # requests can arrive while a call waits for them.
        if msg.get("method") == "tools/call":
            threading.Thread(target=work, args=(msg,), daemon=True).start()
        else:
            work(msg)
    log({"stdin": "closed"})


SESSIONS = {}
DROPPED = {}      # Last-Event-ID -> the response held back


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def event_stream(self, sid):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Mcp-Session-Id", sid)
        self.send_header("Connection", "close")
        self.end_headers()
        self.events = 0

    def event(self, msg):
        self.events += 1
        data = msg if isinstance(msg, str) else json.dumps(msg)
        self.wfile.write(("id: e%d\ndata: %s\n\n" % (self.events, data))
                         .encode())
        self.wfile.flush()

    def head(self):
        return {k.lower(): v for k, v in self.headers.items()}

    def do_DELETE(self):
        log({"http": "DELETE", "headers": self.head()})
        SESSIONS.pop(self.headers.get("Mcp-Session-Id"), None)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        last = self.headers.get("Last-Event-ID", "")
        log({"http": "GET", "headers": self.head()})
        held = DROPPED.pop(last, None)
        if held is None:
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.event_stream(held[0])
        self.wfile.write(b"id: g1\nretry: 300\ndata:\n\n")
        self.event(held[1])
        self.close_connection = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        msg = json.loads(body)
        log({"http": "POST", "headers": self.head()})
        sid = self.headers.get("Mcp-Session-Id")
        if msg.get("method") == "initialize":
            sid = uuid.uuid4().hex
            SESSIONS[sid] = Server(None)
        elif sid not in SESSIONS:
            log({"got": msg, "status": 404})
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        srv = SESSIONS[sid]
        if "id" not in msg or "method" not in msg:
            srv.handle(msg)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.event_stream(sid)
        self.wfile.write(b"id: p0\nretry: 300\ndata:\n\n")
        self.wfile.flush()
        srv.send = self.event
        p = msg.get("params") or {}
        r = srv.handle(msg)
        if p.get("name") == "expire":
            SESSIONS.pop(sid, None)
        if p.get("name") == "drop":
            DROPPED["e%d" % self.events if self.events else "p0"] = (sid, r)
            self.close_connection = True
            return
        if r is not None:
            self.event(r)
        self.close_connection = True


def main():
    log({"pid": os.getpid()})
    if "--stubborn" in ARGS:       # ignores SIGTERM and the end of stdin
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stderr.write("mcp_server: started\n")
    sys.stderr.flush()
    limit = float(opt("--max-seconds", "120"))
    threading.Timer(limit, lambda: os._exit(0)).start()
    if "--http" in ARGS:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        sys.stdout.write("%d\n" % httpd.server_address[1])
        sys.stdout.flush()
        httpd.serve_forever()
    else:
        stdio()
    if "--stubborn" in ARGS:
        time.sleep(3600)
    os._exit(0)


main()
