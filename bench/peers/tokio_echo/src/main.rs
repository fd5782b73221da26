// Tokio peer of the TCP echo entries (runtime tokio, Tokio 1.24 from
// Debian's crates, built offline by build.sh): a current-thread runtime,
// a spawned task per connection doing read / write_all into a 64 KiB
// buffer (the tokio tutorial's echo server). TCP_NODELAY on, as the other
// servers have it.
//
//   tokio_echo PORT       serves 127.0.0.1:PORT until killed
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn serve(port: u16) -> std::io::Result<()> {
    let l = TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (mut s, _) = l.accept().await?;
        s.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn main() {
    let port: u16 = match std::env::args().nth(1).and_then(|p| p.parse().ok()) {
        Some(p) => p,
        None => {
            eprintln!("usage: tokio_echo PORT");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // the accept loop runs in a spawned task too, not in block_on's future
    if let Err(e) = rt.block_on(async move { tokio::spawn(serve(port)).await.unwrap() }) {
        eprintln!("tokio_echo: {}", e);
        std::process::exit(1);
    }
}
