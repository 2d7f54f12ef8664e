# openagent -- plain make. Targets:
#   make            the static library, oa and the examples
#   make examples   oa and the example programs only (into build/)
#   make check      every test, then the same under ASan + UBSan
#   make test       every test, plain build only
#   make test-mcp   install the npm MCP servers, run the MCP tests only
#   make asan       every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       oa against the scripted server, no LLM needed
#   make docs       rewrite docs/api.md from openagent.h
#   make fuzz       each fuzz target for FUZZ_TIME seconds (clang, libFuzzer)
#   make tsan       the load test under ThreadSanitizer (clang)
#   make amalgamation  dist/openagent.h and dist/openagent.c, for vendoring
#   make static     build/static/oa, fully static (musl, BearSSL linked in)
#   make shared     build/libopenagent.so.VERSION, exporting only oa_*
#   make install    header, libraries, openagent.pc, oa, oa.1 under
#                   DESTDIR/PREFIX (/usr/local); make uninstall removes them
#   make symbols    fail on any exported symbol not named oa_*
#   make lint       cppcheck and clang-tidy (.clang-tidy) on the library
#   make portable   library and examples with gcc and clang, c99 and c11
#   make fmt        clang-format a file in place: make fmt FILES=x.c
#   make clean

VERSION := $(shell sed -n 's/^\#define OA_VERSION "\(.*\)"/\1/p' openagent.h)

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla
CFLAGS  ?=
# make OA_NO_TLS=1: http:// only, no BearSSL (https:// fails at oa_init).
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) $(SAN) $(CFLAGS) -I. \
             $(if $(OA_NO_TLS),-DOA_NO_TLS) $(if $(CORE),$(CORE_FLAGS))
LDLIBS  = $(if $(OA_NO_TLS)$(CORE),,-lbearssl)

# The core: what one streamed turn with tools needs, in dependency order
# (the amalgamation keeps it). The modules are optional; the core reaches
# the first four through the table in modules.c, which comes last.
# make OA_NO_TLS=1 leaves tls.c (and BearSSL) out.
CORE_SRC = util.c json.c sse.c net.c http.c tools.c hooks.c request.c \
           stream.c toolcalls.c openagent.c
MOD_SRC  = $(if $(OA_NO_TLS),,tls.c) proxy.c trace.c textfilter.c fields.c \
           retry.c shorthand.c jsonreuse.c context.c config.c \
           images.c models.c mcp.c
# make CORE=1: the core without the modules it reaches through modules.c
# (the ones on top of it, which change nothing in it, stay for the tests).
CORE_FLAGS = -DOA_NO_TLS -DOA_NO_PROXY -DOA_NO_TRACE -DOA_NO_TEXTFILTER \
             -DOA_NO_FIELDS -DOA_NO_RETRY -DOA_NO_SHORTHAND \
             -DOA_NO_JSONREUSE
TOP_SRC  = context.c config.c images.c models.c
LIB_SRC  = $(CORE_SRC) $(if $(CORE),$(TOP_SRC),$(MOD_SRC)) modules.c
HEADERS  = openagent.h oa_private.h oa_modules.h
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB     = $(BUILD)/libopenagent.a

EXAMPLES = $(BUILD)/oa $(BUILD)/calculator $(BUILD)/manual_tools \
           $(BUILD)/hooks $(BUILD)/interrupt $(BUILD)/context \
           $(BUILD)/log_analyzer_agent $(BUILD)/git_commit_agent \
           $(BUILD)/simple_query $(BUILD)/config_env $(BUILD)/chat \
           $(BUILD)/mcp_agent
TESTS    = $(BUILD)/test_json $(BUILD)/test_sse $(BUILD)/test_http \
           $(BUILD)/test_config $(BUILD)/test_tools $(BUILD)/test_client \
           $(BUILD)/test_agent $(BUILD)/test_net $(BUILD)/test_textfilter \
           $(BUILD)/test_context $(BUILD)/test_faults $(BUILD)/test_load \
           $(BUILD)/test_mcp
# Fuzz targets; built with -DMAIN each replays its corpus as a test.
FUZZ     = sse json http config textfilter client
FUZZ_SRC_textfilter = util.c json.c
FUZZ_SRC_client = $(LIB_SRC)
REPLAY   = $(FUZZ:%=$(BUILD)/fuzz_%)

