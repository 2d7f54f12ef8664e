#!/bin/sh
# Install what building and testing openagent needs on Debian or Ubuntu:
# a C compiler, make, Python 3 (the scripted test server), jsmn.h,
# BearSSL, openssl and tmux.
# Installs only what is missing; as root directly, otherwise through sudo
# when it is there; else prints the exact command to run.
set -e
missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -f /usr/include/jsmn.h ] || missing="$missing libjsmn-dev"
# BearSSL for https:// (not needed for make OA_NO_TLS=1); openssl makes
# the certificates of the TLS tests.
[ -f /usr/include/bearssl.h ] || missing="$missing libbearssl-dev"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
# tmux runs oa's chat in a real terminal for its test.
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
for pkg in $EXTRA_PACKAGES; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
	apt-get update -qq && $cmd
elif command -v sudo >/dev/null 2>&1; then
	echo "deps.sh: installing$missing with sudo" >&2
	sudo apt-get update -qq && sudo $cmd
else
	echo "deps.sh: missing$missing; install them with:" >&2
	echo "    apt-get update && $cmd" >&2
	exit 1
fi
