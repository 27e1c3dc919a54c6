//! The server, assembled: the route table ([`crate::http::route`]) decides
//! which route a request is on and answers 404 and 405 itself; the API
//! ([`crate::api`]) and the pages ([`crate::web`]) handle what is theirs;
//! every request is logged and counted under its route's template. The
//! accept loop is [`accept`].
//!
//! `api` and `web` do not know each other: this module is the only one that
//! sees both.

mod accept;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use warp::http::{HeaderMap, Method};
use warp::Filter;

use crate::api::App;
use crate::http::problem::Problem;
use crate::http::reply::Response;
use crate::http::route::{self, Routed, Verb};

/// Every route of the server, as one warp filter: method, path, query,
/// headers and body go to [`dispatch`].
pub fn filter(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let with_app = warp::any().map(move || app.clone());
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .and(with_app)
        .and(warp::method())
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            |app: App,
             method: Method,
             path: warp::path::FullPath,
             query: String,
             headers: HeaderMap,
             body| async move {
                let started = Instant::now();
                let path = path.as_str();
                let found = route::find(path);
                let label = found.as_ref().map_or("other", |(spec, _)| spec.template);
                let response =
                    match dispatch(&app, &method, path, found, &query, &headers, body).await {
                        Ok(r) => r,
                        Err(p) => p.into_response(),
                    };
                app.inner.telemetry.request(
                    method.as_str(),
                    label,
                    response.status().as_u16(),
                    started.elapsed(),
                );
                response
            },
        )
}

/// Answers 404 when the path is on no route and 405 when the route has no
/// operation for the method (before any credential is read), else hands the
/// request to the API or the pages. `found` is [`route::find`]'s answer.
async fn dispatch<'a, S, B>(
    app: &App,
    method: &Method,
    path: &'a str,
    found: Option<(&'static route::Spec, Vec<&'a str>)>,
    raw_query: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, Problem>
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send,
    B: bytes::Buf,
{
    let (spec, params) = found.ok_or_else(|| Problem::not_found(format!("no route {path}")))?;
    let verb = match *method {
        Method::GET => Some(Verb::Get),
        // HEAD is a GET without the body for pages and assets; the API
        // answers only what its document lists.
        Method::HEAD if !spec.is_api() => Some(Verb::Get),
        Method::POST => Some(Verb::Post),
        _ => None,
    };
    // The template, never the path as sent: a path may hold a participant's
    // code (`/api/v1/subjects/…`).
    let op = verb.and_then(|v| spec.op(v)).ok_or_else(|| {
        Problem::method_not_allowed(
            format!("{method} is not allowed on {}", spec.template),
            spec.allow(),
        )
    })?;
    let routed = Routed {
        route: spec.route,
        op,
        method,
        path,
        params,
        raw_query,
        headers,
    };
    if spec.is_api() {
        crate::api::handle(app, routed, body).await
    } else {
        crate::web::handle(app, routed, body).await
    }
}

/// A server bound to an address.
pub struct Server {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    /// Ends when the server has shut down and in-flight requests completed.
    pub handle: tokio::task::JoinHandle<()>,
}

/// Binds `addr` (port 0 for any free port) and serves `app` over HTTP/1.1
/// within the limits of its [`crate::api::ApiConfig`] (see [`accept`]) until `shutdown`
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
    let handle = tokio::spawn(accept::run(listener, app, shutdown));
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
