#!/bin/sh
# demo.sh -- oa against the scripted server: watch a reply stream in, no
# model needed. The server plays back two recorded llama.cpp-style replies
# (test/scenarios/demo.json), one per request.
#
# Usage: sh test/demo.sh path/to/oa
set -e
OA=${1:-build/oa}
DIR=$(dirname "$0")
TMP=$(mktemp -d)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$DIR/server.py" "$DIR/scenarios/demo.json" --max-seconds 30 \
	>"$TMP/port" &
PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ "$i" -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
URL="http://127.0.0.1:$(head -n 1 "$TMP/port")/v1"

echo "openagent demo: oa talks to a scripted OpenAI-compatible server at"
echo "$URL that replays a recorded llama.cpp stream."
echo
echo "\$ oa --model qwen2.5 \"What is openagent?\""
"$OA" --base-url "$URL" --model qwen2.5 "What is openagent?" </dev/null
echo
echo "The same stream as blocks, the way programs read it:"
echo "\$ oa --jsonl --model qwen2.5 \"How small is it?\""
"$OA" --jsonl --base-url "$URL" --model qwen2.5 "How small is it?" </dev/null
