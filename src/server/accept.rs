//! The accept loop (decision 014): HTTP/1.1 on hyper, one task per
//! connection. A client has [`ApiConfig::header_timeout`] to send a request's
//! headers, counted from when it connected or its previous answer ended, so
//! slow and idle connections are closed. At most `max_connections` (fitted
//! under the process's open-file limit, first raised as far as they need
//! within the hard limit) are held: beyond, the oldest connection that has not sent a
//! complete request is closed to make room, or, when every one has, the
//! newcomer is answered a `503` problem and closed. At shutdown the listener
//! closes, connections without a complete request are closed, streams end
//! ([`App::begin_shutdown`]) and requests in flight complete.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::io::{ErrorKind, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

use crate::api::{ApiConfig, App};
use crate::http::problem::Problem;

/// File descriptors kept, below the open-file limit, for the store, the log,
/// the runtime and refusals (a server uses about 20 besides its connections).
const RESERVED_FILES: u64 = 128;

/// Refused connections that may be lingering at once (see [`refuse`]).
const LINGERING: usize = 64;

/// How long a refused connection is kept to read its `503` and close.
const LINGER: Duration = Duration::from_secs(1);

/// Pause after the listener fails for want of resources (e.g. no file
/// descriptor left), before accepting again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Raises the soft limit on open files towards `wanted`, within the hard
/// limit, and returns the soft limit in force (`None` when it cannot be read).
fn raise_open_file_limit(wanted: u64) -> Option<u64> {
    match rlimit::increase_nofile_limit(wanted) {
        Ok(soft) => Some(soft),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection cap: `wanted`, lowered to leave [`RESERVED_FILES`] of the
/// open-file limit `open_files` (when known) free; at least 1.
fn connection_cap(wanted: usize, open_files: Option<u64>) -> usize {
    let room = open_files.map_or(u64::MAX, |n| n.saturating_sub(RESERVED_FILES));
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    wanted.min(room).max(1)
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down
/// gracefully.
pub(super) async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let cap = fitted_cap(&app.inner.config);
    let service = TowerToHyperService::new(warp::service(super::filter(app.clone())));
    let server = Server::new(app.clone(), cap, service);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => server.admit(stream, graceful.watcher()),
            Err(e) => accept_failed(e).await,
        }
    }
    app.begin_shutdown();
    drop(listener);
    server.connections.close_waiting();
    graceful.shutdown().await;
}

/// The connection cap for `config`, after raising the open-file limit.
fn fitted_cap(config: &ApiConfig) -> usize {
    let wanted = config.max_connections;
    let open_files = raise_open_file_limit((wanted as u64).saturating_add(RESERVED_FILES));
    let cap = connection_cap(wanted, open_files);
    if cap < wanted {
        tracing::warn!(
            max_connections = wanted,
            open_files,
            cap,
            "the open-file limit lowers the connection limit"
        );
    }
    cap
}

/// A listener error: a connection that failed before it was accepted is
/// skipped; anything else (e.g. no file descriptor left) is logged and
/// accepting pauses briefly rather than spinning.
async fn accept_failed(e: std::io::Error) {
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        tracing::debug!(error = %e, "a connection failed before it was accepted");
        return;
    }
    tracing::error!(error = %e, "cannot accept connections");
    tokio::time::sleep(ACCEPT_PAUSE).await;
}

/// What every connection shares.
struct Server<S> {
    app: App,
    service: S,
    http: http1::Builder,
    connections: Arc<Connections>,
    refusal: Bytes,
    lingering: Arc<Semaphore>,
}

impl<S> Server<S>
where
    S: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn new(app: App, cap: usize, service: S) -> Self {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(app.inner.config.header_timeout)
            .keep_alive(true);
        Self {
            connections: Arc::new(Connections::new(cap)),
            refusal: refusal(cap),
            lingering: Arc::new(Semaphore::new(LINGERING)),
            app,
            service,
            http,
        }
    }

    /// Serves `stream` (making room if needed), or refuses it.
    fn admit(&self, stream: TcpStream, watcher: Watcher) {
        let Some((admitted, shed)) = self.connections.admit(&self.app) else {
            self.app.inner.telemetry.connection_refused();
            refuse(stream, self.refusal.clone(), &self.lingering);
            return;
        };
        let service = Marking {
            inner: self.service.clone(),
            admitted: Arc::new(admitted),
        };
        let conn = self.http.serve_connection(TokioIo::new(stream), service);
        let app = self.app.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = watcher.watch(conn) => {
                    if let Err(e) = result {
                        app.inner.telemetry.connection_failed(&e);
                    }
                }
                Ok(()) = shed => {}
            }
        });
    }
}

