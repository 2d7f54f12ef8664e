#!/usr/bin/env python3
"""test_oa.py -- the oa command against the scripted server (server.py).

The --jsonl output is a contract other programs read, so its lines are
compared exactly. oa runs with its working directory and HOME set to empty
temporary directories and no OPEN_AGENT_* variables unless a test sets
them, so no real configuration can leak in.

    OA_BIN=build/oa OA_TEST_SERVER=test/server.py test/test_oa.py [NAME...]

The last line printed is "test_oa: N passed, N failed"; the exit status is
non-zero when anything failed.
"""
import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import Server  # the scripted server, shared

# harness makes a directory of its own for the servers
atexit.register(shutil.rmtree, harness.TMP, True)

HERE = os.path.dirname(os.path.abspath(__file__))
OA = os.path.abspath(os.environ.get("OA_BIN") or "build/oa")
TMP = tempfile.mkdtemp(prefix="oa_test_oa.")


def oa(args, env=None, stdin=b""):
    """Run oa in empty directories; returns (status, stdout, stderr)."""
    home = tempfile.mkdtemp(dir=TMP)
    cwd = tempfile.mkdtemp(dir=TMP)
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("OPEN_AGENT_", "OPENAI_"))}
    e["HOME"] = home
    e.update(env or {})
    p = subprocess.run([OA] + args, cwd=cwd, env=e, input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def clean_env():
    """The environment oa() gives: no OPEN_AGENT_* or OPENAI_*, an empty
    HOME."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("OPEN_AGENT_", "OPENAI_"))}
    e["HOME"] = tempfile.mkdtemp(dir=TMP)
    return e


def chunk(delta, finish=None, usage=None):
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


def body_of(req):
    return req["body_raw"]


def expect(got, want):
    assert got == want, "got %r\n  want %r" % (got, want)


# ------------------------------------------------------------------ tests

def test_jsonl():
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    with Server([{"events": [ROLE, chunk({"reasoning_content": "Hm"}),
                             text("Hel"), text("lo"),
                             text("\"q\" \\ caf\u00e9\n\tend"),
                             chunk({}, "stop", usage), DONE]}]) as s:
        rc, out, err = oa(["--jsonl", "--base-url", s.url, "--model",
                           "test", "hi"])
    expect(out.split("\n"), [
        '{"type":"thinking","text":"Hm"}',
        '{"type":"text","text":"Hel"}',
        '{"type":"text","text":"lo"}',
        '{"type":"text","text":"\\"q\\" \\\\ caf\u00e9\\n\\tend"}',
        '{"type":"turn_end","finish_reason":"stop","usage":'
        '{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}',
        ''])
    expect((rc, err), (0, ""))


def test_jsonl_no_usage():
    with Server([{"events": [text("Hi"), chunk({}, "length"), DONE]}]) as s:
        rc, out, err = oa(["--jsonl", "--base-url", s.url, "hi"])
    expect(out, '{"type":"text","text":"Hi"}\n'
                '{"type":"turn_end","finish_reason":"length"}\n')
    expect((rc, err), (0, ""))


def test_default_output():
    with Server([{"events": [ROLE, chunk({"reasoning_content": "Hm"}),
                             text("Hello"), text(" world"),
                             chunk({}, "stop"), DONE]},
                 {"reply": ["line\n"]}]) as s:
        rc, out, err = oa(["--base-url", s.url, "hi"])
        expect((rc, out, err), (0, "Hello world\n", ""))
        # text that ends in a newline gets no second one
        rc, out, err = oa(["--base-url", s.url, "hi"])
        expect((rc, out, err), (0, "line\n", ""))


def test_request_body():
    with Server([{"reply": "ok"}]) as s:
        oa(["--base-url", s.url, "--model", "m", "hi"])
        oa(["--base-url", s.url, "--model", "m", "--max-tokens", "0",
            "--temperature", "0", "hi"])
        oa(["--base-url", s.url, "--model", "m", "--max-tokens", "50",
            "--temperature", "0.5", "--system", "Be brief", "hi"])
        reqs = s.requests()
    expect(len(reqs), 3)
    expect(reqs[0]["path"], "/v1/chat/completions")
    head = '{"model":"m","messages":[{"role":"user","content":"hi"}],' \
           '"stream":true,"stream_options":{"include_usage":true},'
    expect(body_of(reqs[0]), head + '"max_tokens":4096,"temperature":0.7}')
    expect(body_of(reqs[1]), head + '"temperature":0}')
    expect(body_of(reqs[2]),
           '{"model":"m","messages":[{"role":"system","content":"Be brief"},'
           '{"role":"user","content":"hi"}],"stream":true,"stream_options":'
           '{"include_usage":true},"max_tokens":50,"temperature":0.5}')


def test_request_fields():
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["--base-url", s.url, "--model", "m",
                           "--top-p", "0.5", "--seed", "7", "--stop", "END",
                           "--stop=\n\n", "--tool-choice", "none",
                           "--extra-json", '{"top_k":40}', "hi"])
        expect((rc, out, err), (0, "ok\n", ""))
        path = os.path.join(TMP, "extra.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"options": {"num_ctx": 8192}}\n')
        rc, out, err = oa(["--base-url", s.url, "--model", "m",
                           "--extra-json", "@" + path, "hi"])
        expect((rc, out, err), (0, "ok\n", ""))
        rc, out, err = oa(["--base-url", s.url, "--model", "m",
                           "--seed", "0", "hi"])
        expect((rc, out, err), (0, "ok\n", ""))
        reqs = s.requests()
    head = '{"model":"m","messages":[{"role":"user","content":"hi"}],' \
           '"stream":true,"stream_options":{"include_usage":true},' \
           '"max_tokens":4096,"temperature":0.7'
    expect(body_of(reqs[0]), head + ',"top_p":0.5,"seed":7,'
           '"stop":["END","\\n\\n"],"tool_choice":"none","top_k":40}')
    expect(body_of(reqs[1]), head + ',"options": {"num_ctx": 8192}}')
    # a seed of 0 is sent: it is a seed like any other
    expect(body_of(reqs[2]), head + ',"seed":0}')


def test_request_field_errors():
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1",
                       "--extra-json", '{"stream":false}', "hi"])
    # usage errors (2), named by the flag rather than the library field
    help_line = "Try 'oa --help' for more information.\n"
    expect((rc, out), (2, ""))
    expect(err, 'oa: --extra-json: may not set "stream": the '
                'library manages it\n' + help_line)
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1",
                       "--extra-json", "[1]", "hi"])
    expect((rc, err), (2, "oa: --extra-json: is not a JSON object\n" +
                       help_line))
    path = os.path.join(TMP, "bad_schema.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[1]")
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1",
                       "--json-schema", path, "hi"])
    expect((rc, err.split("\n")[0]),
           (2, 'oa: --json-schema: is neither "json_object" nor a JSON '
               'Schema object'))
    for args in (["--top-p", "2"], ["--seed", "x"], ["--seed", "1.5"]):
        rc, out, err = oa(args + ["hi"])
        expect((args, rc), (args, 2))


def test_text_markup_options():
    with Server([{"reply": ["<think>Hm</think>Hi"]},
                 {"reply": ["{\"a\": 1}"]}]) as s:
        rc, out, err = oa(["--jsonl", "--think-tags", "--base-url", s.url,
                           "hi"])
        expect((rc, err), (0, ""))
        expect(out.split("\n")[:2], ['{"type":"thinking","text":"Hm"}',
                                     '{"type":"text","text":"Hi"}'])
        path = os.path.join(TMP, "schema.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"type":"object","properties":{"a":{"type":"integer"}}}')
        rc, out, err = oa(["--json-schema", path, "--base-url", s.url, "hi"])
        expect((rc, out, err), (0, '{"a": 1}\n', ""))
        reqs = s.requests()
    assert body_of(reqs[1]).endswith(
        '"response_format":{"type":"json_schema","json_schema":{"name":'
        '"response","schema":{"type":"object","properties":{"a":{"type":'
        '"integer"}}}}}}'), body_of(reqs[1])


def test_image():
    path = os.path.join(TMP, "dot.gif")
    with open(path, "wb") as f:
        f.write(b"GIF89a\x01\x00")
    with Server([{"reply": "a dot"}]) as s:
        rc, out, err = oa(["--image", path, "--base-url", s.url, "what?"])
        expect((rc, out, err), (0, "a dot\n", ""))
        rc, out, err = oa(["--image", path + ".missing", "--base-url",
                           s.url, "what?"])
        expect(rc, 1)
        assert err.startswith("oa: file error: ") and "No such file" in err, err
        reqs = s.requests()
    expect(len(reqs), 1)
    expect(reqs[0]["body"]["messages"][0]["content"],
           [{"type": "text", "text": "what?"},
            {"type": "image_url",
             "image_url": {"url": "data:image/gif;base64,R0lGODlhAQA="}}])


def test_stdin_prompt():
    big = ("line %d \u00e9 \"quoted\"\n" % i for i in range(5000))
    big = "".join(big) + "end"
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["--base-url", s.url, "-"],
                          stdin=b"from stdin\nsecond line")
        expect((rc, out, err), (0, "ok\n", ""))
        rc, out, err = oa(["--base-url", s.url, "-"],
                          stdin=big.encode("utf-8"))
        expect((rc, out, err), (0, "ok\n", ""))
        reqs = s.requests()
    expect(reqs[0]["body"]["messages"],
           [{"role": "user", "content": "from stdin\nsecond line"}])
    expect(reqs[1]["body"]["messages"], [{"role": "user", "content": big}])


def test_environment():
    with Server([{"reply": "ok"}]) as s:
        env = {"OPEN_AGENT_BASE_URL": s.url, "OPEN_AGENT_MODEL": "envmodel",
               "OPEN_AGENT_API_KEY": "sk-env"}
        rc, out, err = oa(["hi"], env=env)
        expect((rc, out, err), (0, "ok\n", ""))
        # explicit options win over the environment
        rc, out, err = oa(["--model", "flagmodel", "--api-key", "sk-flag",
                           "hi"], env=env)
        expect((rc, out, err), (0, "ok\n", ""))
        reqs = s.requests()
    expect(len(reqs), 2)
    expect(reqs[0]["body"]["model"], "envmodel")
    expect(reqs[0]["headers"].get("authorization"), "Bearer sk-env")
    expect(reqs[1]["body"]["model"], "flagmodel")
    expect(reqs[1]["headers"].get("authorization"), "Bearer sk-flag")


def test_no_key_no_header():
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["--base-url", s.url, "hi"])
        reqs = s.requests()
    expect((rc, out, err), (0, "ok\n", ""))
    expect("authorization" in reqs[0]["headers"], False)
    expect("model" in reqs[0]["body"], False)


def one_error_line(err):
    lines = err.split("\n")
    assert len(lines) == 2 and lines[1] == "", "not one line: %r" % err
    assert lines[0].startswith("oa: "), "no 'oa: ' prefix: %r" % err
    return lines[0]


def test_http_error():
    with Server([{"status": 404, "json": {"error": {
            "message": "model \"nope\" not found", "type": "not_found"}}}
                 ]) as s:
        rc, out, err = oa(["--base-url", s.url, "--model", "nope", "hi"])
    expect((rc, out), (1, ""))
    line = one_error_line(err)
    assert line.endswith(': HTTP 404 from %s/chat/completions: model "nope" '
                         'not found' % s.url), line


def test_stream_error():
    with Server([{"events": [text("Hel"), {"error": {"message": "boom"}}]}
                 ]) as s:
        rc, out, err = oa(["--jsonl", "--base-url", s.url, "hi"])
    expect((rc, out), (1, '{"type":"text","text":"Hel"}\n'))
    assert "boom" in one_error_line(err), err


def test_connection_refused():
    with Server([{"reply": "ok"}]) as s:
        url = s.url
    time.sleep(0.1)
    rc, out, err = oa(["--base-url", url, "hi"])
    expect((rc, out), (1, ""))
    one_error_line(err)


def test_timeout():
    with Server([{"events": [text("Hel")], "stall_after_events": 1}]) as s:
        t0 = time.monotonic()
        rc, out, err = oa(["--jsonl", "--timeout", "300", "--base-url",
                           s.url, "hi"])
        took = time.monotonic() - t0
    expect((rc, out), (1, '{"type":"text","text":"Hel"}\n'))
    one_error_line(err)
    assert took < 10, "took %.1f s" % took


def test_usage_errors():
    for args in (["--no-such-option", "hi"], [], ["--max-tokens"]):
        rc, out, err = oa(args)
        expect((args, rc, out), (args, 2, ""))
        assert err.startswith("oa: "), err


def test_version():
    with open(os.path.join(HERE, "..", "openagent.h"), encoding="utf-8") as f:
        version = re.search(r'#define OA_VERSION "(.*)"', f.read()).group(1)
    rc, out, err = oa(["--version"])
    expect(rc, 0)
    assert version in out, out


# ------------------------------------------------------------ pipes

def test_piped_input():
    path = os.path.join(TMP, "diff.txt")
    with open(path, "wb") as f:
        f.write(b"--- a\n+++ b\n@@ caf\xc3\xa9\n")
    with Server([{"reply": "ok"}]) as s:
        # a pipe: the prompt, a blank line, the text exactly
        rc, out, err = oa(["--base-url", s.url, "review this"],
                          stdin=b"line 1\nline 2\n")
        expect((rc, out, err), (0, "ok\n", ""))
        # a regular file on stdin
        with open(path, "rb") as f:
            p = subprocess.run([OA, "--base-url", s.url, "summarise"],
                               stdin=f, capture_output=True, timeout=60,
                               cwd=TMP, env=clean_env())
        expect((p.returncode, p.stdout, p.stderr), (0, b"ok\n", b""))
        # empty input adds nothing; --no-stdin reads none
        rc, out, err = oa(["--base-url", s.url, "alone"], stdin=b"")
        rc2, _, _ = oa(["--no-stdin", "--base-url", s.url, "ignored"],
                       stdin=b"not sent")
        expect((rc, rc2), (0, 0))
        # "-" keeps its meaning: the prompt is stdin
        rc, out, err = oa(["--base-url", s.url, "-"], stdin=b"just this")
        expect(rc, 0)
        reqs = s.requests()
    contents = [r["body"]["messages"][-1]["content"] for r in reqs]
    expect(contents, ["review this\n\nline 1\nline 2\n",
                      "summarise\n\n--- a\n+++ b\n@@ caf\u00e9\n",
                      "alone", "ignored", "just this"])


def test_piped_input_errors():
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["--stdin-max", "10", "--base-url", s.url, "q"],
                          stdin=b"x" * 11)
        expect((rc, out), (1, ""))
        expect(err, "oa: standard input holds more than 10 bytes: raise "
                    "--stdin-max, or send less\n")
        rc, out, err = oa(["--stdin-max", "10", "--base-url", s.url, "-"],
                          stdin=b"x" * 10)
        expect(rc, 0)
        # a NUL byte would cut the prompt silently: refused
        rc, out, err = oa(["--base-url", s.url, "-"], stdin=b"ab\0cd")
        expect((rc, err), (1, "oa: standard input holds a NUL byte (at "
                              "byte 2): the prompt must be text\n"))
        rc, out, err = oa(["--base-url", s.url, "q"], stdin=b"ab\0cd")
        expect(rc, 1)
        # an empty prompt is refused, whichever way it comes
        rc, out, err = oa(["--base-url", s.url, ""])
        expect((rc, err.split("\n")[0]), (2, "oa: the PROMPT is empty"))
        rc, out, err = oa(["--base-url", s.url, "-"], stdin=b"")
        expect(rc, 2)
        reqs = s.requests()
    expect(len(reqs), 1)


def test_silent_pipe():
    # a service that leaves stdin open and silent: oa must not hang
    with Server([{"reply": "ok"}]) as s:
        e = clean_env()
        # the pipe stays open (communicate() would close it)
        outf, errf = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        p = subprocess.Popen([OA, "--base-url", s.url, "hi"], cwd=TMP, env=e,
                             stdin=subprocess.PIPE, stdout=outf,
                             stderr=errf)
        try:
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdin.close()
        outf.seek(0)
        errf.seek(0)
        out, err = outf.read(), errf.read()
        expect((p.returncode, out), (2, b""))
        expect(err, b"oa: standard input is a pipe that sent nothing in 5 s:"
                    b" give --no-stdin when it is not meant for oa\n")
        expect(s.requests(), [])
        p = subprocess.Popen([OA, "--no-stdin", "--base-url", s.url, "hi"],
                             cwd=TMP, env=e, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t0 = time.monotonic()
        try:
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        expect((p.returncode, out, err), (0, b"ok\n", b""))
        assert time.monotonic() - t0 < 4, "--no-stdin still waited"


def test_chat_over_pipe():
    saved = os.path.join(TMP, "piped-chat.json")
    with Server([{"reply": "one"}, {"reply": "two"}]) as s:
        rc, out, err = oa(["--chat", "--save", saved, "--base-url", s.url],
                          stdin=b"hi\n/tokens\n\nsecond \\\nline\n")
        reqs = s.requests()
    expect((rc, out), (0, "one\ntwo\n"))
    # --save keeps the conversation after every turn
    with open(saved, encoding="utf-8") as f:
        kept = f.read()
    assert '"two"' in kept and "second \\nline" in kept, kept
    assert "2 messages" in err, err
    expect([(m["role"], m["content"]) for m in reqs[1]["body"]["messages"]],
           [("user", "hi"), ("assistant", "one"),
            ("user", "second \nline")])
    # tools work in a chat too
    call = chunk({"tool_calls": [{"index": 0, "id": "call_1",
                                  "type": "function", "function": {
                                      "name": "calculator", "arguments":
                                      '{"a":6,"b":7,"op":"*"}'}}]})
    with Server([{"events": [call, chunk({}, "tool_calls"), DONE]},
                 {"reply": "42"}]) as s:
        rc, out, err = oa(["--chat", "--demo-tools", "--base-url", s.url],
                          stdin=b"six times seven?\n")
        reqs = s.requests()
    expect((rc, err), (0, ""))
    expect(out, '[tool_use call_1] calculator {"a":6,"b":7,"op":"*"}\n'
                '[tool_result call_1] 42\n42\n')
    expect(reqs[1]["body"]["messages"][-1]["content"], "42")
    rc, out, err = oa(["--chat", "--image", "x.png"], stdin=b"")
    expect(rc, 2)
    # a message over the limit ends the chat with a clear error
    rc, out, err = oa(["--chat", "--base-url", "http://127.0.0.1:9/v1"],
                      stdin=b"x" * (1024 * 1024 + 1) + b"\n")
    expect((rc, out, err), (1, "", "oa: cannot read standard input: a "
                                   "message over 1 MiB\n"))
    # no PROMPT on a pipe without --chat: a usage error that says so
    rc, out, err = oa([], stdin=b"hi\n")
    expect(rc, 2)
    assert "--chat" in err, err


# ------------------------------------------------------------ --models

MODELS = {
    # llama-server: an Ollama-style "models" list, then the OpenAI one
    "llama-server": {"models": [{"name": "qwen.gguf", "model": "qwen.gguf",
                                 "modified_at": "", "size": "",
                                 "digest": "", "type": "model",
                                 "capabilities": ["completion"]}],
                     "object": "list",
                     "data": [{"id": "qwen.gguf", "object": "model",
                               "created": 1700000000,
                               "owned_by": "llamacpp",
                               "meta": {"vocab_type": 2, "n_ctx_train":
                                        32768, "size": 4683071488}}]},
    "ollama": {"object": "list",
               "data": [{"id": "llama3.2:latest", "object": "model",
                         "created": 1730000000, "owned_by": "library"},
                        {"id": "qwen2.5:7b", "object": "model",
                         "created": 1730000001, "owned_by": "library"}]},
    "lmstudio": {"data": [{"id": "qwen2.5-7b-instruct", "object": "model",
                           "owned_by": "organization_owner"},
                          {"id": "text-embedding-nomic-embed-text-v1.5",
                           "object": "model",
                           "owned_by": "organization_owner"}],
                 "object": "list"},
    "vllm": {"object": "list",
             "data": [{"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model",
                       "created": 1730000000, "owned_by": "vllm",
                       "root": "Qwen/Qwen2.5-7B-Instruct", "parent": None,
                       "max_model_len": 32768,
                       "permission": [{"id": "modelperm-1",
                                       "object": "model_permission",
                                       "allow_sampling": True,
                                       "group": None}]}]},
}


def test_models():
    for server, body in MODELS.items():
        # pretty-printed, as a server may send it
        text = json.dumps(body, indent=2)
        with Server([{"body": text, "content_type": "application/json",
                      "framing": "length"}]) as s:
            rc, out, err = oa(["--models", "--api-key", "k", "--base-url",
                               s.url])
            rc2, out2, err2 = oa(["--models", "--jsonl", "--base-url",
                                  s.url])
            reqs = s.requests()
        expect((server, rc, err), (server, 0, ""))
        expect(out.split("\n")[:-1], [m["id"] for m in body["data"]])
        expect((rc2, err2), (0, ""))
        lines = out2.split("\n")[:-1]
        expect([json.loads(line) for line in lines], body["data"])
        for line in lines:
            assert "\n" not in line and ": " not in line, line
        expect((reqs[0]["method"], reqs[0]["path"]), ("GET", "/v1/models"))
        expect(reqs[0]["headers"].get("authorization"), "Bearer k")
        expect(reqs[0]["headers"].get("accept"), "application/json")


def test_models_errors():
    with Server([{"status": 200, "content_type": "text/html",
                  "body": "<html>LM Studio</html>", "framing": "length"},
                 {"status": 404, "json": {"error": "not here"}},
                 {"json": {"object": "list"}},
                 {"body": "{\"data\": [", "content_type": "application/json",
                  "framing": "length"}]) as s:
        errs = [oa(["--models", "--base-url", s.url]) for _ in range(4)]
    for rc, out, err in errs:
        expect((rc, out), (1, ""))
        one_error_line(err)
    assert errs[0][2].startswith("oa: malformed HTTP response (GET "
                                 "%s/models): the "
                                 "server answered with text/html, not JSON"
                                 % s.url), errs[0][2]
    assert "HTTP 404" in errs[1][2], errs[1][2]
    # the hints of a turn's errors apply here too
    with Server([{"status": 404, "json": {"error": "File Not Found"}}]) as s:
        rc, out, err = oa(["--models", "--base-url", s.url[:-3]])
    assert "the URL has no /v1" in one_error_line(err), err
    assert "no \"data\" member" in errs[2][2], errs[2][2]
    assert "at byte 10" in errs[3][2], errs[3][2]
    rc, out, err = oa(["--models", "hi"])
    expect(rc, 2)


# ----------------------------------------------------------- strict JSONL

def raw_stream(*events):
    """A whole HTTP response whose SSE data lines are the given byte
    strings, for bytes server.py's JSON cannot carry (invalid UTF-8)."""
    body = b"".join(b"data: " + e + b"\n\n" for e in events) + \
        b"data: [DONE]\n\n"
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    return {"raw": (head + body).decode("latin-1")}


def delta(d, finish=None):
    return json.dumps(chunk(d, finish)).encode("utf-8")


BAD_UTF8 = [
    (b"\xff", "\ufffd"),                          # not a UTF-8 byte
    (b"\xc3", "\ufffd"),                          # cut-off sequence
    (b"\xe2\x82", "\ufffd"),                      # cut-off, one U+FFFD
    (b"\xc0\xaf", "\ufffd\ufffd"),                # overlong '/'
    (b"\xe0\x80\xaf", "\ufffd\ufffd\ufffd"),      # overlong, 3 bytes
    (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),      # a surrogate, encoded
    (b"\xf4\x90\x80\x80", "\ufffd" * 4),          # past U+10FFFF
    (b"\x80", "\ufffd"),                          # a lone continuation
]


def test_jsonl_invalid_utf8():
    for bad, want in BAD_UTF8:
        text = delta({"content": "A?B"}).replace(b"?", bad)
        think = delta({"reasoning_content": "t?"}).replace(b"?", bad)
        # an unknown name (a tool-use error), and a known one whose
        # arguments hold the bad bytes
        call = delta({"tool_calls": [{
            "index": 0, "id": "call_?", "type": "function",
            "function": {"name": "get?",
                         "arguments": "{\"c\": \"P?\"}"}}, {
            "index": 1, "id": "call_2", "type": "function",
            "function": {"name": "get",
                         "arguments": "{\"c\": \"Q?\"}"}}]}).replace(
                             b"?", bad)
        with Server([raw_stream(think, text, call,
                                delta({}, "tool_calls"))]) as s:
            path = os.path.join(TMP, "t.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write('[{"function":{"name":"get"}}]')
            p = subprocess.run([OA, "--jsonl", "--tools-json", path,
                                "--base-url", s.url, "hi"],
                               capture_output=True, timeout=60, cwd=TMP,
                               env=clean_env(), stdin=subprocess.DEVNULL)
        # every line is valid UTF-8 and one JSON object
        lines = p.stdout.decode("utf-8").split("\n")
        expect(lines[-1], "")
        objs = [json.loads(line) for line in lines[:-1]]
        expect(objs[0], {"type": "thinking", "text": "t" + want})
        expect(objs[1], {"type": "text", "text": "A" + want + "B"})
        kinds = [o["type"] for o in objs]
        assert kinds[-1] == "turn_end", kinds
        expect(objs[2], {"type": "tool_use_error", "id": "call_" + want,
                         "name": "get" + want, "error": objs[2]["error"],
                         "raw": '{"c": "P%s"}' % want})
        assert ("get" + want) in objs[2]["error"], objs[2]
        expect(objs[3], {"type": "tool_use", "id": "call_2", "name": "get",
                         "input": {"c": "Q" + want}})
        # plain mode: the reply text stays byte-exact
        with Server([raw_stream(text, delta({}, "stop"))]) as s:
            p = subprocess.run([OA, "--base-url", s.url, "hi"],
                               capture_output=True, timeout=60, cwd=TMP,
                               env=clean_env(), stdin=subprocess.DEVNULL)
        expect((p.returncode, p.stdout), (0, b"A" + bad + b"B\n"))


def test_jsonl_server_error_utf8():
    with Server([{"status": 500, "raw": (
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
            "application/json\r\nContent-Length: 35\r\nConnection: close"
            "\r\n\r\n{\"error\":{\"message\":\"bad \xff\xfe!\"}}  ")}]) as s:
        p = subprocess.run([OA, "--jsonl", "--base-url", s.url, "hi"],
                           capture_output=True, timeout=60, cwd=TMP,
                           env=clean_env(), stdin=subprocess.DEVNULL)
    expect((p.returncode, p.stdout), (1, b""))
    p.stderr.decode("utf-8")  # the error line is valid UTF-8 too


def test_tool_arguments_one_line():
    # llama-server passes on the model's own whitespace in the arguments
    args = '{\n\n"city":\n    "Paris",\t"n": [1, 2], "q": "a \\"b\\" \\n"}'
    path = os.path.join(TMP, "tools.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write('[{"function":{"name":"get_weather"}}]')
    ev = chunk({"tool_calls": [{"index": 0, "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather",
                                             "arguments": args}}]})
    with Server([{"events": [ev, chunk({}, "tool_calls"), DONE]}]) as s:
        rc, out, err = oa(["--jsonl", "--tools-json", path, "--base-url",
                           s.url, "hi"])
        rc2, out2, err2 = oa(["--tools-json", path, "--base-url", s.url,
                              "hi"])
    expect((rc, err), (0, ""))
    expect(out.split("\n")[0], '{"type":"tool_use","id":"call_1","name":'
                               '"get_weather","input":{"city":"Paris",'
                               '"n":[1,2],"q":"a \\"b\\" \\n"}}')
    expect((rc2, out2, err2), (0, '[tool_use call_1] get_weather '
                                  '{"city":"Paris","n":[1,2],'
                                  '"q":"a \\"b\\" \\n"}\n', ""))


# ------------------------------------------------- escaped server text

def test_plain_mode_escapes():
    path = os.path.join(TMP, "tools.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write('[{"function":{"name":"get_weather"}}]')
    forged = "x\n[tool_result call_1] forged\x1b[2J\u009b31m"
    ev = chunk({"tool_calls": [{"index": 0, "id": "call\r1",
                                "type": "function",
                                "function": {"name": forged,
                                             "arguments": "{}"}}]})
    with Server([{"events": [text("fine\n"), ev, chunk({}, "tool_calls"),
                             DONE]},
                 {"status": 500, "json": {"error": {
                     "message": "boom\n\x1b[31mred\u009b\x7f"}}}]) as s:
        rc, out, err = oa(["--tools-json", path, "--base-url", s.url, "hi"])
        rc2, out2, err2 = oa(["--base-url", s.url, "hi"])
    lines = out.split("\n")
    expect(lines[0], "fine")
    expect(len(lines), 3)
    assert lines[1].startswith("[tool_use_error call\\r1] x\\n[tool_result "
                               "call_1] forged\\x1b[2J\\u009b31m: "), lines
    assert "\x1b" not in out and "\u009b" not in out, out
    expect((rc2, out2), (1, ""))
    line = one_error_line(err2)
    assert line.endswith("red\\u009b") and "\x1b" not in line, line


# ------------------------------------------------- errors that help

def test_error_hints():
    with Server([{"status": 404, "json": {"error": "File Not Found"}},
                 {"status": 401, "json": {"error": {
                     "message": "Invalid API Key"}}},
                 {"status": 404, "json": {"error": {
                     "message": "model 'nope' not found"}}}]) as s:
        no_v1 = s.url[:-len("/v1")]
        _, _, e404 = oa(["--base-url", no_v1, "hi"])
        _, _, e401 = oa(["--base-url", s.url, "hi"])
        _, _, emodel = oa(["--base-url", s.url, "--model", "nope", "hi"])
    expect(one_error_line(e404),
           "oa: server answered with an error (the URL has no /v1; most "
           "servers want --base-url http://HOST:PORT/v1): HTTP 404 from "
           "%s/chat/completions: File Not Found" % no_v1)
    assert "--api-key" in one_error_line(e401), e401
    assert "oa --models" in one_error_line(emodel), emodel
    # refused on the default URL (LM Studio's port): say what to do
    rc, out, err = oa(["hi"], env={"OPEN_AGENT_BASE_URL": ""})
    line = one_error_line(err)
    if "refused" in line:
        assert "LM Studio's default URL" in line and "--base-url" in line \
            and "--provider" in line, line
    # TLS to a port that speaks plain HTTP: like a real server, this one
    # answers the ClientHello it cannot parse with a 400 and closes
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def answer():
        conn, _ = srv.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        conn.close()
    th = threading.Thread(target=answer, daemon=True)
    th.start()
    rc, out, err = oa(["--base-url", "https://127.0.0.1:%d/v1" %
                       srv.getsockname()[1], "hi"])
    th.join(10)
    srv.close()
    expect(rc, 1)
    assert "plain HTTP" in one_error_line(err), err


def test_length_note_and_usage():
    usage = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
    with Server([{"events": [text("cut sh"), chunk({}, "length", usage),
                             DONE]}]) as s:
        rc, out, err = oa(["--usage", "--max-tokens", "8", "--base-url",
                           s.url, "hi"])
    expect((rc, out), (0, "cut sh\n"))
    lines = err.split("\n")
    expect(lines[0], 'oa: note: the reply was cut at the length limit '
                     '(finish_reason "length"); raise --max-tokens (now 8)')
    assert re.match(r"oa: usage: 5 prompt \+ 8 completion = 13 tokens in "
                    r"[0-9.]+ s(, [0-9.]+ tokens/s)?$", lines[1]), lines
    expect(lines[2:], [""])
    # with no limit sent, the note does not point at --max-tokens
    with Server([{"events": [text("cut"), chunk({}, "length"), DONE]}]) as s:
        rc, out, err = oa(["--max-tokens", "0", "--base-url", s.url, "hi"])
    expect((rc, out, err), (0, "cut\n", 'oa: note: the reply was cut at the '
                                        'length limit (finish_reason '
                                        '"length"); the server\'s own limit, '
                                        'or the context is full\n'))


def test_save_first_run_and_checks():
    chat = os.path.join(TMP, "first-run.json")
    with Server([{"reply": "Hi Ada"}, {"reply": "Ada"}]) as s:
        # no file yet, and --save names it: a new conversation
        rc, out, err = oa(["--base-url", s.url, "--resume", chat, "--save",
                           chat, "I am Ada"])
        expect((rc, out, err), (0, "Hi Ada\n", ""))
        rc, out, err = oa(["--base-url", s.url, "--resume", chat, "--save",
                           chat, "Who am I?"])
        expect((rc, out, err), (0, "Ada\n", ""))
        reqs = s.requests()
    expect(len(reqs[1]["body"]["messages"]), 3)
    # a history file too large is refused from its size, at once
    big = os.path.join(TMP, "big.json")
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)
    t0 = time.monotonic()
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1", "--resume",
                       big, "hi"])
    expect((rc, err), (1, "oa: file error: %s: 104857600 bytes, more than "
                          "the history limit of 67108864 bytes; raise it "
                          "with --max-history-bytes\n" % big))
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1", "--resume",
                       big, "--max-history-bytes", "200000000", "hi"])
    # raised past its size, the file is read (and is no history)
    expect(rc, 1)
    assert err.startswith("oa: file error: %s: invalid JSON: NUL byte at "
                          "byte 0" % big), err
    assert time.monotonic() - t0 < 5


