#!/bin/sh
# Join the library into two files for vendoring: OUT/openagent.h (the
# public header as it is) and OUT/openagent.c (oa_private.h once, then
# every source given, in the order given, which is dependency order).
#
#   tools/amalgamate.sh OUT CORE.c... [-- MODULE.c... modules.c]
#
# Without "--" the result is the core alone: it ends with the module
# table, empty, and needs only libc, POSIX and jsmn.h. After "--" come
# the modules (oa_modules.h is joined in before them), each inside
# #ifndef OA_NO_NAME so that one -D flag leaves it out, as modules.c
# expects.
# OA_PRIVATE becomes static, so only the oa_ public functions are left
# with external linkage. Local includes are blanked rather than deleted,
# so each file keeps its own line numbers and one #line per file (behind
# OA_AMALGAMATION_LINES) points a compiler error at the split source; the
# #endif after it shares a line with the "/*" every file opens with.
set -e
[ $# -ge 2 ] || {
	echo "usage: $0 OUT CORE.c... [-- MODULE.c...]" >&2
	exit 2
}
out=$1; shift
version=$(sed -n 's/^#define OA_VERSION "\(.*\)"/\1/p' openagent.h)
commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
[ -n "$commit" ] || commit=unknown
mkdir -p "$out"
case " $* " in
*" -- "*) what="the whole library: the core and every module" ;;
*) what="the core alone: no module, http:// only" ;;
esac

# Replace an include of the library's own headers by an empty comment,
# and so a system header the core has included already (one file, one
# translation unit: each header once). With record set, the file is core
# and its system headers are noted in $seen; a module's are not, since
# its -D flag may leave it out.
seen=$out/.includes.tmp
: >"$seen"
strip() {
	sed -e 's,^#include "openagent\.h".*,/* #include "openagent.h" */,' \
	    -e 's,^#include "oa_private\.h".*,/* #include "oa_private.h" */,' \
	    -e 's,^#include "oa_modules\.h".*,/* #include "oa_modules.h" */,' \
	    "$1" |
	awk -v seen="$seen" -v record="$2" '
		BEGIN { while ((getline l < seen) > 0) had[l] = 1 }
		/^#include </ {
			if ($0 in had) { print "/* " $0 " (above) */"; next }
			if (record) print >> seen
		}
		{ print }'
}

# One file, after its "==== NAME ====" line.
emit() {
	if [ "$(head -c 2 "$1")" != "/*" ]; then
		echo "$1: must open with its comment" >&2
		exit 1
	fi
	printf '\n/* ==== %s ==== */\n' "$1"
	[ -n "$2" ] && printf '#ifndef %s\n' "$2"
	printf '#ifdef OA_AMALGAMATION_LINES\n#line 1 "%s"\n#endif ' "$1"
	strip "$1" "$([ -z "$2" ] && echo yes)"
	[ -n "$2" ] && printf '#endif /* %s */\n' "$2"
	return 0
}

{
	cat <<HEAD
/*
 * openagent.c -- openagent $version in one file (source commit $commit):
 * $what.
 * Made by tools/amalgamate.sh from oa_private.h and the library's .c
 * files, each after a "==== NAME ====" line. Edit those, not this.
 *
 * Needs openagent.h beside it and jsmn.h (Debian's libjsmn-dev, jsmn
 * 1.1.0) on the include path; the whole library also needs BearSSL
 * (libbearssl-dev) unless built with -DOA_NO_TLS:
 *     cc -std=c99 -O2 -c openagent.c && cc prog.c openagent.o -lbearssl
 *     cc -std=c99 -O2 -DOA_NO_TLS -c openagent.c    (http:// only)
 * Define OA_AMALGAMATION_LINES to have errors and debuggers point at the
 * split sources instead of this file.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define OA_PRIVATE static
#define OA_PRIVATE_DATA static
#include "openagent.h"
HEAD
	emit oa_private.h
	modules=""
	for f in "$@"; do
		if [ "$f" = "--" ]; then
			modules=yes
			emit oa_modules.h
			continue
		fi
		flag=""
		if [ -n "$modules" ] && [ "$f" != modules.c ]; then
			flag=OA_NO_$(basename "$f" .c | tr a-z A-Z)
		fi
		emit "$f" "$flag"
	done
	if [ -z "$modules" ]; then
		printf '\n/* ==== no modules ==== */\n'
		printf 'OA_PRIVATE const struct oa__modules oa__modules = '
		printf '{0};\n'
	fi
} >"$out/openagent.c.tmp"
mv "$out/openagent.c.tmp" "$out/openagent.c"
rm -f "$seen"
cp openagent.h "$out/openagent.h"
