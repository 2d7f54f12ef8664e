#!/usr/bin/env python3
"""test_docs.py -- the documentation against the code, so neither drifts.

    OA_BIN=build/oa OA_TEST_SERVER=test/server.py test/test_docs.py [NAME...]

Run from anywhere (make test does). Most tests read the sources and the
documents and compare the names in them: the API reference is what
docs/gen_api.py makes of openagent.h today and names every public
function and type the header declares; every option field and
environment variable the code reads is in docs/configuration.md; every
example program is built and listed in the README; every link, anchor
and file a document names exists.

The rest run what the README gives, as written, in a copy of the sources
in a temporary directory, against the scripted server on 127.0.0.1:
every code block (each is claimed by one test, and a block no test
claims fails), every `cc ...` command, every `make ...` command (as
`make -n`, since make check inside make test would recurse), and the
configuration file example of docs/configuration.md. The static musl
build needs musl-gcc (Debian's musl-tools); without it that test is
skipped and says so. The last line printed is "test_docs: N passed, N
failed".
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import harness
from harness import OA, TMP, Server, Skip, expect
from harness import command as run

ROOT = harness.TOP
CONFIG_ENV = os.path.join(os.path.dirname(OA), "config_env")
ENV = harness.ENV


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def header_code():
    """openagent.h without its comments."""
    return re.sub(r"/\*.*?\*/", " ", read("openagent.h"), flags=re.S)


def declared_functions():
    """Every function prototype in openagent.h, found independently of
    the generator: a name followed by '(' that is not a typedef or a
    function pointer."""
    names = []
    for decl in header_code().split(";"):
        decl = decl.strip()
        if decl.startswith("typedef") or "{" in decl:
            continue
        m = re.search(r"\b(oa_\w+)\s*\(", decl)
        if m:
            names.append(m.group(1))
    return names


def test_api_md_is_current():
    p = subprocess.run([sys.executable,
                        os.path.join(ROOT, "docs", "gen_api.py"),
                        "--stdout"], capture_output=True, text=True)
    expect((p.returncode, p.stderr), (0, ""))
    # compared here rather than with --check, so a stale file shows where
    want, got = p.stdout.split("\n"), read("docs", "api.md").split("\n")
    for i, (a, b) in enumerate(zip(want, got)):
        assert a == b, ("docs/api.md is stale (run `make docs`); line %d:"
                        "\n  is     %r\n  should %r" % (i + 1, b, a))
    expect(len(got), len(want))


def test_api_md_functions():
    funcs = declared_functions()
    assert "oa_next" in funcs and "oa_config_api_key" in funcs, funcs
    api = read("docs", "api.md")
    headed = set(re.findall(r"`(oa_\w+)`",
                            "\n".join(re.findall(r"^### .*$", api,
                                                 flags=re.M))))
    missing = [f for f in funcs if f not in headed]
    expect(missing, [])
    # and every name the reference heads is declared in the header
    code = header_code()
    extra = sorted(n for n in headed
                   if not re.search(r"\b%s\b" % n, code))
    expect(extra, [])
    types = set(re.findall(r"\}\s*(oa_\w+)\s*;", code)) | \
        set(re.findall(r"typedef struct \w+ (oa_\w+);", code))
    expect(sorted(t for t in types if t not in headed), [])


def test_configuration_md_options():
    m = re.search(r"struct oa_options \{(.*?)\};",
                  header_code(), flags=re.S)
    fields = re.findall(r"(\w+)\s*;", m.group(1))
    assert "base_url" in fields and "lenient_tool_args" in fields, fields
    doc = read("docs", "configuration.md")
    expect([f for f in fields if "`%s`" % f not in doc], [])
    # the defaults it quotes are the header's
    for name, value in re.findall(r"#define (OA_(?:DEFAULT|MAX)_\w+) (.+)",
                                  read("openagent.h")):
        assert "`%s`" % name in doc, name


def test_configuration_md_environment():
    names = set()
    root = os.path.join(os.path.dirname(__file__), "..")
    for f in sorted(n for n in os.listdir(root) if n.endswith(".c")) + \
            ["examples/oa.c"]:
        names |= set(re.findall(r'(?:getenv|env_on|resolve)\("(\w+)"',
                                read(f)))
    names = {n for n in names if not n.startswith("OA_TEST")}
    assert {"OPEN_AGENT_BASE_URL", "OA_DEBUG", "no_proxy"} <= names, names
    doc = read("docs", "configuration.md")
    expect(sorted(n for n in names if "`%s`" % n not in doc), [])


def test_configuration_md_oa_flags():
    # every option `oa --help` lists is in the table of oa's flags
    flags = set(re.findall(r'"  (--[a-z-]+)', read("examples", "oa.c")))
    assert "--base-url" in flags and "--demo-tools" in flags, flags
    doc = read("docs", "configuration.md")
    expect(sorted(f for f in flags if "`%s" % f not in doc), [])


def test_readme_examples():
    progs = sorted(f[:-2] for f in os.listdir(os.path.join(ROOT,
                                                           "examples"))
                   if f.endswith(".c") and not f.startswith("oa_"))
    readme = read("README.md")
    m = re.search(r"^## Examples\n(.*?)(?=^## )", readme,
                  flags=re.M | re.S)
    assert m, "README.md has no Examples section"
    listed = re.findall(r"^- `examples/(\w+)\.c`", m.group(1), flags=re.M)
    expect(sorted(listed), progs)
    built = re.findall(r"\$\(BUILD\)/(\w+)", read("Makefile").split(
        "TESTS")[0])
    expect(sorted(p for p in progs if p not in built), [])
    assert "docs/" in readme


# ------------------------------------------------- links, anchors, files

# The documents whose links and file names are checked. docs/security.md
# is checked for links and anchors only.
DOCS = ["README.md"] + sorted("docs/" + f for f in os.listdir(
    os.path.join(ROOT, "docs")) if f.endswith(".md"))
# Paths a document may name that only exist once built or in the reader's
# own project.
MADE = ("build/", "dist/", "yourproject/", "musl-include/", "fuzz/corpus/",
        "bench/peers/")


def slug(heading):
    """The anchor GitHub gives a heading."""
    h = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return h.replace(" ", "-")


def anchors(name):
    return {slug(h) for h in re.findall(r"^#+ (.*)$", read(name), re.M)}


def test_docs_links():
    # every relative link points at a file, and every #anchor at one of
    # its headings
    for name in DOCS:
        base = os.path.dirname(os.path.join(ROOT, name))
        text = re.sub(r"```.*?```", "", read(name), flags=re.S)
        for link, frag in re.findall(r"\]\(([^)#:]*)(?:#([^)]*))?\)",
                                     text):
            target = os.path.normpath(os.path.join(base, link)) if link \
                else os.path.join(ROOT, name)
            assert os.path.exists(target), \
                "%s links to %s, which does not exist" % (name, link)
            if frag:
                rel = os.path.relpath(target, ROOT)
                assert frag in anchors(rel), \
                    "%s links to %s#%s: no such heading" % (name, link,
                                                            frag)


def test_docs_name_existing_files():
    # a path in backticks (`examples/context.c`, `test/server.py`) or a
    # bare file name of the repository's documents is there: a renamed
    # or removed file fails here instead of misleading a reader
    tracked = set()
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in (".git", "build", "dist")]
        tracked |= {os.path.relpath(os.path.join(d, f), ROOT)
                    for f in files}
    for name in DOCS:
        # other projects' files, which a Sources section names
        text = re.sub(r"^## Sources\n.*?(?=^## |\Z)", "", read(name),
                      flags=re.M | re.S)
        base = os.path.relpath(os.path.dirname(os.path.join(ROOT, name)),
                               ROOT)
        for path in re.findall(r"`([\w.~-]+/[\w./-]*\.[a-z0-9]+)`", text):
            if path.startswith(MADE + ("~", "./")):
                continue
            ok = path in tracked or os.path.normpath(
                os.path.join(base, path)) in tracked
            assert ok, "%s names %s, which is not in the repository" % (
                name, path)
        for md in re.findall(r"\b([\w-]+\.md)\b", text):
            assert any(t.split("/")[-1] == md for t in tracked), \
                "%s names %s, which is not in the repository" % (name, md)


# ---------------------------------------------------- the README, as run

def blocks(name):
    """The fenced code blocks of a document: (language, text, section)."""
    out, section = [], ""
    for m in re.finditer(r"^(#+ [^\n]*)$|^```(\w*)\n(.*?)^```$", read(name),
                         re.M | re.S):
        if m.group(1):
            section = m.group(1).lstrip("# ")
        else:
            out.append((m.group(2), m.group(3), section))
    return out


def inline_commands():
    """Commands the README gives in running text: `cc ...`, `make ...`."""
    text = re.sub(r"```.*?```", "", read("README.md"), flags=re.S)
    return re.findall(r"`((?:cc|make) [^`]*|make)`", text)


REPLY = [{"reply": ["Hello", ", world"]}]
_copy = []


def copy():
    """A copy of the sources (the top directory's files, tools/ and
    examples/) made once, with build/libopenagent.a: the one make built
    when it is current, else built there."""
    if _copy:
        return _copy[0]
    d = os.path.join(TMP, "src")
    os.makedirs(os.path.join(d, "build"))
    newest = 0
    for f in os.listdir(ROOT):
        if os.path.isfile(os.path.join(ROOT, f)):
            shutil.copy2(os.path.join(ROOT, f), d)
            if f.endswith((".c", ".h")):
                newest = max(newest,
                             os.path.getmtime(os.path.join(ROOT, f)))
    for sub in ("tools", "examples"):
        shutil.copytree(os.path.join(ROOT, sub), os.path.join(d, sub))
    lib = os.path.join(ROOT, "build", "libopenagent.a")
    if os.path.exists(lib) and os.path.getmtime(lib) >= newest:
        shutil.copy2(lib, os.path.join(d, "build"))
    else:
        run(["make", "-s", "-j2", "build/libopenagent.a"], cwd=d)
    _copy.append(d)
    return d


def claim(lang, text):
    """Which test runs a README code block."""
    if lang == "sh" and "deps.sh" in text:
        return "try_it"
    if lang == "sh" and text.startswith("build/oa "):
        return "real_servers"
    if lang == "sh" and text.startswith("make amalgamation"):
        return "vendor"
    if lang == "sh" and "-DOA_NO_TLS" in text:
        return "vendor_no_tls"
    if lang == "sh" and "musl-gcc" in text:
        return "vendor_static"
    if lang == "c" and "\nmain(" in text:
        return "api_program"
    if lang == "c" and "static const oa_tool tools[]" in text:
        return "tools_fragment"
    if lang == "" and text.startswith("oa ["):
        return "oa_flags"
    if lang == "" and text.startswith('{"type":'):
        return "oa_jsonl"
    return None


def readme_block(name):
    found = [t for lang, t, _ in blocks("README.md")
             if claim(lang, t) == name]
    expect(len(found), 1)
    return found[0]


def test_readme_blocks_are_all_run():
    for lang, text, section in blocks("README.md"):
        assert claim(lang, text), ("README.md, %s: a code block no test "
                                   "runs:\n%s" % (section, text))
    # in docs/, the blocks marked with a language (not text) are code: the
    # configuration file example, which a test loads, and api.md's
    # declarations, which are openagent.h's (api_md_is_current)
    run_by = {("docs/configuration.md", "yaml"), ("docs/api.md", "c"),
              ("docs/mcp.md", "c")}
    for name in DOCS[1:]:
        for lang, text, section in blocks(name):
            assert lang in ("", "text") or (name, lang) in run_by, \
                "%s, %s: a %s block no test runs" % (name, section, lang)


def test_readme_try_it():
    # deps.sh finds everything it checks for here (exit 0, nothing
    # printed), and the make targets exist. apt-get and sudo are stand-ins
    # that refuse, so a test never installs anything.
    lines = readme_block("try_it").strip().split("\n")
    d = copy()
    shims = os.path.join(TMP, "shims")
    os.makedirs(shims, exist_ok=True)
    for name in ("apt-get", "sudo"):
        write(os.path.join(shims, name), "#!/bin/sh\necho \"%s $*\"\n"
              "exit 1\n" % name)
        os.chmod(os.path.join(shims, name), 0o755)
    env = dict(ENV, PATH=shims + os.pathsep + ENV.get("PATH", ""))
    for line in lines:
        cmd = line.split("#")[0].strip()
        for part in cmd.split("&&"):
            args = shlex.split(part)
            if args[0] == "make":
                run(["make", "-n"] + args[1:], cwd=ROOT)
            else:
                expect(run(args, cwd=d, env=env)[1:], ("", ""))


def test_readme_real_servers():
    # each line, pointed at the scripted server instead: the flags work
    for line in readme_block("real_servers").strip().split("\n"):
        args = shlex.split(line.split("#")[0])
        if "--provider" in args:
            # the provider's own port, where nothing listens here: the
            # flags parse and the URL is the provider's default
            extra = [] if "--models" in args else ["Hello"]
            rc, out, err = run([OA] + args[1:] + extra, cwd=TMP, ok=False,
                               input=b"")
            expect((rc, out), (1, ""))
            assert "localhost:11434" in err, (line, err)
            continue
        i = args.index("--base-url")
        model = args[args.index("--model") + 1] if "--model" in args \
            else None
        with Server(REPLY) as s:
            args[i + 1] = s.url
            expect(run([OA] + args[1:], cwd=TMP)[1:],
                   ("Hello, world\n", ""))
            body = s.requests()[0]["body"]
        expect(body.get("model"), model)
        expect(body["messages"][-1], {"role": "user", "content": "Hello"})


def test_readme_make_commands():
    cmds = [c for c in inline_commands() if c.startswith("make")]
    assert "make amalgamation" in cmds and "make static" in cmds, cmds
    # in the sources themselves: make -n changes nothing, and its
    # recursive makes are dry runs too
    for c in cmds:
        run(["make", "-n"] + shlex.split(c)[1:], cwd=ROOT)


def api_program(url=None, tools=False):
    """The README's program, its server URL replaced by url, with the
    Tools section's fragment put in: the declarations before main, the
    option lines after the program's own."""
    prog = readme_block("api_program")
    if url:
        assert prog.count('"http://localhost:1234/v1"') == 1, prog
        prog = prog.replace('"http://localhost:1234/v1"', '"%s"' % url)
    if tools:
        frag = readme_block("tools_fragment")
        decl = "".join(l for l in frag.splitlines(True)
                       if not l.startswith("opt."))
        opts = "".join("\t" + l for l in frag.splitlines(True)
                       if l.startswith("opt."))
        prog = prog.replace("int\nmain(", decl + "\nint\nmain(", 1)
        at = prog.index("\tif ((r = oa_init(")
        prog = prog[:at] + opts + prog[at:]
    return prog


