//! Request telemetry: one tracing line per request (method, route, status,
//! latency — never a body, a token or personal data), the connections'
//! counters and log lines (a client that goes away is not a server error),
//! and the Prometheus metrics served at `/api/v1/metrics`, with those of
//! the renderings of reads (under way, refused, stopped). The metrics live
//! in a `prometheus` registry owned by each [`Telemetry`] (never the
//! crate's global one, so servers in one process count apart) and are
//! written by the crate's text encoder (decision 016). Every label value is
//! bounded: a method of HTTP's own or `other`, a route template, a status
//! code, a stop reason.

use std::error::Error as StdError;
use std::io::ErrorKind;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The content type of the text exposition.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The methods given as their own label value; any other is `other`, so
/// that a client cannot make series by inventing methods.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Why a rendering was stopped before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// No request waited for it any more (every client had gone).
    Abandoned,
    /// Its deadline passed.
    Deadline,
}

/// Counters shared by every request.
pub struct Telemetry {
    registry: Registry,
    /// One exposition at a time, so that the log's gauges of an answer are
    /// those its caller set.
    exposition: Mutex<()>,
    requests: IntCounterVec,
    latency: HistogramVec,
    appended: IntCounter,
    connections_open: IntGauge,
    connections_shed: IntCounter,
    connections_refused: IntCounter,
    log_position: IntGauge,
    projection_lag: IntGauge,
    renders_running: IntGauge,
    renders_waiting: IntGauge,
    renders_refused: IntCounter,
    renders_abandoned: IntCounter,
    renders_out_of_time: IntCounter,
}

/// One gauge's count, held until it is dropped.
pub struct Counted<'a>(&'a IntGauge);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl<'a> Counted<'a> {
    fn new(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

/// `metric`, registered in `registry`.
fn registered<C: Collector + Clone + 'static>(registry: &Registry, metric: C) -> C {
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once, under a valid name");
    metric
}

impl Default for Telemetry {
    fn default() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let counter = |name: &str, help: &str| {
            registered(r, IntCounter::new(name, help).expect("valid counter"))
        };
        let gauge =
            |name: &str, help: &str| registered(r, IntGauge::new(name, help).expect("valid gauge"));
        let requests = registered(
            r,
            IntCounterVec::new(
                Opts::new(
                    "passerelle_http_requests_total",
                    "HTTP requests by method, route and status.",
                ),
                &["method", "route", "status"],
            )
            .expect("valid counter"),
        );
        let latency = registered(
            r,
            HistogramVec::new(
                HistogramOpts::new(
                    "passerelle_http_request_duration_seconds",
                    "HTTP request latency by method and route.",
                )
                .buckets(BUCKETS.to_vec()),
                &["method", "route"],
            )
            .expect("valid histogram"),
        );
        let stopped = registered(
            r,
            IntCounterVec::new(
                Opts::new(
                    "passerelle_renders_stopped_total",
                    "Renderings stopped before they ended: no request waited for them any more \
                     (abandoned), or their deadline passed (deadline).",
                ),
                &["reason"],
            )
            .expect("valid counter"),
        );
        Self {
            exposition: Mutex::new(()),
            requests,
            latency,
            appended: counter(
                "passerelle_events_appended_total",
                "Events appended through this server.",
            ),
            connections_open: gauge("passerelle_http_connections_open", "Connections open now."),
            connections_shed: counter(
                "passerelle_http_connections_shed_total",
                "Connections closed before a complete request, at the connection limit.",
            ),
            connections_refused: counter(
                "passerelle_http_connections_refused_total",
                "Connections answered 503 at the connection limit.",
            ),
            log_position: gauge("passerelle_log_position", "The last position of the log."),
            projection_lag: gauge(
                "passerelle_projection_lag_events",
                "Events stored but not yet projected.",
            ),
            renders_running: gauge(
                "passerelle_renders_in_flight",
                "Renderings of reads under way.",
            ),
            renders_waiting: gauge(
                "passerelle_renders_waiting",
                "Reads waiting for a place among the renderings.",
            ),
            renders_refused: counter(
                "passerelle_renders_refused_total",
                "Reads answered 503 because as many renderings as the server runs at once were \
                 under way for as long as they could wait.",
            ),
            // Both reasons are shown from the start, at 0.
            renders_abandoned: stopped.with_label_values(&["abandoned"]),
            renders_out_of_time: stopped.with_label_values(&["deadline"]),
            registry,
        }
    }
}

