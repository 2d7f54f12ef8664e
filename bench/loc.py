"""Count the library's lines of code: non-blank lines of the library .c
files (CORE_SRC and MOD_SRC in the Makefile, then modules.c) that hold
something besides comments.

    python3 bench/loc.py [REPO]
"""
import os
import re
import sys


def code_lines(text):
    """Lines with code once /* */ and // comments are gone (string and
    character literals are respected, so "/*" inside one is not a
    comment)."""
    out, i, n, in_comment = [], 0, len(text), False
    line = []
    while i < n:
        c = text[i]
        if in_comment:
            if text.startswith("*/", i):
                in_comment, i = False, i + 2
                continue
            if c == "\n":
                out.append("".join(line))
                line = []
            i += 1
        elif text.startswith("/*", i):
            in_comment, i = True, i + 2
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            line.append(text[i:j + 1])
            i = j + 1
        elif c == "\n":
            out.append("".join(line))
            line = []
            i += 1
        else:
            line.append(c)
            i += 1
    out.append("".join(line))
    return sum(1 for l in out if l.strip())


def library_sources(repo):
    with open(os.path.join(repo, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    names = []
    for var in ("CORE_SRC", "MOD_SRC"):
        m = re.search(r"^%s\s*=\s*(.*)$" % var, text, re.M)
        if m:
            names += re.findall(r"\b[\w]+\.c\b", m.group(1))
    return names + ["modules.c"] if names else []


def core_sources(repo):
    """The core's files: CORE_SRC in the Makefile."""
    with open(os.path.join(repo, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^CORE_SRC\s*=\s*(.*)$", text, re.M)
    return re.findall(r"\b[\w]+\.c\b", m.group(1)) if m else []


def count(repo):
    """{file: lines} for every library .c file."""
    result = {}
    for name in library_sources(repo):
        with open(os.path.join(repo, name), encoding="utf-8",
                  errors="replace") as f:
            result[name] = code_lines(f.read())
    return result


if __name__ == "__main__":
    per_file = count(sys.argv[1] if len(sys.argv) > 1 else ".")
    for name, n in per_file.items():
        print("%6d %s" % (n, name))
    print("%6d total" % sum(per_file.values()))
