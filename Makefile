# weft: one flat Makefile. `make V=1` shows the commands.
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS_COMMON := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Iinclude -Iagent -Itests -I$(BUILD) -MMD -MP
CFLAGS ?=
LDLIBS := -lbpf -lelf -lz -lyaml -lcurl -ljson-c -lmnl
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# The version of the programs (agent/lib/version.c): the release in VERSION;
# in a git checkout `git describe --tags --always --dirty` says where this
# tree is (a tagged release: v0.3.0-4-gabc1234; before the first tag the
# release plus the commit: 0.3.0-gdeefc68). The image tag reads VERSION too.
WEFT_RELEASE := $(or $(shell cat VERSION 2>/dev/null),0.0.0)
WEFT_GIT := $(shell git describe --tags --always --dirty 2>/dev/null)
WEFT_TAGGED := $(shell git describe --tags 2>/dev/null)
WEFT_VERSION := $(if $(WEFT_TAGGED),$(WEFT_GIT),$(if $(WEFT_GIT),$(WEFT_RELEASE)-g$(WEFT_GIT),$(WEFT_RELEASE)))

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ibpf -I$(BUILD)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))

# The agent, by room (see README.md, Layout): each folder of agent/ but the
# two programs' own becomes one archive, so each program links only what it uses.
AGENT_ROOMS := lib model source reconcile datapath serve
room_srcs = $(wildcard agent/$(1)/*.c agent/$(1)/*/*.c)
AGENT_SRCS := $(foreach r,$(AGENT_ROOMS),$(call room_srcs,$(r)))
WEFTD_SRCS := $(wildcard agent/weftd/*.c)
CLI_SRCS := $(wildcard agent/cli/*.c)
TEST_SRCS := $(wildcard tests/*.c tests/unit/*.c tests/bpf/*.c tests/e2e/*.c tests/cli/*.c)
# The CLI's commands are tested in-process (tests/cli): its files but main.
CLI_LIB_SRCS := $(filter-out agent/cli/main.c,$(CLI_SRCS))
# BPF programs only tests load (tests/*/NAME.bpf.c -> $(BUILD)/NAME.skel.h).
TEST_SKELS := $(patsubst %.bpf.c,$(BUILD)/%.skel.h,$(notdir $(wildcard tests/*/*.bpf.c)))
TEST_SRCS := $(filter-out tests/namesrv.c tests/k8sapi.c %.bpf.c,$(TEST_SRCS))

# Two flavours of every user-space binary: plain ($(BUILD)) and with
# AddressSanitizer + UBSan ($(BUILD)/san); a third, the agent's rooms built
# by clang for the fuzz targets ($(BUILD)/fuzz, see fuzz below), whose
# objects use the compiler given as the flavour's third argument.
objs = $(patsubst %.c,$(2)/obj/%.o,$(1))
# The archives of a flavour, in link order (a group: rooms call each other).
rooms = -Wl,--start-group $(foreach r,$(AGENT_ROOMS),$(1)/lib/libweft-$(r).a) -Wl,--end-group
room_libs = $(foreach r,$(AGENT_ROOMS),$(1)/lib/libweft-$(r).a)

PROGS := weftd weft namesrv k8sapi weft-test

.PHONY: all san deps test check unit demo bench clean FORCE test-kernel docs fuzz fuzz-ci
all: $(addprefix $(BUILD)/,$(PROGS) kubectl-weft)
san: $(addprefix $(BUILD)/san/,$(PROGS) kubectl-weft)

# Rewritten only when the version changes, so only version.o is rebuilt.
$(BUILD)/version.txt: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)echo '$(WEFT_VERSION)' | cmp -s - $@ || echo '$(WEFT_VERSION)' > $@

# --- BPF ---------------------------------------------------------------
$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/weft.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/weft.skel.h: $(BUILD)/weft.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name weft > $@

$(BUILD)/tests/%.bpf.o: tests/*/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(TEST_SKELS): $(BUILD)/%.skel.h: $(BUILD)/tests/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# --- user space --------------------------------------------------------
define flavour
$(1)/obj/%.o: %.c VERSION | $(BUILD)/weft.skel.h $(TEST_SKELS)
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$(or $(3),$$(CC)) $$(CFLAGS_COMMON) $(2) $$(CFLAGS) -c $$< -o $$@

$(1)/obj/agent/lib/version.o: $(BUILD)/version.txt
$(1)/obj/agent/lib/version.o: CFLAGS_COMMON += -DWEFT_VERSION='"$(WEFT_VERSION)"'

$(foreach r,$(AGENT_ROOMS),$(1)/lib/libweft-$(r).a: $(call objs,$(call room_srcs,$(r)),$(1))
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
)

$(1)/weftd: $(call objs,$(WEFTD_SRCS),$(1)) $(call room_libs,$(1))
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $(2) -o $$@ $(call objs,$(WEFTD_SRCS),$(1)) $(call rooms,$(1)) $$(LDLIBS)

$(1)/weft: $(call objs,$(CLI_SRCS),$(1)) $(call room_libs,$(1))
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $(2) -o $$@ $(call objs,$(CLI_SRCS),$(1)) $(call rooms,$(1)) $$(LDLIBS)

# The kubectl plugin, next to weft (`kubectl weft --node NODE flows`).
$(1)/kubectl-weft: agent/cli/kubectl-weft
	$$(call msg,CP,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)cp $$< $$@ && chmod 755 $$@

$(1)/namesrv: $(call objs,tests/namesrv.c,$(1)) $(call room_libs,$(1))
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $(2) -o $$@ $(call objs,tests/namesrv.c,$(1)) $(call rooms,$(1)) $$(LDLIBS)

$(1)/k8sapi: $(call objs,tests/k8sapi.c,$(1))
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $(2) -o $$@ $$^ -lssl -lcrypto -ljson-c

# Tests reach into every room, so they link every object (no archive
# pulls only what a test names: constructors register the tests).
$(1)/weft-test: $(call objs,$(TEST_SRCS) $(AGENT_SRCS) $(CLI_LIB_SRCS),$(1))
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $(2) -o $$@ $$^ $$(LDLIBS)
endef

$(eval $(call flavour,$(BUILD),))
$(eval $(call flavour,$(BUILD)/san,$(SAN_FLAGS)))
$(eval $(call flavour,$(BUILD)/fuzz,-fsanitize=fuzzer-no-link $(SAN_FLAGS),$(CLANG)))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- commands ----------------------------------------------------------
# Every Debian package the project needs: build, tests, demo, bench.
DEB_PKGS := clang libclang-rt-dev llvm bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev libssl-dev \
	pkg-config make gcc iproute2 iptables procps psmisc kmod \
	libcurl4-openssl-dev libjson-c-dev libmnl-dev openssl nodejs libcap2-bin zsh graphviz
DEB_BENCH := sockperf iperf3 haproxy nginx wrk gnuplot-nox prometheus python3
# make test-kernel: the emulator and the initramfs' archiver (the kernel itself
# is fetched into $(BUILD)/kernel, not installed).
DEB_KERNEL := qemu-system-x86 cpio

deps:
	@missing=$$(for p in $(DEB_PKGS) $(DEB_BENCH) $(DEB_KERNEL); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "deps: all installed"; fi
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	@# the manifest validator (tests/k8s/package-lock.json pins it)
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	@[ tests/k8s/node_modules/.package-lock.json -nt tests/k8s/package-lock.json ] || \
		(cd tests/k8s && npm ci --no-audit --no-fund --loglevel=error)
	@# kustomize, as kubectl's: Debian's kubernetes-client, unless a kubectl is there already
	@# (installing it over another package's /usr/bin/kubectl would fail)
	@command -v kubectl >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; }

# make docs: the architecture picture from its source (Graphviz); the SVG is
# checked in, and unit/architecture_svg_is_the_rendering_of_the_dot checks it.
docs: docs/architecture.svg

docs/architecture.svg: docs/architecture.dot
	$(Q)dot -Tsvg $< -o $@

# make test: the whole suite, then the whole suite again under ASan + UBSan,
# every fuzz target for a few seconds over its corpus (fuzz-ci), then the
# kernel layers on the second kernel (6.1, in qemu: the bpf layer and an e2e
# subset, see tests/kernel/run.sh).
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BUILD)/weft-test --bin $(BUILD)
	$(Q)$(MAKE) --no-print-directory check
	$(Q)$(MAKE) --no-print-directory fuzz-ci
	$(Q)$(MAKE) --no-print-directory test-kernel

check: san
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/san/weft-test --bin $(BUILD)/san

unit: all
	$(Q)$(BUILD)/weft-test --bin $(BUILD) --layer unit

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)deploy/demo/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# --- the second kernel ---------------------------------------------------
# make test-kernel [FULL=1]: the bpf layer and e2e tests on Debian 12's 6.1
# kernel under qemu (tests/kernel/run.sh; FULL=1: the whole e2e layer). The
# kernel and its modules are unpacked into $(KERNEL_DIR), never into /boot.
KERNEL_DIR := $(BUILD)/kernel

$(KERNEL_DIR)/release:
	$(call msg,FETCH,linux-image-6.1 into $(KERNEL_DIR))
	$(Q)tests/kernel/prepare.sh fetch $(KERNEL_DIR)

# PID 1 of the initramfs: static, it runs before the host's root is there.
$(KERNEL_DIR)/init: tests/kernel/init.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

$(KERNEL_DIR)/initramfs.cpio: $(KERNEL_DIR)/init $(KERNEL_DIR)/release tests/kernel/prepare.sh
	$(call msg,GEN,$@)
	$(Q)tests/kernel/prepare.sh initramfs $(KERNEL_DIR) $(KERNEL_DIR)/init

test-kernel: deps
	$(Q)$(MAKE) --no-print-directory all $(KERNEL_DIR)/initramfs.cpio
	$(Q)tests/kernel/run.sh --build $(BUILD) --kernel $(KERNEL_DIR) $(if $(FULL),--full) \
		$(foreach f,$(FILTER),--filter $(f))

# --- fuzz ----------------------------------------------------------------
# libFuzzer targets, one per parser of outside bytes (tests/fuzz/README.md),
# clang with ASan + UBSan, against the agent's rooms built for coverage.
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="http tc"]: each target in turn,
# its corpus growing in $(BUILD)/fuzz/corpus; make fuzz-ci: each for
# FUZZ_CI_SECONDS over tests/fuzz/corpus (make test runs it).
FUZZ := $(BUILD)/fuzz
FUZZ_TARGETS ?= config http kubeconfig watch k8s_service k8s_slice k8s_pod k8s_namespace \
	k8s_netpol k8s_import k8s_node k8s_destrule nl_link nl_qdisc nl_route nl_nsid tc
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 3
# The harness of a target: the target's name up to its first '_'.
fuzz_src = tests/fuzz/fuzz_$(firstword $(subst _, ,$(1))).c
FUZZ_DEF_k8s_service := -DFUZZ_KIND=K_SVC
FUZZ_DEF_k8s_slice := -DFUZZ_KIND=K_SLICE
FUZZ_DEF_k8s_pod := -DFUZZ_KIND=K_POD
FUZZ_DEF_k8s_namespace := -DFUZZ_KIND=K_NS
FUZZ_DEF_k8s_netpol := -DFUZZ_KIND=K_NETPOL
FUZZ_DEF_k8s_import := -DFUZZ_KIND=K_IMPORT
FUZZ_DEF_k8s_node := -DFUZZ_KIND=K_NODE
FUZZ_DEF_k8s_destrule := -DFUZZ_KIND=K_DESTRULE
FUZZ_DEF_nl_link := -DFUZZ_NL=1
FUZZ_DEF_nl_qdisc := -DFUZZ_NL=2
FUZZ_DEF_nl_route := -DFUZZ_NL=3
FUZZ_DEF_nl_nsid := -DFUZZ_NL=4
FUZZ_DEF_tc := -Ibpf

