//! The rights of data subjects over HTTP (PRODUCT.md §7): erasure,
//! `POST /api/v1/erasures` (GDPR art. 17), and access,
//! `GET /api/v1/subjects/{subject}` (art. 15). Both are for admin tokens
//! only, and a programme-scoped admin acts only on subjects of its programme.
//!
//! The work itself is `passerelle_events::rights` (the key destroyed and
//! `PersonalDataErased` appended in one transaction; every event of a
//! subject gathered and opened). This module owns what HTTP adds: the role
//! and scope checks, which come before anything is looked up so that a
//! refusal tells nothing about a subject; the strict parsing of the request;
//! and the mapping of each outcome to a status. It never writes a
//! participant's code into an answer it was not asked for, a problem detail,
//! a log line or a metric (the route template stands for the path in the
//! last two).

use bytes::Buf;
use futures::Stream;
use passerelle_events::json;
use passerelle_events::personal::{ErasedSubject, Subject, SubjectKind};
use passerelle_events::rights::{self, RightsError};
use passerelle_events::values::Reason;
use passerelle_events::FieldError;
use serde_json::{json, Value};
use warp::http::StatusCode;

use super::body;
use super::routes::{authenticate, units};
use super::state::App;
use crate::auth::{Principal, Role};
use crate::http::problem::Problem;
use crate::http::reply::{json_response, parse_query, read_body, Response};
use crate::http::route::{Route, Routed};

/// Serves `POST /erasures` and `GET /subjects/…`, whose method the route
/// table has checked: the token (401; for an erasure made with the session
/// cookie, where it comes from, 403, and for every erasure the body's media
/// type, 415), the role and scope (403), then the request itself.
pub(super) async fn handle<S, B>(app: &App, req: Routed<'_>, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let principal = authenticate(app, req.method, req.headers)?;
    let erasure = req.route == Route::Erasures;
    admin_only(
        &principal,
        if erasure {
            "erasing a person's data is for admin tokens only: it destroys the person's key \
             for good"
        } else {
            "a subject access request is answered for admin tokens only: it opens every \
             personal field held about one person"
        },
    )?;
    parse_query(req.raw_query, req.op)?;
    if erasure {
        erase(app, &principal, body).await
    } else {
        access(app, &principal, &req.params).await
    }
}

/// Refuses every role but admin, saying why.
pub(super) fn admin_only(principal: &Principal, why: &str) -> Result<(), Problem> {
    if principal.role == Role::Admin {
        return Ok(());
    }
    Err(Problem::forbidden(format!(
        "{why}. This {} token may not; ask an admin of this instance",
        principal.role
    )))
}

/// Refuses a subject outside a scoped token's programme. Nothing is looked
/// up first, so the refusal says nothing about whether the subject exists.
fn in_scope(principal: &Principal, subject: &Subject) -> Result<(), Problem> {
    if principal.can_read(subject.programme().as_str()) {
        return Ok(());
    }
    let own = principal.programme.as_deref().unwrap_or_default();
    Err(Problem::forbidden(format!(
        "this token is scoped to programme {own}: it acts only on subjects of {own}"
    )))
}

/// Parses a subject id; the error names the rule it broke without quoting
/// what may be a participant's code.
fn parse_subject(text: &str) -> Result<Subject, String> {
    Subject::parse(text, None).map_err(|m| {
        if text.starts_with("participant:") {
            // The parser's message may quote a part of the id, which for a
            // participant can be its code (written in the wrong place).
            "a participant subject is participant:PROGRAMME/CODE, PROGRAMME a programme id \
             (1–64 characters of a-z, 0-9, '_' or '-') and CODE 1–64 letters, digits, '_' or '-'"
                .to_owned()
        } else {
            m
        }
    })
}

