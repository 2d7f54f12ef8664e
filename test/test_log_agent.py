#!/usr/bin/env python3
"""test_log_agent.py -- examples/log_analyzer_agent against real log files
written by each test and, where the model is asked, against the scripted
server (server.py).

Each test writes its log lines, runs the program in an empty directory with
no OPEN_AGENT_* variables, and checks the exact summary it prints; the
tests that reach the model also check the exact request the server got.

    OA_EXAMPLES_DIR=build OA_TEST_SERVER=test/server.py \\
        test/test_log_agent.py [NAME...]

The last line printed is "test_log_agent: N passed, N failed"; the exit
status is non-zero when anything failed.
"""
import datetime
import os
import sys

import harness
from harness import TMP, Server, expect

BIN = os.path.join(harness.BIN, "log_analyzer_agent")
CAP = 65536  # LINE_CAP in the program


def run(args, stdin=b""):
    """The program in an empty directory; returns (status, out, err)."""
    return harness.run([BIN] + args, input=stdin)


# what every example's --help says about settings (test_examples checks
# the others)
SETTINGS = ("BASE_URL, MODEL and the API key not given here come from\n"
            "OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n"
            "then the first of ./open-agent.yaml, "
            "~/.config/open-agent/config.yaml,\n~/.open-agent.yaml; the "
            "URL defaults to LM Studio's\nhttp://localhost:1234/v1.\n")


def log(lines, name=None):
    """A log file holding lines (str or bytes, joined by newlines)."""
    path = os.path.join(TMP, name or "log%d.log" % len(os.listdir(TMP)))
    data = lines if isinstance(lines, bytes) else "\n".join(lines) + "\n"
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def summary(lines, *args):
    """--summary-only over one file of lines: the summary's lines."""
    path = log(lines)
    rc, out, err = run(["--summary-only"] + list(args) + [path])
    expect((rc, err), (0, ""))
    got = out.split("\n")
    expect((got[0], got[1], got[-1]), ("Log summary", "Input: " + path, ""))
    return got[2:-1]


def head(lines, levels, formats, span, peak):
    """The fixed part of a summary: Lines .. Peak error hour."""
    n = len([x for x in lines if x.strip()])
    return ["Lines: %d read, %d blank, 0 cut to %d bytes"
            % (len(lines), len(lines) - n, CAP),
            "Entries: %d" % n,
            "Levels: %d error, %d warning, %d info, %d debug, %d other"
            % levels,
            "Formats: %d JSON, %d ISO timestamp, %d access log, "
            "%d syslog (RFC 3164), %d syslog (RFC 5424), %d time only, "
            "%d plain" % formats,
            "Time range: " + ("%s to %s (UTC)" % span if span else
                              "none (no timestamps)"),
            "Peak error hour: " + ("%s (%d errors)" % peak if peak else
                                   "none")]


def patterns(total, *rows):
    return (["Top error patterns (%d of %d):" % (len(rows), total)] +
            ["%8d  %s" % row for row in rows])


# --------------------------------------------------------------- formats

def test_json_lines():
    lines = [
        # "timestamp" wins over "time" whatever the order; "level" over
        # "severity"; "message" over "msg"
        '{"time":"2001-01-01T00:00:00Z","severity":"info",'
        '"msg":"not this","timestamp":"2024-03-05T10:00:00+02:00",'
        '"level":"ERROR","message":"db down on host 7"}',
        '{"ts":1709632800,"log_level":"Warn","event":"slow"}',
        '{"datetime":"2024-03-05 11:30:00.5-0100","severity":"fatal",'
        '"msg":"crash \\"core\\" \\u00e9\\ud83d\\ude00",'
        '"ctx":{"a":[1,{"b":"}"}]}}',
        '{"ts":1709640000123,"level":30,"msg":"bunyan info"}',
        '{"level":50,"nested":{"message":"inner"}}',
        '  { "level" : "debug" , "message" : "spaced" }  ',
        '{"level":"error","message":"broken"',  # not JSON: plain
    ]
    got = summary(lines)
    # 1709640000 s is 12:00Z, the time the undated level-50 line takes
    expect(got[:6], head(lines, (3, 1, 1, 1, 1), (6, 0, 0, 0, 0, 0, 1),
                         ("2024-03-05T08:00:00Z", "2024-03-05T12:30:00Z"),
                         ("2024-03-05T12:00Z", 2)))
    expect(got[6:], patterns(
        3, (1, "db down on host <N>"),
        (1, 'crash "core" \u00e9\U0001F600'),
        (1, '{"level":<N>,"nested":{"message":"inner"}}')))


