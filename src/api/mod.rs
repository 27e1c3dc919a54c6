//! The HTTP JSON API under `/api/v1` (warp 0.4 on tokio 1): reads of every
//! projection as of a time or position, appends with idempotent retries, the
//! event log as pages and as Server-Sent Events, health, Prometheus metrics
//! and the OpenAPI 3.1 document. Only `src/` knows HTTP.
//!
//! Layout: `state.rs` (shared state, projection follower, read cache),
//! `routes.rs` (dispatch and handlers), `guard.rs` (credentials, the
//! origin of cookie writes, body media types, the session cookie),
//! `rights.rs` (erasure and subject access, for admins), `stream.rs` (the
//! event stream's fan-out), `problem.rs` (RFC 9457 errors), `telemetry.rs`
//! (request and connection log lines, metrics), `openapi.rs` (the document
//! and its validators), `server.rs` (the accept loop: header timeout,
//! connection cap, graceful shutdown).

pub mod body;
pub mod guard;
pub mod openapi;
pub mod problem;
mod rights;
pub mod routes;
mod server;
pub mod state;
mod stream;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;

pub use state::{ApiConfig, App};

/// A server bound to an address.
pub struct Server {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    /// Ends when the server has shut down and in-flight requests completed.
    pub handle: tokio::task::JoinHandle<()>,
}

/// Binds `addr` (port 0 for any free port) and serves `app` over HTTP/1.1
/// within the limits of its [`ApiConfig`] (see `server.rs`) until `shutdown`
/// resolves; then the listener closes, streams end, connections that have
/// not sent a complete request close, in-flight requests complete (an
/// acknowledged append is already durable) and the handle finishes.
pub async fn serve(
    app: App,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Server> {
    let listener = listen(addr)?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(server::run(listener, app, shutdown));
    Ok(Server { addr, handle })
}

/// Each connection's kernel send buffer, inherited from the listening socket
/// (decision 014): without a cap the kernel lets a buffer grow to
/// `tcp_wmem`'s maximum (4 MiB by default), so every event stream that does
/// not read would hold megabytes of kernel memory and cost the writer a copy
/// into each, until full.
const SEND_BUFFER: u32 = 128 * 1024;

/// A listening socket on `addr` whose connections have [`SEND_BUFFER`].
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
