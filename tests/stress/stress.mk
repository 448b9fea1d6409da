# Stress and fault scenarios: `make stress` (included by the top-level
# Makefile). A few minutes on 2 cores; see tests/stress/run.sh for what each
# scenario checks and the STRESS_* knobs.

STRESS_DIR = $(BUILD)/stress

$(STRESS_DIR)/slowcheck: tests/stress/slowcheck.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

stress: all $(HELPER) $(STRESS_DIR)/slowcheck
	@bash tests/stress/run.sh $(BUILD)

.PHONY: stress