def build_app(source):
    """source as app.c, built by every `cc` command of the README's text
    exactly as written, in the copy of the sources."""
    d = copy()
    write(os.path.join(d, "app.c"), source)
    cmds = [c for c in inline_commands() if c.startswith("cc ")]
    assert cmds, "the README gives no cc command for app.c"
    for c in cmds:
        if os.path.exists(os.path.join(d, "app")):
            os.unlink(os.path.join(d, "app"))
        run(shlex.split(c), cwd=d)
    return os.path.join(d, "app")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def test_readme_api_program():
    build_app(api_program())  # as written
    with Server(REPLY) as s:
        app = build_app(api_program(s.url))
        expect(run([app], cwd=TMP)[1:], ("Hello, world\n[stop]\n", ""))
        body = s.requests()[0]["body"]
    expect(body["model"], "qwen2.5-7b-instruct")
    expect(body["messages"], [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "Why is the sky blue?"}])


def test_mcp_md_fragment():
    # docs/mcp.md's API fragment builds as written, inside a program that
    # declares what it uses (opt, c) and links the library
    frag = [t for lang, t, _ in blocks("docs/mcp.md") if lang == "c"]
    expect(len(frag), 1)
    app = build_app("#include <stdio.h>\n#include \"openagent.h\"\n\n"
                    "int\nmain(void)\n{\n\toa_options opt = {0};\n"
                    "\toa_client c;\n\n" + frag[0] + "\treturn 0;\n}\n")
    assert os.path.exists(app), app


