# Fuzzing with libFuzzer (clang from Debian): `make fuzz` runs each target
# for FUZZ_SECONDS; new inputs go to a scratch corpus, crashes to
# tests/fuzz/crash-*. The library is compiled in with the sanitizers.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS    = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(DEP_CFLAGS)
FUZZ_TARGETS  = fuzz_load fuzz_duration fuzz_lines fuzz_writers
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) include/corun.h src/internal.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(DEP_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  seeds=tests/fuzz/seeds/$${t#fuzz_}; corpus=$(BUILD)/fuzz/corpus-$${t#fuzz_}; \
	  mkdir -p $$corpus; \
	  echo "== $$t for $(FUZZ_SECONDS)s"; \
	  if ! $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	      -artifact_prefix=tests/fuzz/ -print_final_stats=1 $$corpus $$seeds \
	      > $(BUILD)/fuzz/$$t.log 2>&1; then \
	    tail -40 $(BUILD)/fuzz/$$t.log; exit 1; \
	  fi; \
	  grep -E 'stat::number_of_executed_units|stat::new_units_added|^Done' $(BUILD)/fuzz/$$t.log; \
	done

.PHONY: fuzz fuzz-build
