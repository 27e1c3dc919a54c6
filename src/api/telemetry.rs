//! Request telemetry: one tracing line per request (method, route, status,
//! latency — never a body, a token or personal data), the connections'
//! counters and log lines (a client that goes away is not a server error),
//! and the Prometheus counters served at `/api/v1/metrics`, with those of
//! the renderings of reads (under way, refused, stopped).

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Why a rendering was stopped before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// No request waited for it any more (every client had gone).
    Abandoned,
    /// Its deadline passed.
    Deadline,
}

/// Counters shared by every request.
#[derive(Default)]
pub struct Telemetry {
    routes: Mutex<BTreeMap<(String, &'static str), Route>>,
    appended: Mutex<u64>,
    connections: Connections,
    renders_running: AtomicU64,
    renders_waiting: AtomicU64,
    renders_refused: AtomicU64,
    renders_abandoned: AtomicU64,
    renders_out_of_time: AtomicU64,
}

/// Connection counters.
#[derive(Default)]
struct Connections {
    open: AtomicU64,
    shed: AtomicU64,
    refused: AtomicU64,
}

/// One gauge's count, held until it is dropped.
pub struct Counted<'a>(&'a AtomicU64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<'a> Counted<'a> {
    fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Telemetry {
    /// Records one request and logs it.
    pub fn request(&self, method: &str, route: &'static str, status: u16, latency: Duration) {
        tracing::info!(
            method,
            route,
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request"
        );
        let secs = latency.as_secs_f64();
        let mut routes = self.routes.lock().expect("telemetry lock");
        let r = routes.entry((method.to_owned(), route)).or_default();
        *r.by_status.entry(status).or_default() += 1;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                r.buckets[i] += 1;
            }
        }
        r.count += 1;
        r.sum += secs;
    }

    /// Counts appended events.
    pub fn appended(&self, n: u64) {
        *self.appended.lock().expect("telemetry lock") += n;
    }

    /// Counts a connection accepted and served.
    pub fn connection_opened(&self) {
        self.connections.open.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a served connection closed.
    pub fn connection_closed(&self) {
        self.connections.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a connection closed, before it sent a complete request, to
    /// make room for a new one.
    pub fn connection_shed(&self) {
        self.connections.shed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("closed the oldest connection without a request, at the connection limit");
    }

    /// Counts a connection answered `503` at the connection limit.
    pub fn connection_refused(&self) {
        self.connections.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("refused a connection at the connection limit");
    }

    /// Logs how a connection ended in error: at DEBUG when the client went
    /// away or misbehaved (reset, broken pipe, incomplete or malformed
    /// request, headers too slow), at ERROR otherwise.
    pub fn connection_failed(&self, e: &hyper::Error) {
        if client_side(e) {
            tracing::debug!(error = %e, "connection closed by or for the client");
        } else {
            tracing::error!(error = %e, "connection error");
        }
    }

    /// Counts a rendering as under way until the guard is dropped.
    pub fn rendering(&self) -> Counted<'_> {
        Counted::new(&self.renders_running)
    }

    /// Counts a read as waiting for a place among the renderings until
    /// the guard is dropped.
    pub fn waiting(&self) -> Counted<'_> {
        Counted::new(&self.renders_waiting)
    }