def test_iso_timestamps_and_levels():
    lines = [
        "2024-03-05T10:00:00Z [ERROR] a failed",
        "2024-03-05T10:00:00.123+05:30 WARN b slow",
        "2024-03-05 10:00:00,5 -0700 INFO c",
        "2024-03-05T10:00:00-03 [debug] d",
        "[2024-03-05 10:00:00] main ERROR e failed",
        "2024-03-05 10:00:00 - app.db - CRITICAL - f failed",
        "2024/03/05 10:00:00 [error] 12#0: g failed",
        "2024-03-05T10:00:00 connection error h",  # prose: no level
        "2024-03-05T10:00:00+25:00 bad zone",     # not ISO: plain
        "2024-03-05T10:00:00Zjunk",               # not ISO: plain
    ]
    got = summary(lines)
    # 10:00 at +05:30 is 04:30Z; -07:00 17:00Z; -03 13:00Z
    expect(got[:6], head(lines, (4, 1, 1, 1, 3), (0, 8, 0, 0, 0, 0, 2),
                         ("2024-03-05T04:30:00Z", "2024-03-05T17:00:00Z"),
                         ("2024-03-05T10:00Z", 4)))
    expect(got[6:], patterns(
        4, (1, "a failed"), (1, "e failed"), (1, "f failed"),
        (1, "<N>#<N>: g failed")))


def test_access_log():
    lines = [
        '10.0.0.1 - - [05/Mar/2024:10:30:00 -0700] "GET /api/users/42 '
        'HTTP/1.1" 503 12 "-" "curl/8.0"',
        '10.0.0.2 - frank [05/Mar/2024:17:45:10 +0000] "GET /api/users/7 '
        'HTTP/1.1" 503 0',
        '::1 - - [05/Mar/2024:18:00:00 +0100] "POST /login HTTP/2.0" '
        '500 -',
        '10.0.0.3 - - [05/Mar/2024:17:00:00 +0000] "GET /x?q=\\"a\\" '
        'HTTP/1.0" 404 5',
        '10.0.0.3 - - [05/Mar/2024:17:00:00 +0000] "GET / HTTP/1.1" 200 5',
        '10.0.0.3 - - [05/Mar/2024:17:00:00] "GET / HTTP/1.1" 200 5',
    ]
    got = summary(lines)
    # 10:30 at -07:00 is 17:30Z; 18:00 at +01:00 is 17:00Z; the last line
    # has no zone, so it is not an access line (and is no ISO line)
    expect(got[:6], head(lines, (3, 1, 1, 0, 1), (0, 0, 5, 0, 0, 0, 1),
                         ("2024-03-05T17:00:00Z", "2024-03-05T17:45:10Z"),
                         ("2024-03-05T17:00Z", 3)))
    expect(got[6:], patterns(2, (2, "503 GET <PATH>"),
                             (1, "500 POST <PATH>")))


def test_syslog_year_from_context():
    lines = [
        "2023-12-31T23:00:00Z INFO rotating",
        "Dec 31 23:30:00 web01 cron[99]: ERROR job 5 failed",
        "<11>Jan  1 00:10:00 web01 app: disk 3 failed",
        "Jan  1 00:20:00 web01 sshd[7]: error: auth 9 failed",
        "Jan  1 00:25:00 web01 kernel: usb error 3",  # prose: other
        "<190>Jan  1 00:30:00 web01 app: notice",
        "<12>Feb 30 00:00:00 host x",  # not a date anywhere: plain
    ]
    got = summary(lines)
    # Dec 31 nearest 2023-12-31T23:00 is in 2023; Jan 1 after it is 2024
    expect(got[:6], head(lines, (3, 0, 2, 0, 2), (0, 1, 0, 5, 0, 0, 1),
                         ("2023-12-31T23:00:00Z", "2024-01-01T00:30:00Z"),
                         ("2024-01-01T00:00Z", 2)))
    expect(got[6:], patterns(
        3, (1, "cron[<N>]: ERROR job <N> failed"),
        (1, "app: disk <N> failed"),
        (1, "sshd[<N>]: error: auth <N> failed")))


