//! Hostile and malformed requests, played from one matrix
//! (`tests/fixtures/hostile/requests.json`, also replayed against a release
//! server by `scripts/bench-hostile`, which measures the CPU each costs).
//!
//! Every request is answered with its expected status; every refusal is an
//! RFC 9457 problem that names the offending field or parameter where there
//! is one, and conforms to the OpenAPI document; and none of them changes
//! the log.

use std::time::Duration;

use passerelle::auth::Role;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::*;

/// One request of the matrix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    group: String,
    method: String,
    path: String,
    query: String,
    /// Who sends it (see [`credentials`]).
    auth: String,
    status: u16,
    /// Headers; `null` removes the default JSON content type.
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    /// A JSON body, sent serialised.
    body: Option<Value>,
    /// A body sent as it is.
    raw: Option<String>,
    /// A body made of a text repeated.
    raw_repeat: Option<(String, usize)>,
    /// The field or parameter the problem must name.
    field: Option<String>,
}

fn matrix() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hostile/requests.json"
    );
    let text = std::fs::read_to_string(path).expect("the matrix");
    serde_json::from_str(&text).expect("a well-formed matrix")
}

/// `{{date+N}}` becomes the date N days after today (UTC), `{{origin}}` the
/// server's origin.
fn fill(text: &str, origin: &str) -> String {
    let mut out = text.replace("{{origin}}", origin);
    while let Some(start) = out.find("{{date+") {
        let end = start + out[start..].find("}}").expect("a closed placeholder");
        let days: i64 = out[start + 7..end].parse().expect("a number of days");
        let date = (chrono::Utc::now() + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string();
        out.replace_range(start..end + 2, &date);
    }
    out
}

/// The headers that authenticate as `who`.
fn credentials(app: &TestApp, who: &str, revoked: &Token) -> Vec<(String, String)> {
    let bearer = |t: &Token| vec![("authorization".into(), format!("Bearer {}", t.secret))];
    let session = |t: &Token| {
        let secret = app
            .app
            .tokens()
            .open_session(&t.id, Duration::from_secs(600))
            .expect("a session");
        vec![(
            "cookie".into(),
            format!("{}={secret}", passerelle::http::guard::SESSION_COOKIE),
        )]
    };
    let t = &app.tokens;
    match who {
        "none" => vec![],
        "admin" => bearer(&t.admin),
        "coordinator" => bearer(&t.coordinator),
        "mentor" => bearer(&t.mentor),
        "viewer" => bearer(&t.viewer),
        "brussels" => bearer(&t.brussels),
        "revoked" => bearer(revoked),
        "unknown" => vec![(
            "authorization".into(),
            "Bearer psl_0000000000000000000000000000000000000000".into(),
        )],
        "basic" => vec![("authorization".into(), "Basic YWRtaW46YWRtaW4=".into())],
        "cookie" => session(&t.coordinator),
        "cookie-admin" => session(&t.admin),
        "cookie-unknown" => vec![(
            "cookie".into(),
            format!(
                "{}=psls_0000000000000000000000000000",
                passerelle::http::guard::SESSION_COOKIE
            ),
        )],
        other => panic!("unknown sender {other:?} in the matrix"),
    }
}

#[tokio::test]
async fn every_hostile_request_is_refused_clearly_and_changes_nothing() {
    let cases = matrix();
    assert!(
        cases.len() >= 60,
        "the matrix holds {} requests",
        cases.len()
    );
    let app = TestApp::spawn().await;
    let (info, secret) = app
        .app
        .tokens()
        .create("rex revoked", Role::Coordinator, None)
        .expect("a token");
    app.app.tokens().revoke(&info.id).expect("revoke it");
    let revoked = Token {
        id: info.id,
        name: info.name,
        secret,
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("a client");
    let mut failures = Vec::new();
    for case in &cases {
        let head = app.head().await;
        let label = format!("[{}] {}", case.group, case.name);
        let query = fill(&case.query, &app.base);
        let url = if query.is_empty() {
            format!("{}{}", app.base, case.path)
        } else {
            format!("{}{}?{query}", app.base, case.path)
        };
        let method = Method::from_bytes(case.method.as_bytes()).expect("a method");
        let mut req = client.request(method.clone(), &url);
        for (k, v) in credentials(&app, &case.auth, &revoked) {
            req = req.header(k, v);
        }
        let body = match (&case.body, &case.raw, &case.raw_repeat) {
            (Some(v), None, None) => Some(fill(&v.to_string(), &app.base)),
            (None, Some(raw), None) => Some(fill(raw, &app.base)),
            (None, None, Some((text, n))) => Some(text.repeat(*n)),
            (None, None, None) => None,
            _ => panic!("{label}: one body at most"),
        };
        let mut content_type = body.as_ref().map(|_| "application/json".to_owned());
        for (k, v) in &case.headers {
            match (k.as_str(), v) {
                ("content-type", Value::Null) => content_type = None,
                ("content-type", Value::String(s)) => content_type = Some(s.clone()),
                (k, Value::String(s)) => req = req.header(k, fill(s, &app.base)),
                _ => panic!("{label}: header {k} must be a string or null"),
            }
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let reply = within(async {
            let resp = req.send().await.unwrap_or_else(|e| panic!("{label}: {e}"));
            Reply {
                status: resp.status(),
                headers: resp.headers().clone(),
                body: resp
                    .bytes()
                    .await
                    .unwrap_or_else(|e| panic!("{label}: body: {e}")),
            }
        })
        .await;
        if let Err(why) = check(case, &reply) {
            failures.push(format!("{label}: {why}"));
            continue;
        }
        conforms(&method, &template_of(&case.path), &reply);
        let now = app.head().await;
        if now != head {
            failures.push(format!("{label}: the log moved from {head} to {now}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The status, and for a refusal a problem document naming the field.
fn check(case: &Case, reply: &Reply) -> Result<(), String> {
    let status = reply.status.as_u16();
    if status != case.status {
        return Err(format!(
            "answered {status} instead of {}: {}",
            case.status,
            truncate(&reply.text())
        ));
    }
    if status < 400 {
        return Ok(());
    }
    if reply.content_type() != "application/problem+json" {
        return Err(format!("a {} body, not a problem", reply.content_type()));
    }
    let p: Value = serde_json::from_slice(&reply.body).map_err(|e| format!("not JSON: {e}"))?;
    if p["status"].as_u64() != Some(u64::from(status)) || !p["detail"].is_string() {
        return Err(format!("a malformed problem: {p}"));
    }
    let Some(field) = &case.field else {
        return Ok(());
    };
    let named_in_errors = p["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["field"] == field.as_str()));
    let named_in_detail = p["detail"]
        .as_str()
        .is_some_and(|d| d.contains(field.as_str()));
    if named_in_errors || named_in_detail {
        Ok(())
    } else {
        Err(format!("the problem does not name {field:?}: {p}"))
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}
