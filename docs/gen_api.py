#!/usr/bin/env python3
"""gen_api.py -- write docs/api.md, the API reference, from openagent.h.

    python3 docs/gen_api.py            rewrite docs/api.md
    python3 docs/gen_api.py --check    exit 1 if docs/api.md is stale
    python3 docs/gen_api.py --stdout   print it instead

The header is the manual: every declaration is documented where it is
declared. This script only rearranges it, so the reference cannot say
anything the header does not. It reads the header as a few kinds of
top-level pieces, which is all openagent.h is made of:

  - the opening comment: the introduction;
  - banner comments (a line of dashes): a section with its prose;
  - a comment at column 0 followed by declarations: the declarations'
    documentation; function prototypes and typedefs are shown as C with
    the comment as prose above them (a struct keeps its member comments);
  - runs of #define lines: shown as C, comments and all.

Comment prose becomes Markdown: "- " lines become lists, indented lines
become preformatted blocks, identifiers become code spans.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "openagent.h")
OUT = os.path.join(ROOT, "docs", "api.md")

# Lines of the include guard and the C++ wrapper: not part of the API.
SKIP = re.compile(r'^(#ifndef OPENAGENT_H|#define OPENAGENT_H|#include|'
                  r'#ifdef __cplusplus|extern "C"|\}$|#endif)')


def comment_lines(lines):
    """The text of a /* ... */ comment, the leading " * " taken off."""
    text = "\n".join(lines)
    text = re.sub(r"^/\*+", "", text.strip())
    text = re.sub(r"\*+/$", "", text)
    out = []
    for ln in text.split("\n"):
        ln = re.sub(r"^\s*\* ?", "", ln) if ln.lstrip().startswith("*") \
            else ln.strip()
        out.append(ln.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def pieces(src):
    """Top-level pieces of the header: ("comment", lines) and
    ("code", lines), blank lines as ("blank", [])."""
    lines = src.split("\n")
    i, out = 0, []
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("/*"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            out.append(("comment", lines[i:j + 1]))
            i = j + 1
        elif not ln.strip():
            out.append(("blank", []))
            i += 1
        else:
            j, depth = i, 0
            # one declaration: to the ';' that closes it at depth 0, or
            # one preprocessor line
            if not (ln.startswith("#") or SKIP.match(ln)):
                incomment = False
                while True:
                    # braces and ';' count outside comments only
                    code = ""
                    for part in re.split(r"(/\*|\*/)", lines[j]):
                        if part in ("/*", "*/"):
                            incomment = part == "/*"
                        elif not incomment:
                            code += part
                    depth += code.count("{") - code.count("}")
                    if depth == 0 and code.rstrip().endswith(";"):
                        break
                    j += 1
            out.append(("code", lines[i:j + 1]))
            i = j + 1
    return out


def code_spans(text):
    """Identifiers and calls in backticks; stray Markdown characters
    escaped outside them."""
    pat = re.compile(r"(`[^`]*`|\b(?:oa_|OA_)[A-Za-z0-9_]*(?:\.[a-z_*]+)?"
                     r"(?:\(\))?|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|"
                     r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|"
                     r"\b[a-z]+->[a-z_]+\b|(?<![\w*])\*[a-z_]+\b)")
    esc = re.compile(r"([\\*<>\[\]])")
    out, pos = [], 0
    for m in pat.finditer(text):
        out.append(esc.sub(r"\\\1", text[pos:m.start()]))
        tok = m.group(0)
        out.append(tok if tok.startswith("`") else "`%s`" % tok)
        pos = m.end()
    out.append(esc.sub(r"\\\1", text[pos:]))
    return "".join(out)


def prose(lines):
    """Comment text as Markdown."""
    out, para, i = [], [], 0

    def flush():
        if para:
            out.append(code_spans(" ".join(para)))
            out.append("")
            del para[:]

    while i < len(lines):
        ln = lines[i]
        ind = len(ln) - len(ln.lstrip())
        if not ln.strip():
            flush()
            i += 1
        elif ln.lstrip().startswith("- ") and ind < 4:
            flush()
            while i < len(lines) and lines[i].lstrip().startswith("- "):
                item = [lines[i].lstrip()[2:].strip()]
                i += 1
                while (i < len(lines) and lines[i].strip() and
                       not lines[i].lstrip().startswith("- ") and
                       len(lines[i]) - len(lines[i].lstrip()) > ind):
                    item.append(lines[i].strip())
                    i += 1
                out.append("- " + code_spans(" ".join(item)))
            out.append("")
        elif ind >= 2:
            flush()
            block = []
            while i < len(lines) and (
                    not lines[i].strip() or
                    len(lines[i]) - len(lines[i].lstrip()) >= 2):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            cut = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            lang = "c" if any(b.rstrip().endswith((";", "{", "}"))
                              for b in block) else "text"
            out.append("```" + lang)
            out.extend(b[cut:] for b in block)
            out.append("```")
            out.append("")
        else:
            para.append(ln.strip())
            i += 1
    flush()
    return out


def clean_code(lines):
    """A declaration as shown: without the compiler-specific attribute
    lines, which say nothing to a reader."""
    keep = [ln for ln in lines
            if not ln.startswith("#") and "__attribute__" not in ln]
    if len(keep) > 1 and keep[-1].strip() == ";":
        keep[-2] += ";"
        keep.pop()
    return keep


def names(code):
    """What a declaration declares: functions, or a type."""
    text = " ".join(code)
    if text.lstrip().startswith("typedef"):
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)", text)
        if m and "{" not in text:
            return [m.group(1)]
        return [re.findall(r"(\w+)\s*;\s*$", text)[0]]
    if text.startswith("#define"):
        return []
    return re.findall(r"\b(oa_\w+)\s*\(", text)[:1]


def generate(src):
    ps = pieces(src)
    intro = comment_lines(ps[0][1])
    body = ["# openagent API reference", "",
            "Generated by `docs/gen_api.py` from `openagent.h`, where every "
            "declaration is documented; do not edit by hand (`make docs` "
            "rewrites it, and `make test` fails when it is stale).", ""]
    body += prose(intro[1:] if intro[0].startswith("openagent.h") else
                  intro)
    sections = [["Version", [], []]]  # title, prose, items
    k = 1
    while k < len(ps):
        kind, lines = ps[k]
        if kind == "comment" and re.match(r"^/\* -{10,}", lines[0]):
            text = [ln for ln in comment_lines(lines)
                    if not re.match(r"^-{10,}$", ln.strip())]
            while text and not text[-1].strip():
                text.pop()
            sections.append([text[0].strip(), text[2:] if len(text) > 1
                             else [], []])
            k += 1
            continue
        if kind == "blank" or (kind == "code" and
                               SKIP.match(lines[0].strip())):
            k += 1
            continue
        # A doc comment (maybe none) and the declarations after it, up to
        # a blank line or the next comment at column 0.
        doc = comment_lines(lines) if kind == "comment" else []
        if kind == "comment":
            k += 1
        code = []
        while k < len(ps) and ps[k][0] == "code":
            code.append(ps[k][1])
            k += 1
        if code and code[0][0].startswith("#define"):
            # macros: the whole run, with its comments, as C
            while k < len(ps) and ps[k][0] in ("code", "comment"):
                code.append(ps[k][1])
                k += 1
            shown = (lines if doc else []) + [ln for c in code for ln in c]
            sections[-1][2].append(([], None, shown))
            continue
        decl = []
        for c in code:
            decl.extend(clean_code(c))
        found = [n for c in code for n in names(c)]
        sections[-1][2].append((doc, found, decl))
    body += ["Contents:", ""]
    for title, text, items in sections:
        found = [n for _, ns, _ in items for n in ns or []]
        body.append("- [%s](#%s)%s" % (
            title, re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(
                " ", "-"),
            ": " + ", ".join("`%s`" % n for n in found) if found else ""))
    body.append("")
    for title, text, items in sections:
        body += ["## " + title, ""]
        body += prose(text)
        for doc, found, decl in items:
            if found:
                body += ["### " + ", ".join("`%s`" % n for n in found), ""]
            body += ["```c"] + decl + ["```", ""]
            body += prose(doc)
    while body[-1] == "":
        body.pop()
    return "\n".join(body) + "\n"


def main(argv):
    with open(HEADER, encoding="utf-8") as f:
        text = generate(f.read())
    if "--stdout" in argv:
        sys.stdout.write(text)
        return 0
    if "--check" in argv:
        try:
            with open(OUT, encoding="utf-8") as f:
                old = f.read()
        except OSError:
            old = None
        if old != text:
            sys.stderr.write("docs/api.md is stale: run `make docs`\n")
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
