# Top-level entry points. See README.md.
#   make deps     install the Debian packages the build and the tests need (as root)
#   make          release build (build/gost)
#   make run      deps + build + run gost (ARGS='-L ...' to pass arguments)
#   make test     deps + ASan/UBSan build + every test (unit, fuzz replay, integration), then the
#                 clang libFuzzer build (so clang's warnings and the fuzz targets stay buildable)
#   make fuzz     libFuzzer build (clang) of every fuzz target (build-fuzz/fuzz-*)
#   make bench    deps + release build + every benchmark workload against the peers (as root;
#                 installs them), results in bench/results/; QUICK=1 for a short run (< 5 min)

BUILD_DEPS   = build-essential cmake pkg-config libfyaml-dev libssl-dev libcmocka-dev
TEST_DEPS    = clang libclang-rt-14-dev python3 curl socat iproute2 procps dante-server microsocks openssl tinyproxy
BENCH_DEPS   = haproxy nginx libnginx-mod-stream socat microsocks dante-server tinyproxy squid iperf3 wrk gnuplot-nox valgrind binutils
JOBS        ?= $(shell nproc)
ARGS        ?= -L :8080

.PHONY: all build deps bench-deps run test fuzz bench clean release

all: build

deps:
	@missing=""; for p in $(BUILD_DEPS) $(TEST_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

bench-deps:
	@$(MAKE) --no-print-directory deps TEST_DEPS="$(TEST_DEPS) $(BENCH_DEPS)"

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGOST_TESTS=OFF >/dev/null
	cmake --build build -j $(JOBS)

release: build
	strip -o build/gost.stripped build/gost
	@ls -l build/gost.stripped

run: deps build
	./build/gost $(ARGS)

test: deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DGOST_SANITIZE=ON -DGOST_TESTS=ON >/dev/null
	cmake --build build-test -j $(JOBS)
	cd build-test && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)
	$(MAKE) fuzz

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGOST_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

bench: bench-deps build
	$(MAKE) -C bench tools
	python3 bench/bench.py --no-install $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf build build-test build-fuzz bench/build