def test_readme_tools_fragment():
    call = {"choices": [{"index": 0, "delta": {"tool_calls": [{
        "index": 0, "id": "call_1", "type": "function", "function": {
            "name": "add", "arguments": '{"a":2,"b":3}'}}]}}]}
    end = {"choices": [{"index": 0, "delta": {},
                        "finish_reason": "tool_calls"}]}
    with Server([{"events": [call, end, "data: [DONE]\n\n"]},
                 {"reply": "5."}]) as s:
        app = build_app(api_program(s.url, tools=True))
        expect(run([app], cwd=TMP)[1:], ("5.\n[stop]\n", ""))
        reqs = s.requests()
    expect(len(reqs), 2)
    expect([t["function"]["name"] for t in reqs[0]["body"]["tools"]],
           ["add"])
    expect(reqs[1]["body"]["messages"][-1],
           {"role": "tool", "tool_call_id": "call_1", "content": "5"})


def project():
    """yourproject/ in the copy, holding app.c: simple_query, which
    takes its server from OPEN_AGENT_BASE_URL."""
    d = os.path.join(copy(), "yourproject")
    if not os.path.isdir(d):
        os.makedirs(d)
        shutil.copy(os.path.join(ROOT, "examples", "simple_query.c"),
                    os.path.join(d, "app.c"))
        run(readme_block("vendor"), cwd=copy())
    return d


