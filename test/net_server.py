#!/usr/bin/env python3
"""net_server.py -- the servers test_net talks to, all on 127.0.0.1.

    python3 test/net_server.py DIR

Makes a test CA and server certificates in DIR with the openssl command,
then listens on several ports and prints them as one JSON line:

  plain    HTTP/1.1
  tls      HTTPS, certificate for localhost, model.test and 127.0.0.1
  wrong    HTTPS, certificate for wrong.example and 10.9.8.7
  expired  HTTPS, certificate that expired yesterday
  unknown  HTTPS, certificate from a CA the client is not given
  proxy    a forward proxy (absolute-URI requests and CONNECT); whatever
           host a request names, it connects to 127.0.0.1
  authproxy  the same, but it wants "Proxy-Authorization: Basic" for
           alice:p@ss:w0rd (else 407 and close), and forwards requests
           without that header and with "Via: test-proxy-auth"
  backlog  a listener that never accepts and whose queue is full, so a
           connect to it hangs

Then it reads commands from stdin, one per line, and exits at EOF:

  later MS   answers a free port that starts listening (plain) in MS ms

Every server answers by path (a request's path also counts as a key for
"the n-th request with this path"):

  /echo...          200, body "conn=C req=R n=N abs=A via=V"
  /close            the same with Connection: close
  /http10           the same as HTTP/1.0, connection left open
  /drop-second      the second request on a connection is not answered:
                    the connection is closed
  /r429/...         first 429 with Retry-After: 1, then /echo
  /r429hour/...     first 429 with Retry-After: 3600, then /echo
  /r503/...         first 503, then /echo
  /always429/...    429, Retry-After: 0, {"error":{"message":"slow down
                    (attempt N)"}}
  /always503/...    503
  /slow             the answer comes after 1.5 s
  /trickle          a chunked body, one chunk every 100 ms for 2 s
  /sse/MS           an event stream ending in [DONE]; the last chunk
                    follows MS ms later
  .../chat/completions   a chat stream whose text is "conn=C req=R"

C counts connections per port from 1, R requests on the connection.
"""
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

LOCK = threading.Lock()
PROXY_AUTH = "Basic " + base64.b64encode(b"alice:p@ss:w0rd").decode()
PATHS = {}


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    p = lambda name: os.path.join(d, name)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    # The CA is RSA and the other CA EC, so both key types are loaded.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            p("ca.key"), "-out", p("ca.pem"), "-days", "30", "-subj",
            "/CN=openagent test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-x509", *ec, "-nodes", "-keyout", p("other.key"),
            "-out", p("other.pem"), "-days", "30", "-subj",
            "/CN=some other CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign")
    good = "subjectAltName=DNS:localhost,DNS:model.test,IP:127.0.0.1\n"
    wrong = "subjectAltName=DNS:wrong.example,IP:10.9.8.7\n"
    for serial, (name, ext, ca, days) in enumerate((
            ("good", good, "ca", "30"), ("wrong", wrong, "ca", "30"),
            ("expired", good, "ca", "-1"), ("unknown", good, "other", "30")),
            start=2):
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        openssl("req", "-new", *ec, "-nodes", "-keyout", p(name + ".key"),
                "-out", p(name + ".csr"), "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA",
                p(ca + ".pem"), "-CAkey", p(ca + ".key"), "-set_serial",
                str(serial), "-days", days,
                "-extfile", p(name + ".ext"), "-out", p(name + ".pem"))
    with open(p("bundle.pem"), "w") as out:
        for name in ("other.pem", "ca.pem"):
            with open(p(name)) as f:
                out.write(f.read())


def count(path):
    with LOCK:
        PATHS[path] = PATHS.get(path, 0) + 1
        return PATHS[path]