def test_more_options():
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["--base-url", s.url, "--no-stream",
                           "--presence-penalty", "0.5",
                           "--frequency-penalty", "-1",
                           "--parallel-tool-calls", "off", "--retries", "0",
                           "--connect-timeout", "2000", "--deadline",
                           "20000", "--max-tool-iterations", "3",
                           "--proxy", "", "hi"])
        reqs = s.requests()
    expect(rc, 0)
    body = reqs[0]["body"]
    expect((body["stream"], body["presence_penalty"],
            body["frequency_penalty"], body["parallel_tool_calls"]),
           (False, 0.5, -1, False))
    # --deadline bounds the whole request
    with Server([{"events": [text("a")] * 50, "delay_ms": 200}]) as s:
        t0 = time.monotonic()
        rc, out, err = oa(["--deadline", "500", "--base-url", s.url, "hi"])
    assert time.monotonic() - t0 < 5
    expect(rc, 1)
    assert "--deadline" in one_error_line(err), err
    for args in (["--parallel-tool-calls", "maybe"], ["--retries", "x"],
                 ["--deadline", "0"], ["--max-tool-iterations", "0"],
                 ["--models", "--jsonl", "extra"]):
        rc, out, err = oa(args + ["hi"])
        expect((args, rc), (args, 2))


