# A single-node Slurm cluster for the Slurm executor's tests (included by the
# top-level Makefile); see tests/slurm/README.md. Needs root on Debian 12.
#
#   make slurm-up       start it (again: a no-op when it is up unchanged)
#   make test-slurm     check it against what the executor relies on
#   make slurm-down     stop it and everything it started
#
# SLURM_WORK is where it lives; SLOTS, PROCTRACK, INACTIVE_LIMIT and
# SLURM_PORT on the command line reach tests/slurm/up.sh as they are.
# Clients find the cluster through SLURM_CONF=$(SLURM_WORK)/slurm.conf.

SLURM_WORK ?= /tmp/corun-slurm

slurm-up:
	@SLURM_WORK=$(SLURM_WORK) bash tests/slurm/up.sh

slurm-down:
	@SLURM_WORK=$(SLURM_WORK) bash tests/slurm/down.sh

# For now the cluster's own checks; the Slurm executor's suite joins them.
test-slurm:
	@SLURM_CONF=$(SLURM_WORK)/slurm.conf bash tests/slurm/selftest.sh

.PHONY: slurm-up slurm-down test-slurm