def ask(app, url, **env):
    e = dict(ENV, OPEN_AGENT_BASE_URL=url, HOME=TMP, **env)
    return run([app], cwd=TMP, env=e, ok=False, timeout=60)


def test_readme_vendor():
    d = project()
    expect(sorted(os.listdir(d)), ["app", "app.c", "jsmn.h",
                                   "openagent.c", "openagent.h",
                                   "openagent.o"])
    with Server(REPLY) as s:
        expect(ask(os.path.join(d, "app"), s.url)[:2],
               (0, "Hello, world\n"))


def test_readme_vendor_no_tls():
    d = project()
    run(readme_block("vendor_no_tls"), cwd=d)
    _, out, _ = run(["nm", "-u", "openagent.o"], cwd=d)
    expect([n for n in out.split() if n.startswith("br_")], [])
    app = os.path.join(d, "app")
    with Server(REPLY) as s:
        expect(ask(app, s.url)[:2], (0, "Hello, world\n"))
    rc, out, err = ask(app, "https://127.0.0.1:1/v1")
    expect((rc, out), (1, ""))
    assert "https:// needs TLS, which this build leaves out" in err, err


def test_readme_vendor_static():
    if shutil.which("musl-gcc") is None:
        raise Skip("musl-gcc not found (apt-get install musl-tools)")
    d = project()
    run(readme_block("vendor_static"), cwd=copy())
    app = os.path.join(d, "app")
    _, out, _ = run(["readelf", "-d", app], cwd=TMP)
    assert "no dynamic section" in out, out
    with Server(REPLY) as s:
        expect(ask(app, s.url)[:2], (0, "Hello, world\n"))
    # TLS works, BearSSL's fortify checks included, and the certificate
    # is checked
    with Server(None) as s:
        url = "https://localhost:%d/v1" % s.ports["tls"]
        ca = os.path.join(s.dir, "ca.pem")
        expect(ask(app, url, SSL_CERT_FILE=ca)[:2], (0, "conn=1 req=1\n"))
        rc, out, err = ask(app, url, SSL_CERT_FILE="/dev/null")
        expect((rc, out), (1, ""))