/// An answer holding what one person's request is about: never kept by a
/// cache between the server and the admin.
pub(super) fn private_json(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let mut response = json_response(status, v);
    response.headers_mut().insert(
        warp::http::header::CACHE_CONTROL,
        warp::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Maps a refusal of the rights layer. A participant is never named: only
/// its programme is said, as a fixed phrase.
fn refusal(e: RightsError, subject: &Subject) -> Problem {
    match e {
        RightsError::NotFound(_) => Problem::not_found(match subject.kind() {
            SubjectKind::Contact => format!(
                "no personal data is held for {}: it was never recorded, or was erased",
                subject.id()
            ),
            SubjectKind::Participant => "no personal data is held for this participant: it \
                 was never recorded, or was erased (an erased participant leaves no trace of \
                 its code, so it cannot be found again)"
                .to_owned(),
        }),
        e @ RightsError::AlreadyErased { .. } => Problem::conflict(e.to_string()),
        RightsError::Record(e) => Problem::from_record(e),
        RightsError::Keys(e) => Problem::from_keys(e),
    }
}

/// The body of `POST /erasures`, read strictly.
struct ErasureRequest {
    subject: Subject,
    reason: Reason,
}

impl ErasureRequest {
    /// `{"subject": "contact:P/S" | "participant:P/CODE", "reason": "…"}`:
    /// 400 when the body is not JSON; 422 naming a key given twice at any
    /// depth, else naming each field (not an object, an unknown key, a
    /// missing or bad value).
    fn parse(bytes: &[u8]) -> Result<Self, Problem> {
        let Value::Object(members) = Problem::from_json(json::parse(bytes))? else {
            return Err(Problem::validation(vec![FieldError::new(
                "",
                "must be a JSON object {\"subject\": …, \"reason\": …}",
            )]));
        };
        let mut errors = Vec::new();
        let (mut subject, mut reason) = (None, None);
        for (key, value) in &members {
            let slot = match key.as_str() {
                "subject" => &mut subject,
                "reason" => &mut reason,
                _ => {
                    errors.push(FieldError::new(
                        key.as_str(),
                        "is not a field of an erasure, which takes subject and reason only",
                    ));
                    continue;
                }
            };
            *slot = Some(value);
        }
        let text = |field: &str, v: Option<&Value>, errors: &mut Vec<FieldError>| match v {
            None => {
                errors.push(FieldError::new(field, "is required"));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push(FieldError::new(field, "must be a string"));
                None
            }
        };
        let subject = text("subject", subject, &mut errors).and_then(|s| {
            parse_subject(&s)
                .map_err(|m| errors.push(FieldError::new("subject", m)))
                .ok()
        });
        let reason = text("reason", reason, &mut errors).and_then(|s| {
            Reason::parse(&s)
                .map_err(|m| errors.push(FieldError::new("reason", m)))
                .ok()
        });
        match (subject, reason) {
            (Some(subject), Some(reason)) if errors.is_empty() => Ok(Self { subject, reason }),
            _ => Err(Problem::validation(errors)),
        }
    }
}

/// `POST /erasures`: destroys the subject's key and appends
/// `PersonalDataErased`, then answers once reads reflect it (bounded like
/// `min_position`), so that a read right after shows the fields erased.
async fn erase<S, B>(app: &App, principal: &Principal, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let bytes = read_body(body, app.inner.config.body_limit).await?;
    let request = ErasureRequest::parse(&bytes)?;
    in_scope(principal, &request.subject)?;
    let erasure = rights::erase(
        &app.inner.ledger,
        &request.subject,
        request.reason,
        &principal.name,
    )
    .await
    .map_err(|e| match e {
        // Told in the caller's units, as every position.
        RightsError::AlreadyErased { subject, position } => RightsError::AlreadyErased {
            subject,
            position: app
                .inner
                .engine
                .read()
                .expect("engine lock")
                .told(position, units(principal)),
        },
        e => e,
    })
    .map_err(|e| refusal(e, &request.subject))?;
    app.inner.telemetry.appended(1);
    let position = erasure.event.position;
    if !app.wait_for(position).await {
        // The erasure is done and durable: saying otherwise would invite a
        // retry, answered 409 (or 404 for a participant). A read with
        // `min_position` set to the event's position waits for it.
        tracing::warn!(
            position,
            "an erasure is answered before the reads reflect it"
        );
    }
    let erased = ErasedSubject::new(&request.subject, &erasure.key);
    let mut event = erasure.event.to_json();
    event["position"] = json!(app
        .position_for(position, units(principal))
        .await
        .map_err(Problem::from_store)?);
    Ok(private_json(
        StatusCode::CREATED,
        &body::Erasure {
            erased: erased.as_str().to_owned(),
            key: erasure.key.as_str().to_owned(),
            event,
        },
    ))
}

/// `GET /subjects/{subject}`: every event holding the subject's data, opened.
async fn access(app: &App, principal: &Principal, segments: &[&str]) -> Result<Response, Problem> {
    let example = "e.g. /api/v1/subjects/contact%3Asjdlr%2Fsj-ccas";
    let segment = match segments {
        [one] if !one.is_empty() => *one,
        [] | [_] => {
            return Err(Problem::bad_request(format!(
                "the subject is missing: {} takes a subject id, percent-encoded as one path \
                 segment ({example})",
                Route::Subject.template()
            )))
        }
        _ => {
            return Err(Problem::bad_request(format!(
                "the subject must be percent-encoded as one path segment (its ':' as %3A and \
                 '/' as %2F, {example})"
            )))
        }
    };
    let text = percent_decode(segment)
        .map_err(|m| Problem::bad_request(format!("the subject in the path {m} ({example})")))?;
    let subject = parse_subject(&text)
        .map_err(|m| Problem::bad_request(format!("the subject in the path is malformed: {m}")))?;
    in_scope(principal, &subject)?;
    let access = rights::subject_access(app.keyring(), &subject)
        .await
        .map_err(|e| refusal(e, &subject))?;
    // Positions in the caller's units, as every position.
    let units = units(principal);
    let mut events = Vec::with_capacity(access.events.len());
    for e in &access.events {
        let mut v = e.to_json();
        v["position"] = json!(app
            .position_for(e.position, units)
            .await
            .map_err(Problem::from_store)?);
        events.push(v);
    }
    let position = app
        .position_for(access.position, units)
        .await
        .map_err(Problem::from_store)?;
    Ok(private_json(
        StatusCode::OK,
        &body::SubjectAccess {
            subject: access.subject.id(),
            key: access.key.as_str().to_owned(),
            position,
            events,
        },
    ))
}

/// Decodes `%XX` escapes of one path segment; the text must be UTF-8. The
/// error completes "the subject in the path …" without quoting it.
fn percent_decode(segment: &str) -> Result<String, String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("has a '%' not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "does not decode to UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_decodes_its_escapes_and_refuses_broken_ones() {
        assert_eq!(
            percent_decode("participant%3Asjdlr%2FP-0042").unwrap(),
            "participant:sjdlr/P-0042"
        );
        assert_eq!(
            percent_decode("contact:sjdlr%2fbapa").unwrap(),
            "contact:sjdlr/bapa"
        );
        assert!(percent_decode("contact%3").is_err());
        assert!(percent_decode("contact%zz").is_err());
        assert!(percent_decode("%ff%fe").is_err());
        // A multi-byte character split by an escape is still refused as bytes.
        assert!(percent_decode("%e2%82").is_err());
    }

    #[test]
    fn an_erasure_body_is_read_strictly_naming_each_field() {
        let fields = |body: &str| -> Vec<String> {
            ErasureRequest::parse(body.as_bytes())
                .err()
                .expect("refused")
                .errors
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        let ok = ErasureRequest::parse(
            br#"{"subject": "contact:sjdlr/bapa", "reason": "Asked by e-mail"}"#,
        )
        .expect("a valid erasure");
        assert_eq!(ok.subject.id(), "contact:sjdlr/bapa");
        assert_eq!(fields(r#"{"subject": "contact:sjdlr/bapa"}"#), ["reason"]);
        assert_eq!(
            fields(r#"{"subject": "contact:bapa", "reason": "x", "who": 1}"#),
            ["who", "subject"]
        );
        assert_eq!(
            fields(
                r#"{"subject": "contact:sjdlr/a", "subject": "contact:sjdlr/b", "reason": "x"}"#
            ),
            ["subject"]
        );
        assert_eq!(
            fields(r#"{"subject": "contact:sjdlr/a", "reason": {"x": 1, "x": 2}}"#),
            ["reason.x"]
        );
        assert_eq!(
            fields(r#"{"subject": 7, "reason": "  "}"#),
            ["subject", "reason"]
        );
        assert_eq!(fields(r#"["contact:sjdlr/bapa"]"#), [""]);
        let bad = ErasureRequest::parse(b"{nope").err().expect("refused");
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_malformed_participant_subject_is_refused_without_quoting_it() {
        for text in [
            "participant:P-0042/sjdlr",
            "participant:Sjdlr/P-0042",
            "participant:sjdlr/P 0042",
        ] {
            let m = parse_subject(text).expect_err(text);
            assert!(!m.contains("0042"), "{text}: {m}");
        }
        assert!(parse_subject("contact:Sjdlr/bapa").is_err());
    }
}
