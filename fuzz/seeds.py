#!/usr/bin/env python3
"""Write the fuzz seed corpora, fuzz/corpus/NAME/, from the test fixtures.

    python3 fuzz/seeds.py

The streams are the shapes the scripted test server (test/server.py)
plays back -- test/scenarios/*.json plus the server shapes of docs/provider-compatibility.md --
rendered by the server's own code, then framed for each target with the
option bytes that target reads first (see each fuzz_*.c). Seeds are
files named by content, so running this again changes nothing.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "test"))
import server  # noqa: E402

SEP = b"\n--next--\n"


def chunk(delta=None, finish=None, **extra):
    c = server.chunk(finish=finish, delta=delta)
    c.update(extra)
    return c


def call(index, id_, name, args):
    return {"index": index, "id": id_, "type": "function",
            "function": {"name": name, "arguments": args}}


USAGE = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
DONE = "data: [DONE]\n\n"

# Responses in test/server.py's scenario format.
RESPONSES = [
    {"reply": ["Hel", "lo"], "usage": USAGE},
    {"events": [chunk({"reasoning_content": "Hm"}), chunk({"content": "é"}),
                chunk(finish="stop", usage=USAGE), DONE]},
    {"events": [chunk({"tool_calls": [call(0, "c1", "add", "")]}),
                chunk({"tool_calls": [{"index": 0, "function":
                                       {"arguments": "{\"a\":1,"}}]}),
                chunk({"tool_calls": [{"index": 0, "function":
                                       {"arguments": "\"b\":2}"}}]}),
                chunk(finish="tool_calls"), DONE]},
    # Ollama: the whole call in one chunk, no index
    {"events": [chunk({"tool_calls": [{"id": "x", "function": {
        "name": "add", "arguments": {"a": 1, "b": 2}}}]}),
        chunk(finish="stop"), DONE]},
    # TGI: "data:" without a space, tool_calls as an object
    {"prefix": "data:", "events": [
        chunk({"tool_calls": {"index": 0, "id": "0", "function": {
            "name": "add", "arguments": "{\"a\":3}"}}}),
        "data:[DONE]\n\n"]},
    # text-generation-webui: CRLF separators, no [DONE], index "0"
    {"sep": "\r\n\r\n", "events": [
        ": ping - 2024\r\n\r\n", chunk({"content": "x"}),
        chunk({"tool_calls": [call("0", "1", "add", "{}")]},
              finish="tool_calls")]},
    # errors in the stream
    {"events": [chunk({"content": "par"}),
                "error: {\"code\":500,\"message\":\"boom\"}\n\n", DONE]},
    {"events": [{"error": {"message": "overloaded", "code": 503}}]},
    {"prefix": "data:", "events": ["data:model crashed\n\n", "data:[DONE]\n\n"]},
    {"events": ["event: error\ndata: {\"message\":\"bad\"}\n\n"]},
    {"events": [chunk({"content": "a"}), chunk({"content": "ab"}),
                chunk({"content": "abc"}), chunk(finish="length"), DONE]},
    {"status": 400, "json": {"error": {"message": "context too long"}}},
    {"status": 429, "headers": {"Retry-After": "1"}, "body": "slow down"},
    {"json": {"choices": [{"index": 0, "finish_reason": "stop", "message":
              {"role": "assistant", "content": "whole"}}], "usage": USAGE}},
    {"framing": "length", "reply": "len"},
    {"framing": "close", "reply": "close"},
]


def scenarios():
    out = list(RESPONSES)
    d = os.path.join(HERE, "..", "test", "scenarios")
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                s = json.load(f)
            out += s["responses"] if isinstance(s, dict) else s
    return out


def body_of(resp):
    return b"".join(data for data, _ in server.events_of(resp))


def http_of(resp):
    """The bytes test/server.py writes for resp, head and body."""
    status = int(resp.get("status", 200))
    framing = resp.get("framing", "chunked")
    ctype = resp.get("content_type", "application/json" if "json" in resp
                     else "text/event-stream")
    head = ["HTTP/1.1 %d X" % status, "Content-Type: " + ctype]
    evs = [data for data, _ in server.events_of(resp)]
    if framing == "chunked":
        head.append("Transfer-Encoding: chunked")
        body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in evs if e)
        body += b"0\r\n\r\n"
    else:
        body = b"".join(evs)
        if framing == "length":
            head.append("Content-Length: %d" % len(body))
    head += ["%s: %s" % kv for kv in resp.get("headers", {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def write(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    resps = scenarios()
    for i, r in enumerate(resps):
        body = body_of(r)
        write("sse", bytes([i * 7 % 256, 1 + i % 5]) + body)
        for data, _ in server.events_of(r):
            text = data.decode("utf-8", "replace")
            if text.startswith("data:"):
                payload = text[5:].strip().encode("utf-8")
                if payload.startswith(b"{"):
                    write("json", b"\0" + payload)
        if "json" in r:
            write("json", b"\0" + body)
        http = http_of(r)
        write("http", bytes([255, i % 8, i % 8, 5, 40, 90, 200]) + http)
        write("client", bytes([i % 4, 0]) + http)
    # answers that are no reply (a coding, a 204), and URLs with
    # userinfo, which no message may show (fuzz_http.c urls())
    for head in (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                 b"Transfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n"
                 b"0\r\n\r\n",
                 b"HTTP/1.1 204 No Content\r\nContent-Encoding: \x1b[2J\r\n"
                 b"\r\n"):
        write("http", bytes([255, 3, 0, 5, 40, 90, 200]) + head)
    for url in (b"http://user:hunter2@127.0.0.1:99999/v1",
                b"user:hunter2@localhost:8080", b"http://u:p/ss@h:1",
                b"socks5://user:hunter2@h:1"):
        write("http", bytes([255, 3, 0, 5, 40, 90, 200]) + url)
    # two requests: a tool round trip, in auto and manual mode, with hooks
    tool = http_of(RESPONSES[2]) + SEP + http_of(RESPONSES[0])
    for flags in (0x01, 0x00 | 0x40, 0x11, 0x21, 0x09, 0x05):
        write("client", bytes([flags, 0x35]) + tool)
    write("json", b"\x05[1,2,{\"a\":[true,false,null]},\"\\ud83d\\ude00\"]")
    write("json", b"\0\"\\u00e9\\n\\t\\\"\\\\\\/\"")
    write("json", b"\0-0.5e+10")
    write("json", b"\0 99999999999999999999999 ")
    # Deep nesting: at the default depth limit, one past it, far past it
    # (the shape of a hostile event: a deep value after a normal chunk),
    # and with a depth limit of 4 from the option byte.
    for depth in (256, 257):
        write("json", b"\0" + b"[" * depth + b"]" * depth)
    write("json", b"\0" + b'{"a":' * 128 + b"1" + b"}" * 128)
    write("json", b'\0{"choices":[{"index":0,"delta":{"content":"x"}}],'
          b'"junk":' + b"[" * 5000 + b"]" * 5000 + b"}")
    write("json", b"\x83[[[[1]]]]")
    write("json", b'\x83[[["[[[[[["]]],[[{"a":[]}]]]')
    for url in (b"http://localhost:8080/v1", b"https://[::1]:8443/a/b/",
                b"http://h:65535", b"ftp://x", b"http://u@h/"):
        write("config", b"\0" + url)
    write("config", b"\1# settings\nbase_url: http://localhost:11434/v1\n"
          b"model: 'qwen2.5' # comment\napi_key: \"k\\\"ey\"\n"
          b"temperature: 0.7\nmax_tokens: 512\r\nother: x\n")
    write("config", b"\1model \"unterminated\n")
    for i, text in enumerate([
            b"<think>Let me see</think>\n\nThe answer",
            b"</think>answer",
            b"Sure.<tool_call>{\"name\": \"add\", \"arguments\": "
            b"{\"a\": 1}}</tool_call>",
            b"[TOOL_CALLS][{\"name\":\"add\",\"arguments\":{\"a\":2}}]",
            b"[TOOL_CALLS]add[CALL_ID]abc[ARGS]{\"a\":3}",
            b"```json\n{\"name\":\"add\",\"parameters\":{\"a\":4}}\n```",
            b"{'name': 'add', 'arguments': {'a': True, 'b': None,}}",
            b"<tool_call>{\"name\":\"add\",\"arguments\":{\"a\":\"",
            b"plain text with < and [ and {"]):
        flags = (1, 2, 3, 5, 9, 15)[i % 6]
        write("textfilter", bytes([flags, 4, 1 + i]) + text)


if __name__ == "__main__":
    main()
