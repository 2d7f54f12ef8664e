#!/bin/sh
# Join the library into two files for vendoring: OUT/openagent.h (the
# public header as it is) and OUT/openagent.c (oa_private.h once, then
# every source given, in the order given, which is dependency order).
# OA_PRIVATE becomes static, so only the oa_ public functions are left
# with external linkage. Local includes are blanked rather than deleted,
# so each file keeps its own line numbers and one #line per file (behind
# OA_AMALGAMATION_LINES) points a compiler error at the split source; the
# #endif after it shares a line with the "/*" every file opens with.
# Usage: tools/amalgamate.sh OUT SOURCE.c...
set -e
[ $# -ge 2 ] || { echo "usage: $0 OUT SOURCE.c..." >&2; exit 2; }
out=$1; shift
version=$(sed -n 's/^#define OA_VERSION "\(.*\)"/\1/p' openagent.h)
commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
[ -n "$commit" ] || commit=unknown
mkdir -p "$out"

# Replace an include of the library's own headers by an empty comment.
strip() {
	sed -e 's,^#include "openagent\.h".*,/* #include "openagent.h" */,' \
	    -e 's,^#include "oa_private\.h".*,/* #include "oa_private.h" */,' "$1"
}

{
	cat <<HEAD
/*
 * openagent.c -- openagent $version in one file (source commit $commit),
 * made by tools/amalgamate.sh from oa_private.h and the library's .c
 * files, each after a "==== NAME ====" line. Edit those, not this.
 *
 * Needs openagent.h beside it, jsmn.h (Debian's libjsmn-dev, jsmn 1.1.0)
 * on the include path and, unless built with -DOA_NO_TLS, BearSSL
 * (libbearssl-dev):
 *     cc -std=c99 -O2 -c openagent.c && cc prog.c openagent.o -lbearssl
 *     cc -std=c99 -O2 -DOA_NO_TLS -c openagent.c    (http:// only)
 * Define OA_AMALGAMATION_LINES to have errors and debuggers point at the
 * split sources instead of this file.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define OA_PRIVATE static
#include "openagent.h"
HEAD
	for f in oa_private.h "$@"; do
		if [ "$(head -c 2 "$f")" != "/*" ]; then
			echo "$f: must open with its comment" >&2
			exit 1
		fi
		printf '\n/* ==== %s ==== */\n#ifdef OA_AMALGAMATION_LINES\n' "$f"
		printf '#line 1 "%s"\n#endif ' "$f"
		strip "$f"
	done
} >"$out/openagent.c.tmp"
mv "$out/openagent.c.tmp" "$out/openagent.c"
cp openagent.h "$out/openagent.h"
