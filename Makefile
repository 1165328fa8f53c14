# The two commands a fresh Debian machine needs:
#   make demo   installs what is missing, builds memplan, runs the main job
#   make test   installs what is missing, runs the whole test suite
SWIFT ?= swift
MEMPLAN := .build/release/memplan
PROFILE ?= profiles/fashion-mnist-mlp.yaml

.PHONY: deps build demo test check-training check-ranks check-reports check-bad-inputs clean

deps:
	@scripts/ensure-deps.sh

build: deps
	$(SWIFT) build -c release --product memplan

demo: build
	$(MEMPLAN) estimate $(PROFILE)
	$(MEMPLAN) plan $(PROFILE) --rows 12
	$(MEMPLAN) train $(PROFILE) --record reports/fashion-mnist-mlp.json

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	# bf16-mixed's portable path (the same bf16 values multiplied in fp32), which a CPU with AMX does not take by itself.
	MEMPLAN_BF16=portable $(SWIFT) test --skip-build --filter 'MixedTrainerTests|BF16EpilogueTests'
	scripts/check-training.sh
	scripts/check-ranks.sh
	scripts/check-bad-inputs.sh
	scripts/check-reports.sh

# Acceptance checks that need an optimised build (allocation counts, accuracy, page placement).
check-training: deps
	scripts/check-training.sh

# Training over two MPI ranks (dp, zero1, zero2, zero3) against one process, on a release build.
check-ranks: deps
	scripts/check-ranks.sh

# The bad-input catalogue through every subcommand of a release build: exit 0-3, no signal, no hang, nothing
# written but the given path, no special file replaced.
check-bad-inputs: deps
	scripts/check-bad-inputs.sh

# Fresh example reports rendered in headless Chromium (installs Debian's chromium when root).
check-reports: deps
	scripts/check-reports.sh

clean:
	rm -rf .build
