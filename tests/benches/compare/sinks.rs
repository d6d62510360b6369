//! The servers the SDKs send to, all on 127.0.0.1 and owned by the parent process: the 200 sink
//! (`watchpost::testing::MockServer`), a server that accepts connections and never answers,
//! and a port where nothing listens.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

/// Accepts connections and holds them without reading or answering, until [`release`](Self::release).
#[derive(Debug)]
pub(crate) struct Stalled {
    port: u16,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Stalled {
    pub(crate) fn start() -> std::io::Result<Stalled> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::Builder::new()
            .name("stalled-sink".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    keep.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(stream);
                }
            })?;
        Ok(Stalled { port, held })
    }

    pub(crate) fn dsn(&self) -> String {
        format!("http://public@127.0.0.1:{}/1", self.port)
    }

    /// Closes the connections held so far.
    pub(crate) fn release(&self) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A DSN whose port refuses connections: bound once to get a free port, then closed.
pub(crate) fn dead_dsn() -> std::io::Result<String> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    Ok(format!("http://public@127.0.0.1:{port}/1"))
}