define fuzz_target
$(FUZZ)/target/$(1).o: $(call fuzz_src,$(1)) | $(BUILD)/weft.skel.h
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CLANG) $$(CFLAGS_COMMON) $(FUZZ_DEF_$(1)) -fsanitize=fuzzer $$(SAN_FLAGS) -c $$< -o $$@

$(FUZZ)/$(1): $(FUZZ)/target/$(1).o $(call room_libs,$(FUZZ))
	$$(call msg,LD,$$@)
	$$(Q)$$(CLANG) -fsanitize=fuzzer $$(SAN_FLAGS) -o $$@ $$< $(call rooms,$(FUZZ)) $$(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

fuzz: $(addprefix $(FUZZ)/,$(FUZZ_TARGETS))
	$(Q)tests/fuzz/run.sh --build $(FUZZ) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: $(addprefix $(FUZZ)/,$(FUZZ_TARGETS))
	$(Q)tests/fuzz/run.sh --build $(FUZZ) --seconds $(FUZZ_CI_SECONDS) --ci $(FUZZ_TARGETS)
# --- end fuzz ------------------------------------------------------------

# --- bench ---------------------------------------------------------------
# make bench [QUICK=1]: the performance study of issue 6 (tests/bench/bench.sh).
BENCH_TOOLS := $(BUILD)/wb-connrate $(BUILD)/wb-scrape $(BUILD)/tests/wb_ref.bpf.o

$(BUILD)/wb-connrate: $(call objs,tests/bench/connrate.c,$(BUILD))
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^

# A /metrics scrape with 100,000 flows in the maps (tests/bench/scrape.c).
$(BUILD)/wb-scrape: $(call objs,tests/bench/scrape.c,$(BUILD)) $(call room_libs,$(BUILD))
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $(call objs,tests/bench/scrape.c,$(BUILD)) $(call rooms,$(BUILD)) $(LDLIBS)

bench: deps all $(BENCH_TOOLS)
	$(Q)tests/bench/bench.sh --build $(BUILD) $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY)) $(if $(PROG_STATS),--prog-stats)
# --- end bench -----------------------------------------------------------
