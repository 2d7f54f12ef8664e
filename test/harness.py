"""harness.py -- what the Python tests share: where the programs are, a
temporary directory for the run, the scripted server and the pieces of
its scenarios, running a program or a command, expect(), and the runner.

A test program names its tests test_NAME and ends with

    if __name__ == "__main__":
        sys.exit(harness.main(harness.tests(globals())))

which runs them all, or the NAMEs given on the command line, each to the
end even when another failed. The last line printed is "PROGRAM: N
passed, N failed" (PROGRAM: the test file's name without .py); the exit
status is non-zero when anything failed or nothing ran.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BIN = os.path.abspath(os.environ.get("OA_EXAMPLES_DIR") or
                      os.path.join(TOP, "build"))
OA = os.path.abspath(os.environ.get("OA_BIN") or os.path.join(BIN, "oa"))
SERVER = os.path.abspath(os.environ.get("OA_TEST_SERVER") or
                         os.path.join(HERE, "server.py"))
NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0]
# The real path: git compares it with GIT_CEILING_DIRECTORIES.
TMP = os.path.realpath(tempfile.mkdtemp(prefix="oa_%s." % NAME))
# What a command runs with: not the jobserver or the options of the make
# running the tests, and no OPEN_AGENT_* setting.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "OA_NO_TLS") and
       not k.startswith("OPEN_AGENT_")}


class Skip(Exception):
    """A test that cannot run here; the message says why."""


def expect(got, want):
    assert got == want, "got %r\n  want %r" % (got, want)


class Server:
    """A server on 127.0.0.1, in its own directory (dir) under TMP, until
    the with block ends: server.py playing responses (a scenario) at url
    and recording every request (requests()); or, with responses None,
    net_server.py (TLS, proxies) with its JSON line of ports in ports."""

    def __init__(self, responses):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.rec = os.path.join(self.dir, "requests.jsonl")
        if responses is None:
            args = [sys.executable, os.path.join(HERE, "net_server.py"),
                    self.dir]
        else:
            scen = os.path.join(self.dir, "scenario.json")
            with open(scen, "w", encoding="utf-8") as f:
                json.dump(responses, f)
            args = [sys.executable, SERVER, scen, "--record", self.rec]
        # stdin is a pipe: the server ends when this test does.
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if responses is None:
            self.ports = json.loads(line)
        else:
            self.url = "http://127.0.0.1:%d/v1" % int(line)

    def requests(self):
        if not os.path.exists(self.rec):
            return []
        with open(self.rec, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def chunk(delta, finish=None, usage=None):
    """A chat.completion.chunk, shaped like llama.cpp's, for a scenario's
    "events"."""
    c = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
         "created": 1700000000, "model": "test",
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        c["usage"] = usage
    return c


DONE = "data: [DONE]\n\n"
ROLE = chunk({"role": "assistant", "content": None})


def text(s):
    return chunk({"content": s})


def run(argv, cwd=None, env=None, input=None, timeout=60):
    """Run a program with a new empty directory as HOME (and as working
    directory, unless cwd), no OPEN_AGENT_* variable, env's added, and
    input (text or bytes) on standard input, or none; returns (status,
    stdout, stderr) as text."""
    home = tempfile.mkdtemp(dir=TMP)
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("OPEN_AGENT_")}
    e["HOME"] = home
    e.update(env or {})
    if input is None:
        stdin = {"stdin": subprocess.DEVNULL}
    else:
        stdin = {"input": input if isinstance(input, bytes) else
                 input.encode("utf-8")}
    p = subprocess.run(argv, cwd=cwd or home, env=e, capture_output=True,
                       timeout=timeout, **stdin)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def command(args, cwd=TOP, env=None, ok=True, input=None, timeout=300):
    """Run a command (a list, or a string for sh -e) with ENV or env;
    returns (status, stdout, stderr) as text. With ok a non-zero status
    fails, showing the end of the output."""
    if isinstance(args, str):
        args = ["sh", "-e", "-c", args]
    p = subprocess.run(args, cwd=cwd, env=env or ENV, capture_output=True,
                       timeout=timeout, input=input)
    out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
    if ok and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (
            " ".join(args), p.returncode, (out + err)[-3000:]))
    return p.returncode, out, err


def tests(scope):
    """The test_NAME functions of a module's globals, as (NAME, function)
    in the order they are defined."""
    return [(name[5:], fn) for name, fn in list(scope.items())
            if name.startswith("test_") and callable(fn)]


def main(tests, argv=None, after_each=None):
    """Run tests (or those argv names), after_each() after each one;
    remove TMP; print the closing line. Returns the exit status."""
    argv = sys.argv if argv is None else argv
    passed = failed = 0
    for name, fn in tests:
        if len(argv) > 1 and name not in argv[1:]:
            continue
        try:
            fn()
            passed += 1
            print("ok   " + name)
        except Skip as e:
            print("skip %s: %s" % (name, e))
        except Exception as e:  # a failure or a crash: report, go on
            failed += 1
            sys.stderr.write("%s: %s: %s\n" % (name, type(e).__name__, e))
            print("FAIL " + name)
        sys.stdout.flush()
        if after_each is not None:
            after_each()
    shutil.rmtree(TMP, ignore_errors=True)
    print("%s: %d passed, %d failed" % (NAME, passed, failed))
    return 1 if failed or not passed else 0
