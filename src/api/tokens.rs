//! Tokens over HTTP, for whoever runs the instance: `GET /api/v1/tokens`
//! lists the tokens an admin manages, `POST /api/v1/revocations` revokes
//! one. Tokens are created on the command line only (`passerelle token
//! create`), where the secret is shown once: no answer of the API ever holds
//! a secret or its hash.
//!
//! Both are for admin tokens only. An admin scoped to a programme manages
//! the tokens scoped to that programme, and no other: a token of another
//! programme, or of every programme, is answered as if it did not exist, so
//! that a scoped admin learns nothing about the rest of the instance. A
//! revocation is stored before it is answered and reaches every instance on
//! the same store within a second (`crate::auth`).

use bytes::Buf;
use futures::Stream;
use passerelle_events::json;
use passerelle_events::FieldError;
use serde_json::Value;
use warp::http::StatusCode;

use super::body;
use super::rights::{admin_only, private_json};
use super::routes::authenticate;
use super::state::App;
use crate::auth::{is_token_id, AuthError, Principal, TokenInfo};
use crate::http::problem::Problem;
use crate::http::reply::{parse_query, read_body, Response};
use crate::http::route::{Route, Routed};

/// Serves `GET /tokens` and `POST /revocations`, whose method the route
/// table has checked: the token (401; for a revocation made with the session
/// cookie, where it comes from, 403, and the body's media type, 415), the
/// role (403), then the request.
pub(super) async fn handle<S, B>(app: &App, req: Routed<'_>, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let principal = authenticate(app, req.method, req.headers)?;
    admin_only(
        &principal,
        "tokens are managed by admin tokens only: a revocation locks a user out",
    )?;
    parse_query(req.raw_query, req.op)?;
    if req.route == Route::Revocations {
        let bytes = read_body(body, app.inner.config.body_limit).await?;
        let id = parse_revocation(&bytes)?;
        revoke(app, &principal, &id)
    } else {
        let tokens = managed(app, &principal)?.into_iter().map(token).collect();
        Ok(private_json(StatusCode::OK, &body::TokenList { tokens }))
    }
}

/// The tokens `principal` manages, oldest first, revoked ones included.
fn managed(app: &App, principal: &Principal) -> Result<Vec<TokenInfo>, Problem> {
    let all = app.tokens().list().map_err(auth_problem)?;
    Ok(all.into_iter().filter(|t| manages(principal, t)).collect())
}

/// Whether an admin `principal` manages `token`: every token for an admin of
/// every programme; for a scoped admin, the tokens scoped to its programme.
fn manages(principal: &Principal, token: &TokenInfo) -> bool {
    match &principal.programme {
        None => true,
        Some(own) => token.programme.as_ref() == Some(own),
    }
}

/// `POST /revocations`: the token stops authenticating on every instance,
/// with its sessions and login codes.
fn revoke(app: &App, principal: &Principal, id: &str) -> Result<Response, Problem> {
    let found = managed(app, principal)?.into_iter().find(|t| t.id == id);
    if found.is_none() {
        return Err(Problem::not_found(format!(
            "no token {id} is managed by this token{}",
            match &principal.programme {
                Some(own) =>
                    format!(" (scoped to programme {own}, it manages that programme's tokens only)"),
                None => String::new(),
            }
        )));
    }
    let revoked = app.tokens().revoke(id).map_err(auth_problem)?;
    tracing::info!(token = %revoked.id, by = %principal.id, "token revoked");
    Ok(private_json(StatusCode::OK, &token(revoked)))
}

/// The body of `POST /revocations`, read strictly: `{"token": "tok_…"}`.
/// 400 when it is not JSON; 422 naming the field otherwise.
fn parse_revocation(bytes: &[u8]) -> Result<String, Problem> {
    let fail =
        |field: &str, message: &str| Problem::validation(vec![FieldError::new(field, message)]);
    let Value::Object(members) = Problem::from_json(json::parse(bytes))? else {
        return Err(fail("", "must be a JSON object {\"token\": \"tok_…\"}"));
    };
    let mut errors = Vec::new();
    let mut id = None;
    for (key, value) in &members {
        match (key.as_str(), value) {
            ("token", Value::String(s)) if is_token_id(s) => id = Some(s.clone()),
            ("token", Value::String(_)) => errors.push(FieldError::new(
                "token",
                "must be a token id: tok_ then 12 lowercase hex digits (as GET /api/v1/tokens \
                 lists them; never the secret)",
            )),
            ("token", _) => errors.push(FieldError::new("token", "must be a string")),
            _ => errors.push(FieldError::new(
                key.as_str(),
                "is not a field of a revocation, which takes token only",
            )),
        }
    }
    if !members.contains_key("token") {
        errors.push(FieldError::new("token", "is required"));
    }
    match id {
        Some(id) if errors.is_empty() => Ok(id),
        _ => Err(Problem::validation(errors)),
    }
}

fn token(t: TokenInfo) -> body::Token {
    body::Token {
        id: t.id,
        name: t.name,
        role: t.role.as_str(),
        programme: t.programme,
        created_at: t
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        revoked_at: t
            .revoked_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }
}

/// The status of a refusal of the token store.
fn auth_problem(e: AuthError) -> Problem {
    match e {
        e @ AuthError::AlreadyRevoked { .. } => Problem::conflict(e.to_string()),
        e @ AuthError::Unknown(_) => Problem::not_found(e.to_string()),
        AuthError::Unavailable(m) => Problem::unavailable(format!("token storage: {m}")),
        other => Problem::internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(p: Problem) -> String {
        p.body()
    }

    #[test]
    fn a_revocation_takes_exactly_one_token_id() {
        assert_eq!(
            parse_revocation(br#"{"token": "tok_0123456789ab"}"#).unwrap(),
            "tok_0123456789ab"
        );
        for (body, says) in [
            (&br#"{}"#[..], "is required"),
            (br#"{"token": 5}"#, "must be a string"),
            (br#"{"token": "coordinator-lyon"}"#, "must be a token id"),
            (br#"{"token": "tok_0123456789AB"}"#, "must be a token id"),
            (
                br#"{"token": "tok_0123456789ab", "why": "x"}"#,
                "not a field of a revocation",
            ),
            (br#"["tok_0123456789ab"]"#, "must be a JSON object"),
            (
                br#"{"token": "tok_0123456789ab", "token": "tok_0123456789ab"}"#,
                "given twice",
            ),
        ] {
            let e = detail(parse_revocation(body).unwrap_err());
            assert!(e.contains(says), "{}: {e}", String::from_utf8_lossy(body));
        }
        assert!(detail(parse_revocation(b"{").unwrap_err()).contains("\"status\":400"));
    }
}
