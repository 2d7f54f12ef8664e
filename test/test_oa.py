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
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OA = os.path.abspath(os.environ.get("OA_BIN") or "build/oa")
SERVER = os.path.abspath(os.environ.get("OA_TEST_SERVER") or
                         os.path.join(HERE, "server.py"))
TMP = tempfile.mkdtemp(prefix="oa_test_oa.")


class Server:
    """server.py with a scenario, recording to a file in TMP."""
    count = 0

    def __init__(self, responses):
        Server.count += 1
        scen = os.path.join(TMP, "scenario%d.json" % Server.count)
        self.rec = os.path.join(TMP, "requests%d.jsonl" % Server.count)
        with open(scen, "w", encoding="utf-8") as f:
            json.dump(responses, f)
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, scen, "--record", self.rec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d/v1" % port

    def requests(self):
        if not os.path.exists(self.rec):
            return []
        with open(self.rec, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def oa(args, env=None, stdin=b""):
    """Run oa in empty directories; returns (status, stdout, stderr)."""
    home = tempfile.mkdtemp(dir=TMP)
    cwd = tempfile.mkdtemp(dir=TMP)
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("OPEN_AGENT_")}
    e["HOME"] = home
    e.update(env or {})
    p = subprocess.run([OA] + args, cwd=cwd, env=e, input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


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
        reqs = s.requests()
    head = '{"model":"m","messages":[{"role":"user","content":"hi"}],' \
           '"stream":true,"stream_options":{"include_usage":true},' \
           '"max_tokens":4096,"temperature":0.7'
    expect(body_of(reqs[0]), head + ',"top_p":0.5,"seed":7,'
           '"stop":["END","\\n\\n"],"tool_choice":"none","top_k":40}')
    expect(body_of(reqs[1]), head + ',"options": {"num_ctx": 8192}}')


def test_request_field_errors():
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1",
                       "--extra-json", '{"stream":false}', "hi"])
    expect((rc, out), (1, ""))
    expect(err, 'oa: invalid argument: extra may not set "stream": the '
                'library manages it\n')
    rc, out, err = oa(["--base-url", "http://127.0.0.1:9/v1",
                       "--extra-json", "[1]", "hi"])
    expect((rc, err), (1, "oa: invalid argument: extra is not a JSON "
                          "object\n"))
    for args in (["--top-p", "2"], ["--seed", "x"], ["--seed", "0"]):
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
