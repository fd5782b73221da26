"""py_bench.py: Python asyncio and uvloop peer of bench/eddy_bench.c.

Same shapes as the other peers: yield (two tasks awaiting sleep(0)),
spawn+join (create_task + await), memory per idle task (1M tasks awaiting
one Event), timer arm+cancel (loop.call_later + cancel), ping-pong over two
Futures, async generator vs sync generator per item, and `async with
asyncio.Lock()` uncontended. `py_bench.py asyncio` runs every entry on the
default loop (plus the sync generator as runtime python-sync), `py_bench.py
uvloop` on uvloop's loop; run.sh starts each in its own fresh interpreter.
Run under Debian's /usr/bin/python3 (python3-uvloop is built for it).
Timed figures: median of 3 fresh loops; idle_mem: once, first (see below).
Prints BENCH lines.
"""
import asyncio
import gc
import os
import sys
import time

QUICK = os.environ.get("EDDY_BENCH_QUICK", "0") not in ("", "0")


def n(full):
    return full // 100 if QUICK else full


def report(entry, name, v, unit):
    v.sort()
    print(f"BENCH {entry} {name} {v[1]:.2f} {unit}")
    print(f"BENCHSPREAD {entry} {name} {v[0]:.2f} {v[2]:.2f} {unit}", flush=True)


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def yield_bench():
    it = n(300000)

    async def loop():
        for _ in range(it):
            await asyncio.sleep(0)

    t0 = time.perf_counter_ns()
    await asyncio.gather(loop(), loop())
    return (time.perf_counter_ns() - t0) / (2 * it)


async def spawn_join():
    it = n(300000)

    async def task(x):
        return x

    t0 = time.perf_counter_ns()
    for i in range(it):
        await asyncio.create_task(task(i))
    return it / ((time.perf_counter_ns() - t0) / 1e9)


async def idle_mem():
    count = 10000 if QUICK else 1000000
    gc.collect()
    gate = asyncio.Event()
    before = rss()

    async def idle():
        await gate.wait()

    tasks = [asyncio.create_task(idle()) for _ in range(count)]
    await asyncio.sleep(0)
    per = (rss() - before) / count
    gate.set()
    await asyncio.gather(*tasks)
    return per


async def timer():
    loop = asyncio.get_running_loop()
    it = n(1000000)
    bg = [loop.call_later(10 + i, lambda: None) for i in range(1000)]
    # asyncio only drops cancelled handles from its heap when the loop turns,
    # so a tight loop would grow the heap to `it` entries; turn the loop once
    # per 1000 pairs, as any real program would (amortised: ~1 ns per pair).
    # uvloop removes a cancelled libuv timer at once; it gets the same loop.
    t0 = time.perf_counter_ns()
    for i in range(it):
        loop.call_later(5, lambda: None).cancel()
        if i % 1000 == 999:
            await asyncio.sleep(0)
    r = (time.perf_counter_ns() - t0) / it
    for h in bg:
        h.cancel()
    return r


async def pingpong():
    # Two tasks, one 1-slot "channel" each way as a fresh Future per message:
    # main sets ping and awaits pong; echo awaits ping and sets pong.
    loop = asyncio.get_running_loop()
    it = n(300000)
    box = {}

    async def echo():
        for _ in range(it):
            box["ping"] = loop.create_future()
            x = await box["ping"]
            box["pong"].set_result(x)

    box["pong"] = None
    t = asyncio.create_task(echo())
    await asyncio.sleep(0)
    t0 = time.perf_counter_ns()
    for i in range(it):
        box["pong"] = loop.create_future()
        box["ping"].set_result(i)
        await box["pong"]
    r = (time.perf_counter_ns() - t0) / it
    await t
    return r


async def agen():
    it = n(2000000)

    async def g():
        for i in range(it):
            yield i

    s = 0
    t0 = time.perf_counter_ns()
    async for x in g():
        s += x
    return (time.perf_counter_ns() - t0) / it


def sync_gen():
    it = n(2000000)

    def g():
        for i in range(it):
            yield i

    s = 0
    t0 = time.perf_counter_ns()
    for x in g():
        s += x
    return (time.perf_counter_ns() - t0) / it


async def with_lock():
    it = n(2000000)
    lock = asyncio.Lock()
    t0 = time.perf_counter_ns()
    for _ in range(it):
        async with lock:
            pass
    return (time.perf_counter_ns() - t0) / it


ENTRIES = [
    ("idle_mem", idle_mem, "B"),
    ("yield", yield_bench, "ns"),
    ("spawn_join", spawn_join, "ops/s"),
    ("timer", timer, "ns"),
    ("pingpong", pingpong, "ns"),
    ("agen", agen, "ns"),
    ("with_lock", with_lock, "ns"),
]


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    flavours = []
    if only == "asyncio":
        flavours.append(("asyncio", None))
    else:
        try:
            import uvloop
            flavours.append(("uvloop", uvloop))
        except ImportError:
            print("uvloop not available (apt-get install python3-uvloop, "
                  "run under /usr/bin/python3)", file=sys.stderr)
            sys.exit(1)
    for name, mod in flavours:
        for entry, fn, unit in ENTRIES:
            v = []
            # idle memory: once per interpreter, first (reuse would hide it)
            for _ in range(1 if entry == "idle_mem" else 3):
                if mod:
                    loop = mod.new_event_loop()
                    try:
                        v.append(loop.run_until_complete(fn()))
                    finally:
                        loop.close()
                else:
                    v.append(asyncio.run(fn()))
            if len(v) == 1:
                v = v * 3
            report(entry, name, v, unit)
    if only == "asyncio":
        # the sync generator is the baseline for agen (and eddy's iter_plain)
        v = [sync_gen() for _ in range(3)]
        report("agen", "python-sync", list(v), "ns")
        report("iter_plain", "python-sync", v, "ns")


if __name__ == "__main__":
    main()