def test_environment_openai_and_insecure():
    with Server([{"reply": "ok"}]) as s:
        rc, out, err = oa(["hi"], env={"OPENAI_BASE_URL": s.url,
                                       "OPENAI_API_KEY": "sk-openai"})
        expect((rc, out, err), (0, "ok\n", ""))
        # no warning for http://: there are no certificates to skip
        rc, out, err = oa(["--base-url", s.url, "--insecure", "hi"],
                          env={"OPEN_AGENT_INSECURE": "1"})
        expect((rc, out, err), (0, "ok\n", ""))
        reqs = s.requests()
    expect(reqs[0]["headers"].get("authorization"), "Bearer sk-openai")


def test_config_file():
    home = tempfile.mkdtemp(dir=TMP)
    with Server([{"reply": "ok"}]) as s:
        with open(os.path.join(home, ".open-agent.yaml"), "w") as f:
            f.write("base_url: %s\nmax_tokens: 0\n" % s.url)
        rc, out, err = oa(["hi"], env={"HOME": home})
        expect((rc, out, err), (0, "ok\n", ""))
        reqs = s.requests()
    # 0 in the file means what --max-tokens 0 means: no limit sent
    expect("max_tokens" in reqs[0]["body"], False)
    with open(os.path.join(home, ".open-agent.yaml"), "w") as f:
        f.write("base-url: http://x\n")
    rc, out, err = oa(["hi"], env={"HOME": home})
    expect((rc, out), (1, ""))
    expect(err, "oa: bad configuration: %s/.open-agent.yaml:1: not a key "
                "(known keys: base_url, model, api_key, temperature, "
                "max_tokens); is the ':' after the key missing?\n" % home)