.PHONY: all examples test check asan demo clean fuzz tsan
all: $(LIB) $(EXAMPLES)
examples: $(EXAMPLES)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

OA_SRC = examples/oa.c examples/oa_out.c examples/oa_tools.c \
         examples/oa_chat.c examples/oa_mcp.c
$(BUILD)/oa: $(OA_SRC) examples/oa.h $(LIB)
	$(CC) $(ALL_CFLAGS) $(OA_SRC) $(LIB) $(LDLIBS) -o $@

$(BUILD)/calculator $(BUILD)/manual_tools $(BUILD)/hooks $(BUILD)/context \
$(BUILD)/log_analyzer_agent $(BUILD)/git_commit_agent \
$(BUILD)/simple_query $(BUILD)/config_env $(BUILD)/chat $(BUILD)/mcp_agent: \
$(BUILD)/%: examples/%.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/interrupt: examples/interrupt.c $(LIB)
	$(CC) $(ALL_CFLAGS) -pthread $< $(LIB) $(LDLIBS) -pthread -o $@

# The MCP client command the tests and the conformance suite run.
$(BUILD)/mcp_client: test/mcp_client.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/test_%: test/test_%.c test/test.h test/harness.h $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -pthread -o $@

# The integration tests start test/server.py and run oa and the examples;
# they find them through these variables. test_package builds and runs
# each packaged form (make amalgamation, install, static), so it runs in
# the plain build only.
# CORE_TESTS run a second time against the core alone (make CORE=1):
# the tests of a left-out module then check that oa_init refuses its
# options by name (CHECK_INIT_MODULE in test/test.h). The amalgamation
# is made first: test_docs checks the files docs/READING.md names, and
# dist/core/openagent.c is one of them.
CORE_TESTS = json sse http tools client agent faults context load
test: $(TESTS) $(REPLAY) $(EXAMPLES) $(BUILD)/mcp_client dist/openagent.c \
      $(if $(CORE),,test-core)
	OA_TEST_SERVER=test/server.py OA_BIN=$(BUILD)/oa \
	    OA_EXAMPLES_DIR=$(BUILD) \
	    test/run.sh $(TESTS) $(REPLAY) test/test_oa.py test/test_examples.py \
	    test/test_log_agent.py test/test_git_agent.py test/test_docs.py \
	    test/test_mcp.py test/test_security_md.py test/test_oa_chat.py \
	    $(if $(SAN),,test/test_package.py)

# make test-mcp: install the npm MCP servers and the conformance suite
# into build/npm (test/mcp_setup.sh, once), then run the MCP tests only.
# make test runs them too; without the servers they fail under CI=true.
.PHONY: test-mcp
test-mcp: $(BUILD)/test_mcp $(BUILD)/mcp_client $(BUILD)/mcp_agent \
          $(BUILD)/oa
	sh test/mcp_setup.sh
	OA_TEST_SERVER=test/server.py OA_BIN=$(BUILD)/oa \
	    OA_EXAMPLES_DIR=$(BUILD) \
	    test/run.sh $(BUILD)/test_mcp test/test_mcp.py

.PHONY: test-core
test-core:
	$(MAKE) BUILD=$(BUILD)/core CORE=1 $(CORE_TESTS:%=$(BUILD)/core/test_%)
	OA_TEST_SERVER=test/server.py test/run.sh \
	    $(CORE_TESTS:%=$(BUILD)/core/test_%)

# make docs: rewrite docs/api.md from openagent.h (test_docs fails while
# it is stale).
.PHONY: docs
docs:
	python3 docs/gen_api.py

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRC) $(HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -DMAIN $< $(FUZZ_SRC_$*) $(LDLIBS) -pthread -o $@

# make fuzz: libFuzzer with ASan + UBSan, FUZZ_TIME seconds per target,
# new inputs kept in build/fuzz/corpus-NAME, crashes in build/fuzz/crash-
# NAME (keep one as fuzz/regressions/NAME/ once fixed).
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_FLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) -I. \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRC) $(HEADERS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_SRC_$*) $(LDLIBS) -pthread -o $@