def test_syslog_year_without_context():
    year = datetime.datetime.now(datetime.timezone.utc).year
    lines = ["<3>Jan  1 00:00:01 host a: boom 1",
             "<3>Jan  1 00:00:02 host a: boom 2"]
    got = summary(lines)
    expect(got[:6], head(lines, (2, 0, 0, 0, 0), (0, 0, 0, 2, 0, 0, 0),
                         ("%d-01-01T00:00:01Z" % year,
                          "%d-01-01T00:00:02Z" % year),
                         ("%d-01-01T00:00Z" % year, 2)))
    # each file starts without context: the first file's year does not
    # carry over to the second
    old = log(["2019-06-01T00:00:00Z x"])
    new = log(["<3>Jan  1 00:00:01 host a: boom 1"])
    rc, out, err = run(["--summary-only", old, new])
    expect((rc, err), (0, ""))
    assert ("Time range: 2019-06-01T00:00:00Z to %d-01-01T00:00:01Z (UTC)"
            % year) in out.split("\n"), out


def test_syslog_rfc5424():
    lines = [
        '<165>1 2024-03-05T10:45:00.003+01:00 host app 12 ID47 '
        '[ex@1 a="x\\"]" b="y"][more@2 c="z"] \ufeffservice up',
        '<11>1 2024-03-05T09:50:00Z host app - - - db 0x1f failed',
        '<11>1 - host app - - - no time',
        '<12>1 2024-03-05T09:55:00Z host app - - [bad a="x] oops',
    ]
    got = summary(lines)
    # the last line's element never closes: plain
    expect(got[:6], head(lines, (2, 0, 1, 0, 1), (0, 0, 0, 0, 3, 0, 1),
                         ("2024-03-05T09:45:00Z", "2024-03-05T09:50:00Z"),
                         ("2024-03-05T09:00Z", 2)))
    expect(got[6:], patterns(2, (1, "db <HEX> failed"), (1, "no time")))


def test_time_only_and_plain():
    lines = [
        "10:00:00 ERROR before any date",      # no date: undated
        "2024-03-05T23:50:00Z INFO late",
        "23:59:59 [WARN] still today",
        "00:00:30 ERROR past midnight",        # the next day
        "   at com.example.Foo(Foo.java:10)",  # plain, no level
        "ERROR: disk full on /dev/sda1",       # plain, level first
        "warning:",                            # plain, level only
        "the error was here",                  # plain, prose
        "\t",                                  # blank
        "25:00:00 ERROR no such time",         # plain
    ]
    got = summary(lines)
    expect(got[:6], head(lines, (3, 2, 1, 0, 3), (0, 1, 0, 0, 0, 3, 5),
                         ("2024-03-05T23:50:00Z", "2024-03-06T00:00:30Z"),
                         ("2024-03-06T00:00Z", 2)))
    expect(got[6:], patterns(3, (1, "before any date"),
                             (1, "past midnight"),
                             (1, "ERROR: disk full on <PATH>")))


# -------------------------------------------------------------- counting