# -------------------------------------------- docs that cannot drift

def help_options():
    rc, out, err = oa(["--help"])
    expect(rc, 0)
    opts = sorted(set(re.findall(r"--[a-z][a-z-]*", out)))
    assert len(opts) > 40, opts
    return opts


def test_docs_name_every_option():
    readme = open(os.path.join(HERE, "..", "README.md"),
                  encoding="utf-8").read()
    section = re.search(r"^## The `oa` command\n(.*?)(?=^## )", readme,
                        flags=re.M | re.S).group(1)
    page = open(os.path.join(HERE, "..", "oa.1"),
                encoding="utf-8").read().replace("\\-", "-")
    conf = open(os.path.join(HERE, "..", "docs", "configuration.md"),
                encoding="utf-8").read()
    conf = conf[conf.index("## The `oa` command"):]
    opts = help_options()
    for name, doc in (("README.md", section), ("oa.1", page),
                      ("configuration.md", conf)):
        missing = [o for o in opts if not re.search(
            re.escape(o) + r"(?![a-z-])", doc)]
        expect((name, missing), (name, []))
        # and no option the program does not have
        named = set(re.findall(r"(?<![a-z-])--[a-z][a-z-]*", doc))
        extra = sorted(n for n in named if n not in opts and
                       n not in ("--max-time",))
        expect((name, extra), (name, []))


def test_help_entries():
    rc, out, err = oa(["--help"])
    entry = out[out.index("--lenient-args"):out.index("--tools-json")]
    assert "top_k" not in entry and "options" not in entry, entry


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
    for root, dirs, files in os.walk(TMP, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for d in dirs:
            os.rmdir(os.path.join(root, d))
    os.rmdir(TMP)
    print("test_oa: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
