#!/bin/sh
# Install the MCP servers and the conformance suite the MCP tests run
# against into build/npm (never globally), once: a second run finds them
# and does nothing. node@22 brings the Node the conformance suite needs
# (Debian's is 20) into build/npm/node_modules/.bin.
# Usage: sh test/mcp_setup.sh [PREFIX]   (default build/npm)
prefix=${1:-build/npm}
bin=$prefix/node_modules/.bin
pkgs="@modelcontextprotocol/server-everything@2026.8.31
@modelcontextprotocol/server-filesystem@2026.8.31
@modelcontextprotocol/conformance@0.1.16 node@22"
if [ -x "$bin/mcp-server-everything" ] && [ -x "$bin/mcp-server-filesystem" ] &&
   [ -x "$bin/conformance" ] && "$bin/node" --version 2>/dev/null | grep -q '^v22\.'; then
	echo "mcp_setup: servers present in $prefix"
	exit 0
fi
command -v npm >/dev/null || { echo "mcp_setup: npm is missing: apt-get install npm" >&2; exit 1; }
mkdir -p "$prefix" || exit 1
# shellcheck disable=SC2086
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error $pkgs || {
	echo "mcp_setup: npm install into $prefix failed" >&2; exit 1; }
"$bin/node" --version | grep -q '^v22\.' || {
	echo "mcp_setup: $bin/node is not Node 22" >&2; exit 1; }
echo "mcp_setup: installed into $prefix"