    /// Counts a rendering refused: as many as the server runs at once were
    /// under way for as long as the read could wait.
    pub fn render_refused(&self) {
        self.renders_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a rendering stopped before it ended.
    pub fn render_stopped(&self, reason: StopReason) {
        match reason {
            StopReason::Abandoned => &self.renders_abandoned,
            StopReason::Deadline => &self.renders_out_of_time,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, head: u64, projected: u64) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().expect("telemetry lock");
        out.push_str(
            "# HELP passerelle_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE passerelle_http_requests_total counter\n");
        for ((method, route), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(out, "passerelle_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP passerelle_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE passerelle_http_request_duration_seconds histogram\n");
        for ((method, route), r) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "passerelle_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    r.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_sum{{{labels}}} {}",
                r.sum
            );
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_count{{{labels}}} {}",
                r.count
            );
        }
        drop(routes);
        let appended = *self.appended.lock().expect("telemetry lock");
        let _ = writeln!(
            out,
            "# HELP passerelle_events_appended_total Events appended through this server."
        );
        let _ = writeln!(out, "# TYPE passerelle_events_appended_total counter");
        let _ = writeln!(out, "passerelle_events_appended_total {appended}");
        self.render_connections(&mut out);
        let _ = writeln!(
            out,
            "# HELP passerelle_log_position The last position of the log."
        );
        let _ = writeln!(out, "# TYPE passerelle_log_position gauge");
        let _ = writeln!(out, "passerelle_log_position {head}");
        let _ = writeln!(
            out,
            "# HELP passerelle_projection_lag_events Events stored but not yet projected."
        );
        let _ = writeln!(out, "# TYPE passerelle_projection_lag_events gauge");
        let _ = writeln!(
            out,
            "passerelle_projection_lag_events {}",
            head.saturating_sub(projected)
        );
        self.render_renders(&mut out);
        out
    }

    /// The renderings' gauge and counters.
    fn render_renders(&self, out: &mut String) {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP passerelle_renders_in_flight Renderings of reads under way."
        );
        let _ = writeln!(out, "# TYPE passerelle_renders_in_flight gauge");
        let _ = writeln!(
            out,
            "passerelle_renders_in_flight {}",
            load(&self.renders_running)
        );
        let _ = writeln!(
            out,
            "# HELP passerelle_renders_waiting Reads waiting for a place among the renderings."
        );
        let _ = writeln!(out, "# TYPE passerelle_renders_waiting gauge");
        let _ = writeln!(
            out,
            "passerelle_renders_waiting {}",
            load(&self.renders_waiting)
        );
        let _ = writeln!(
            out,
            "# HELP passerelle_renders_refused_total Reads answered 503 because as many renderings as the server runs at once were under way for as long as they could wait."
        );
        let _ = writeln!(out, "# TYPE passerelle_renders_refused_total counter");
        let _ = writeln!(
            out,
            "passerelle_renders_refused_total {}",
            load(&self.renders_refused)
        );
        let _ = writeln!(
            out,
            "# HELP passerelle_renders_stopped_total Renderings stopped before they ended: no request waited for them any more (abandoned), or their deadline passed (deadline)."
        );
        let _ = writeln!(out, "# TYPE passerelle_renders_stopped_total counter");
        for (reason, n) in [
            ("abandoned", &self.renders_abandoned),
            ("deadline", &self.renders_out_of_time),
        ] {
            let _ = writeln!(
                out,
                "passerelle_renders_stopped_total{{reason=\"{reason}\"}} {}",
                load(n)
            );
        }
    }
    /// The connection counters, in the Prometheus text exposition.
    fn render_connections(&self, out: &mut String) {
        let c = &self.connections;
        for (name, kind, help, value) in [
            (
                "passerelle_http_connections_open",
                "gauge",
                "Connections open now.",
                &c.open,
            ),
            (
                "passerelle_http_connections_shed_total",
                "counter",
                "Connections closed before a complete request, at the connection limit.",
                &c.shed,
            ),
            (
                "passerelle_http_connections_refused_total",
                "counter",
                "Connections answered 503 at the connection limit.",
                &c.refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
    }
}

/// Whether a connection error is the client's doing: it reset or closed the
/// connection, sent an incomplete or malformed request, or was too slow to
/// send its headers.
fn client_side(e: &hyper::Error) -> bool {
    e.is_incomplete_message()
        || e.is_timeout()
        || e.is_parse()
        || e.is_body_write_aborted()
        || io_kind(e).is_some_and(|kind| {
            matches!(
                kind,
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::NotConnected
                    | ErrorKind::UnexpectedEof
                    | ErrorKind::TimedOut
            )
        })
}

/// The kind of the first I/O error in `e`'s chain of sources.
fn io_kind(e: &(dyn StdError + 'static)) -> Option<ErrorKind> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = err.source();
    }
    None
}