def test_readme_oa_flags():
    # every flag the synopsis shows, and every one the text names as
    # `oa --flag ...`, is one oa --help lists
    _, usage, _ = run([OA, "--help"], cwd=TMP)
    listed = set(re.findall(r"--[a-z-]+", usage))
    flags = re.findall(r"--[a-z-]+", readme_block("oa_flags"))
    assert len(flags) >= 2, flags
    text = re.sub(r"```.*?```", "", read("README.md"), flags=re.S)
    named = re.findall(r"`oa (--[a-z-]+)", text)
    assert len(named) > 3, named
    expect([f for f in flags + named if f not in listed], [])


def test_readme_oa_jsonl():
    for line in readme_block("oa_jsonl").strip().split("\n"):
        assert "type" in json.loads(line), line


def test_configuration_file_example():
    # the example file of docs/configuration.md loads, with the values
    # it shows
    found = [t for lang, t, _ in blocks("docs/configuration.md")
             if lang == "yaml"]
    expect(len(found), 1)
    home = tempfile.mkdtemp(dir=TMP)
    first = found[0].split("\n")[0]
    expect(first, "# ~/.config/open-agent/config.yaml")
    os.makedirs(os.path.join(home, ".config", "open-agent"))
    path = os.path.join(home, ".config", "open-agent", "config.yaml")
    write(path, found[0])
    _, out, _ = run([CONFIG_ENV], cwd=home, env=dict(ENV, HOME=home))
    expect(out, "base_url: http://localhost:11434/v1 (%s)\n"
                "model:    qwen2.5:7b (%s)\n"
                "api_key:  none (local servers need none)\n"
                "temperature: 0.2 (%s)\nmax_tokens: 2048 (%s)\n"
           % ((path,) * 4))


