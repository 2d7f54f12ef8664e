#!/usr/bin/env python3
"""test_security_md.py -- docs/security.md against the tests it reports.

    test/test_security_md.py [NAME...]

The fault matrix of docs/security.md names each case of test/test_faults.c
by its test name: every case is in the table once and every row is a case;
each row's "Expected" names every error code the case asserts (or says
"success" when it asserts none); and its "Outcome" is "pass", since
`make test` fails while any case fails. The fuzzing tables name exactly
the fuzz targets the Makefile builds; every case of the table of `oa`'s
hostile inputs is a test of test/test_oa.py. So a fixed case cannot stay
listed as failing, and a new case or target cannot go unlisted.

The last line printed is "test_security_md: N passed, N failed".
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def expect(got, want):
    assert got == want, "got %r\n  want %r" % (got, want)


def section(doc, title):
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), doc,
                  flags=re.M | re.S)
    assert m, "docs/security.md has no section %r" % title
    return m.group(1)


def table_rows(text):
    """The rows of every table in text, as lists of cells, header and
    separator lines left out."""
    rows = []
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        lines = block.strip("\n").split("\n")
        for line in lines[2:]:
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def fault_cases():
    """{test name: [error codes its test asserts]} from test_faults.c."""
    src = read("test", "test_faults.c")
    cases = {}
    for name, fn in re.findall(r'\{ "(\w+)", (\w+) \}', src):
        m = re.search(r"\n%s\(void\)\n\{(.*?)\n\}\n" % fn, src, flags=re.S)
        assert m, "no body for " + fn
        codes = re.findall(r"CHECK_INT\((?!init_client)[^;]*?,\s*"
                           r"(OA_ERR_\w+)\)", m.group(1), flags=re.S)
        cases[name] = sorted(set(codes))
    assert len(cases) >= 20, cases
    return cases


def test_fault_matrix():
    rows = table_rows(section(read("docs", "security.md"), "Fault matrix"))
    cases = fault_cases()
    named = [re.sub(r"`", "", r[0]) for r in rows]
    expect(sorted(named), sorted(cases))
    for row in rows:
        assert len(row) == 4, "a row of 4 cells: %r" % row
        name, expected, outcome = row[0].strip("`"), row[2], row[3]
        codes = cases[name]
        for code in codes:
            assert "`%s`" % code in expected, \
                "%s: the test asserts %s; the table says %r" % (
                    name, code, expected)
        if not codes:
            assert expected.startswith("success"), \
                "%s: the test asserts no error; the table says %r" % (
                    name, expected)
        for code in re.findall(r"OA_ERR_\w+", expected):
            assert code in codes, "%s: the table names %s, the test " \
                "does not assert it" % (name, code)
        expect((name, outcome), (name, "pass"))


def test_fuzz_targets():
    doc = section(read("docs", "security.md"), "Fuzzing")
    fuzz = re.search(r"^FUZZ\s*=\s*(.*)$", read("Makefile"), flags=re.M)
    targets = sorted(fuzz.group(1).split())
    tables = re.findall(r"((?:^\|.*\|\n)+)", doc, flags=re.M)
    assert len(tables) == 2, "two tables in Fuzzing"
    for t in tables:
        rows = table_rows(t)
        expect(sorted(r[0].strip("`") for r in rows), targets)
    for t in targets:
        assert os.path.exists(os.path.join(ROOT, "fuzz", "fuzz_%s.c" % t)), t


def test_oa_cases():
    rows = table_rows(section(read("docs", "security.md"),
                              "The `oa` command"))
    assert len(rows) >= 5, rows
    tests = set(re.findall(r"^def test_(\w+)\(", read("test", "test_oa.py"),
                           flags=re.M))
    expect(sorted(r[0].strip("`") for r in rows if r[0].strip("`") not in
                  tests), [])


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
    print("test_security_md: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
