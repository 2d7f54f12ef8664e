#!/usr/bin/env python3
"""test_oa_chat.py -- oa's chat in a real terminal, driven through tmux.

Each test starts a tmux server of its own (a private socket, -L), runs oa
in a pane against the scripted server (server.py on 127.0.0.1), types
with send-keys and reads the screen with capture-pane. Every wait is
bounded (WAIT seconds), the command in the pane prints its exit status
when oa ends, and the tmux server is killed whatever happens.

    OA_BIN=build/oa OA_TEST_SERVER=test/server.py test/test_oa_chat.py

The last line printed is "test_oa_chat: N passed, N failed".
"""
import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import harness
from harness import Server  # the scripted server, shared

# harness makes a directory of its own for the servers
atexit.register(shutil.rmtree, harness.TMP, True)

HERE = os.path.dirname(os.path.abspath(__file__))
OA = os.path.abspath(os.environ.get("OA_BIN") or "build/oa")
TMP = tempfile.mkdtemp(prefix="oa_test_chat.")
WAIT = 15


def expect(got, want):
    assert got == want, "got %r\n  want %r" % (got, want)


class Terminal:
    """One tmux server with one 100x40 pane running a command."""
    count = 0

    def __init__(self, args, env=None, stdin_cmd=None):
        Terminal.count += 1
        self.sock = "oa_test_%d_%d" % (os.getpid(), Terminal.count)
        home = tempfile.mkdtemp(dir=TMP)
        e = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        e.update(env or {})
        cmd = "cd %s && %s env -i %s %s; echo OA_EXIT=$?; sleep %d" % (
            shlex.quote(home), stdin_cmd + " |" if stdin_cmd else "",
            " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in e.items()),
            " ".join(shlex.quote(a) for a in [OA] + args), 2 * WAIT)
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "100",
                  "-y", "40", "-s", "t", cmd)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args),
                              capture_output=True, timeout=WAIT,
                              check=True).stdout.decode("utf-8", "replace")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, line):
        self.tmux("send-keys", "-t", "t", "-l", line)
        self.keys("Enter")

    def screen(self, escapes=False):
        return self.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-200",
                         *(["-e"] if escapes else []))

    def wait_for(self, text, count=1):
        """Until text shows count times; fails after WAIT seconds."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            s = self.screen()
            if s.count(text) >= count:
                return s
            time.sleep(0.1)
        raise AssertionError("%r not on the screen after %d s:\n%s" % (
            text, WAIT, self.screen()))

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       capture_output=True, timeout=WAIT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def chunk(delta, finish=None):
    return {"id": "c", "object": "chat.completion.chunk", "created": 1,
            "model": "t",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


DONE = "data: [DONE]\n\n"
USAGE = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def messages(req):
    return [(m["role"], m["content"]) for m in req["body"]["messages"]]


# ------------------------------------------------------------------ tests

def test_conversation():
    reply = {"events": [chunk({"reasoning_content": "pondering"}),
                        chunk({"content": "Hello there"}),
                        {"send": dict(chunk({}, "stop"), usage=USAGE)},
                        DONE]}
    with Server([reply, {"reply": "Second"}, {"reply": "Third"},
                 {"reply": "Fourth"}]) as s, \
            Terminal(["--base-url", s.url, "--model", "m1"]) as t:
        t.wait_for("> ")
        t.type("hi")
        t.wait_for("Hello there")
        # the reasoning is on the screen, dimmed (SGR 2)
        assert "\x1b[2mpondering" in t.screen(escapes=True), \
            t.screen(escapes=True)
        t.wait_for("> ", 2)
        # a line ending in a backslash goes on
        t.type("line one\\")
        t.wait_for("... ")
        t.type("line two")
        t.wait_for("Second")
        t.type("/tokens")
        t.wait_for("4 messages")
        saved = os.path.join(TMP, "chat.json")
        t.type("/save " + saved)
        t.wait_for("saved to")
        t.type("/reset")
        t.wait_for("the conversation is empty")
        t.type("/load " + saved)
        t.wait_for("(4 messages)")
        t.type("/model m2")
        t.wait_for("model set")
        t.type("/system Be brief")
        t.wait_for("system prompt set")
        t.type("again")
        t.wait_for("Third")
        t.type("/nope")
        t.wait_for("unknown command /nope")
        t.keys("C-d")
        t.wait_for("OA_EXIT=0")
        reqs = s.requests()
    expect(len(reqs), 3)
    expect(messages(reqs[0]), [("user", "hi")])
    expect(reqs[0]["body"]["model"], "m1")
    expect(messages(reqs[1]), [("user", "hi"), ("assistant", "Hello there"),
                               ("user", "line one\nline two")])
    expect(messages(reqs[2]), [("system", "Be brief"), ("user", "hi"),
                               ("assistant", "Hello there"),
                               ("user", "line one\nline two"),
                               ("assistant", "Second"), ("user", "again")])
    expect(reqs[2]["body"]["model"], "m2")
    with open(saved, encoding="utf-8") as f:
        assert "line one\\nline two" in f.read()


def test_usage_in_tokens():
    reply = {"events": [chunk({"content": "ok"}),
                        {"send": dict(chunk({}, "stop"), usage=USAGE)},
                        DONE]}
    with Server([reply]) as s, Terminal(["--base-url", s.url]) as t:
        t.wait_for("> ")
        t.type("hi")
        t.wait_for("> ", 2)
        t.type("/tokens")
        t.wait_for("the last reply: 11 prompt + 3 completion = 14 tokens")
        # Ctrl-C in a continued message drops it, and the chat goes on
        t.type("dropped \\")
        t.wait_for("... ")
        t.keys("C-c")
        t.wait_for("> ", 4)
        t.type("/tokens")
        t.wait_for("2 messages", 2)
        t.type("/exit")
        t.wait_for("OA_EXIT=0")


def test_interrupt_reply():
    slow = {"events": [chunk({"content": "part%d " % i}) for i in range(40)]
            + [chunk({}, "stop"), DONE], "delay_ms": 250}
    with Server([slow, {"reply": "fine"}]) as s, \
            Terminal(["--base-url", s.url]) as t:
        t.wait_for("> ")
        t.type("go")
        t.wait_for("part2 ")
        t.keys("C-c")
        t.wait_for("interrupted; the conversation keeps what arrived")
        t.wait_for("> ", 2)
        t.type("and now?")
        t.wait_for("fine")
        t.wait_for("> ", 3)
        # Ctrl-C at an empty prompt leaves
        t.keys("C-c")
        t.wait_for("OA_EXIT=0")
        screen = t.screen()
        reqs = s.requests()
    assert "part39" not in screen, screen
    expect(len(reqs), 2)
    roles = [m[0] for m in messages(reqs[1])]
    expect(roles, ["user", "assistant", "user"])
    kept = messages(reqs[1])[1][1]
    assert kept.startswith("part0 part1 part2 ") and "part39" not in kept, \
        kept


def test_no_color():
    reply = {"events": [chunk({"reasoning_content": "pondering"}),
                        chunk({"content": "Done"}), chunk({}, "stop"), DONE]}
    with Server([reply]) as s, \
            Terminal(["--base-url", s.url], env={"NO_COLOR": "1"}) as t:
        t.wait_for("> ")
        t.type("hi")
        t.wait_for("Done")
        screen = t.screen(escapes=True)
        t.keys("C-d")
        t.wait_for("OA_EXIT=0")
    assert "pondering" in screen and "\x1b[2m" not in screen, screen


def test_waiting_note():
    # a server that accepts and never answers: on a terminal oa says what
    # it waits for, naming the URL and --timeout, and Ctrl-C still stops it
    with Server([{"stall_before_headers": True}]) as s, \
            Terminal(["--base-url", s.url, "--timeout", "60000", "hi"]) as t:
        screen = t.wait_for("oa: waiting for")
        t.keys("C-c")
        t.wait_for("OA_EXIT=130")
    assert s.url + "/chat/completions" in screen, screen
    assert "--timeout" in screen and "60000 ms" in screen, screen


def test_retry_after_note():
    # a 503 with Retry-After: the library waits it out; on a terminal oa
    # says that it is waiting and why, then the reply comes
    with Server([{"status": 503, "headers": {"Retry-After": "7"},
                  "json": {"error": {"message": "loading model"}}},
                 {"reply": "ready now"}]) as s, \
            Terminal(["--base-url", s.url, "hi"]) as t:
        screen = t.wait_for("oa: waiting for")
        t.wait_for("ready now")
        t.wait_for("OA_EXIT=0")
    assert "asked to retry later" in screen, screen
    expect(len(s.requests()), 2)


def test_slow_pipe_on_a_terminal():
    # stdin a pipe silent for 7 s, stderr a terminal: oa says what it
    # waits for and waits on (a slow producer), as the docs say
    with Server([{"reply": "ok"}]) as s, \
            Terminal(["--base-url", s.url, "hi"],
                     stdin_cmd="(sleep 7; echo late data)") as t:
        t.wait_for("oa: waiting for standard input (a pipe); give "
                   "--no-stdin when it is not meant for oa")
        expect(s.requests(), [])
        t.wait_for("OA_EXIT=0")
        t.wait_for("ok")
    expect(s.requests()[0]["body"]["messages"][-1]["content"],
           "hi\n\nlate data\n")


TESTS = [(name[5:], fn) for name, fn in list(globals().items())
         if name.startswith("test_") and callable(fn)]


def main(argv):
    passed = failed = 0
    if shutil.which("tmux") is None:
        print("test_oa_chat: tmux is not installed (apt-get install tmux)")
        print("test_oa_chat: 0 passed, 1 failed")
        return 1
    for name, fn in TESTS:
        if len(argv) > 1 and name not in argv[1:]:
            continue
        try:
            fn()
            passed += 1
            print("ok   " + name)
        except Exception as e:  # a failure or a crash: report, go on
            failed += 1
            sys.stderr.write("%s: %s: %s\n" % (name, type(e).__name__, e))
            print("FAIL " + name)
        sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)
    print("test_oa_chat: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
