// node_bench.mjs: Node peer of bench/eddy_bench.c: yield (two async loops
// awaiting setImmediate), spawn+join (call an async function, await it),
// memory per idle task (1M pending promises awaiting one gate), timer
// arm+cancel (setTimeout + clearTimeout), ping-pong over promise channels,
// async generator vs sync generator per item. Prints BENCH lines.
const quick = !!process.env.EDDY_BENCH_QUICK && process.env.EDDY_BENCH_QUICK !== '0';
const n = (full) => quick ? Math.floor(full / 100) : full;
const now = () => Number(process.hrtime.bigint());
function report(entry, v, unit, name = 'node') {
  v.sort((a, b) => a - b);
  console.log(`BENCH ${entry} ${name} ${v[1].toFixed(2)} ${unit}`);
  console.log(`BENCHSPREAD ${entry} ${name} ${v[0].toFixed(2)} ${v[2].toFixed(2)} ${unit}`);
}
const immediate = () => new Promise((r) => setImmediate(r));

async function yieldBench() {
  const v = [];
  for (let r = 0; r < 3; r++) {
    const it = n(1000000);
    const t0 = now();
    const loop = async () => { for (let i = 0; i < it; i++) await immediate(); };
    await Promise.all([loop(), loop()]);
    v.push((now() - t0) / (2 * it));
  }
  report('yield', v, 'ns');
}

async function spawnJoin() {
  const v = [];
  const task = async (x) => x;
  for (let r = 0; r < 3; r++) {
    const it = n(5000000);
    const t0 = now();
    for (let i = 0; i < it; i++) await task(i);
    v.push(it / ((now() - t0) / 1e9));
  }
  report('spawn_join', v, 'ops/s');
}

function rss() { return process.memoryUsage().rss; }

async function idleMem() {
  const v = [];
  const count = quick ? 10000 : 1000000;
  // once, first, in a fresh process (later rounds reuse freed memory)
  for (let r = 0; r < 1; r++) {
    if (global.gc) global.gc();
    let open;
    const gate = new Promise((res) => { open = res; });
    const before = rss();
    const tasks = [];
    for (let i = 0; i < count; i++) tasks.push((async () => { await gate; })());
    await immediate();
    v.push((rss() - before) / count);
    open();
    await Promise.all(tasks);
  }
  report('idle_mem', [v[0], v[0], v[0]], 'B');
}

function timerBench() {
  const v = [];
  for (let r = 0; r < 3; r++) {
    const it = n(2000000);
    const bg = [];
    for (let i = 0; i < 1000; i++) bg.push(setTimeout(() => {}, 10000 + i));
    const t0 = now();
    for (let i = 0; i < it; i++) clearTimeout(setTimeout(() => {}, 5000));
    v.push((now() - t0) / it);
    bg.forEach(clearTimeout);
  }
  report('timer', v, 'ns');
}

class Chan {
  constructor() { this.items = []; this.waiters = []; }
  send(x) { const w = this.waiters.shift(); if (w) w(x); else this.items.push(x); }
  recv() { if (this.items.length) return Promise.resolve(this.items.shift());
           return new Promise((r) => this.waiters.push(r)); }
}

async function pingpong() {
  const v = [];
  for (let r = 0; r < 3; r++) {
    const it = n(2000000);
    const ping = new Chan(), pong = new Chan();
    const echo = (async () => { for (let i = 0; i < it; i++) pong.send(await ping.recv()); })();
    const t0 = now();
    for (let i = 0; i < it; i++) { ping.send(i); await pong.recv(); }
    v.push((now() - t0) / it);
    await echo;
  }
  report('pingpong', v, 'ns');
}

async function agen() {
  const va = [], vs = [];
  for (let r = 0; r < 3; r++) {
    const it = n(5000000);
    async function* g() { for (let i = 0; i < it; i++) yield i; }
    function* sg() { for (let i = 0; i < it; i++) yield i; }
    let s = 0, t0 = now();
    for await (const x of g()) s += x;
    va.push((now() - t0) / it);
    t0 = now();
    for (const x of sg()) s += x;
    vs.push((now() - t0) / it);
  }
  report('agen', va, 'ns');
  // the sync generator: a baseline for agen, and the peer of eddy's iter_plain
  report('agen', [...vs], 'ns', 'node-sync');
  report('iter_plain', vs, 'ns', 'node-sync');
}

await idleMem();
await yieldBench();
await spawnJoin();
timerBench();
await pingpong();
await agen();