def test_patterns():
    lines = ["2024-03-05T10:00:0%dZ ERROR %s" % (i % 10, m) for i, m in
             enumerate([
                 "conn to 10.0.0.1:5432 refused",
                 "conn to 192.168.1.20 refused",
                 "conn to fe80::1 refused",
                 "conn to 2001:db8:0:0:0:0:0:1 refused",
                 "job 550e8400-e29b-41d4-a716-446655440000 lost",
                 "job 6BA7B810-9DAD-11D1-80B4-00C04FD430C8 lost",
                 "tx 0x7ffe12 at deadbeef01 aborted",
                 "tx 0XAB at abcdef99 aborted",
                 "read /var/lib/a.db: 3 bytes in 1.5s",
                 "read ./b/c.txt: 77 bytes in 20s",
                 "open C:\\data\\x.log failed, worker-3",
                 "open ~/y failed, worker-12",
                 "facade 10:00:00 stays",
             ])]
    got = summary(lines)
    expect(got[6:], patterns(
        6, (4, "conn to <IP> refused"), (2, "job <UUID> lost"),
        (2, "tx <HEX> at <HEX> aborted"),
        (2, "read <PATH>: <N> bytes in <N>s"),
        (2, "open <PATH> failed, worker-<N>"),
        (1, "facade <N>:<N>:<N> stays")))
    # --top keeps the first N; ties go to the pattern seen first
    got = summary(lines, "--top", "2")
    expect(got[6:], patterns(6, (4, "conn to <IP> refused"),
                             (2, "job <UUID> lost")))


def test_peak_hour():
    lines = (["2024-03-05T0%d:%02d:00Z ERROR e" % (h, m)
              for h, m in [(1, 0), (2, 5), (2, 59), (3, 0), (3, 1),
                           (4, 0)]] +
             ["2024-03-05T05:00:00Z WARN w"] * 5 +
             ["2024-03-04T23:59:59+01:00 ERROR e",   # 22:59:59Z on the 4th
              "2024-03-04T22:10:00Z ERROR e"])
    got = summary(lines)
    # 22:00 on the 4th, 02:00 and 03:00 all have two: the earliest wins
    expect(got[5], "Peak error hour: 2024-03-04T22:00Z (2 errors)")
    got = summary(lines + ["2024-03-05T03:30:00Z FATAL e"])
    expect(got[5], "Peak error hour: 2024-03-05T03:00Z (3 errors)")


def test_since_until():
    lines = [
        "2024-03-05T09:59:59Z ERROR too early",
        "  continuation of too early",
        "2024-03-05T10:00:00Z ERROR first kept",
        "  continuation of first kept",
        "2024-03-05T13:00:00+02:00 WARN kept by offset",
        "2024-03-05T12:00:00Z ERROR last kept",
        "2024-03-05T12:00:01Z ERROR too late",
    ]
    path = log(lines)
    rc, out, err = run(["--summary-only", "--since",
                        "2024-03-05T11:00:00+01:00", "--until",
                        "2024-03-05 12:00:00Z", path])
    expect((rc, err), (0, ""))
    expect(out.split("\n")[2:6], [
        "Lines: 7 read, 0 blank, 0 cut to %d bytes" % CAP,
        "Entries: 4 (3 more outside --since 2024-03-05T10:00:00Z "
        "--until 2024-03-05T12:00:00Z)",
        "Levels: 2 error, 1 warning, 0 info, 0 debug, 1 other",
        "Formats: 0 JSON, 3 ISO timestamp, 0 access log, 0 syslog "
        "(RFC 3164), 0 syslog (RFC 5424), 0 time only, 1 plain"])
    # a date alone is its midnight
    rc, out, err = run(["--summary-only", "--since", "2024-03-06", path])
    expect((rc, err), (0, ""))
    assert "Entries: 0 (7 more outside --since 2024-03-06T00:00:00Z)" \
        in out, out
    for bad in ["yesterday", "2024-03-05T", "2024-13-01",
                "2024-03-05T10:00:00+2"]:
        rc, out, err = run(["--until", bad, path])
        expect((rc, out), (2, ""))
        expect(err, 'log_analyzer_agent: --until: not an ISO 8601 time: '
                    '"%s" (e.g. 2024-03-05 or 2024-03-05T10:00:00Z)\n'
                    % bad)


