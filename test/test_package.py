#!/usr/bin/env python3
"""test_package.py -- each packaged form of the library, built and run.

    OA_TEST_SERVER=test/server.py test/test_package.py [NAME...]

Run from the top of the repository (make test does). Each test builds
one form the way a user would and runs the result against the scripted
server on 127.0.0.1:
  amalgamation  make amalgamation, then dist/openagent.{h,c} and one
                example alone in an empty directory, with and without TLS;
  install       make install into a temporary DESTDIR, an example built
                with pkg-config against it, make uninstall;
  static        make static: no dynamic section, http and https;
  symbols       make symbols, and the exports are the header's functions;
  man_page      every option oa --help lists is in oa.1.
The static test needs musl-gcc (Debian's musl-tools) and the install test
pkg-config; without them those tests are skipped and say so. The last
line printed is "test_package: N passed, N failed"; the exit status is
non-zero when anything failed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import harness
from harness import HERE, TMP, TOP, Server, Skip, expect
from harness import command as run

BUILD = harness.BIN
CC = os.environ.get("CC_FOR_TEST") or "cc"
ENV = harness.ENV


def version():
    with open(os.path.join(TOP, "openagent.h"), encoding="utf-8") as f:
        return re.search(r'#define OA_VERSION "(.*)"', f.read()).group(1)


def public_functions():
    """The function names openagent.h declares, sorted."""
    with open(os.path.join(TOP, "openagent.h"), encoding="utf-8") as f:
        return sorted(set(re.findall(r"^[a-z][a-z_ ]*[ *](oa_[a-z0-9_]+)\(",
                                     f.read(), re.M)))


def run(args, cwd=TOP, env=None, ok=True, timeout=300):
    """Run a command; returns (status, stdout, stderr) as text. With ok,
    a non-zero status is a failure that shows the output."""
    p = subprocess.run(args, cwd=cwd, env=env or ENV, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
    if ok and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args),
                                                    p.returncode, out, err))
    return p.returncode, out, err


def make(*targets):
    return run(["make", "-s", "BUILD=" + BUILD] + list(targets))


def defined_globals(path):
    """Names an object or library defines with external linkage."""
    _, out, _ = run(["nm", "-g", "--defined-only", path])
    return sorted(line.split()[2] for line in out.splitlines()
                  if len(line.split()) == 3)


REPLY = [{"reply": ["Hello", ", world"]}]


def ask(oa, url, *more):
    """oa with an empty HOME and working directory, so no configuration
    file or OPEN_AGENT_* variable leaks in."""
    return harness.run([oa, "--base-url", url, "--model", "m"] + list(more) +
                       ["hi"])


# ------------------------------------------------------------ amalgamation

# oa is one program in several files (see examples/oa.h).
OA_C = ["oa.c", "oa_out.c", "oa_tools.c", "oa_chat.c", "oa_mcp.c"]
OA_FILES = tuple(OA_C + ["oa.h"])


def alone(*names):
    """An empty directory holding only the two files and the examples."""
    d = tempfile.mkdtemp(dir=TMP)
    for n in ("openagent.h", "openagent.c"):
        shutil.copy(os.path.join(TOP, "dist", n), d)
    for n in names:
        shutil.copy(os.path.join(TOP, "examples", n), d)
    return d


def defined_at(src, name):
    """FILE:LINE of the definition of name in src: the line that starts
    with the name, the return type being on the line before."""
    with open(os.path.join(TOP, src), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith(name + "("):
                return "%s:%d" % (src, n)
    raise AssertionError("%s: no definition of %s" % (src, name))


def test_amalgamation():
    make("amalgamation")
    with open(os.path.join(TOP, "dist", "openagent.c"), encoding="utf-8") as f:
        src = f.read()
    with open(os.path.join(TOP, "dist", "openagent.h"), "rb") as f, \
            open(os.path.join(TOP, "openagent.h"), "rb") as g:
        expect(f.read(), g.read())
    # the version in the opening comment, the private header once, no
    # local include left but the public header's
    assert "openagent %s in one file" % version() in src.split("*/")[0]
    expect(src.count("#define OA_PRIVATE_H"), 1)
    expect(re.findall(r'^#include "[^"]*"', src, re.M),
           ['#include "openagent.h"'])
    d = alone(*OA_FILES)
    # the compile line the issue names, and the user's program against it
    run([CC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
         "-c", "openagent.c"], cwd=d)
    expect(defined_globals(os.path.join(d, "openagent.o")),
           public_functions())
    run([CC, "-std=c99", "-O2"] + OA_C + ["openagent.o", "-lbearssl", "-o",
                                          "oa"], cwd=d)
    expect(sorted(os.listdir(d)),
           sorted(["oa", "openagent.c", "openagent.h", "openagent.o"] +
                  list(OA_FILES)))
    with Server(REPLY) as s:
        expect(ask(os.path.join(d, "oa"), s.url)[:2], (0, "Hello, world\n"))
    # with OA_AMALGAMATION_LINES, debug information names the split file
    # and line where each function is defined
    run([CC, "-std=c99", "-g", "-DOA_AMALGAMATION_LINES", "-c",
         "openagent.c", "-o", "lines.o"], cwd=d)
    _, out, _ = run(["nm", "-l", "--defined-only", "lines.o"], cwd=d)
    where = dict((f[2], f[3].split("/")[-1]) for f in
                 (line.split() for line in out.splitlines()) if len(f) == 4)
    for name, src in (("oa__buf_reserve", "util.c"),
                      ("oa_next", "openagent.c"),
                      ("oa_history_save", "context.c")):
        expect(where[name], defined_at(src, name))


def test_amalgamation_no_tls():
    make("amalgamation")
    d = alone(*OA_FILES)
    run([CC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
         "-DOA_NO_TLS", "-c", "openagent.c"], cwd=d)
    _, out, _ = run(["nm", "-u", "openagent.o"], cwd=d)
    expect([s for s in out.split() if s.startswith("br_")], [])
    run([CC, "-std=c99"] + OA_C + ["openagent.o", "-o", "oa"], cwd=d)
    oa = os.path.join(d, "oa")
    with Server(REPLY) as s:
        expect(ask(oa, s.url)[:2], (0, "Hello, world\n"))
    rc, out, err = ask(oa, "https://127.0.0.1:1/v1")
    expect((rc, out), (1, ""))
    assert "https:// needs TLS, which this build leaves out" in err, err


def test_amalgamation_modules_left_out():
    """Each module of dist/openagent.c is left out by its one -D flag
    (modules.c's list and the amalgamation's guards), and all at once."""
    make("amalgamation")
    d = alone()
    with open(os.path.join(TOP, "Makefile"), encoding="utf-8") as f:
        mods = re.search(r"^MOD_SRC\s*=((?:.*\\\n)*.*)$", f.read(),
                         re.M).group(1)
    flags = ["-DOA_NO_" + m[:-2].upper()
             for m in re.findall(r"\b(\w+\.c)\b", mods)]
    assert "-DOA_NO_TLS" in flags and len(flags) >= 8, flags
    for f in [[x] for x in flags] + [flags]:
        run([CC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"] +
            f + ["-c", "openagent.c", "-o", "x.o"], cwd=d)


TOOL_ROUND = [
    {"events": [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "add", "arguments": ""}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "{\"a\": 2, "}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "\"b\": 3}"}}]}}]},
        {"choices": [{"index": 0, "delta": {},
                      "finish_reason": "tool_calls"}]},
        "data: [DONE]\n\n"]},
    {"reply": ["The sum", " is 5."]},
]


def test_amalgamation_core():
    """dist/core: the core alone builds with libc, POSIX and jsmn.h, and
    a program on the public API streams text and runs a tool with it."""
    make("amalgamation")
    d = tempfile.mkdtemp(dir=TMP)
    for n in ("openagent.h", "openagent.c"):
        shutil.copy(os.path.join(TOP, "dist", "core", n), d)
    shutil.copy(os.path.join(HERE, "core_agent.c"), d)
    with open(os.path.join(d, "openagent.h"), "rb") as f, \
            open(os.path.join(TOP, "openagent.h"), "rb") as g:
        expect(f.read(), g.read())
    # the exact compile line of the reading guide, no other -D flag
    run([CC, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-pedantic", "-Wall",
         "-Wextra", "-Werror", "-c", "openagent.c"], cwd=d)
    _, out, _ = run(["nm", "-u", "openagent.o"], cwd=d)
    expect([s for s in out.split() if s.startswith("br_")], [])
    run([CC, "-std=c99", "core_agent.c", "openagent.o", "-o", "agent"],
        cwd=d)
    agent = os.path.join(d, "agent")
    with Server(TOOL_ROUND) as s:
        rc, out, err = run([agent, s.url], ok=False, timeout=60)
    expect((rc, err), (0, ""))
    expect(out, '[tool_use add {"a": 2, "b": 3}]\n[tool_result 5]\n'
                "The sum is 5.\n")
    rc, out, err = run([agent, "https://127.0.0.1:1/v1"], ok=False)
    expect(rc, 1)
    assert "bad base URL: https:// needs TLS" in err, err
    # the modules' public functions are not there
    _, out, _ = run(["nm", "--defined-only", "openagent.o"], cwd=d)
    for name in ("oa_history_save", "oa_config_load", "oa_query_images"):
        assert name not in out, name


# ----------------------------------------------------------------- install

def test_install():
    if shutil.which("pkg-config") is None:
        raise Skip("pkg-config not found (apt-get install pkg-config)")
    dest = tempfile.mkdtemp(dir=TMP)
    lib = dest + "/usr/local/lib"
    v = version()
    make("install", "DESTDIR=" + dest, "PREFIX=/usr/local")
    got = []
    for root, dirs, files in os.walk(dest):
        got += [os.path.relpath(os.path.join(root, f), dest) for f in files]
    expect(sorted(got), sorted([
        "usr/local/include/openagent.h",
        "usr/local/lib/libopenagent.a",
        "usr/local/lib/libopenagent.so.%s" % v,
        "usr/local/lib/libopenagent.so.0",
        "usr/local/lib/libopenagent.so",
        "usr/local/lib/pkgconfig/openagent.pc",
        "usr/local/bin/oa",
        "usr/local/share/man/man1/oa.1"]))
    expect(os.readlink(lib + "/libopenagent.so"), "libopenagent.so.0")
    expect(os.readlink(lib + "/libopenagent.so.0"), "libopenagent.so." + v)
    _, out, _ = run(["objdump", "-p", lib + "/libopenagent.so." + v])
    assert re.search(r"SONAME\s+libopenagent\.so\.0\n", out), out
    # pkg-config finds the staged copy
    env = dict(ENV, PKG_CONFIG_PATH=lib + "/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=dest)
    _, flags, _ = run(["pkg-config", "--cflags", "--libs", "openagent"],
                      env=env)
    expect(flags.split(), ["-I%s/usr/local/include" % dest,
                           "-L%s/usr/local/lib" % dest, "-lopenagent"])
    expect(run(["pkg-config", "--modversion", "openagent"],
               env=env)[1].strip(), v)
    # an example built from that alone, run on the shared library
    d = tempfile.mkdtemp(dir=TMP)
    shutil.copy(os.path.join(TOP, "examples", "calculator.c"), d)
    run([CC, "-std=c99", "calculator.c"] + flags.split() +
        ["-o", "calculator"], cwd=d)
    env = dict(ENV, LD_LIBRARY_PATH=lib)
    _, out, _ = run(["ldd", "calculator"], cwd=d, env=env)
    assert "libopenagent.so.0 => %s/libopenagent.so.0" % lib in out, out
    with Server([{"events": [
            {"choices": [{"index": 0, "delta": {"tool_calls": [{
                "index": 0, "id": "call_a", "type": "function",
                "function": {"name": "add",
                             "arguments": '{"a":2,"b":3}'}}]}}]},
            {"choices": [{"index": 0, "delta": {},
                          "finish_reason": "tool_calls"}]},
            "data: [DONE]\n\n"]},
            {"reply": ["2 + 3 = 5"]}]) as s:
        rc, out, err = run(["./calculator", s.url, "m", "2+3?"], cwd=d,
                           env=env, ok=False, timeout=60)
    expect((rc, err), (0, ""))
    expect(out.splitlines()[:3], ['[tool_use call_a] add {"a":2,"b":3}',
                                  "[tool_result call_a] 5", "2 + 3 = 5"])
    expect(run([dest + "/usr/local/bin/oa", "--version"])[1].split()[-1], v)
    make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr/local")
    left = [f for _, _, files in os.walk(dest) for f in files]
    expect(left, [])


# ------------------------------------------------------------------ static

def test_static():
    if shutil.which("musl-gcc") is None:
        raise Skip("musl-gcc not found (apt-get install musl-tools)")
    run(["make", "-s", "-j2", "static"])
    oa = os.path.join(TOP, "build", "static", "oa")
    rc, out, err = run(["ldd", oa], ok=False)
    assert "not a dynamic executable" in out + err, out + err
    _, out, _ = run(["readelf", "-d", oa])
    assert "no dynamic section" in out, out
    print("static: build/static/oa is %d bytes" % os.path.getsize(oa))
    with Server(REPLY) as s:
        expect(ask(oa, s.url)[:2], (0, "Hello, world\n"))
    with Server(None) as s:
        url = "https://localhost:%d/v1" % s.ports["tls"]
        ca = os.path.join(s.dir, "ca.pem")
        expect(ask(oa, url, "--ca-file", ca)[:2], (0, "conn=1 req=1\n"))
        # and the certificate is checked: without the CA it is refused
        rc, out, err = ask(oa, url)
        expect((rc, out), (1, ""))
        assert "unknown authority" in err, err
        assert "--ca-file FILE trusts" in err, err   # oa's hint


# ----------------------------------------------------------------- symbols

def test_symbols():
    _, out, _ = make("symbols")
    assert out.startswith("symbols: "), out
    so = os.path.join(BUILD, "libopenagent.so." + version())
    _, out, _ = run(["nm", "-D", "--defined-only", so])
    expect(sorted(line.split()[2] for line in out.splitlines()),
           public_functions())


def test_man_page():
    _, usage, _ = run([os.path.join(BUILD, "oa"), "--help"])
    with open(os.path.join(TOP, "oa.1"), encoding="utf-8") as f:
        page = f.read().replace("\\-", "-")
    options = sorted(set(re.findall(r"--[a-z][a-z-]*", usage)))
    assert len(options) > 20, options
    expect([o for o in options if o not in page], [])


if __name__ == "__main__":
    sys.exit(harness.main(sorted(harness.tests(globals()))))