def test_reading_guide():
    """docs/READING.md names only files and functions that exist: each
    `x.c` or `x.h` is a file of the repository, each `name()` is defined
    at the start of a line (the return type on the line before) in one
    of the library's files, and every file of the core is on the tour."""
    doc = read("docs", "READING.md")
    files = set(re.findall(r"`([\w./]+\.[ch])`", doc))
    assert len(files) >= 10, files
    for f in sorted(files):
        assert os.path.exists(os.path.join(ROOT, f)), f
    sources = {n: read(n) for n in os.listdir(ROOT)
               if n.endswith(".c") or n.endswith(".h")}
    names = set(re.findall(r"`(\w+)\(\)`", doc))
    assert len(names) >= 30, names
    missing = [n for n in sorted(names)
               if not any(re.search(r"^%s\(" % n, src, re.M) or
                          re.search(r"[ *]%s\(" % n, src) and
                          f == "openagent.h"
                          for f, src in sources.items())]
    expect(missing, [])
    core = re.search(r"^CORE_SRC\s*=((?:.*\\\n)*.*)$", read("Makefile"),
                     re.M).group(1)
    core = re.findall(r"[\w]+\.c", core)
    expect([f for f in core if f not in files], [])


def test_api_contracts_documented():
    """What a reader must not have to find out by surprise is said where
    they look first: the options struct for temperature 0 and seed 0,
    the turn-end block for summed usage, README for the token estimate
    and the manual loop."""
    code = header_code()
    head = read("openagent.h")
    opts = re.search(r"struct oa_options \{(.*?)\};", head, flags=re.S)
    opts = opts.group(1)
    # the comment right before the temperature field says 0 is the default
    temp = re.search(r"/\*((?:(?!\*/).)*)\*/\s*double temperature;", opts,
                     flags=re.S).group(1)
    assert "NOT greedy" in temp and "OA_ZERO" in temp, temp
    assert re.search(r"\bint send_seed;", opts), "send_seed"
    assert re.search(r"\bint keep_tool_choice;", opts), "keep_tool_choice"
    block = re.search(r"struct oa_block \{(.*?)\};", code, flags=re.S)
    assert "oa_usage last_usage;" in block.group(1)
    assert "summed over every request of\n\t * the turn" in head
    readme = read("README.md")
    # usage sums the turn's requests: the estimate is compared with the
    # last request's usage
    assert "Compare it with `usage.prompt_tokens`" not in readme
    assert "Compare it with `last_usage`" in readme
    # manual mode: a call the library answered needs no result
    assert "A tool-use-error block\nneeds no result" in readme
    assert "`keep_tool_choice`" in readme and "`send_seed`" in readme


if __name__ == "__main__":
    sys.exit(harness.main(harness.tests(globals())))
