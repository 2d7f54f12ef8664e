#!/usr/bin/env python3
"""test_mcp.py -- MCP end to end: the official conformance suite against
build/mcp_client, and the scripted LLM server (server.py) asking for tools
of real MCP servers, run by examples/mcp_agent and by oa --mcp/--mcp-url.

    OA_EXAMPLES_DIR=build OA_BIN=build/oa OA_TEST_SERVER=test/server.py \
        test/test_mcp.py [NAME...]

The npm packages come from test/mcp_setup.sh (build/npm, or OA_NPM_BIN);
without them the tests fail under CI=true and say they skip elsewhere.
The last line printed is "test_mcp.py: N passed, N failed".
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import harness
from harness import DONE, HERE, OA, TMP, Server, Skip, chunk

BUILD = harness.BIN
MCP_SERVER = os.path.join(HERE, "mcp_server.py")
NPM_BIN = os.path.abspath(os.environ.get("OA_NPM_BIN") or
                          "build/npm/node_modules/.bin")
CI = os.environ.get("CI") == "true"
# The closing line's name: test_mcp is the C test's.
harness.NAME = "test_mcp.py"


def need(name):
    """The path of an npm program; outside CI its absence skips."""
    path = os.path.join(NPM_BIN, name)
    if os.access(path, os.X_OK):
        return path
    if CI:
        raise AssertionError(path + " is missing: run test/mcp_setup.sh")
    raise Skip(path + " missing; test/mcp_setup.sh installs it")


def env():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("OPEN_AGENT_")}
    e["PATH"] = NPM_BIN + ":" + e.get("PATH", "")
    e["HOME"] = tempfile.mkdtemp(dir=TMP)
    return e


def calls(*cs):
    """A reply that asks for tools: (name, arguments object) pairs."""
    ev = [chunk({"role": "assistant", "content": None})]
    for i, (name, args) in enumerate(cs):
        ev.append(chunk({"tool_calls": [{
            "index": i, "id": "call_%d" % i, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}]}))
    return {"events": ev + [chunk({}, "tool_calls"), DONE]}


def reply(s):
    return {"events": [chunk({"role": "assistant", "content": s}),
                       chunk({}, "stop"), DONE]}


def tool_results(req):
    """The tool messages of a recorded request: {call id: content}."""
    return {m["tool_call_id"]: m["content"]
            for m in req["body"]["messages"] if m["role"] == "tool"}


def offered(req):
    return [t["function"]["name"] for t in req["body"].get("tools", [])]


# ----------------------------------------------------------- conformance

def conformance(scenario):
    """Run one client scenario; every check it reports must pass."""
    need("conformance")
    out = os.path.join(TMP, "conf-" + scenario)
    p = subprocess.run(
        [os.path.join(NPM_BIN, "node"), os.path.join(
            NPM_BIN, "..", "@modelcontextprotocol", "conformance", "dist",
            "index.js"), "client", "--command",
         os.path.join(BUILD, "mcp_client"), "--scenario", scenario,
         "-o", out], env=env(), capture_output=True, timeout=120)
    files = [os.path.join(r, f) for r, _, fs in os.walk(out)
             for f in fs if f == "checks.json"]
    assert len(files) == 1, "no checks.json: %s %s" % (
        p.stdout.decode()[-500:], p.stderr.decode()[-500:])
    with open(files[0]) as f:
        checks = [c for c in json.load(f) if c["status"] != "INFO"]
    for c in checks:
        print("  conformance %s: %s %s" % (scenario, c["id"], c["status"]))
    assert checks, "the scenario reported no checks"
    # A reconnection up to 1 s after the 500 ms asked for is a WARNING
    # (the suite's own verdict, and still a pass): on a loaded machine
    # the scheduler, not the client, decides those milliseconds.
    bad = [c for c in checks if c["status"] != "SUCCESS" and not (
        c["id"] == "client-sse-retry-timing" and c["status"] == "WARNING")]
    assert not bad, bad
    assert p.returncode == 0, p.stdout.decode()[-800:]


def test_conformance_initialize():
    conformance("initialize")


def test_conformance_tools_call():
    conformance("tools_call")


def test_conformance_sse_retry():
    conformance("sse-retry")


# --------------------------------------------------------------- example

def test_mcp_agent_reads_and_refuses_writes():
    need("mcp-server-filesystem")
    d = tempfile.mkdtemp(dir=TMP)
    with open(os.path.join(d, "note.txt"), "w") as f:
        f.write("twelve apples\n")
    target = os.path.join(d, "new.txt")
    with Server([calls(("read_text_file", {"path": d + "/note.txt"}),
                       ("write_file", {"path": target, "content": "x"})),
                 reply("The note counts twelve apples.")]) as s:
        e = env()
        e["OPEN_AGENT_BASE_URL"] = s.url
        e["OPEN_AGENT_MODEL"] = "m"
        p = subprocess.run([os.path.join(BUILD, "mcp_agent"), d,
                            "What is in note.txt?"], env=e,
                           capture_output=True, timeout=60)
        out = p.stdout.decode()
        assert p.returncode == 0, p.stderr.decode()
        reqs = s.requests()
    assert len(reqs) == 2, reqs
    assert "read_text_file" in offered(reqs[0]), offered(reqs[0])
    res = tool_results(reqs[1])
    assert res["call_0"] == "twelve apples\n\nstructuredContent: " \
        '{"content":"twelve apples\\n"}', res
    assert res["call_1"] == "blocked: this agent may only read files", res
    assert not os.path.exists(target)
    assert "The note counts twelve apples." in out, out


# ------------------------------------------------------------ oa --mcp

def oa(args, timeout=60):
    p = subprocess.run([OA] + args, env=env(), cwd=TMP,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_oa_mcp_real_server_stdio():
    """The model asks for echo; oa runs it on server-everything and the
    follow-up request carries the result."""
    need("mcp-server-everything")
    with Server([calls(("echo", {"message": "from the model"})),
                 reply("Done.")]) as s:
        rc, out, err = oa(["--base-url", s.url, "--model", "m",
                           "--mcp", "mcp-server-everything", "say it"])
        reqs = s.requests()
    assert rc == 0, err
    assert "echo" in offered(reqs[0]) and "get-sum" in offered(reqs[0])
    # the server's inputSchema is what the model gets as parameters
    echo = [t["function"] for t in reqs[0]["body"]["tools"]
            if t["function"]["name"] == "echo"][0]
    assert echo["parameters"]["properties"]["message"]["type"] == \
        "string", echo
    expect_results(reqs, {"call_0": "Echo: from the model"})
    assert '[tool_use call_0] echo {"message":"from the model"}' in out, out
    assert "[tool_result call_0] Echo: from the model" in out, out
    assert out.rstrip().endswith("Done."), out


def test_oa_mcp_url_and_demo_tools():
    need("mcp-server-everything")
    port = free_port()
    e = env()
    e["PORT"] = str(port)
    srv = subprocess.Popen([os.path.join(NPM_BIN, "mcp-server-everything"),
                            "streamableHttp"], env=e,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with Server([calls(("get-sum", {"a": 2, "b": 40}),
                           ("calculator", {"a": 1, "b": 2, "op": "+"})),
                     reply("42.")]) as s:
            rc, out, err = oa(["--base-url", s.url, "--jsonl",
                               "--demo-tools", "--mcp-url",
                               "http://127.0.0.1:%d/mcp" % port, "add"])
            reqs = s.requests()
    finally:
        srv.kill()
        srv.wait()
    assert rc == 0, err
    res = tool_results(reqs[1])
    assert "42" in res["call_0"], res
    assert res["call_1"] == "3", res
    lines = [json.loads(x) for x in out.splitlines()]
    assert {"type": "tool_result", "id": "call_0",
            "content": res["call_0"]} in lines, lines


def test_oa_mcp_list_and_quotes():
    """--mcp-list, and a double-quoted argument with a blank in it."""
    d = os.path.join(TMP, "a dir")
    os.makedirs(d, exist_ok=True)
    copy = os.path.join(d, "mcp server.py")
    with open(MCP_SERVER) as f, open(copy, "w") as g:
        g.write(f.read())
    rc, out, err = oa(["--mcp", 'python3\t"%s"\n --odd-names' % copy,
                       "--mcp-list"])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "echo\tEcho the text", lines
    assert "scripted_mcp_read_file\ta space in the name" in lines, lines
    assert len(lines) == 15, lines


def test_oa_mcp_errors():
    """One oa: line and status 1 for a server that cannot run; 2 for a
    malformed --mcp; a tool error reaches the model as "error: ..."."""
    rc, out, err = oa(["--mcp", "/nonexistent/srv", "hi"])
    assert (rc, err) == (1, "oa: file error: MCP server '/nonexistent/srv'"
                         ": cannot run \"/nonexistent/srv\": No such file "
                         "or directory\n"), (rc, err)
    rc, out, err = oa(["--mcp", 'srv "open', "hi"])
    assert rc == 2 and err.startswith("oa: --mcp 'srv \"open': "), err
    rc, out, err = oa(["--mcp-list"])
    assert rc == 2, err
    with Server([calls(("fail", {}), ("rpcerr", {})), reply("ok")]) as s:
        rc, out, err = oa(["--base-url", s.url, "--mcp",
                           "python3 " + MCP_SERVER, "go"])
        reqs = s.requests()
    assert rc == 0, err
    expect_results(reqs, {"call_0": "error: the disk is full",
                          "call_1": "error: MCP error -32602: "
                                    "bad arguments"})


def test_oa_mcp_ctrl_c():
    """Ctrl-C during a slow MCP call: oa stops at once with status 130
    and the server is told the request was cancelled."""
    log = os.path.join(TMP, "ctrlc.jsonl")
    with Server([calls(("slow", {"ms": 20000})), reply("late")]) as s:
        p = subprocess.Popen([OA, "--base-url", s.url, "--mcp",
                              "python3 %s --log %s" % (MCP_SERVER, log),
                              "go"], env=env(), cwd=TMP,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(400):
            if os.path.exists(log) and '"slow"' in open(log).read():
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
        n = len(s.requests())
    assert p.returncode == 130, (p.returncode, err)
    assert "oa: interrupted" in err.decode(), err
    assert n == 1
    assert '"reason": "interrupted"' in open(log).read()


def expect_results(reqs, want):
    assert len(reqs) == 2, reqs
    got = tool_results(reqs[1])
    assert got == want, got


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("no server on port %d" % port)


if __name__ == "__main__":
    sys.exit(harness.main(sorted(harness.tests(globals()))))