def read_request(conn, buf):
    """(method, target, version, headers, body, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    return method, target, version, headers, buf[:n], buf[n:]


def answer(conn, status, body, extra="", version="HTTP/1.1"):
    reason = {200: "OK", 429: "Too Many Requests",
              503: "Service Unavailable"}[status]
    conn.sendall(("%s %d %s\r\nContent-Type: text/plain\r\n"
                  "Content-Length: %d\r\n%s\r\n" %
                  (version, status, reason, len(body), extra)).encode()
                 + body)


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def serve(conn, cid):
    buf = b""
    req = 0
    while True:
        r = read_request(conn, buf)
        if r is None:
            return
        method, target, version, headers, body, buf = r
        req += 1
        absolute = target.startswith("http://")
        path = "/" + target.split("/", 3)[3] if absolute else target
        n = count(path)
        echo = ("conn=%d req=%d n=%d abs=%d via=%s" %
                (cid, req, n, absolute, headers.get("via", "-"))).encode()
        if path.startswith("/echo"):
            answer(conn, 200, echo)
        elif path == "/close":
            answer(conn, 200, echo, "Connection: close\r\n")
            return
        elif path == "/http10":
            answer(conn, 200, echo, version="HTTP/1.0")
        elif path == "/drop-second":
            if req >= 2:
                return
            answer(conn, 200, echo)
        elif path.startswith("/r429/") and n == 1:
            answer(conn, 429, b'{"error":{"message":"wait"}}',
                   "Retry-After: 1\r\n")
        elif path.startswith("/r429hour/") and n == 1:
            answer(conn, 429, b'{"error":{"message":"come back later"}}',
                   "Retry-After: 3600\r\n")
        elif path.startswith("/r503/") and n == 1:
            answer(conn, 503, b"loading model")
        elif path.startswith(("/r429/", "/r429hour/", "/r503/")):
            answer(conn, 200, echo)
        elif path.startswith("/always429/"):
            answer(conn, 429, b'{"error":{"message":"slow down '
                   b'(attempt %d)"}}' % n, "Retry-After: 0\r\n")
        elif path.startswith("/always503/"):
            answer(conn, 503, b"loading model")
        elif path == "/slow":
            time.sleep(1.5)
            answer(conn, 200, echo)
        elif path == "/trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                         b"chunked\r\n\r\n")
            for _ in range(20):
                conn.sendall(chunk(b"."))
                time.sleep(0.1)
            conn.sendall(b"0\r\n\r\n")
        elif path.startswith("/sse/"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: "
                         b"text/event-stream\r\nTransfer-Encoding: "
                         b"chunked\r\n\r\n" + chunk(b"data: one\n\n") +
                         chunk(b"data: [DONE]\n\n"))
            time.sleep(int(path[5:]) / 1000)
            conn.sendall(b"0\r\n\r\n")
        elif path.endswith("/chat/completions"):
            text = "conn=%d req=%d" % (cid, req)
            ev = {"choices": [{"index": 0, "delta": {"content": text},
                               "finish_reason": "stop"}]}
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: "
                         b"text/event-stream\r\nTransfer-Encoding: "
                         b"chunked\r\n\r\n" +
                         chunk(b"data: " + json.dumps(ev).encode() +
                               b"\n\n") +
                         chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        else:
            answer(conn, 200, b"no such path " + path.encode())


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def proxy(conn, cid, auth=None):
    r = read_request(conn, b"")
    if r is None:
        return
    method, target, version, headers, body, rest = r
    if auth is not None and headers.pop("proxy-authorization", None) != auth:
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        return
    if method == "CONNECT":
        port = int(target.rsplit(":", 1)[1])
        up = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    else:
        hostport = target.split("/", 3)[2]
        port = int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 80
        up = socket.create_connection(("127.0.0.1", port))
        head = "%s %s %s\r\n" % (method, target, version)
        head += "".join("%s: %s\r\n" % kv for kv in headers.items())
        head += "Via: test-proxy%s\r\n\r\n" % ("-auth" if auth else "")
        up.sendall(head.encode("latin-1") + body + rest)
    t = threading.Thread(target=pipe, args=(up, conn), daemon=True)
    t.start()
    pipe(conn, up)
    t.join()
    up.close()


def listener(handler, ctx=None, sock=None):
    if sock is None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
    conns = [0]

    def run(conn, cid):
        try:
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True)
            handler(conn, cid)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()

    def accept():
        while True:
            conn, _ = sock.accept()
            conns[0] += 1
            threading.Thread(target=run, args=(conn, conns[0]),
                             daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return sock.getsockname()[1]


def tls_context(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, name + ".pem"),
                        os.path.join(d, name + ".key"))
    return ctx


def full_backlog():
    """A listener that never accepts, its queue filled by our own
    connections: later SYNs are dropped and a connect hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.2)
    return sock, fillers, port


def later(ms):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    def start():
        time.sleep(ms / 1000)
        listener(serve, None, bind_to(port))

    threading.Thread(target=start, daemon=True).start()
    return port


def bind_to(port):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def main(argv):
    d = argv[1]
    make_certs(d)
    ports = {
        "plain": listener(serve),
        "tls": listener(serve, tls_context(d, "good")),
        "wrong": listener(serve, tls_context(d, "wrong")),
        "expired": listener(serve, tls_context(d, "expired")),
        "unknown": listener(serve, tls_context(d, "unknown")),
        "proxy": listener(proxy),
        "authproxy": listener(lambda c, i: proxy(c, i, PROXY_AUTH)),
    }
    keep = full_backlog()
    ports["backlog"] = keep[2]
    print(json.dumps(ports), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "later":
            print(later(int(words[1])), flush=True)


if __name__ == "__main__":
    main(sys.argv)
