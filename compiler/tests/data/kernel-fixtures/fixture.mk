# A stand-in for a kernel build tree, for stapkit's feature-probe tests.
#
# `make -C vX.Y M=DIR [-k] [-jN] NAME.o ...` compiles DIR/NAME.c the way
# kbuild's single-object targets do, with kbuild-like strictness and the
# ccflags-y of DIR/Kbuild, against include/: stub headers declaring the
# kernel API of version FIXTURE_VERSION (set by each vX.Y/Makefile).
# Only what feature probes and runtime-c/core/compat.h touch is declared.

MAKEFLAGS += --no-builtin-rules --no-builtin-variables
CC := gcc
FIXTURE := $(abspath $(CURDIR)/..)
include $(M)/Kbuild
src := $(M)
CFLAGS := -std=gnu11 -O2 -Wall -Wmissing-prototypes -Wstrict-prototypes -Werror=implicit-function-declaration \
	-Werror=incompatible-pointer-types -nostdinc -I$(FIXTURE)/include -DSTP_FIXTURE_VERSION=$(FIXTURE_VERSION) -D__KERNEL__ -DMODULE

$(M)/Kbuild: ;

%.o: FORCE
	$(CC) $(CFLAGS) $(ccflags-y) -c $(M)/$*.c -o $(M)/$*.o

modules:
	@echo "the fixture builds single objects only" >&2; exit 1

FORCE:
.PHONY: FORCE modules