/// `n` as a gauge's value.
fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
        let method = if METHODS.contains(&method) {
            method
        } else {
            "other"
        };
        // The code's digits without an allocation (any u16 a server answers
        // is a valid status; another would be counted as "other").
        let code = warp::http::StatusCode::from_u16(status);
        let status = code.as_ref().map_or("other", |s| s.as_str());
        self.requests
            .with_label_values(&[method, route, status])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(latency.as_secs_f64());
    }

    /// Counts appended events.
    pub fn appended(&self, n: u64) {
        self.appended.inc_by(n);
    }

    /// Counts a connection accepted and served.
    pub fn connection_opened(&self) {
        self.connections_open.inc();
    }

    /// Counts a served connection closed.
    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    /// Counts a connection closed, before it sent a complete request, to
    /// make room for a new one.
    pub fn connection_shed(&self) {
        self.connections_shed.inc();
        tracing::debug!("closed the oldest connection without a request, at the connection limit");
    }

    /// Counts a connection answered `503` at the connection limit.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
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
        self.renders_refused.inc();
    }

    /// Counts a rendering stopped before it ended.
    pub fn render_stopped(&self, reason: StopReason) {
        match reason {
            StopReason::Abandoned => &self.renders_abandoned,
            StopReason::Deadline => &self.renders_out_of_time,
        }
        .inc();
    }

    /// The Prometheus text exposition ([`CONTENT_TYPE`]), with the log's
    /// last position `head` and the lag of the projection at `projected`.
    pub fn render(&self, head: u64, projected: u64) -> String {
        let _one = self.exposition.lock().expect("telemetry lock");
        self.log_position.set(gauge_value(head));
        self.projection_lag
            .set(gauge_value(head.saturating_sub(projected)));
        let mut out = String::new();
        TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("the registry gathers well-formed families");
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text` has `line` as one of its lines.
    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn the_content_type_is_the_text_format_0_0_4() {
        assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4");
    }

    #[test]
    fn every_family_keeps_its_name_type_and_help() {
        let t = Telemetry::default();
        t.request("GET", "/api/v1/stakeholders", 200, Duration::from_millis(1));
        let text = t.render(0, 0);
        let mut heads: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        heads.sort_unstable();
        let mut expected = vec![
            "# HELP passerelle_http_requests_total HTTP requests by method, route and status.",
            "# TYPE passerelle_http_requests_total counter",
            "# HELP passerelle_http_request_duration_seconds HTTP request latency by method and route.",
            "# TYPE passerelle_http_request_duration_seconds histogram",
            "# HELP passerelle_events_appended_total Events appended through this server.",
            "# TYPE passerelle_events_appended_total counter",
            "# HELP passerelle_http_connections_open Connections open now.",
            "# TYPE passerelle_http_connections_open gauge",
            "# HELP passerelle_http_connections_shed_total Connections closed before a complete request, at the connection limit.",
            "# TYPE passerelle_http_connections_shed_total counter",
            "# HELP passerelle_http_connections_refused_total Connections answered 503 at the connection limit.",
            "# TYPE passerelle_http_connections_refused_total counter",
            "# HELP passerelle_log_position The last position of the log.",
            "# TYPE passerelle_log_position gauge",
            "# HELP passerelle_projection_lag_events Events stored but not yet projected.",
            "# TYPE passerelle_projection_lag_events gauge",
            "# HELP passerelle_renders_in_flight Renderings of reads under way.",
            "# TYPE passerelle_renders_in_flight gauge",
            "# HELP passerelle_renders_waiting Reads waiting for a place among the renderings.",
            "# TYPE passerelle_renders_waiting gauge",
            "# HELP passerelle_renders_refused_total Reads answered 503 because as many renderings as the server runs at once were under way for as long as they could wait.",
            "# TYPE passerelle_renders_refused_total counter",
            "# HELP passerelle_renders_stopped_total Renderings stopped before they ended: no request waited for them any more (abandoned), or their deadline passed (deadline).",
            "# TYPE passerelle_renders_stopped_total counter",
        ];
        expected.sort_unstable();
        assert_eq!(heads, expected, "{text}");
    }

    #[test]
    fn a_request_is_counted_by_method_route_and_status_with_its_latency() {
        let t = Telemetry::default();
        // Latencies of whole powers of two, so that their sum is exact.
        let (fast, slow) = (
            Duration::from_secs_f64(2f64.powi(-9)),
            Duration::from_secs_f64(2f64.powi(-5)),
        );
        t.request("POST", "/api/v1/events", 201, fast);
        t.request("POST", "/api/v1/events", 201, slow);
        t.request("POST", "/api/v1/events", 400, fast);
        let text = t.render(0, 0);
        let labels = r#"method="POST",route="/api/v1/events""#;
        for line in [
            format!(r#"passerelle_http_requests_total{{{labels},status="201"}} 2"#),
            format!(r#"passerelle_http_requests_total{{{labels},status="400"}} 1"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="0.0005"}} 0"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="0.001"}} 0"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="0.0025"}} 2"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="0.025"}} 2"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="0.05"}} 3"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="1"}} 3"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="2.5"}} 3"#),
            format!(r#"passerelle_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} 3"#),
            format!(r#"passerelle_http_request_duration_seconds_sum{{{labels}}} 0.03515625"#),
            format!(r#"passerelle_http_request_duration_seconds_count{{{labels}}} 3"#),
        ] {
            assert!(has(&text, &line), "missing {line:?} in\n{text}");
        }
        let buckets = text
            .lines()
            .filter(|l| l.starts_with("passerelle_http_request_duration_seconds_bucket"))
            .count();
        assert_eq!(buckets, BUCKETS.len() + 1, "{text}");
    }

    #[test]
    fn an_invented_method_is_counted_as_other() {
        let t = Telemetry::default();
        for method in ["BREW", "WHEN", "GET"] {
            t.request(method, "other", 405, Duration::from_millis(1));
        }
        let text = t.render(0, 0);
        assert!(
            has(
                &text,
                r#"passerelle_http_requests_total{method="other",route="other",status="405"} 2"#
            ),
            "{text}"
        );
        assert!(
            has(
                &text,
                r#"passerelle_http_requests_total{method="GET",route="other",status="405"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains("BREW") && !text.contains("WHEN"), "{text}");
    }

    #[test]
    fn gauges_and_counters_follow_what_they_count() {
        let t = Telemetry::default();
        let text = t.render(7, 4);
        for line in [
            "passerelle_log_position 7",
            "passerelle_projection_lag_events 3",
            "passerelle_events_appended_total 0",
            "passerelle_http_connections_open 0",
            "passerelle_renders_in_flight 0",
            r#"passerelle_renders_stopped_total{reason="abandoned"} 0"#,
            r#"passerelle_renders_stopped_total{reason="deadline"} 0"#,
        ] {
            assert!(has(&text, line), "missing {line:?} in\n{text}");
        }

        t.appended(3);
        t.appended(2);
        t.connection_opened();
        t.connection_opened();
        t.connection_closed();
        t.connection_shed();
        t.connection_refused();
        t.render_refused();
        t.render_stopped(StopReason::Deadline);
        let rendering = t.rendering();
        let waiting = (t.waiting(), t.waiting());
        let text = t.render(9, 9);
        for line in [
            "passerelle_log_position 9",
            "passerelle_projection_lag_events 0",
            "passerelle_events_appended_total 5",
            "passerelle_http_connections_open 1",
            "passerelle_http_connections_shed_total 1",
            "passerelle_http_connections_refused_total 1",
            "passerelle_renders_in_flight 1",
            "passerelle_renders_waiting 2",
            "passerelle_renders_refused_total 1",
            r#"passerelle_renders_stopped_total{reason="abandoned"} 0"#,
            r#"passerelle_renders_stopped_total{reason="deadline"} 1"#,
        ] {
            assert!(has(&text, line), "missing {line:?} in\n{text}");
        }

        drop(rendering);
        drop(waiting);
        let text = t.render(9, 9);
        for line in [
            "passerelle_renders_in_flight 0",
            "passerelle_renders_waiting 0",
        ] {
            assert!(has(&text, line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn two_servers_in_one_process_count_apart() {
        let (a, b) = (Telemetry::default(), Telemetry::default());
        a.appended(4);
        a.request("GET", "/api/v1/me", 200, Duration::from_millis(1));
        let text = b.render(0, 0);
        assert!(has(&text, "passerelle_events_appended_total 0"), "{text}");
        assert!(!text.contains("passerelle_http_requests_total{"), "{text}");
        assert!(has(&a.render(0, 0), "passerelle_events_appended_total 4"));
    }
}
