#!/usr/bin/env python3
"""test_docs.py -- the documentation against the code, so neither drifts.

    test/test_docs.py [NAME...]

Each test reads the sources and the documents and compares the names in
them: the API reference is what docs/gen_api.py makes of openagent.h today
and names every public function and type the header declares; every
option field and environment variable the code reads is in
docs/configuration.md; every example program is built and listed in the
README. The last line printed is "test_docs: N passed, N failed".
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def expect(got, want):
    assert got == want, "got %r\n  want %r" % (got, want)


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
    m = re.search(r"typedef struct oa_options \{(.*?)\} oa_options;",
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
    for f in ("config.c", "http.c", "openagent.c", "context.c",
              "examples/oa.c"):
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


def test_docs_links():
    # every relative link in docs/ and the README points at a file
    for name in ["README.md"] + ["docs/" + f for f in os.listdir(
            os.path.join(ROOT, "docs")) if f.endswith(".md")]:
        base = os.path.dirname(os.path.join(ROOT, name))
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", read(name)):
            assert os.path.exists(os.path.join(base, link)), \
                "%s links to %s, which does not exist" % (name, link)


TESTS = [(name[5:], fn) for name, fn in list(globals().items())
         if name.startswith("test_") and callable(fn)]


def main(argv):
    passed = failed = 0
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
    print("test_docs: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