def test_long_line():
    long_err = "2024-03-05T10:00:00Z ERROR " + "x" * (3 * CAP)
    exact = "y" * CAP  # exactly the cap: not cut
    path = log(["2024-03-05T09:00:00Z ERROR before", long_err, exact,
                "2024-03-05T11:00:00Z ERROR after", "z" * (CAP + 1)])
    rc, out, err = run(["--summary-only", path])
    expect((rc, err), (0, ""))
    lines = out.split("\n")
    expect(lines[2:8], [
        "Lines: 5 read, 0 blank, 2 cut to %d bytes" % CAP,
        "Entries: 5",
        "Levels: 3 error, 0 warning, 0 info, 0 debug, 2 other",
        "Formats: 0 JSON, 3 ISO timestamp, 0 access log, 0 syslog "
        "(RFC 3164), 0 syslog (RFC 5424), 0 time only, 2 plain",
        "Time range: 2024-03-05T09:00:00Z to 2024-03-05T11:00:00Z (UTC)",
        "Peak error hour: 2024-03-05T09:00Z (1 errors)"])
    # the long message is cut to the pattern's size
    expect(lines[10], "%8d  %s" % (1, "x" * 159))
    expect(lines[11:], ["       1  after", ""])


def test_stdin():
    data = b"2024-03-05T10:00:00Z ERROR a\r\n2024-03-05T10:00:01Z INFO b"
    for args in ([], ["-"]):
        rc, out, err = run(["--summary-only"] + args, stdin=data)
        expect((rc, err), (0, ""))
        lines = out.split("\n")
        expect(lines[:3], ["Log summary", "Input: stdin",
                           "Lines: 2 read, 0 blank, 0 cut to %d bytes"
                           % CAP])
        expect(lines[-3:], ["Top error patterns (1 of 1):",
                            "       1  a", ""])
    path = log(["x"])
    rc, out, err = run(["--summary-only", path, "-"], stdin=b"y\n")
    expect((rc, err), (0, ""))
    expect(out.split("\n")[1:3], ["Input: %s, stdin" % path,
                                  "Lines: 2 read, 0 blank, 0 cut to "
                                  "%d bytes" % CAP])


def test_bad_bytes():
    # NUL, control characters and bytes that are not UTF-8 never reach
    # the summary as such
    path = log(b"2024-03-05T10:00:00Z ERROR a\tb\x01c \xff\xc3( \xe2\x82"
               b"\n2024-03-05T10:00:00Z ERROR x\x00y\n")
    rc, out, err = run(["--summary-only", path])
    expect((rc, err), (0, ""))
    expect(out.split("\n")[-4:], ["Top error patterns (2 of 2):",
                                  "       1  a b c ??( ??",
                                  "       1  x", ""])


# ------------------------------------------------------------- the model

INSTRUCTION = ("Analyse these logs from their summary below. Give a "
               "prioritised analysis: the main issues, most severe first; "
               "their likely root causes; and concrete recommendations."
               "\n\n")
SYSTEM = ("You are an experienced site reliability engineer. You read "
          "summaries of log files and explain them concisely.")
LOG = ["2024-03-05T10:00:00Z ERROR db 10.0.0.1 refused",
       "2024-03-05T10:05:00Z ERROR db 10.0.0.2 refused",
       "2024-03-05T10:06:00Z WARN slow 30 ms",
       "2024-03-05T11:00:00Z ERROR disk /var full"]


def test_analysis_request():
    path = log(LOG)
    rc, want, err = run(["--summary-only", path])
    expect((rc, err), (0, ""))
    with Server([{"reply": ["1. The database ", "refuses connections."]}
                 ]) as s:
        rc, out, err = run(["--base-url", s.url, "--model", "m", path])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, want + "\nAnalysis:\n1. The database refuses "
                       "connections.\n")
    expect(want, "Log summary\nInput: %s\n"
                 "Lines: 4 read, 0 blank, 0 cut to 65536 bytes\n"
                 "Entries: 4\n"
                 "Levels: 3 error, 1 warning, 0 info, 0 debug, 0 other\n"
                 "Formats: 0 JSON, 4 ISO timestamp, 0 access log, 0 syslog"
                 " (RFC 3164), 0 syslog (RFC 5424), 0 time only, 0 plain\n"
                 "Time range: 2024-03-05T10:00:00Z to 2024-03-05T11:00:00Z"
                 " (UTC)\n"
                 "Peak error hour: 2024-03-05T10:00Z (2 errors)\n"
                 "Top error patterns (2 of 2):\n"
                 "       2  db <IP> refused\n"
                 "       1  disk <PATH> full\n" % path)
    expect(len(reqs), 1)
    expect(reqs[0]["path"], "/v1/chat/completions")
    body = reqs[0]["body"]
    expect((body["model"], body["stream"]), ("m", True))
    expect(body["messages"], [{"role": "system", "content": SYSTEM},
                              {"role": "user",
                               "content": INSTRUCTION + want}])


