//! A minimal static file server on 127.0.0.1 for unit tests that read `url:` sources (TechDocs, the
//! scaffolder's fetch actions), so they need no network and no HTTP server crate.

use std::path::PathBuf;

/// Serves files under `root` over plain HTTP/1.0 GETs (404 for anything missing or escaping). Returns the
/// port.
pub async fn serve(root: PathBuf) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let root = root.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let rel = path.trim_start_matches('/');
                let body = (!rel.contains(".."))
                    .then(|| std::fs::read(root.join(rel)).ok())
                    .flatten();
                let response = match body {
                    Some(body) => {
                        let mut r =
                            format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                                .into_bytes();
                        r.extend(body);
                        r
                    }
                    None => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                };
                let _ = socket.write_all(&response).await;
            });
        }
    });
    port
}