/// The routes' service on one connection, which tells [`Connections`] when
/// the connection's first complete request arrives.
struct Marking<S> {
    inner: S,
    admitted: Arc<Admitted>,
}

impl<S: Service<Request<Incoming>>> Service<Request<Incoming>> for Marking<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.admitted.requested();
        self.inner.call(req)
    }
}

/// One connection served; dropped when it ends.
struct Admitted {
    id: u64,
    connections: Arc<Connections>,
    app: App,
    requested: AtomicBool,
}

impl Admitted {
    /// Records, once, that the connection has sent a complete request.
    fn requested(&self) {
        if !self.requested.swap(true, Ordering::Relaxed) {
            self.connections.requested(self.id);
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.closed(self.id);
        self.app.inner.telemetry.connection_closed();
    }
}

/// The connections being served: which have not yet sent a complete
/// request, and how to close them.
struct Connections {
    cap: usize,
    state: Mutex<Held>,
}

/// The connections held.
#[derive(Default)]
struct Held {
    next: u64,
    /// Every connection served, with the sender that closes it.
    open: HashMap<u64, oneshot::Sender<()>>,
    /// Those that have not sent a complete request, oldest first.
    waiting: BTreeSet<u64>,
}

impl Connections {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            state: Mutex::new(Held::default()),
        }
    }

    /// Takes a new connection: under the cap, or in place of the oldest one
    /// still waiting for its first request; `None` when every connection
    /// held has sent one. The receiver resolves when the connection is shed.
    fn admit(self: &Arc<Self>, app: &App) -> Option<(Admitted, oneshot::Receiver<()>)> {
        let mut held = self.state.lock().expect("connections lock");
        if held.open.len() >= self.cap {
            let oldest = held.waiting.pop_first()?;
            if let Some(close) = held.open.remove(&oldest) {
                let _ = close.send(());
            }
            app.inner.telemetry.connection_shed();
        }
        let id = held.next;
        held.next += 1;
        let (close, shed) = oneshot::channel();
        held.open.insert(id, close);
        held.waiting.insert(id);
        drop(held);
        app.inner.telemetry.connection_opened();
        let admitted = Admitted {
            id,
            connections: Arc::clone(self),
            app: app.clone(),
            requested: AtomicBool::new(false),
        };
        Some((admitted, shed))
    }

    /// Connection `id` has sent a complete request: it is no longer shed.
    fn requested(&self, id: u64) {
        self.state
            .lock()
            .expect("connections lock")
            .waiting
            .remove(&id);
    }

    /// Connection `id` has ended.
    fn closed(&self, id: u64) {
        let mut held = self.state.lock().expect("connections lock");
        held.open.remove(&id);
        held.waiting.remove(&id);
    }

    /// Closes every connection that has not sent a complete request.
    fn close_waiting(&self) {
        let mut held = self.state.lock().expect("connections lock");
        for id in std::mem::take(&mut held.waiting) {
            if let Some(close) = held.open.remove(&id) {
                let _ = close.send(());
            }
        }
    }
}

/// The answer to a connection beyond the cap: a `503` problem, then close.
fn refusal(cap: usize) -> Bytes {
    let problem = Problem::unavailable(format!(
        "the server holds its limit of {cap} connections; retry shortly"
    ));
    let body = problem.body().to_string();
    let mut head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in &problem.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    Bytes::from(head + &body)
}

/// Writes `answer` on `stream` and closes it. Closing a socket with unread
/// request bytes would reset it and could destroy the answer before the
/// client reads it, so the connection lingers (at most [`LINGER`], at most
/// [`LINGERING`] at once) to read what the client sent until it closes;
/// beyond that many, the answer is written if the socket takes it at once.
fn refuse(stream: TcpStream, answer: Bytes, lingering: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(lingering).try_acquire_owned() else {
        // Written straight to the socket: a fresh one takes a few hundred
        // bytes at once, and the runtime does not know it writable yet.
        if let Ok(stream) = stream.into_std() {
            let _ = (&stream).write(&answer);
        }
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut stream = stream;
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(&answer).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_the_reserve_of_the_open_file_limit_free() {
        assert_eq!(connection_cap(4096, Some(20_000)), 4096);
        assert_eq!(connection_cap(4096, Some(1024)), 1024 - 128);
        assert_eq!(connection_cap(4096, None), 4096);
        assert_eq!(connection_cap(4096, Some(100)), 1, "at least one");
    }
}
