#!/usr/bin/env python3
"""test_git_agent.py -- examples/git_commit_agent against the scripted
server (server.py), in real git repositories made by each test.

Every test checks the program's exact output and exit status, the
requests the server received, and for commits the message that landed
(git log -1 --format=%B). The program runs with HOME, TMPDIR and the git
identity pointing into a temporary directory, no system git config and
GIT_CEILING_DIRECTORIES above the repositories, so no real repository or
configuration is read or touched.

    OA_EXAMPLES_DIR=build OA_TEST_SERVER=test/server.py \\
        test/test_git_agent.py [NAME...]

The last line printed is "test_git_agent: N passed, N failed"; the exit
status is non-zero when anything failed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import harness
from harness import TMP, Server, expect

AGENT = os.path.join(harness.BIN, "git_commit_agent")
HOME = os.path.join(TMP, "home")
TMPDIR = os.path.join(TMP, "tmp")
os.makedirs(HOME)
os.makedirs(TMPDIR)

ENV = {k: v for k, v in os.environ.items()
       if not k.startswith(("OPEN_AGENT_", "GIT_", "OA_"))
       and k not in ("EDITOR", "VISUAL")}
ENV.update({"HOME": HOME, "TMPDIR": TMPDIR, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CEILING_DIRECTORIES": TMP, "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "t@example.com"})

TYPES = ["feat", "fix", "docs", "style", "refactor", "perf", "test",
         "chore", "ci", "build"]
SCHEMA = {"type": "object", "properties": {
    "type": {"type": "string", "enum": TYPES},
    "scope": {"type": "string"},
    "subject": {"type": "string", "maxLength": 60},
    "body": {"type": "array", "items": {"type": "string"}},
    "breaking": {"type": "string"}},
    "required": ["type", "scope", "subject", "body", "breaking"],
    "additionalProperties": False}
ASK = ("Answer with one JSON object and nothing else", "Conventional Commits")
PROMPT = "Write the commit message for the staged change below."
QUESTION = "\n[a]ccept, [e]dit, [r]egenerate, [q]uit? "


def sh(cwd, *args):
    """Run git in cwd; its output as text."""
    return subprocess.run(["git"] + list(args), cwd=cwd, env=ENV,
                          check=True, capture_output=True
                          ).stdout.decode("utf-8", "replace")


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def repo(files, staged):
    """A repository with one commit holding files, then staged (a dict of
    name -> contents) written and added."""
    d = tempfile.mkdtemp(dir=TMP)
    sh(d, "-c", "init.defaultBranch=main", "init", "-q")
    for name, data in files.items():
        write(os.path.join(d, name), data)
    sh(d, "add", "-A")
    sh(d, "commit", "-q", "-m", "initial")
    for name, data in staged.items():
        write(os.path.join(d, name), data)
        sh(d, "add", name)
    return d


def agent(args, cwd, stdin=b"", env=None):
    """Run the agent; returns (status, stdout, stderr). stdin is a pipe,
    never a terminal, so the default mode is --print."""
    e = dict(ENV)
    e.update(env or {})
    p = subprocess.run([AGENT] + args, cwd=cwd, env=e, input=stdin,
                       capture_output=True, timeout=30)
    # every temporary file is gone once the program has ended
    expect(os.listdir(TMPDIR), [])
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def obj(type_="feat", scope="", subject="do it", body=(), breaking=""):
    return json.dumps({"type": type_, "scope": scope, "subject": subject,
                       "body": list(body), "breaking": breaking})


def head_message(d):
    return sh(d, "log", "-1", "--format=%B")


def commits(d):
    return int(sh(d, "rev-list", "--count", "HEAD"))


def check_request(req, diff, schema=True):
    """The system prompt, the user message with the whole diff, and the
    response_format schema (or none)."""
    msgs = req["body"]["messages"]
    expect([m["role"] for m in msgs], ["system", "user"])
    for s in ASK:
        assert s in msgs[0]["content"], msgs[0]["content"]
    expect(msgs[1]["content"], PROMPT + "\n\n$ git diff --cached\n" + diff)
    if schema:
        expect(req["body"]["response_format"], {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": SCHEMA}})
    else:
        assert "response_format" not in req["body"], req["body_raw"]


COMMITTED = re.compile(r"\[main [0-9a-f]{7,}\] ")

# ------------------------------------------------------------ --print


def test_print():
    d = repo({"parse.c": "int x;\n"}, {"parse.c": "int x;\nint y;\n"})
    reply = obj("feat", "parser", "add the y counter.",
                ["Count y tokens", "- Report a bad y",
                 "--verbose is new"])
    # the object arrives in pieces, as a stream does
    with Server([{"reply": [reply[:10], reply[10:31], reply[31:]]}]) as s:
        rc, out, err = agent([s.url, "m"], d)
        rc2, out2, err2 = agent(["--commit", "--print", s.url, "m"], d)
        reqs = s.requests()
    want = ("feat(parser): add the y counter\n\n- Count y tokens\n"
            "- Report a bad y\n- --verbose is new\n")
    expect((rc, out, err), (0, want, ""))
    expect((rc2, out2, err2), (0, want, ""))
    expect(len(reqs), 2)
    diff = sh(d, "diff", "--cached")
    assert "+int y;" in diff, diff
    check_request(reqs[0], diff)
    expect(reqs[0]["body"]["model"], "m")
    # nothing committed, the change still staged
    expect(commits(d), 1)
    expect(sh(d, "diff", "--cached"), diff)


def test_commit():
    d = repo({"a.txt": "one\n"}, {"a.txt": "two\n", "b.txt": "new\n"})
    reply = json.dumps({
        "type": "refactor", "scope": "api",
        "subject": "rename the \"open\" call to caf\u00e9_open \U0001f600",
        "body": "* Callers must switch\nover\n\n  - Old name kept nowhere",
        "breaking": "open() is gone; call caf\u00e9_open()."},
        ensure_ascii=True)
    diff = sh(d, "diff", "--cached")
    with Server([{"reply": reply}]) as s:
        rc, out, err = agent(["--commit", s.url, "m"], d)
        reqs = s.requests()
    msg = ("refactor(api)!: rename the \"open\" call to caf\u00e9_open "
           "\U0001f600\n\n- Callers must switch\n- over\n"
           "- Old name kept nowhere\n\n"
           "BREAKING CHANGE: open() is gone; call caf\u00e9_open().\n")
    expect(rc, 0)
    expect(err, "")
    assert out.startswith(msg), out
    assert COMMITTED.match(out[len(msg):]), out
    expect(head_message(d), msg + "\n")
    expect(commits(d), 2)
    expect(sh(d, "diff", "--cached"), "")
    expect(len(reqs), 1)
    check_request(reqs[0], diff)


def test_long_subject():
    # the first line stays under 72 characters, cut at a blank; a
    # breaking change without text marks the type with "!" only; a scope
    # too long to be a scope is left out
    d = repo({"a": "1\n"}, {"a": "2\n"})
    words = " ".join(["word%02d" % i for i in range(20)])
    reply = json.dumps({"type": "fix", "scope": "x" * 31, "subject": words,
                        "body": [], "breaking": True})
    with Server([{"reply": reply}]) as s:
        rc, out, err = agent(["--print", s.url, "m"], d)
    head = "fix!: " + words
    head = head[:head.rindex(" ", 0, 72)]
    expect((rc, out, err), (0, head + "\n", ""))
    assert len(head) < 72 and len(head) > 60, head


# ------------------------------------------------------- a large diff


def test_large_diff():
    lines = ["line %05d of a long file\n" % i for i in range(3000)]
    d = repo({"big.txt": "".join(lines), "small.txt": "a\n"},
             {"big.txt": "".join(l.upper() for l in lines),
              "small.txt": "b\n"})
    with Server([{"reply": obj("style", "", "shout")}]) as s:
        rc, out, err = agent([s.url, "m"], d)
        reqs = s.requests()
    expect((rc, out, err), (0, "style: shout\n", ""))
    expect(len(reqs), 1)
    diff = sh(d, "diff", "--cached")
    stat = sh(d, "diff", "--cached", "--stat")
    assert len(diff) > 24 * 1024 and " big.txt " in stat, stat
    assert "2 files changed" in stat, stat
    # the diff is cut at the last line end within 24 KB
    shown = diff[:diff.rindex("\n", 0, 24 * 1024) + 1]
    content = reqs[0]["body"]["messages"][1]["content"]
    expect(content,
           "Write the commit message for the staged change below. Its "
           "diff is %d bytes, too long to show whole: the summary lists "
           "every file, and the diff is cut after %d bytes.\n\n"
           "$ git diff --cached --stat\n%s\n$ git diff --cached\n%s"
           "[... %d more bytes]\n"
           % (len(diff), len(shown), stat, shown, len(diff) - len(shown)))
    assert len(shown) <= 24 * 1024 and len(shown) > 23 * 1024, len(shown)
    expect(reqs[0]["body"]["response_format"]["json_schema"]["schema"],
           SCHEMA)


def test_bytes_scrubbed():
    # a latin-1 byte in the diff becomes '?', so the request is valid
    # UTF-8 JSON; valid UTF-8 passes unchanged
    d = repo({"t.txt": "x\n"}, {"t.txt": b"caf\xe9 \xc3\xa9\n"})
    with Server([{"reply": obj()}]) as s:
        rc, out, err = agent([s.url, "m"], d)
        reqs = s.requests()
    expect((rc, out, err), (0, "feat: do it\n", ""))
    content = reqs[0]["body"]["messages"][1]["content"]
    assert content.endswith("\n+caf? \u00e9\n"), content
    assert "\ufffd" not in reqs[0]["body_raw"], reqs[0]["body_raw"]


# ----------------------------------------------------- refusals


def test_nothing_staged():
    d = repo({"a": "1\n"}, {})
    write(os.path.join(d, "a"), "changed but not added\n")
    with Server([{"reply": obj()}]) as s:
        rc, out, err = agent([s.url, "m"], d)
        expect(s.requests(), [])
    expect((rc, out, err), (3, "", "git_commit_agent: nothing staged: add "
                                   "changes with git add first\n"))


def test_not_a_repository():
    d = tempfile.mkdtemp(dir=TMP)
    with Server([{"reply": obj()}]) as s:
        rc, out, err = agent(["--commit", s.url, "m"], d)
        expect(s.requests(), [])
    expect((rc, out, err), (1, "", "git_commit_agent: not a git repository:"
                                   " run this inside one, after git add\n"))


def test_usage():
    d = tempfile.mkdtemp(dir=TMP)
    for args, why in ((["--bogus"], "unknown option --bogus"),
                      (["a", "b", "c"], "too many arguments: c"),
                      (["-"], "unknown option -")):
        rc, out, err = agent(args, d)
        expect((rc, out, err), (2, "", "git_commit_agent: %s\n"
                                       "usage: git_commit_agent [--print | "
                                       "--commit | --interactive] "
                                       "[--no-schema] [BASE_URL [MODEL]]\n"
                                % why))


def test_server_error():
    d = repo({"a": "1\n"}, {"a": "2\n"})
    with Server([{"status": 500,
                  "json": {"error": {"message": "model not loaded"}}}]) as s:
        rc, out, err = agent(["--commit", s.url, "m"], d)
    expect((rc, out), (1, ""))
    assert err.startswith("git_commit_agent: ") and \
        "model not loaded" in err, err
    expect(commits(d), 1)


# ------------------------------------------------------- fallbacks


def test_no_schema_fenced():
    # --no-schema: no response_format; the object is found in a fence
    # after prose that holds a brace of its own, and after a <think>
    # section whose draft must not be taken
    d = repo({"a": "1\n"}, {"a": "2\n"})
    reply = ("<think>maybe " + obj("chore", "", "draft") + "</think>"
             "Here it is {as asked}:\n```json\n" +
             obj("docs", "readme", "explain the flags",
                 ["List every flag"]) + "\n```\n")
    with Server([{"reply": [reply[:40], reply[40:]]}]) as s:
        rc, out, err = agent(["--no-schema", s.url, "m"], d)
        reqs = s.requests()
    expect((rc, out, err), (0, "docs(readme): explain the flags\n\n"
                               "- List every flag\n", ""))
    check_request(reqs[0], sh(d, "diff", "--cached"), schema=False)


def test_raw_reply():
    # no usable object (none, an unknown type, no subject): the reply is
    # printed as it came, and --commit refuses to commit it
    d = repo({"a": "1\n"}, {"a": "2\n"})
    reply = ('  Update a\n\n{"type":"feature","subject":"x"} '
             '{"type":"fix","subject":" . "} {"type": fix}\n')
    note = ("git_commit_agent: the reply holds no commit message object; "
            "showing it as it came\n")
    raw = reply.strip() + "\n"
    with Server([{"reply": reply}]) as s:
        rc, out, err = agent(["--print", s.url, "m"], d)
        rc2, out2, err2 = agent(["--commit", s.url, "m"], d)
    expect((rc, out, err), (0, raw, note))
    expect((rc2, out2, err2),
           (1, raw, note + "git_commit_agent: not committing a reply "
                           "that is not a commit message\n"))
    expect(commits(d), 1)


# ------------------------------------------------------- interactive


def test_interactive_accept():
    d = repo({"a": "1\n"}, {"a": "2\n"})
    with Server([{"reply": obj("fix", "", "count from one", ["Off by one"])
                  }]) as s:
        rc, out, err = agent(["--interactive", s.url, "m"], d, b"a\n")
    msg = "fix: count from one\n\n- Off by one\n"
    expect((rc, err), (0, ""))
    assert out.startswith(msg + QUESTION), out
    assert COMMITTED.match(out[len(msg + QUESTION):]), out
    expect(head_message(d), msg + "\n")


def test_interactive_quit():
    d = repo({"a": "1\n"}, {"a": "2\n"})
    msg = "feat: do it\n"
    with Server([{"reply": obj()}]) as s:
        # an answer it does not know, then quit (upper case works too)
        rc, out, err = agent([s.url, "m", "--interactive"], d,
                             b"x\n  Q\n")
        # the end of input quits as well
        rc2, out2, err2 = agent(["--interactive", s.url, "m"], d, b"")
    expect((rc, out, err),
           (4, msg + QUESTION + "please answer a, e, r or q\n" + QUESTION,
            ""))
    expect((rc2, out2, err2), (4, msg + QUESTION + "\n", ""))
    expect(commits(d), 1)
    expect(sh(d, "diff", "--cached", "--name-only"), "a\n")


def test_interactive_regenerate():
    d = repo({"a": "1\n"}, {"a": "2\n"})
    with Server([{"reply": obj("feat", "", "first try")},
                 {"reply": obj("fix", "core", "second try")}]) as s:
        rc, out, err = agent(["--interactive", s.url, "m"], d, b"r\na\n")
        reqs = s.requests()
    first, second = "feat: first try\n", "fix(core): second try\n"
    expect((rc, err), (0, ""))
    assert out.startswith(first + QUESTION + second + QUESTION), out
    expect(head_message(d), second + "\n")
    # the same fresh request twice: the history does not pile up
    expect(len(reqs), 2)
    expect(reqs[1]["body"]["messages"], reqs[0]["body"]["messages"])


def test_interactive_edit():
    d = repo({"a": "1\n"}, {"a": "2\n"})
    log = os.path.join(TMP, "editor.log")
    editor = os.path.join(TMP, "fake editor")  # a blank in its name
    os.makedirs(editor)
    script = os.path.join(editor, "edit.sh")
    write(script, '#!/bin/sh\n'
                  'printf "%%s|" "$@" > "%s"\n'
                  'cat "$2" >> "%s"\n'
                  'printf "docs: edited by hand\\n\\nreasons\\n\\n" > "$2"\n'
                  % (log, log))
    os.chmod(script, 0o755)
    reply = obj("feat", "", "generated")
    with Server([{"reply": reply}]) as s:
        # $EDITOR is split at blanks: PATH finds it, "--wait" is an
        # argument, and the file comes last
        rc, out, err = agent(["--interactive", s.url, "m"], d, b"e\na\n",
                             {"EDITOR": "edit.sh  --wait",
                              "PATH": editor + ":" + ENV["PATH"]})
    edited = "docs: edited by hand\n\nreasons\n"
    expect((rc, err), (0, ""))
    assert out.startswith("feat: generated\n" + QUESTION + edited +
                          QUESTION), out
    expect(head_message(d), edited + "\n")
    with open(log, encoding="utf-8") as f:
        args = f.read().split("|")
    expect(args[0], "--wait")
    assert args[1].startswith(os.path.join(TMPDIR, "commit-msg-")), args
    expect(args[2], "feat: generated\n")


def test_interactive_edit_fails():
    # an editor that fails or empties the file leaves the message as it
    # was; one that cannot be found is reported
    d = repo({"a": "1\n"}, {"a": "2\n"})
    empty = os.path.join(TMP, "empty.sh")
    write(empty, '#!/bin/sh\n: > "$1"\n')
    os.chmod(empty, 0o755)
    msg = "feat: do it\n"
    with Server([{"reply": obj()}]) as s:
        rc, out, err = agent(["--interactive", s.url, "m"], d, b"e\nq\n",
                             {"EDITOR": "false"})
        rc2, out2, err2 = agent(["--interactive", s.url, "m"], d,
                                b"e\nq\n", {"EDITOR": empty})
        rc3, out3, err3 = agent(["--interactive", s.url, "m"], d,
                                b"e\nq\n", {"EDITOR": "/nonexistent/ed"})
    expect((rc, out, err), (4, msg + QUESTION + QUESTION,
                            "git_commit_agent: failed: false (exit 1); the "
                            "message is unchanged\n"))
    expect((rc2, out2, err2), (4, msg + QUESTION + QUESTION,
                               "git_commit_agent: the edited message is "
                               "empty; keeping the previous one\n"))
    expect((rc3, out3, err3), (4, msg + QUESTION + QUESTION,
                               "git_commit_agent: cannot run "
                               "/nonexistent/ed (exit 127); the message "
                               "is unchanged\n"))
    expect(commits(d), 1)


def clear_tmpdir():
    """One test's leftovers fail it alone."""
    for f in os.listdir(TMPDIR):
        os.unlink(os.path.join(TMPDIR, f))


if __name__ == "__main__":
    sys.exit(harness.main(harness.tests(globals()), after_each=clear_tmpdir))
