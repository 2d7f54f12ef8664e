# openagent -- plain make. Targets:
#   make            the static library, oa and the examples
#   make check      every test, then the same under ASan + UBSan
#   make test       every test, plain build only
#   make asan       every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       oa against the scripted server, no LLM needed
#   make fuzz       each fuzz target for FUZZ_TIME seconds (clang, libFuzzer)
#   make tsan       the load test under ThreadSanitizer (clang)
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
             $(if $(OA_NO_TLS),-DOA_NO_TLS)
LDLIBS  = $(if $(OA_NO_TLS),,-lbearssl)

LIB_SRC = util.c json.c sse.c http.c config.c tools.c hooks.c openagent.c \
          textfilter.c context.c
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB     = $(BUILD)/libopenagent.a

EXAMPLES = $(BUILD)/oa $(BUILD)/calculator $(BUILD)/manual_tools \
           $(BUILD)/hooks $(BUILD)/interrupt $(BUILD)/context \
           $(BUILD)/log_analyzer_agent $(BUILD)/git_commit_agent
TESTS    = $(BUILD)/test_json $(BUILD)/test_sse $(BUILD)/test_http \
           $(BUILD)/test_config $(BUILD)/test_tools $(BUILD)/test_client \
           $(BUILD)/test_agent $(BUILD)/test_net $(BUILD)/test_textfilter \
           $(BUILD)/test_context $(BUILD)/test_faults $(BUILD)/test_load
# Fuzz targets; built with -DMAIN each replays its corpus as a test.
FUZZ     = sse json http config textfilter client
FUZZ_SRC_textfilter = util.c json.c
FUZZ_SRC_client = $(LIB_SRC)
REPLAY   = $(FUZZ:%=$(BUILD)/fuzz_%)

.PHONY: all test check asan demo clean fuzz tsan
all: $(LIB) $(EXAMPLES)

$(BUILD)/%.o: %.c openagent.h oa_private.h
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/oa: examples/oa.c $(LIB)
	$(CC) $(ALL_CFLAGS) examples/oa.c $(LIB) $(LDLIBS) -o $@

$(BUILD)/calculator $(BUILD)/manual_tools $(BUILD)/hooks $(BUILD)/context \
$(BUILD)/log_analyzer_agent $(BUILD)/git_commit_agent: \
$(BUILD)/%: examples/%.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/interrupt: examples/interrupt.c $(LIB)
	$(CC) $(ALL_CFLAGS) -pthread $< $(LIB) $(LDLIBS) -pthread -o $@

$(BUILD)/test_%: test/test_%.c test/test.h $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -pthread -o $@

# The integration tests start test/server.py and run oa and the examples;
# they find them through these variables.
test: $(TESTS) $(REPLAY) $(EXAMPLES)
	OA_TEST_SERVER=test/server.py OA_BIN=$(BUILD)/oa \
	    OA_EXAMPLES_DIR=$(BUILD) \
	    test/run.sh $(TESTS) $(REPLAY) test/test_oa.py test/test_examples.py \
	    test/test_log_agent.py test/test_git_agent.py

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRC) openagent.h oa_private.h
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -DMAIN $< $(FUZZ_SRC_$*) $(LDLIBS) -pthread -o $@

# make fuzz: libFuzzer with ASan + UBSan, FUZZ_TIME seconds per target,
# new inputs kept in build/fuzz/corpus-NAME, crashes in build/fuzz/crash-
# NAME (keep one as fuzz/regressions/NAME/ once fixed).
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_FLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) -I. \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRC) openagent.h oa_private.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_SRC_$*) $(LDLIBS) -pthread -o $@

fuzz: $(FUZZ:%=build/fuzz/%)
	@st=0; for t in $(FUZZ); do \
	    mkdir -p build/fuzz/corpus-$$t build/fuzz/crash-$$t; \
	    build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -max_len=16384 \
	        -print_final_stats=1 -artifact_prefix=build/fuzz/crash-$$t/ \
	        build/fuzz/corpus-$$t fuzz/corpus/$$t >build/fuzz/$$t.log 2>&1; \
	    rc=$$?; \
	    n=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	        build/fuzz/$$t.log); \
	    echo "fuzz $$t: $${n:-0} executions in $(FUZZ_TIME) s, exit $$rc"; \
	    if [ $$rc -ne 0 ]; then tail -n 40 build/fuzz/$$t.log; st=1; fi; \
	done; exit $$st

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
	rm -rf build

# make bench: the benchmark (bench/run.py writes bench/RESULTS.md; about
# ten minutes on 2 cores). Never part of test or check.
.PHONY: bench
bench: $(BUILD)/oa $(BUILD)/bench_server $(BUILD)/bench_runstat \
       $(BUILD)/bench_consumer
	python3 bench/run.py --build $(BUILD)

$(BUILD)/bench_server $(BUILD)/bench_runstat: $(BUILD)/bench_%: bench/%.c
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@

$(BUILD)/bench_consumer: bench/consumer.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@
