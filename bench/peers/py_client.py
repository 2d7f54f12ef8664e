"""The Python standard-library client: http.client, one json.loads per
event, nothing else. Any Python SDK does at least this much work per
chunk, so it is a lower bound on their cost.

    py_client.py text|args|tools BASE_URL

Prints what consumer.c prints: the reply text; the arguments of the one
tool call; or "NAME ARGS" per call (an "add" tool is run and its result
sent back, over one kept-alive connection) and then the text.
"""
import http.client
import json
import sys
import urllib.parse

TOOLS = {
    "tools": [{"type": "function", "function": {
        "name": "add", "description": "Add two integers.",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"]}}}],
    "args": [{"type": "function", "function": {
        "name": "write_file", "description": "Write a text file.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"]}}}],
}


def turn(conn, path, body, out):
    """One streamed reply: print its text, return its tool calls."""
    conn.request("POST", path, json.dumps(body),
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit("py_client: HTTP %d: %r" % (resp.status, resp.read()[:200]))
    calls = {}
    for line in resp:
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        ev = json.loads(data)
        for ch in ev.get("choices") or ():
            d = ch.get("delta") or {}
            if d.get("content"):
                out.write(d["content"].encode())
            for tc in d.get("tool_calls") or ():
                c = calls.setdefault(tc.get("index", 0),
                                     {"id": "", "name": "", "args": []})
                fn = tc.get("function") or {}
                c["id"] = c["id"] or tc.get("id") or ""
                c["name"] = c["name"] or fn.get("name") or ""
                if fn.get("arguments"):
                    c["args"].append(fn["arguments"])
    resp.read()  # the rest of the body, so the connection can be reused
    return [dict(c, args="".join(c["args"])) for _, c in sorted(calls.items())]


def main():
    mode, base = sys.argv[1], sys.argv[2]
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    path = u.path.rstrip("/") + "/chat/completions"
    out = sys.stdout.buffer
    messages = [{"role": "user", "content": "Write a long answer."}]
    while True:
        body = {"model": "qwen2.5-7b-instruct-q4_k_m", "messages": messages,
                "stream": True}
        if mode in TOOLS:
            body["tools"] = TOOLS[mode]
        calls = turn(conn, path, body, out)
        if mode == "args":
            out.write(calls[0]["args"].encode())
        if mode != "tools" or not calls:
            break
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["args"]}}
            for c in calls]})
        for c in calls:
            out.write(("%s %s\n" % (c["name"], c["args"])).encode())
            a = json.loads(c["args"])
            messages.append({"role": "tool", "tool_call_id": c["id"],
                             "content": str(a["a"] + a["b"])})
    out.flush()


main()
