# Benchmarks: `make bench` (included by the top-level Makefile).
#
#   make bench                    full run, about 3-5 minutes on 2 cores
#   make bench BENCH_QUICK=1      a fast smoke run (small sizes, one round)
#   make bench BENCH_RUNS=9       more rounds (default 5)
#   make bench-tools              only build the bench programs
#
# Everything is built into $(BUILD)/bench/; see tests/bench/run.sh for what
# is measured and how.

BENCH_DIR   = $(BUILD)/bench
BENCH_TOOLS = $(BENCH_DIR)/ref_spawn $(BENCH_DIR)/ref_pipes \
              $(BENCH_DIR)/bench_measure $(BENCH_DIR)/bench_writer
BENCH_EMBED = $(BENCH_DIR)/embed_cost

$(BENCH_DIR)/ref_spawn: tests/bench/ref_spawn.c
$(BENCH_DIR)/ref_pipes: tests/bench/ref_pipes.c
$(BENCH_DIR)/bench_measure: tests/bench/measure.c
$(BENCH_DIR)/bench_writer: tests/bench/writer.c

$(BENCH_TOOLS):
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(BENCH_EMBED): tests/bench/embed_cost.c $(BUILD)/libcorun.a include/corun.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcorun.a $(DEP_LIBS) $(LDFLAGS)

bench-tools: $(BENCH_TOOLS) $(BENCH_EMBED)

bench: all $(BENCH_TOOLS) $(BENCH_EMBED)
	@env CORUN=$(abspath $(BUILD))/corun BENCH_BIN=$(abspath $(BENCH_DIR)) \
	  BENCH_RUNS=$(BENCH_RUNS) BENCH_QUICK=$(BENCH_QUICK) \
	  bash tests/bench/run.sh

.PHONY: bench bench-tools