# One rule per target, so make -j2 -k fuzz runs two at once, each on a
# core, and reports every target even when one fails.
.PHONY: $(FUZZ:%=fuzz-%)
fuzz: $(FUZZ:%=fuzz-%)
$(FUZZ:%=fuzz-%): fuzz-%: build/fuzz/%
	@mkdir -p build/fuzz/corpus-$* build/fuzz/crash-$*
	@build/fuzz/$* -max_total_time=$(FUZZ_TIME) -max_len=16384 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/crash-$*/ \
	    build/fuzz/corpus-$* fuzz/corpus/$* >build/fuzz/$*.log 2>&1; \
	rc=$$?; \
	n=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    build/fuzz/$*.log); \
	echo "fuzz $*: $${n:-0} executions in $(FUZZ_TIME) s, exit $$rc"; \
	if [ $$rc -ne 0 ]; then tail -n 40 build/fuzz/$*.log; exit 1; fi

# make tsan: the load test, shorter, under ThreadSanitizer.
TSAN_CONVERSATIONS ?= 20
tsan:
	$(MAKE) BUILD=build/tsan CC=clang OPT="-O1 -g" SAN=-fsanitize=thread \
	    build/tsan/test_load
	TSAN_OPTIONS=halt_on_error=1 \
	    OA_LOAD_CONVERSATIONS=$(TSAN_CONVERSATIONS) build/tsan/test_load

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

check: test asan

demo: $(BUILD)/oa
	sh test/demo.sh $(BUILD)/oa

clean:
	rm -rf build dist

# ------------------------------------------------------------- packaging

# make amalgamation: the two files to vendor (see tools/amalgamate.sh).
.PHONY: amalgamation static shared install uninstall symbols lint portable \
        fmt
amalgamation: dist/openagent.c
dist/openagent.c: tools/amalgamate.sh $(HEADERS) $(LIB_SRC)
	sh tools/amalgamate.sh dist $(CORE_SRC) -- $(MOD_SRC) modules.c
	sh tools/amalgamate.sh dist/core $(CORE_SRC)

# make static: build/static/oa, one static, stripped binary that needs no
# shared library at all; make static OA_NO_TLS=1: build/static-notls/oa.
# musl-gcc searches only musl's headers, so jsmn.h and BearSSL's come in
# through a directory holding just them (adding -I/usr/include would
# mix glibc's headers in). Debian's libbearssl.a is built for glibc with
# _FORTIFY_SOURCE: tools/musl_fortify.c supplies the three checks it
# calls that musl lacks.
STATIC_CC ?= musl-gcc
SYSINC    ?= /usr/include
STATIC     = build/static$(if $(OA_NO_TLS),-notls)
STATIC_LD  = -static -s -Wl,--gc-sections -Wl,--build-id=none \
             -Wl,-z,norelro -Wl,-z,noseparate-code
static:
	@mkdir -p $(STATIC)/include
	ln -sf $(SYSINC)/jsmn.h $(if $(OA_NO_TLS),,$(SYSINC)/bearssl.h \
	    $(SYSINC)/bearssl) $(STATIC)/include/
	$(MAKE) BUILD=$(STATIC) CC=$(STATIC_CC) \
	    OPT="-Os -fno-asynchronous-unwind-tables" \
	    CFLAGS="-I$(STATIC)/include -ffunction-sections -fdata-sections" \
	    LDLIBS="$(if $(OA_NO_TLS),,tools/musl_fortify.c \
	        $$($(CC) -print-file-name=libbearssl.a)) $(STATIC_LD)" \
	    $(STATIC)/oa
	@echo "$(STATIC)/oa: $$(wc -c <$(STATIC)/oa) bytes"

# make shared: the shared library, named for the version, with the major
# version as its SONAME. OA_PRIVATE, which the amalgamation turns into
# static, here makes the oa__ internals hidden, so only the oa_ functions
# of openagent.h are exported (make symbols checks it). That keeps the
# public header free of export macros and needs no list to maintain.
SONAME   = libopenagent.so.$(firstword $(subst ., ,$(VERSION)))
SHLIB    = $(BUILD)/libopenagent.so.$(VERSION)
PIC_OBJ  = $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
shared: $(SHLIB)
$(BUILD)/pic/%.o: %.c $(HEADERS)
	@mkdir -p $(BUILD)/pic
	$(CC) $(ALL_CFLAGS) -fPIC \
	    -D'OA_PRIVATE=__attribute__((visibility("hidden")))' -c $< -o $@
$(SHLIB): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) $(PIC_OBJ) $(LDLIBS) \
	    -o $@

