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
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("OA_EXAMPLES_DIR") or "build")
OA = os.path.abspath(os.environ.get("OA_BIN") or "build/oa")
SERVER = os.path.abspath(os.environ.get("OA_TEST_SERVER") or
                         os.path.join(HERE, "server.py"))
MCP_SERVER = os.path.join(HERE, "mcp_server.py")
NPM_BIN = os.path.abspath(os.environ.get("OA_NPM_BIN") or
                          "build/npm/node_modules/.bin")
TMP = tempfile.mkdtemp(prefix="oa_test_mcp.")
CI = os.environ.get("CI") == "true"


class Skip(Exception):
    pass


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


class Server:
    """server.py with a scenario, recording to a file in TMP."""
    count = 0

    def __init__(self, responses):
        Server.count += 1
        scen = os.path.join(TMP, "scenario%d.json" % Server.count)
        self.rec = os.path.join(TMP, "requests%d.jsonl" % Server.count)
        with open(scen, "w", encoding="utf-8") as f:
            json.dump(responses, f)
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, scen, "--record", self.rec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.url = "http://127.0.0.1:%d/v1" % int(self.proc.stdout.readline())

    def requests(self):
        with open(self.rec, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def chunk(delta, finish=None):
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "created": 1700000000, "model": "test",
            "choices": [{"index": 0, "delta": delta,
                         "finish_reason": finish}]}


DONE = "data: [DONE]\n\n"


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


TESTS = [(n, f) for n, f in sorted(globals().items())
         if n.startswith("test_") and callable(f)]


def main(argv):
    passed = failed = 0
    for name, fn in TESTS:
        if len(argv) > 1 and name not in argv[1:]:
            continue
        try:
            fn()
            passed += 1
            print("ok   " + name)
        except Skip as e:
            passed += 1
            print("ok   %s (skipped: %s)" % (name, e))
        except Exception as e:  # a failure or a crash: report, go on
            failed += 1
            sys.stderr.write("%s: %s: %s\n" % (name, type(e).__name__, e))
            print("FAIL " + name)
        sys.stdout.flush()
    subprocess.run(["rm", "-rf", TMP])
    print("test_mcp.py: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
