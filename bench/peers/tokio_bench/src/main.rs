// Tokio peer of bench/eddy_bench.c, on a current_thread runtime, each body
// running inside a spawned task (not in block_on's own future, which polls
// the driver between polls). Entries: yield (two tasks calling
// yield_now), spawn+join, memory per idle task (1M tasks awaiting one
// Notify), timer arm+cancel (a Sleep created, polled once, dropped),
// ping-pong over mpsc(1), mpsc(1) "generator" per item, uncontended
// tokio::sync::Mutex lock().await + drop. Timed figures: median of 3;
// idle_mem once, first, in a fresh process. Prints BENCH lines.
use std::time::Instant;
use tokio::sync::{mpsc, Notify};
use std::sync::Arc;

fn quick() -> bool {
    std::env::var("EDDY_BENCH_QUICK").map(|v| !v.is_empty() && v != "0").unwrap_or(false)
}
fn n(full: u64) -> u64 { if quick() { full / 100 } else { full } }
fn report(entry: &str, mut v: Vec<f64>, unit: &str) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("BENCH {} tokio {:.2} {}", entry, v[1], unit);
    println!("BENCHSPREAD {} tokio {:.2} {:.2} {}", entry, v[0], v[2], unit);
}
fn rss() -> f64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() * 4096.0
}

async fn yield_bench() -> f64 {
    let it = n(10_000_000);
    let t0 = Instant::now();
    let a = tokio::spawn(async move { for _ in 0..it { tokio::task::yield_now().await; } });
    let b = tokio::spawn(async move { for _ in 0..it { tokio::task::yield_now().await; } });
    a.await.unwrap();
    b.await.unwrap();
    t0.elapsed().as_nanos() as f64 / (2 * it) as f64
}

async fn spawn_join() -> f64 {
    let it = n(2_000_000);
    let t0 = Instant::now();
    for i in 0..it { tokio::spawn(async move { i }).await.unwrap(); }
    it as f64 / t0.elapsed().as_secs_f64()
}

async fn idle_mem() -> f64 {
    let count = if quick() { 10_000 } else { 1_000_000 };
    let gate = Arc::new(Notify::new());
    let before = rss();
    let mut hs = Vec::with_capacity(count);
    for _ in 0..count {
        let g = gate.clone();
        hs.push(tokio::spawn(async move { g.notified().await; }));
    }
    tokio::task::yield_now().await;
    let per = (rss() - before) / count as f64;
    gate.notify_waiters();
    for h in hs { h.await.unwrap(); }
    per
}

// Timer arm + cancel. A Tokio `Sleep` only enters the timer wheel when it is
// first polled, and leaves it when dropped; so each pair is: create a 5 s
// sleep, poll it exactly once (it is pending, so it registers; the wrapper
// then completes at once, like a select! with an immediately-ready branch),
// drop it (cancel). 1000 other sleeps stay armed throughout, as in the other
// peers. Creating the sleep reads the clock, as Go's AfterFunc and Node's
// setTimeout do.
async fn timer() -> f64 {
    use std::time::Duration;
    let it = n(5_000_000);
    let mut bg: Vec<_> = (0..1000u64)
        .map(|i| Box::pin(tokio::time::sleep(Duration::from_secs(10 + i))))
        .collect();
    for s in bg.iter_mut() { poll_once(s.as_mut()).await; }
    let t0 = Instant::now();
    for _ in 0..it {
        // pinned on the stack, as select! does: no allocation per pair
        let s = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(s);
        poll_once(s.as_mut()).await;
    }
    let r = t0.elapsed().as_nanos() as f64 / it as f64;
    drop(bg);
    r
}

// Poll a future once and finish, whatever it returned.
async fn poll_once<F: std::future::Future + Unpin>(f: F) {
    struct Once<F>(F);
    impl<F: std::future::Future + Unpin> std::future::Future for Once<F> {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            let _ = std::pin::Pin::new(&mut self.0).poll(cx);
            std::task::Poll::Ready(())
        }
    }
    Once(f).await
}

async fn pingpong() -> f64 {
    let it = n(5_000_000);
    let (ptx, mut prx) = mpsc::channel::<u64>(1);
    let (qtx, mut qrx) = mpsc::channel::<u64>(1);
    let echo = tokio::spawn(async move { while let Some(x) = prx.recv().await { if qtx.send(x).await.is_err() { break; } } });
    let t0 = Instant::now();
    for i in 0..it { ptx.send(i).await.unwrap(); qrx.recv().await.unwrap(); }
    let r = t0.elapsed().as_nanos() as f64 / it as f64;
    drop(ptx);
    echo.await.unwrap();
    r
}

async fn agen() -> f64 {
    let it = n(5_000_000);
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    tokio::spawn(async move { for i in 0..it { if tx.send(i).await.is_err() { break; } } });
    let t0 = Instant::now();
    let mut s = 0u64;
    while let Some(x) = rx.recv().await { s = s.wrapping_add(x); }
    std::hint::black_box(s);
    t0.elapsed().as_nanos() as f64 / it as f64
}

async fn with_lock() -> f64 {
    let it = n(20_000_000);
    let m = tokio::sync::Mutex::new(0u64);
    let t0 = Instant::now();
    for _ in 0..it { let g = m.lock().await; drop(g); }
    t0.elapsed().as_nanos() as f64 / it as f64
}

macro_rules! run3 {
    ($rt:expr, $f:ident) => {{
        let mut v = Vec::new();
        for _ in 0..3 { v.push($rt.block_on(async { tokio::spawn($f()).await.unwrap() })); }
        v
    }};
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // idle memory once, first, in a fresh process (later rounds reuse memory)
    let idle = rt.block_on(async { tokio::spawn(idle_mem()).await.unwrap() });
    report("idle_mem", vec![idle, idle, idle], "B");
    report("yield", run3!(rt, yield_bench), "ns");
    report("spawn_join", run3!(rt, spawn_join), "ops/s");
    report("timer", run3!(rt, timer), "ns");
    report("pingpong", run3!(rt, pingpong), "ns");
    report("agen", run3!(rt, agen), "ns");
    report("with_lock", run3!(rt, with_lock), "ns");
}
