# openagent -- plain make. Targets:
#   make            the static library, oa and the examples
#   make check      every test, then the same under ASan + UBSan
#   make test       every test, plain build only
#   make asan       every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       oa against the scripted server, no LLM needed
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

LIB_SRC = util.c json.c sse.c http.c config.c tools.c hooks.c openagent.c
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB     = $(BUILD)/libopenagent.a

EXAMPLES = $(BUILD)/oa $(BUILD)/calculator $(BUILD)/manual_tools \
           $(BUILD)/hooks $(BUILD)/interrupt
TESTS    = $(BUILD)/test_json $(BUILD)/test_sse $(BUILD)/test_http \
           $(BUILD)/test_config $(BUILD)/test_tools $(BUILD)/test_client \
           $(BUILD)/test_agent $(BUILD)/test_net

.PHONY: all test check asan demo clean
all: $(LIB) $(EXAMPLES)

$(BUILD)/%.o: %.c openagent.h oa_private.h
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/oa: examples/oa.c $(LIB)
	$(CC) $(ALL_CFLAGS) examples/oa.c $(LIB) $(LDLIBS) -o $@

$(BUILD)/calculator $(BUILD)/manual_tools $(BUILD)/hooks: \
$(BUILD)/%: examples/%.c $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/interrupt: examples/interrupt.c $(LIB)
	$(CC) $(ALL_CFLAGS) -pthread $< $(LIB) $(LDLIBS) -pthread -o $@

$(BUILD)/test_%: test/test_%.c test/test.h $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -pthread -o $@

# The integration tests start test/server.py and run oa and the examples;
# they find them through these variables.
test: $(TESTS) $(EXAMPLES)
	OA_TEST_SERVER=test/server.py OA_BIN=$(BUILD)/oa \
	    OA_EXAMPLES_DIR=$(BUILD) \
	    test/run.sh $(TESTS) test/test_oa.py test/test_examples.py

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

check: test asan

demo: $(BUILD)/oa
	sh test/demo.sh $(BUILD)/oa

clean:
	rm -rf build
