//! Requests in, answers out: the query string checked against the
//! parameters an operation reads, a body read within a limit, and JSON
//! answers.

use std::collections::BTreeMap;

use bytes::Buf;
use futures::{Stream, StreamExt};
use serde::Serialize;
use warp::http::StatusCode;

use super::problem::Problem;
use super::route::Op;

/// An answer.
pub type Response = warp::reply::Response;

/// A query string's parameters, each given once.
pub type Query = BTreeMap<String, String>;

/// The query of a request to `op`: every parameter one `op` reads
/// ([`Op::query`]), each at most once; anything else is refused, naming it.
pub fn parse_query(raw: &str, op: &Op) -> Result<Query, Problem> {
    let mut q = Query::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if !op.query().any(|name| name == k) {
            let allowed: Vec<&str> = op.query().collect();
            return Err(Problem::bad_request(format!(
                "unknown query parameter {k:?}; this route takes {}",
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        if q.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Problem::bad_request(format!(
                "query parameter {k:?} is given twice"
            )));
        }
    }
    Ok(q)
}

/// A parameter that is a non-negative whole number, if given.
pub fn number(q: &Query, key: &str) -> Result<Option<u64>, Problem> {
    q.get(key)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                Problem::bad_request(format!(
                    "{key} must be a non-negative whole number (got {v:?})"
                ))
            })
        })
        .transpose()
}

/// A body as JSON text. The bodies are plain data (string keys, finite
/// numbers or `null`): serialising one cannot fail.
pub fn to_json(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).expect("a response body serialises to JSON")
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    warp::http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(to_json(body).into())
        .expect("valid response")
}

/// The whole body, refused (413) beyond `limit` bytes without reading
/// further.
pub async fn read_body<S, B>(body: S, limit: u64) -> Result<Vec<u8>, Problem>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| Problem::bad_request(format!("could not read the body: {e}")))?;
        if (out.len() + chunk.remaining()) as u64 > limit {
            return Err(Problem::too_large(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}
