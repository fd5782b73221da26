# A thin layer over CMake for the commands the README names.
#   make run     build and start eddy-chat on localhost (the main job)
#   make examples  build and run the self-contained examples
#   make test    build with gcc and clang, run every test plain, under
#                ASan+UBSan and (a subset) under valgrind, install and build
#                consumers, run the benchmarks in quick mode (what CI runs)
#   make bench   the full benchmark run with peers (bench/run.sh)
#   make build   a release build in build/
.PHONY: build run examples test bench clean deps

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

bench:
	scripts/deps.sh
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
	cmake --build build-bench -j2 --target eddy_bench
	bench/run.sh --eddy-bench build-bench/bench/eddy_bench

deps:
	scripts/deps.sh

clean:
	rm -rf build build-*