def test_interactive():
    path = log(LOG)
    rc, summ, err = run(["--summary-only", path])
    questions = (b"summary\n\n  What should I fix first?  \n"
                 b"Why do the connections FAIL?\nquit\nnever asked\n")
    with Server([{"reply": "Analysis."}, {"reply": "The database."},
                 {"reply": ["It is down.\n"]}]) as s:
        rc, out, err = run(["--base-url", s.url, "--model", "m",
                            "--interactive", path], stdin=questions)
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, summ + "\nAnalysis:\nAnalysis.\n" +
           "\n> " + summ +          # summary: printed again, no request
           "\n> " +                 # an empty line is skipped
           "\n> The database.\n" +
           "\n> It is down.\n" +
           "\n> \n")                # quit
    expect(len(reqs), 3)
    first = [{"role": "system", "content": SYSTEM},
             {"role": "user", "content": INSTRUCTION + summ},
             {"role": "assistant", "content": "Analysis."}]
    expect(reqs[1]["body"]["messages"],
           first + [{"role": "user", "content": "What should I fix first?"}])
    samples = ("\n\nSample error lines, the first of each top pattern:\n"
               "%s:1: %s\n%s:4: %s\n" % (path, LOG[0], path, LOG[3]))
    expect(reqs[2]["body"]["messages"],
           first + [{"role": "user", "content": "What should I fix first?"},
                    {"role": "assistant", "content": "The database."},
                    {"role": "user", "content":
                     "Why do the connections FAIL?" + samples}])
    # the end of the input ends the session too
    with Server([{"reply": "A."}, {"reply": "B."}]) as s:
        rc, out, err = run(["--base-url", s.url, "--interactive", path],
                           stdin=b"errors?")
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, summ + "\nAnalysis:\nA.\n\n> B.\n\n> \n")
    expect(reqs[1]["body"]["messages"][-1]["content"], "errors?" + samples)


def test_errors():
    path = log(LOG)
    missing = os.path.join(TMP, "missing.log")
    with Server([{"status": 500, "json": {"error": {"message": "boom"}}}
                 ]) as s:
        rc, out, err = run(["--base-url", s.url, path, missing])
        expect((rc, out), (1, ""))
        expect(err, "log_analyzer_agent: %s: No such file or directory\n"
                    % missing)
        rc, out, err = run(["--base-url", s.url, TMP])
        expect((rc, out), (1, ""))
        expect(err, "log_analyzer_agent: %s: Is a directory\n" % TMP)
        rc, out, err = run(["--base-url", s.url, path])
        expect(rc, 1)
        assert out.endswith("\nAnalysis:\n"), out
        assert err.startswith("log_analyzer_agent: ") and "boom" in err, err
        expect(len(s.requests()), 1)
    usage = ("usage: log_analyzer_agent [--base-url URL] [--model NAME] "
             "[--since TIME]\n       [--until TIME] [--top N] "
             "[--summary-only] [--interactive] [FILE...]\n")
    for args, why in [(["--interactive"], "--interactive reads questions "
                        "from standard input; give the logs as files"),
                      (["--interactive", path, "-"], "--interactive reads "
                       "questions from standard input; give the logs as "
                       "files"),
                      (["--top", "0", path], "--top takes a number from 1 "
                       "to 50"),
                      (["--top"], "an option lacks its value"),
                      (["--frobnicate", path],
                       "unknown option --frobnicate")]:
        rc, out, err = run(args)
        expect((rc, out, err), (2, "", "log_analyzer_agent: %s\n" % why +
                                usage))
    expect(run(["--help"]), (0, usage + SETTINGS.replace(
        "BASE_URL, MODEL", "The URL, the model"), ""))


if __name__ == "__main__":
    sys.exit(harness.main(harness.tests(globals())))
