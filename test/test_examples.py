#!/usr/bin/env python3
"""test_examples.py -- the example programs and oa's tool options against
the scripted server (server.py), so the examples never rot.

Each test runs one program with a scenario and checks both sides: the
program's exact output and the exact requests the server received. The
programs run in empty temporary directories with no OPEN_AGENT_*
variables, and get the server's URL and a model on the command line;
the tests of what every example shares (--help, usage errors, settings
from the environment, the configuration file or the default URL) set
them up themselves.

    OA_EXAMPLES_DIR=build OA_BIN=build/oa OA_TEST_SERVER=test/server.py \\
        test/test_examples.py [NAME...]

The last line printed is "test_examples: N passed, N failed"; the exit
status is non-zero when anything failed.
"""
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

import harness
from harness import BIN, DONE, OA, ROLE, TMP, Server, chunk, expect, run, text


def example(name, args, cwd=None, env=None, input=None):
    return run([os.path.join(BIN, name)] + args, cwd, env, input)


def oa(args, cwd=None, env=None, input=None):
    return run([OA] + args, cwd, env, input)


def call(index, id=None, name=None, args=None):
    """One tool-call fragment, OpenAI style."""
    c = {"index": index}
    if id is not None:
        c["id"] = id
        c["type"] = "function"
    f = {}
    if name is not None:
        f["name"] = name
    if args is not None:
        f["arguments"] = args
    c["function"] = f
    return chunk({"tool_calls": [c]})


def whole_call(id, name, args):
    """A whole call in one chunk, arguments as an object (Ollama)."""
    return chunk({"tool_calls": [{"id": id, "function": {
        "name": name, "arguments": args}}]})


def usage(n):
    return {"prompt_tokens": n - 1, "completion_tokens": 1,
            "total_tokens": n}


def tool_call(id, name, args):
    """A tool call as the assistant message in the history carries it."""
    return {"id": id, "type": "function",
            "function": {"name": name, "arguments": args}}


def tool_msg(id, content):
    return {"role": "tool", "tool_call_id": id, "content": content}


def tools_of(req):
    """The raw "tools" array of a request body, exactly as sent."""
    raw = req["body_raw"]
    start = raw.index('"tools":') + len('"tools":')
    end = raw.index(',"stream":', start)
    return raw[start:end]


SHORT_AB = ('{"type":"object","properties":{"a":{"type":"number"},'
            '"b":{"type":"number"}},"required":["a","b"]}')


# ------------------------------------------------------------ calculator

