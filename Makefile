# A thin layer over CMake for the commands the README names.
#   make run     build and start eddy-chat on localhost (the main job)
#   make examples  build and run the self-contained examples
#   make test    build with gcc and clang, run every test plain, under
#                ASan+UBSan and (a subset) under valgrind, install and build
#                consumers, run the benchmarks in quick mode (what CI runs)
#   make bench   the full benchmark run with peers (bench/run.sh): installs
#                what it needs, runs everything, writes docs/benchmarks.md
#                and its plots in docs/img/ (8 to 15 minutes)
#   make bench-quick  the same in quick mode (what CI runs; the page goes to
#                build/bench-quick/, its figures mean nothing)
#   make build   a release build in build/
.PHONY: build run examples test bench bench-quick bench-build clean deps

build:
	scripts/deps.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j2

run: build
	./build/apps/chat/eddy-chat $(CHAT_ARGS)

examples: build
	scripts/run-examples.sh build

test:
	scripts/test-all.sh

bench-build:
	scripts/deps.sh
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
	cmake --build build-bench -j2   # everything: the families run eddy-chat, redis-lite and the I/O servers from here

bench: bench-build
	bench/run.sh --eddy-bench build-bench/bench/eddy_bench

bench-quick: bench-build
	bench/run.sh --quick --eddy-bench build-bench/bench/eddy_bench

deps:
	scripts/deps.sh

clean:
	rm -rf build build-*
