//! Addresses for transport tests, all on 127.0.0.1.

use std::net::TcpListener;

/// A DSN whose port refuses connections: bound once to get a free port, then closed.
pub fn closed_port_dsn() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1");
    format!("http://public@127.0.0.1:{port}/1")
}