def test_calculator():
    with Server([
            {"events": [ROLE,
                        call(0, "call_a", "add", ""),
                        call(0, args='{"a":2,'), call(0, args='"b":3}'),
                        call(1, "call_b", "divide", '{"a":1,"b":0}'),
                        chunk({}, "tool_calls", usage(10)), DONE]},
            {"events": [ROLE, call(0, "call_c", "multiply", '{"a":6}'),
                        chunk({}, "tool_calls", usage(20)), DONE]},
            {"events": [ROLE, text("2 + 3 = 5; "),
                        text("1 / 0 is undefined."),
                        chunk({}, "stop", usage(30)), DONE]}]) as s:
        rc, out, err = example("calculator", [s.url, "m"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    lines = out.split("\n")
    expect(lines[:4], [
        '[tool_use call_a] add {"a":2,"b":3}',
        '[tool_result call_a] 5',
        '[tool_use call_b] divide {"a":1,"b":0}',
        '[tool_result call_b] error: division by zero'])
    # the schema check stops multiply, which lacks b
    assert lines[4].startswith('[tool_use_error call_c] multiply: '), out
    assert '"b"' in lines[4], lines[4]
    reason = lines[4][len('[tool_use_error call_c] multiply: '):]
    # the library may or may not show the result it recorded itself
    if lines[5].startswith("[tool_result call_c]"):
        expect(lines[5], "[tool_result call_c] error: " + reason)
        del lines[5]
    expect(lines[5:], ["2 + 3 = 5; 1 / 0 is undefined.",
                       "[turn_end] stop, 60 tokens", ""])

    expect(len(reqs), 3)
    tools = ",".join(
        '{"type":"function","function":{"name":"%s","description":'
        '"%s two numbers: a %s b.","parameters":%s}}'
        % (name, verb, op, SHORT_AB) for name, verb, op in (
            ("add", "Add", "+"), ("subtract", "Subtract", "-"),
            ("multiply", "Multiply", "*"), ("divide", "Divide", "/")))
    for r in reqs:
        expect(tools_of(r), "[" + tools + "]")
    first = [{"role": "system",
              "content": "Use the tools for every calculation."},
             {"role": "user",
              "content": "What is 2 + 3, and what is 1 / 0?"}]
    round1 = [{"role": "assistant", "content": "", "tool_calls": [
                  tool_call("call_a", "add", '{"a":2,"b":3}'),
                  tool_call("call_b", "divide", '{"a":1,"b":0}')]},
              tool_msg("call_a", "5"),
              tool_msg("call_b", "error: division by zero")]
    round2 = [{"role": "assistant", "content": "", "tool_calls": [
                  tool_call("call_c", "multiply", '{"a":6}')]},
              tool_msg("call_c", "error: " + reason)]
    expect(reqs[0]["body"]["messages"], first)
    expect(reqs[1]["body"]["messages"], first + round1)
    expect(reqs[2]["body"]["messages"], first + round1 + round2)


def test_calculator_error():
    # an HTTP error is reported on stderr with status 1
    with Server([{"status": 500, "json": {"error": {"message": "boom"}}}
                 ]) as s:
        rc, out, err = example("calculator", [s.url, "m", "1+1?"])
        reqs = s.requests()
    expect((rc, out), (1, ""))
    assert err.startswith("calculator: ") and "boom" in err, err
    expect(reqs[0]["body"]["messages"][-1],
           {"role": "user", "content": "1+1?"})


# ---------------------------------------------------------- manual_tools

MANUAL_TOOLS = ('[{"type":"function","function":{"name":"get_weather",'
                '"description":"The current weather in a city.",'
                '"parameters":{"type":"object","properties":{"city":'
                '{"type":"string"}},"required":["city"]}}}]')


def test_manual_tools():
    # Ollama's shape: whole calls, no index, arguments as objects, and
    # finish_reason "stop" although there are calls.
    with Server([
            {"events": [text("Let me check."),
                        whole_call("call_1", "get_weather",
                                   {"city": "Paris"}),
                        whole_call("call_2", "get_weather",
                                   {"city": "Tokyo"}),
                        whole_call("call_3", "get_news", {}),
                        chunk({}, "stop"), DONE]},
            {"events": [call(0, "call_4", "get_weather",
                             '{"city": "Oslo"}'),
                        chunk({}, "tool_calls"), DONE]},
            {"reply": ["Paris is cloudy, ", "Tokyo sunny."]}]) as s:
        rc, out, err = example("manual_tools", [s.url, "m"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out.split("\n"), [
        "Let me check.",
        '[tool_use call_1] get_weather {"city":"Paris"}',
        '[tool_use call_2] get_weather {"city":"Tokyo"}',
        '[tool_use_error call_3] get_news: unknown tool "get_news"',
        "[turn_end] tool_calls",
        "[result call_1] Paris: 18 C, cloudy",
        "[result call_2] Tokyo: 24 C, sunny",
        '[tool_use call_4] get_weather {"city": "Oslo"}',
        "[turn_end] tool_calls",
        "[result call_4] Oslo: 3 C, snow",
        "Paris is cloudy, Tokyo sunny.",
        "[turn_end] stop",
        ""])

    expect(len(reqs), 3)
    expect(reqs[0]["body_raw"],
           '{"model":"m","messages":[{"role":"user","content":'
           '"What is the weather in Paris and in Tokyo?"}],"tools":' +
           MANUAL_TOOLS + ',"stream":true,"stream_options":'
           '{"include_usage":true},"max_tokens":4096,"temperature":0.7}')
    user = {"role": "user",
            "content": "What is the weather in Paris and in Tokyo?"}
    round1 = [{"role": "assistant", "content": "Let me check.",
               "tool_calls": [
                   tool_call("call_1", "get_weather", '{"city":"Paris"}'),
                   tool_call("call_2", "get_weather", '{"city":"Tokyo"}'),
                   tool_call("call_3", "get_news", "{}")]},
              tool_msg("call_1", "Paris: 18 C, cloudy"),
              tool_msg("call_2", "Tokyo: 24 C, sunny"),
              tool_msg("call_3", 'error: unknown tool "get_news"')]
    round2 = [{"role": "assistant", "content": "", "tool_calls": [
                  tool_call("call_4", "get_weather", '{"city": "Oslo"}')]},
              tool_msg("call_4", "Oslo: 3 C, snow")]
    expect(reqs[1]["body"]["messages"], [user] + round1)
    expect(reqs[2]["body"]["messages"], [user] + round1 + round2)


def test_manual_tools_only_errors():
    # calls the library answered itself still go back to the model
    with Server([{"events": [whole_call("c1", "get_news", {}),
                             chunk({}, "tool_calls"), DONE]},
                 {"reply": "Sorry."}]) as s:
        rc, out, err = example("manual_tools", [s.url, "m", "news?"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, '[tool_use_error c1] get_news: unknown tool "get_news"\n'
                "[turn_end] tool_calls\nSorry.\n[turn_end] stop\n")
    expect(len(reqs), 2)
    expect(reqs[1]["body"]["messages"][1:], [
        {"role": "assistant", "content": "", "tool_calls": [
            tool_call("c1", "get_news", "{}")]},
        tool_msg("c1", 'error: unknown tool "get_news"')])
    expect(reqs[0]["body"]["messages"], [{"role": "user",
                                          "content": "news?"}])


def test_manual_tools_gives_up():
    # a model that never stops asking: five rounds, then status 1
    with Server([{"events": [call(0, "c", "get_weather", '{"city":"X"}'),
                             chunk({}, "tool_calls"), DONE]}]) as s:
        rc, out, err = example("manual_tools", [s.url, "m", "loop"])
        reqs = s.requests()
    expect(rc, 1)
    expect(out.count("[result c] no weather data for X\n"), 4)
    expect(err, "manual_tools: still asking for tools after 5 rounds; "
                "giving up\n")
    expect(len(reqs), 5)


# ----------------------------------------------------------------- hooks

HOOKS_PROMPT = ("Summarise /home/me/notes.txt and ../secret.txt, then "
                "delete notes.txt. My key is sk-live1234567890abcdef.")


def test_hooks():
    log = os.path.join(TMP, "audit.log")
    with Server([
            {"events": [ROLE,
                        call(0, "c1", "read_file",
                             '{"path":"/home/me/notes.txt"}'),
                        call(1, "c2", "read_file",
                             '{"path":"../secret.txt"}'),
                        call(2, "c3", "delete_file", '{"path":"notes.txt"}'),
                        call(3, "c4", "read_file",
                             '{"path":"sandbox/todo.md"}'),
                        chunk({}, "tool_calls"), DONE]},
            {"reply": "Done."}]) as s:
        rc, out, err = example("hooks", ["--log", log, s.url, "m"])
        # a prompt with no key passes the sanitizer unchanged
        rc2, out2, err2 = example("hooks", [s.url, "m", "hello sk-short"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out.split("\n"), [
        '[tool_use c1] read_file {"path":"sandbox/notes.txt"}',
        "[tool_result c1] pretend contents of sandbox/notes.txt",
        '[tool_use c2] read_file {"path":"../secret.txt"}',
        '[tool_result c2] blocked: arguments may not contain ".."',
        '[tool_use c3] delete_file {"path":"notes.txt"}',
        "[tool_result c3] blocked: deleting files is not allowed",
        '[tool_use c4] read_file {"path":"sandbox/todo.md"}',
        "[tool_result c4] pretend contents of sandbox/todo.md",
        "Done.",
        "[turn_end] stop",
        ""])
    with open(log, encoding="utf-8") as f:
        expect(f.read().split("\n"), [
            'ran c1 read_file {"path":"sandbox/notes.txt"} -> '
            'pretend contents of sandbox/notes.txt',
            'blocked c2 read_file {"path":"../secret.txt"}: '
            'arguments may not contain ".."',
            'blocked c3 delete_file {"path":"notes.txt"}: '
            'deleting files is not allowed',
            'ran c4 read_file {"path":"sandbox/todo.md"} -> '
            'pretend contents of sandbox/todo.md',
            ""])
    expect((rc2, out2, err2), (0, "Done.\n[turn_end] stop\n", ""))

    expect(len(reqs), 3)
    user = {"role": "user", "content": HOOKS_PROMPT.replace(
        "sk-live1234567890abcdef", "[redacted]")}
    assert "sk-live" not in reqs[0]["body_raw"], reqs[0]["body_raw"]
    expect(reqs[0]["body"]["messages"], [user])
    expect(reqs[1]["body"]["messages"], [
        user,
        # the history keeps the call as the model made it
        {"role": "assistant", "content": "", "tool_calls": [
            tool_call("c1", "read_file", '{"path":"/home/me/notes.txt"}'),
            tool_call("c2", "read_file", '{"path":"../secret.txt"}'),
            tool_call("c3", "delete_file", '{"path":"notes.txt"}'),
            tool_call("c4", "read_file", '{"path":"sandbox/todo.md"}')]},
        tool_msg("c1", "pretend contents of sandbox/notes.txt"),
        tool_msg("c2", 'blocked: arguments may not contain ".."'),
        tool_msg("c3", "blocked: deleting files is not allowed"),
        tool_msg("c4", "pretend contents of sandbox/todo.md")])
    expect(reqs[2]["body"]["messages"],
           [{"role": "user", "content": "hello sk-short"}])


def test_hooks_log_to_stderr():
    with Server([
            {"events": [call(0, "c1", "read_file", '{"path":"a/b.txt"}'),
                        chunk({}, "tool_calls"), DONE]},
            {"reply": "ok"}]) as s:
        rc, out, err = example("hooks", [s.url, "m", "read a/b.txt"])
    expect((rc, err), (0, 'ran c1 read_file {"path":"sandbox/b.txt"} -> '
                          'pretend contents of sandbox/b.txt\n'))
    expect(out, '[tool_use c1] read_file {"path":"sandbox/b.txt"}\n'
                '[tool_result c1] pretend contents of sandbox/b.txt\n'
                'ok\n[turn_end] stop\n')


# ------------------------------------------------------------- interrupt

def test_interrupt():
    with Server([
            # the watchdog's turn: some text, then silence
            {"events": [ROLE, text("Once upon a time")],
             "stall_after_events": 2},
            {"reply": ["A keeper ", "kept the light."]},
            # the stop word arrives split across two blocks; the server
            # then stalls, so only the interrupt can end the turn
            {"events": [text("Mercury, Venus, Ea"), text("rth, Mars"),
                        text(", Jupiter")],
             "stall_after_events": 2}]) as s:
        rc, out, err = example("interrupt", ["--timeout", "300",
                                             s.url, "m"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out.split("\n"), [
        "== a watchdog stops a reply after 300 ms",
        "Once upon a time",
        "[interrupted by the watchdog]",
        "== retry on the same client",
        "A keeper kept the light.",
        "[turn_end] stop",
        '== stop once the reply says "Earth"',
        "Mercury, Venus, Earth, Mars",
        '[stopped at "Earth"]',
        ""])
    story = {"role": "user",
             "content": "Tell me a long story about a lighthouse keeper."}
    retry = {"role": "user",
             "content": "That takes too long: tell it in one sentence."}
    expect(len(reqs), 3)
    expect(reqs[0]["body"]["messages"], [story])
    # the interrupted text stays in the history
    expect(reqs[1]["body"]["messages"], [
        story, {"role": "assistant", "content": "Once upon a time"}, retry])
    expect(reqs[2]["body"]["messages"], [
        story, {"role": "assistant", "content": "Once upon a time"}, retry,
        {"role": "assistant", "content": "A keeper kept the light."},
        {"role": "user",
         "content": "Name the planets in order from the sun."}])


def test_interrupt_fast_reply():
    # replies that beat the watchdog: no interrupt, no retry
    with Server([{"reply": "Short story."},
                 {"reply": "Mercury and no more."}]) as s:
        rc, out, err = example("interrupt", ["--timeout", "20000",
                                             s.url, "m"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, "== a watchdog stops a reply after 20000 ms\n"
                "Short story.\n[turn_end] stop\n"
                '== stop once the reply says "Earth"\n'
                "Mercury and no more.\n[turn_end] stop\n")
    expect(len(reqs), 2)
    for bad in ("0", "x", "5ms", "99999999999"):
        rc, out, err = example("interrupt", ["--timeout", bad])
        expect((rc, out), (2, ""))
        assert err.startswith("interrupt: --timeout"), err


# --------------------------------------------------------------- context

LIGHTHOUSE = ("The lighthouse on the point was built of granite in the "
              "last century. Its keeper climbed one hundred and twelve "
              "steps every evening to light the lamp, wound the clockwork "
              "that turned the lens every four hours, and wrote the "
              "weather in a logbook that is now kept in the town museum.")


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def test_context():
    state = os.path.join(TMP, "context-history.json")
    with Server([{"reply": "Nice to meet you, Ada.", "usage": usage(20)},
                 {"reply": LIGHTHOUSE},
                 {"reply": "Blue, you said."}]) as s:
        rc, out, err = example("context", ["--state", state, "--base-url",
                                           s.url, "--model", "m",
                                           "My name is Ada.",
                                           "Tell me about the lighthouse."])
        # a budget that holds the last exchange but not the first: the
        # second run drops the first exchange, whole
        rc2, out2, err2 = example("context", ["--budget", "100", "--state",
                                              state, "--base-url", s.url,
                                              "--model", "m",
                                              "What colour is it?"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    lines = out.split("\n")
    expect(lines[0:3], ["> My name is Ada.", "Nice to meet you, Ada.",
                        lines[2]])
    assert re.match(r"^\[context: ~\d+ tokens estimated, 19 counted by "
                    r"the server\]$", lines[2]), lines[2]
    expect(lines[3:5], ["> Tell me about the lighthouse.", LIGHTHOUSE])
    assert re.match(r"^\[context: ~\d+ tokens estimated\]$", lines[5]), \
        lines[5]
    expect(lines[6:], ["[saved 4 messages to %s]" % state, ""])

    expect((rc2, err2), (0, ""))
    lines = out2.split("\n")
    expect(lines[0], "[resumed 4 messages from %s]" % state)
    assert re.match(r"^\[dropped the oldest 2 messages: ~\d+ tokens "
                    r"left\]$", lines[1]), lines[1]
    expect(lines[2:4], ["> What colour is it?", "Blue, you said."])
    expect(lines[5:], ["[saved 4 messages to %s]" % state, ""])

    first = [user("My name is Ada."), assistant("Nice to meet you, Ada."),
             user("Tell me about the lighthouse.")]
    expect([r["body"]["messages"] for r in reqs], [
        first[:1], first,
        [user("Tell me about the lighthouse."), assistant(LIGHTHOUSE),
         user("What colour is it?")]])
    with open(state, encoding="utf-8") as f:
        saved = json.load(f)
    expect(saved, {"format": "openagent-history", "version": 1,
                   "messages": [user("Tell me about the lighthouse."),
                                assistant(LIGHTHOUSE),
                                user("What colour is it?"),
                                assistant("Blue, you said.")]})


def test_context_bad_state():
    state = os.path.join(TMP, "context-bad.json")
    write(state, '{"messages": []}')
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = example("context", ["--state", state, "--base-url",
                                           s.url, "--model", "m", "hi"])
        expect(s.requests(), [])
    expect((rc, out), (1, ""))
    expect(err, "context: file error: %s: not an openagent history (no "
                '"format":"openagent-history")\n' % state)
    rc, out, err = example("context", ["--budget", "0", "hi"])
    expect((rc, out), (2, ""))
    assert err.startswith("context: --budget wants a number of tokens "
                          "above 0, not 0\nusage: context "), err
    rc, out, err = example("context", ["--budget", "10", "--model", "m"])
    expect((rc, out), (2, ""))
    assert err.startswith("context: no PROMPT given\nusage: context "), err


# ------------------------------------------------- oa --save and --resume

def test_save_resume():
    chat = os.path.join(TMP, "chat.json")
    with Server([{"reply": "Hello Ada."}, {"reply": "You are Ada."}]) as s:
        rc, out, err = oa(["--base-url", s.url, "--model", "m",
                                "--save", chat, "I am Ada."])
        rc2, out2, err2 = oa(["--base-url", s.url, "--model", "m",
                                   "--system", "Be brief.", "--resume",
                                   chat, "--save", chat, "Who am I?"])
        reqs = s.requests()
    expect((rc, out, err), (0, "Hello Ada.\n", ""))
    expect((rc2, out2, err2), (0, "You are Ada.\n", ""))
    expect([r["body"]["messages"] for r in reqs], [
        [user("I am Ada.")],
        [{"role": "system", "content": "Be brief."}, user("I am Ada."),
         assistant("Hello Ada."), user("Who am I?")]])
    with open(chat, encoding="utf-8") as f:
        expect(json.load(f)["messages"], [
            user("I am Ada."), assistant("Hello Ada."), user("Who am I?"),
            assistant("You are Ada.")])


def test_save_resume_errors():
    chat = os.path.join(TMP, "chat-errors.json")
    with Server([{"reply": "ok"},
                 {"status": 500, "json": {"error": {"message": "boom"}}},
                 {"reply": "ok"}]) as s:
        # no file to resume: nothing is sent
        rc, out, err = oa(["--base-url", s.url, "--resume", chat,
                                "hi"])
        expect((rc, out, err), (1, "", "oa: file error: %s: No such file "
                                       "or directory\n" % chat))
        expect(s.requests(), [])
        rc, out, err = oa(["--base-url", s.url, "--save", chat, "hi"])
        expect((rc, out, err), (0, "ok\n", ""))
        with open(chat, encoding="utf-8") as f:
            good = f.read()
        # a failed turn saves nothing: the file stays as it was
        rc, out, err = oa(["--base-url", s.url, "--resume", chat,
                                "--save", chat, "again"])
        assert rc == 1 and out == "" and "boom" in err, (rc, out, err)
        with open(chat, encoding="utf-8") as f:
            expect(f.read(), good)
        # a save that cannot be written is refused before anything is
        # sent, naming the user's path
        n = len(s.requests())
        bad = os.path.join(TMP, "none", "c.json")
        rc, out, err = oa(["--base-url", s.url, "--save", bad, "hi"])
        expect((rc, out, err), (1, "", "oa: cannot save to %s: %s: No such "
                                "file or directory\n" % (
                                    bad, os.path.join(TMP, "none"))))
        expect(len(s.requests()), n)


# ------------------------------------------------------- oa --tools-json

TOOLS_FILE = r'''[
  {"type": "function", "function": {
     "name": "get_weather",
     "description": "Weather \"now\"\n caf\u00e9 \u20ac \ud83c\udf24 \/",
     "parameters": {"type": "object",
                    "properties": {"city": {"type": "string",
                                            "enum": ["Paris", "Oslo"]}},
                    "required": ["city"], "x": [1, -2.5e3, true, null]},
     "strict": false}},
  {"function": {"name": "ping"}, "extra": {"a": [{}]}}
]
'''


def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def test_tools_json():
    path = os.path.join(TMP, "tools.json")
    write(path, TOOLS_FILE)
    with Server([{"events": [ROLE,
                             call(0, "call_1", "get_weather",
                                  '{"city":"Oslo"}'),
                             call(1, "call_2", "ping", ""),
                             chunk({}, "tool_calls"), DONE]}]) as s:
        rc, out, err = oa(["--jsonl", "--tools-json", path,
                                "--base-url", s.url, "--model", "m",
                                "weather?"])
        rc2, out2, err2 = oa(["--tools-json", path, "--base-url",
                                   s.url, "weather?"])
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, '{"type":"tool_use","id":"call_1","name":"get_weather",'
                '"input":{"city":"Oslo"}}\n'
                '{"type":"tool_use","id":"call_2","name":"ping",'
                '"input":{}}\n'
                '{"type":"turn_end","finish_reason":"tool_calls"}\n')
    expect((rc2, err2), (0, ""))
    expect(out2, '[tool_use call_1] get_weather {"city":"Oslo"}\n'
                 '[tool_use call_2] ping {}\n')
    expect(len(reqs), 2)
    params = TOOLS_FILE[TOOLS_FILE.index('{"type": "object"'):
                        TOOLS_FILE.index(',\n     "strict"')]
    tools = json.loads(tools_of(reqs[0]))
    expect(tools[0]["function"]["description"],
           'Weather "now"\n caf\u00e9 \u20ac \U0001f324 /')
    expect(tools[0]["function"]["parameters"], json.loads(params))
    # the schema text goes out as it was written
    assert params in reqs[0]["body_raw"], reqs[0]["body_raw"]
    expect(tools[1], {"type": "function", "function": {
        "name": "ping", "description": "",
        "parameters": tools[1]["function"]["parameters"]}})
    expect(tools[1]["function"]["parameters"]["type"], "object")


def test_tools_json_errors():
    deep = "[{\"function\":{\"name\":\"t\",\"parameters\":{\"a\":" + \
           "[" * 70 + "]" * 70 + "}}}]"
    cases = [
        ("[", "at byte 1: expected an object"),
        ("{}", "at byte 0: expected an array"),
        ("[{}]", "a tool without"),
        ('[{"function":{"name":"t"}}] x', "text after the tools array"),
        ('[{"function":{"name":"t"}},]', "at byte 27: expected an object"),
        ('[{"function":{"name":"t",}}]', "expected a member name"),
        ('[{"function":{"name":"t","x":[1,]}}]', "expected a value"),
        ('[{"function":{"name":"t","parameters":"x"}}]',
         '"parameters" must be a JSON Schema object'),
        ('[{"type":"tool","function":{"name":"t"}}]',
         '"type" must be "function"'),
        ('[{"function":{"name":7}}]', "must be strings"),
        ('[{"function":{"name":"t\\q"}}]', "a bad escape"),
        ('[{"function":{"name":"t\\ud800"}}]', "surrogate"),
        ('[{"function":{"name":"t\\u00zz"}}]', "a bad \\u escape"),
        ('[{"function":{"name":"t", "description":"a\nb"}}]',
         "a control character"),
        ('[{"function":{"name":"t","x":01}}]', "expected ',' or '}'"),
        ('[{"function":{"name":"t","x":1.}}]', "a bad number"),
        ('[{"function":{"name":"t","x":tru}}]', "expected a value"),
        ('[{"function":{"name":"t', "closing quote"),
        (deep, "nested too deeply"),
        (b'[{"function":{"name":"t"}}]\x00', "holds a NUL byte"),
    ]
    path = os.path.join(TMP, "bad.json")
    with Server([{"reply": "ok"}]) as s:
        for data, want in cases:
            write(path, data)
            rc, out, err = oa(["--tools-json", path, "--base-url",
                                    s.url, "hi"])
            assert rc == 1 and out == "", (data, rc, out, err)
            assert err.startswith("oa: " + path + ": ") and want in err \
                and err.count("\n") == 1, (data, err)
        # a file that is not there, and one that is too large
        rc, out, err = oa(["--tools-json", path + ".none",
                                "--base-url", s.url, "hi"])
        expect((rc, out, err), (1, "", "oa: %s.none: No such file or "
                                       "directory\n" % path))
        write(path, "[" + " " * (1024 * 1024) + "]")
        rc, out, err = oa(["--tools-json", path, "--base-url",
                                s.url, "hi"])
        expect((rc, out, err), (1, "", "oa: %s: larger than 1 MB\n" % path))
        # a name the library refuses
        write(path, '[{"function":{"name":"two words"}}]')
        rc, out, err = oa(["--tools-json", path, "--base-url",
                                s.url, "hi"])
        assert rc == 1 and err.startswith("oa: ") and "two words" in err, \
            err
        rc, out, err = oa(["--tools-json", path, "--demo-tools", "hi"])
        expect((rc, out), (2, ""))
        assert err.startswith("oa: --tools-json and --demo-tools"), err
        expect(s.requests(), [])


# ------------------------------------------------------- oa --demo-tools

def test_demo_tools():
    cwd = tempfile.mkdtemp(dir=TMP)
    outside = os.path.join(TMP, "outside.txt")
    write(outside, "secret")
    write(os.path.join(cwd, "notes.txt"), "line 1\nline \"2\"\n")
    os.mkdir(os.path.join(cwd, "sub"))
    write(os.path.join(cwd, "sub", "deep.txt"), "deep")
    os.symlink("notes.txt", os.path.join(cwd, "inlink"))
    os.symlink(outside, os.path.join(cwd, "outlink"))
    write(os.path.join(cwd, "big.txt"), "x" * (64 * 1024 + 1))
    write(os.path.join(cwd, "limit.txt"), "y" * (64 * 1024))
    write(os.path.join(cwd, "bin.dat"), b"a\x00b")
    os.mkfifo(os.path.join(cwd, "fifo"))
    reads = [("notes.txt", "line 1\nline \"2\"\n"),
             ("sub/deep.txt", "deep"),
             ("./sub/../notes.txt", 'error: cannot read ./sub/../notes.txt: '
                                    '".." is not allowed'),
             ("../outside.txt", 'error: cannot read ../outside.txt: '
                                '".." is not allowed'),
             (outside, "error: cannot read %s: absolute paths are not "
                       "allowed; give a path relative to the current "
                       "directory" % outside),
             ("inlink", "line 1\nline \"2\"\n"),
             ("outlink", "error: cannot read outlink: it lies outside "
                         "the current directory"),
             ("sub", "error: cannot read sub: not a regular file"),
             ("fifo", "error: cannot read fifo: not a regular file"),
             ("big.txt", "error: cannot read big.txt: larger than 64 KB"),
             ("limit.txt", "y" * (64 * 1024)),
             ("bin.dat", "error: cannot read bin.dat: not a text file"),
             ("none.txt", "error: cannot read none.txt: No such file or "
                          "directory"),
             ("", "error: cannot read : not a file name")]
    calls = [("calculator", {"a": 6, "b": 7, "op": "*"}, "42"),
             ("calculator", {"a": 1, "b": 0, "op": "/"},
              "error: division by zero"),
             ("current_time", {}, None)]
    calls += [("read_file", {"path": p}, want) for p, want in reads]
    events = [ROLE]
    for i, (name, args, _) in enumerate(calls):
        events.append(call(i, "c%d" % i, name,
                           json.dumps(args, separators=(",", ":"))))
    events += [chunk({}, "tool_calls"), DONE]
    with Server([{"events": events}, {"reply": "Done."}]) as s:
        rc, out, err = oa(["--jsonl", "--demo-tools", "--base-url",
                                s.url, "go"], cwd=cwd)
        reqs = s.requests()
    expect((rc, err), (0, ""))
    lines = [json.loads(line) for line in out.split("\n")[:-1]]
    expect(len(lines), 2 * len(calls) + 2)
    results = {}
    for i, (name, args, want) in enumerate(calls):
        expect(lines[2 * i], {"type": "tool_use", "id": "c%d" % i,
                              "name": name, "input": args})
        expect(lines[2 * i + 1]["type"], "tool_result")
        expect(lines[2 * i + 1]["id"], "c%d" % i)
        got = lines[2 * i + 1]["content"]
        if want is None:  # the time: ISO 8601, UTC, about now
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", got), got
            t = datetime.datetime.strptime(got, "%Y-%m-%dT%H:%M:%SZ")
            now = datetime.datetime.now(datetime.timezone.utc)
            now = now.replace(tzinfo=None)
            assert abs((now - t).total_seconds()) < 3600, got
        else:
            expect((name, args, got), (name, args, want))
        results["c%d" % i] = got
    expect(lines[-2], {"type": "text", "text": "Done."})
    expect(lines[-1], {"type": "turn_end", "finish_reason": "stop"})

    expect(len(reqs), 2)
    tools = json.loads(tools_of(reqs[0]))
    expect([t["function"]["name"] for t in tools],
           ["calculator", "current_time", "read_file"])
    expect(tools[0]["function"]["parameters"]["properties"]["op"],
           {"type": "string", "enum": ["+", "-", "*", "/"]})
    sent = [m for m in reqs[1]["body"]["messages"] if m["role"] == "tool"]
    expect(sent, [tool_msg(k, v) for k, v in results.items()])


# ---------------------------------------------------------- simple_query

def test_simple_query():
    with Server([{"reply": ["Use ", '"fewer".'],
                  "usage": {"prompt_tokens": 30, "completion_tokens": 4,
                            "total_tokens": 34}},
                 {"events": [ROLE, text("Half an"), chunk({}, None)],
                  "close_after_events": 3}]) as s:
        rc, out, err = example("simple_query", [s.url])
        rc2, out2, err2 = example("simple_query", [s.url, "m", "Cut?"])
        reqs = s.requests()
    expect((rc, out, err), (0, 'Use "fewer".\n',
                            "[stop, 30 prompt + 4 completion tokens]\n"))
    # a reply cut short: the partial line ends, then the error
    expect((rc2, out2), (1, "Half an\n"))
    assert err2.startswith("simple_query: stream cut short: "), err2
    expect(len(reqs), 2)
    # no model named: none is sent, and the server answers with its own
    assert "model" not in reqs[0]["body"], reqs[0]["body"]
    expect(reqs[0]["body"]["messages"], [
        {"role": "system", "content": "You are a professional copy "
                                      "editor. Answer in one short "
                                      "paragraph."},
        {"role": "user", "content": "Is \"less\" or \"fewer\" right in "
                                    "'ten items or less'?"}])
    expect(reqs[1]["body"]["model"], "m")
    expect(reqs[1]["body"]["messages"][1],
           {"role": "user", "content": "Cut?"})
    # nothing listens on LM Studio's port here: a clear error
    rc, out, err = example("simple_query", ["http://127.0.0.1:1/v1"])
    expect((rc, out), (1, ""))
    assert err.startswith("simple_query: connection failed: "), err


# ------------------------------------------------------------ config_env

def test_config_env_defaults():
    # no environment, no file, no flags: LM Studio and the built-in model
    rc, out, err = example("config_env", [])
    expect((rc, err), (0, ""))
    expect(out, "base_url: http://localhost:1234/v1 (LM Studio's default)\n"
                "model:    qwen2.5-7b-instruct (the program's default)\n"
                "api_key:  none (local servers need none)\n")
    # a provider shortcut is the URL's last resort...
    rc, out, err = example("config_env", ["--provider", "OLLAMA"])
    expect((rc, out.split("\n")[0]),
           (0, "base_url: http://localhost:11434/v1 (--provider)"))
    # ...so the environment still wins over it, and a flag over both
    env = {"OPEN_AGENT_BASE_URL": "http://gpu:8000/v1",
           "OPEN_AGENT_MODEL": "env-model"}
    rc, out, err = example("config_env", ["--provider", "vllm"], env=env)
    expect((rc, out.split("\n")[:2]), (0, [
        "base_url: http://gpu:8000/v1 (OPEN_AGENT_BASE_URL)",
        "model:    env-model (OPEN_AGENT_MODEL)"]))
    rc, out, err = example("config_env", ["--base-url", "http://x:1/v1",
                                          "--model", "flag-model"], env=env)
    expect((rc, out.split("\n")[:2]), (0, [
        "base_url: http://x:1/v1 (--base-url)",
        "model:    flag-model (--model)"]))
    rc, out, err = example("config_env", ["--provider", "openai"])
    expect((rc, out), (2, ""))
    assert err.startswith("config_env: unknown provider 'openai'\n"
                          "usage: config_env "), err
    rc, out, err = example("config_env", ["--model"])
    expect((rc, out), (2, ""))


def test_config_env_file():
    cwd = tempfile.mkdtemp(dir=TMP)
    with Server([{"reply": "Hi from the file's server."}]) as s:
        write(os.path.join(cwd, "open-agent.yaml"),
              "# settings\nbase_url: %s\nmodel: file-model\n"
              "temperature: 0.2\nmax_tokens: 99\n" % s.url)
        env = {"OPEN_AGENT_MODEL": "env-model",
               "OPEN_AGENT_API_KEY": "sk-test-123"}
        rc, out, err = example("config_env", ["--provider", "ollama",
                                              "hello"], cwd=cwd, env=env)
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, "base_url: %s (./open-agent.yaml)\n"
                "model:    env-model (OPEN_AGENT_MODEL)\n"
                "api_key:  set (OPEN_AGENT_API_KEY)\n"
                "temperature: 0.2 (./open-agent.yaml)\n"
                "max_tokens: 99 (./open-agent.yaml)\n"
                "\nHi from the file's server.\n" % s.url)
    assert "sk-test" not in out
    expect(len(reqs), 1)
    expect(reqs[0]["headers"]["authorization"], "Bearer sk-test-123")
    body = reqs[0]["body"]
    expect((body["model"], body["temperature"], body["max_tokens"],
            body["messages"]),
           ("env-model", 0.2, 99, [{"role": "user", "content": "hello"}]))
    # a broken file is an error, with the file and the line
    write(os.path.join(cwd, "open-agent.yaml"), "model: a\nno colon\n")
    rc, out, err = example("config_env", [], cwd=cwd)
    expect((rc, out), (1, ""))
    assert err.startswith("config_env: bad configuration: "
                          "./open-agent.yaml:2: "), err
    # the file in $HOME/.config/open-agent is found too (run() makes HOME)
    home = tempfile.mkdtemp(dir=TMP)
    os.makedirs(os.path.join(home, ".config", "open-agent"))
    write(os.path.join(home, ".config", "open-agent", "config.yaml"),
          "model: home-model\n")
    rc, out, err = example("config_env", [], env={"HOME": home})
    expect((rc, out.split("\n")[1]), (0, "model:    home-model (%s)" %
                                      os.path.join(home, ".config",
                                                   "open-agent",
                                                   "config.yaml")))


# ------------------------------------------------------------------ chat

def test_chat():
    # Ollama's shapes: reasoning in "reasoning", a whole call in one
    # chunk with its arguments as an object, finish_reason "stop" even
    # with a call, no usage.
    ollama = {"id": "chatcmpl-9", "object": "chat.completion.chunk",
              "model": "llama3.2"}
    think = dict(ollama, choices=[{"index": 0, "delta": {
        "role": "assistant", "content": "", "reasoning": "Count the r."},
        "finish_reason": None}])
    with Server([
            {"events": [think,
                        whole_call("call_x", "count_letters",
                                   {"word": "Strawberry", "letter": "R"}),
                        chunk({}, "stop"), DONE]},
            {"reply": ["There are ", "3."]},
            {"status": 500, "json": {"error": {"message": "model crashed"}}},
            {"events": [whole_call("call_y", "count_letters",
                                   {"word": "kiwi", "letter": "ki"}),
                        chunk({}, "stop"), DONE]},
            {"reply": "Still here."}]) as s:
        rc, out, err = example(
            "chat", [s.url, "llama3.2"],
            input="How many r in strawberry?\n/history\n\nAgain?\r\n"
                  "And k?\n/history\n/quit\nnever sent\n")
        reqs = s.requests()
    expect(rc, 1)  # one turn failed
    lines = out.split("\n")
    expect(lines[:3], [
        '[tool_use call_x] count_letters {"word":"Strawberry",'
        '"letter":"R"}',
        "[tool_result call_x] 3",
        "There are 3."])
    assert re.match(r"^\[history: 4 messages, about \d+ tokens\]$",
                    lines[3]), lines[3]
    expect(lines[4:7], [
        '[tool_use call_y] count_letters {"word":"kiwi","letter":"ki"}',
        "[tool_result call_y] error: letter must be one character",
        "Still here."])
    assert re.match(r"^\[history: 8 messages, about \d+ tokens\]$",
                    lines[7]), lines[7]
    expect(lines[8:], [""])
    expect(err, "Count the r.\n"
                "chat: server answered with an error: HTTP 500 from %s/chat/"
                "completions: model crashed\n" % s.url)

    expect(len(reqs), 5)
    expect(reqs[0]["body"]["model"], "llama3.2")
    expect([t["function"]["name"] for t in json.loads(tools_of(reqs[0]))],
           ["count_letters"])
    system = {"role": "system", "content": "You are a friendly assistant. "
              "To count letters, always use the count_letters tool."}
    turn1 = [user("How many r in strawberry?"),
             {"role": "assistant", "content": "", "tool_calls": [
                 tool_call("call_x", "count_letters",
                           '{"word":"Strawberry","letter":"R"}')]},
             tool_msg("call_x", "3"), assistant("There are 3.")]
    expect(reqs[1]["body"]["messages"], [system] + turn1[:3])
    expect(reqs[2]["body"]["messages"], [system] + turn1 + [user("Again?")])
    # the failed turn left no trace: the next one follows turn 1
    expect(reqs[3]["body"]["messages"], [system] + turn1 + [user("And k?")])
    expect(reqs[4]["body"]["messages"][-2:], [
        {"role": "assistant", "content": "", "tool_calls": [
            tool_call("call_y", "count_letters",
                      '{"word":"kiwi","letter":"ki"}')]},
        tool_msg("call_y", "error: letter must be one character")])


def test_webui_parse_text_tools():
    # text-generation-webui streams the call's markup as text and sends
    # the parsed call in its final chunk (CRLF events, no [DONE]), as
    # docs/provider-compatibility.md says: with --parse-text-tools the
    # markup leaves the text and the call comes out once.
    path = os.path.join(TMP, "webui-tools.json")
    write(path, '[{"type":"function","function":{"name":"add"}}]')
    markup = '{"name": "add", "arguments": {"a": 1, "b": 2}}'
    final = {"choices": [{"index": 0, "finish_reason": "tool_calls",
                          "delta": {"tool_calls": [{
                              "index": "0", "id": "call_w1",
                              "type": "function", "function": {
                                  "name": "add",
                                  "arguments": '{"a": 1, "b": 2}'}}]}}]}
    # the input on one line, the blanks between tokens dropped
    use = ('{"type":"tool_use","id":"call_w1","name":"add",'
           '"input":{"a":1,"b":2}}\n'
           '{"type":"turn_end","finish_reason":"tool_calls"}\n')
    with Server([{"sep": "\r\n\r\n", "events": [
            ROLE, text("<tool_call>"), text(markup), text("</tool_call>"),
            final]}]) as s:
        args = ["--jsonl", "--tools-json", path, "--base-url", s.url]
        plain = oa(args + ["hi"])
        parsed = oa(args + ["--parse-text-tools", "hi"])
    expect(plain, (0, "".join('{"type":"text","text":%s}\n' % json.dumps(
        t, separators=(",", ":")) for t in ("<tool_call>", markup,
                                            "</tool_call>")) + use, ""))
    expect(parsed, (0, use, ""))


def test_chat_no_server():
    # every turn fails on its own; the chat still reads to the end
    rc, out, err = example("chat", ["http://127.0.0.1:1/v1"],
                           input="one\ntwo\n")
    expect((rc, out), (1, ""))
    errs = err.split("\n")
    expect(len(errs), 3)
    for e in errs[:2]:
        assert e.startswith("chat: connection failed: "), err

# ------------------------------------------- every example: usage, defaults

# Each example program (oa has its own tests) with the most positional
# arguments it takes (None: any number), and what it needs to run once
# without arguments: extra arguments, standard input, a git repository.
EXAMPLES = {
    "simple_query": (3, [], None),
    "calculator": (3, [], None),
    "manual_tools": (3, [], None),
    "hooks": (3, [], None),
    "interrupt": (2, [], None),
    "chat": (2, [], "hi\n"),
    "context": (None, ["hi"], None),
    "config_env": (1, ["hi"], None),
    "git_commit_agent": (2, ["--print"], None),
    "log_analyzer_agent": (None, [], "2024-03-05T10:00:00Z ERROR disk full\n"),
}

# What every example's --help says about settings, word for word.
SETTINGS = ("OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n"
            "then the first of ./open-agent.yaml, "
            "~/.config/open-agent/config.yaml,\n~/.open-agent.yaml; the "
            "URL defaults to LM Studio's\nhttp://localhost:1234/v1.\n")


# Examples whose run needs more than an LLM server (mcp_agent starts an
# MCP server: test_mcp.py runs it end to end): their usage is tested here.
USAGE_ONLY = {"mcp_agent": 2}


def test_every_example_is_listed():
    # oa's own files (oa_out.c, oa_chat.c, ...) are parts of oa
    progs = sorted(f[:-2] for f in os.listdir(os.path.join(
        harness.TOP, "examples"))
        if f.endswith(".c") and not f.startswith("oa_"))
    expect(progs, sorted(list(EXAMPLES) + list(USAGE_ONLY) + ["oa"]))


def test_examples_usage():
    every = [(n, e[0]) for n, e in EXAMPLES.items()] + \
        list(USAGE_ONLY.items())
    for name, npos in every:
        rc, out, err = example(name, ["--help"])
        expect((name, rc, err), (name, 0, ""))
        assert out.startswith("usage: %s " % name), out
        expect(example(name, ["-h"]), (0, out, ""))
        if name == "config_env":  # its own story of where settings are
            assert "OPEN_AGENT_BASE_URL" in out and \
                "http://localhost:1234/v1" in out, out
        else:
            assert out.endswith(SETTINGS), (name, out)
        # the usage line(s): up to the first line that does not continue
        # the synopsis
        lines = out.split("\n")
        n = 1
        while lines[n].startswith(" "):
            n += 1
        synopsis = "\n".join(lines[:n]) + "\n"
        # a wrong option: what is wrong, then the same usage, status 2
        rc, out, err = example(name, ["--no-such-option"])
        expect((name, rc, out, err), (
            name, 2, "", "%s: unknown option --no-such-option\n%s"
            % (name, synopsis)))
        if npos is not None:
            rc, out, err = example(name, ["x"] * (npos + 1))
            expect((name, rc, out, err), (
                name, 2, "", "%s: too many arguments: x\n%s"
                % (name, synopsis)))


def git_repo():
    """A repository with one file staged, for git_commit_agent."""
    d = tempfile.mkdtemp(dir=TMP)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=d)
    for args in (["init", "-q"], ["add", "a.txt"]):
        if args[0] == "add":
            write(os.path.join(d, "a.txt"), "hello\n")
        subprocess.run(["git"] + args, cwd=d, env=env, check=True,
                       capture_output=True)
    return d


COMMIT = ('{"type":"feat","scope":"","subject":"add a greeting",'
          '"body":[],"breaking":""}')


def test_examples_settings_from_environment_and_file():
    # no URL, model or key on the command line: the environment, then the
    # configuration file in $HOME, decides them, for every example alike
    for how in ("environment", "file"):
        for name, (_, args, stdin) in EXAMPLES.items():
            cwd = git_repo() if name == "git_commit_agent" else None
            with Server([{"reply": COMMIT}]) as s:
                home = tempfile.mkdtemp(dir=TMP)
                env = {"HOME": home}
                if how == "environment":
                    env.update({"OPEN_AGENT_BASE_URL": s.url,
                                "OPEN_AGENT_MODEL": "env-model",
                                "OPEN_AGENT_API_KEY": "sk-env"})
                else:
                    os.makedirs(os.path.join(home, ".config",
                                             "open-agent"))
                    write(os.path.join(home, ".config", "open-agent",
                                       "config.yaml"),
                          "base_url: %s\nmodel: env-model\n"
                          "api_key: sk-env\n" % s.url)
                rc, out, err = example(name, args, cwd=cwd, env=env,
                                       input=stdin)
                reqs = s.requests()
            expect((how, name, rc), (how, name, 0))
            assert len(reqs) >= 1, (how, name, out, err)
            for r in reqs:
                expect((how, name, r["body"]["model"],
                        r["headers"]["authorization"]),
                       (how, name, "env-model", "Bearer sk-env"))


def test_examples_default_url():
    # nothing set at all: every example asks LM Studio's default URL,
    # where nothing listens here. They run at once: each retries twice.
    procs = []
    for name, (_, args, stdin) in EXAMPLES.items():
        home = tempfile.mkdtemp(dir=TMP)
        cwd = git_repo() if name == "git_commit_agent" else home
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OPEN_AGENT_")}
        env["HOME"] = home
        p = subprocess.Popen([os.path.join(BIN, name)] + args, cwd=cwd,
                             env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append((name, p, (stdin or "").encode("utf-8")))
    for name, p, stdin in procs:
        _, err = p.communicate(stdin, timeout=30)
        err = err.decode("utf-8")
        expect((name, p.returncode), (name, 1))
        assert "connection failed: connect to localhost:1234: " in err, \
            (name, err)


if __name__ == "__main__":
    sys.exit(harness.main(harness.tests(globals())))
