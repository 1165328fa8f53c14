# The two commands a fresh Debian machine needs:
#   make demo   installs what is missing, builds memplan, runs the main job
#   make test   installs what is missing, runs the whole test suite
SWIFT ?= swift
MEMPLAN := .build/release/memplan
PROFILE ?= profiles/fashion-mnist-mlp.yaml

.PHONY: deps build demo test clean

deps:
	@scripts/ensure-deps.sh

build: deps
	$(SWIFT) build -c release --product memplan

demo: build
	$(MEMPLAN) estimate $(PROFILE)
	$(MEMPLAN) estimate profiles/quiz-300b.yaml --batch 1000 --precision double
	$(MEMPLAN) plan $(PROFILE)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

clean:
	rm -rf .build