# make symbols: the objects of the static library define no global name
# outside oa_ (the oa__ internals included), and the shared library
# exports only the public oa_ names.
symbols: $(LIB) $(SHLIB)
	@bad=$$(nm -g --defined-only $(LIB_OBJ) | \
	    awk 'NF == 3 && $$3 !~ /^oa_/ { print $$3 }'; \
	    nm -D --defined-only $(SHLIB) | \
	    awk 'NF == 3 && ($$3 !~ /^oa_/ || $$3 ~ /^oa__/) { print $$3 }'); \
	if [ -n "$$bad" ]; then echo "symbols: exported:" $$bad; exit 1; fi; \
	echo "symbols: $$(nm -D --defined-only $(SHLIB) | grep -c ' T oa_') \
	exported, all oa_"

# make install / uninstall. DESTDIR is prepended to every path, for
# staging and packaging; PREFIX is what openagent.pc records.
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
install: $(LIB) $(SHLIB) $(BUILD)/oa
	mkdir -p $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp openagent.h $(DESTDIR)$(INCDIR)/
	cp $(LIB) $(DESTDIR)$(LIBDIR)/
	cp $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libopenagent.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libopenagent.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LDLIBS)|' openagent.pc.in \
	    >$(DESTDIR)$(LIBDIR)/pkgconfig/openagent.pc
	cp $(BUILD)/oa $(DESTDIR)$(BINDIR)/
	cp oa.1 $(DESTDIR)$(MANDIR)/man1/
uninstall:
	rm -f $(DESTDIR)$(INCDIR)/openagent.h \
	    $(DESTDIR)$(LIBDIR)/libopenagent.a \
	    $(DESTDIR)$(LIBDIR)/libopenagent.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libopenagent.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/openagent.pc \
	    $(DESTDIR)$(BINDIR)/oa $(DESTDIR)$(MANDIR)/man1/oa.1

# make lint: cppcheck, then the clang-tidy checks listed in .clang-tidy,
# on the library sources, two files at a time; any finding fails.
# autoVariables is off for hooks.c, whose run() lends a hook the
# address of a local oa_client only for the duration of the call.
lint:
	cppcheck --quiet --error-exitcode=1 --std=c99 \
	    --enable=warning,portability --suppress=autoVariables:hooks.c \
	    -D_POSIX_C_SOURCE=200809L -I. $(LIB_SRC)
	printf '%s\n' $(LIB_SRC) | xargs -P2 -I{} clang-tidy --quiet {} -- \
	    -std=c99 -D_POSIX_C_SOURCE=200809L -I.

# make portable: the library, the shared library, the examples and the
# amalgamation with gcc and clang, as C99 and C11, -Wpedantic on top of
# the usual warnings; each in its own build directory.
portable: dist/openagent.c
	@for cc in gcc clang; do for std in c99 c11; do \
	    b=build/$$cc-$$std; echo "portable: $$cc -std=$$std"; \
	    $(MAKE) -s BUILD=$$b CC=$$cc CFLAGS="-std=$$std -Wpedantic" \
	        all shared || exit 1; \
	    for d in '' -DOA_NO_TLS; do \
	        $$cc -std=$$std -pedantic -Wall -Wextra -Werror $$d \
	            -c dist/openagent.c -o $$b/amalgamation.o || exit 1; \
	    done; \
	done; done

# make fmt FILES="a.c b.h": apply .clang-format to those files.
FILES ?=
fmt:
	@[ -n "$(FILES)" ] || { echo "make fmt FILES=\"file.c ...\""; exit 2; }
	clang-format -i $(FILES)

# make bench: the benchmark (bench/run.py writes bench/RESULTS.md; about
# ten minutes on 2 cores). Never part of test or check. BASELINE=REV
# also runs commit REV's C consumer and JSON reader, for ratios.
BASELINE ?=
.PHONY: bench
bench: $(BUILD)/oa $(BUILD)/bench_server $(BUILD)/bench_runstat \
       $(BUILD)/bench_consumer $(BUILD)/bench_jsondepth \
       $(BUILD)/log_analyzer_agent
	python3 bench/run.py --build $(BUILD) \
	    $(if $(BASELINE),--baseline $(BASELINE))
	python3 bench/logmem.py --build $(BUILD)

$(BUILD)/bench_server $(BUILD)/bench_runstat: $(BUILD)/bench_%: bench/%.c
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@

$(BUILD)/bench_consumer $(BUILD)/bench_jsondepth: \
$(BUILD)/bench_%: bench/%.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@
