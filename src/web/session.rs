//! Browser sessions, all of them: opened by a one-time login link
//! (`GET /login?code=`, printed by `passerelle demo` and `passerelle token
//! login`) or by the sign-in form the pages show when there is no session
//! (`POST /login`: a person pastes the token printed by `passerelle token
//! create` or `passerelle demo`), both giving the same session cookie, and
//! ended by `POST /logout`. The token travels in the form body only: never in an
//! address, never kept by a script. `POST /logout` is the header's "Sign
//! out": it ends the session in the server and makes the browser forget its
//! cookie.
//!
//! Both come only from this server's own pages ([`guard::same_origin`]): a
//! site that could sign a browser in would make its owner record under the
//! site's token (login forgery), and one that could sign it out would be a
//! nuisance.

use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::Stream;
use warp::http::{HeaderMap, StatusCode};

use crate::api::App;
use crate::auth::TOKEN_PREFIX;
use crate::http::guard::{self, Credential, Media, PublicUrl, SESSION_COOKIE};
use crate::http::problem::Problem;
use crate::http::reply::{parse_query, read_body, Response};
use crate::http::route::Op;

/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The largest sign-in form accepted.
const FORM_LIMIT: u64 = 4096;

/// `GET /login?code=…`: trades a one-time login code for a session cookie
/// and redirects to the map, so the code leaves the address bar.
pub fn link(app: &App, raw_query: &str, op: &Op) -> Result<Response, Problem> {
    let q = parse_query(raw_query, op)?;
    let code = q
        .get("code")
        .ok_or_else(|| Problem::bad_request("code is required"))?;
    let principal = app.tokens().redeem_login(code).ok_or_else(|| {
        Problem::unauthorized("this login link is unknown, used or expired; ask for a new one")
    })?;
    opened(app, &principal.id)
}

/// A session opened for the token `token_id`: `303` to the map with the
/// session cookie.
fn opened(app: &App, token_id: &str) -> Result<Response, Problem> {
    let secret = app
        .tokens()
        .open_session(token_id, SESSION_TTL)
        .map_err(|e| Problem::unauthorized(e.to_string()))?;
    Ok(warp::http::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", "/")
        .header("set-cookie", session_cookie(public_url(app), &secret))
        .header("cache-control", "no-store")
        .body(Bytes::new().into())
        .expect("valid response"))
}

fn public_url(app: &App) -> Option<&PublicUrl> {
    app.inner.config.public_url.as_ref()
}

/// Checks the form (`token=psl_…`, sent as
/// `application/x-www-form-urlencoded`) and answers with a redirect: to `/`
/// with a session cookie, or back to `/?signin=failed` without one. A form
/// posted from another site is refused (403), so no site can sign a browser
/// in.
pub async fn sign_in<S, B>(app: &App, headers: &HeaderMap, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    guard::same_origin(public_url(app), headers)?;
    guard::require_media(headers, Media::Form)?;
    let form = read_body(body, FORM_LIMIT).await?;
    let token = form_urlencoded::parse(&form)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let principal = token
        .starts_with(TOKEN_PREFIX)
        .then(|| app.tokens().authenticate(&token).ok())
        .flatten();
    match principal {
        Some(p) => opened(app, &p.id),
        None => Ok(warp::http::Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/?signin=failed")
            .header("cache-control", "no-store")
            .body(Bytes::new().into())
            .expect("valid response")),
    }
}

/// Ends the session whose cookie the request sends (from this server's own
/// pages only) and clears the cookie: `303` to `/` for a form, `204` for a
/// script. Without a cookie there is nothing to end, and the answer is the
/// same. A request with an `Authorization` header is refused (400): an API
/// token is not a session, and is ended with `passerelle token revoke`. The
/// request has no body.
pub async fn sign_out<S, B>(app: &App, headers: &HeaderMap, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let credential = Credential::of(headers)?;
    if let Some(Credential::Bearer(_)) = credential {
        return Err(Problem::bad_request(
            "POST /logout ends a browser session, which the session cookie names; this request \
             sends an Authorization header instead. An API token is ended with `passerelle token \
             revoke`",
        ));
    }
    guard::same_origin(public_url(app), headers)?;
    read_body(body, 0).await?;
    if let Some(Credential::Cookie(secret)) = credential {
        app.tokens().close_session(&secret);
    }
    let builder = if navigates(headers) {
        warp::http::Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/")
    } else {
        warp::http::Response::builder().status(StatusCode::NO_CONTENT)
    };
    Ok(builder
        .header("set-cookie", ended_session_cookie(public_url(app)))
        .header("cache-control", "no-store")
        .body(Bytes::new().into())
        .expect("valid response"))
}

/// Whether the browser is navigating (a form was submitted), not running a
/// script: `Sec-Fetch-Mode: navigate`, or, from a browser that does not send
/// it, an `Accept` that asks for HTML.
fn navigates(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-mode") {
        Some(mode) => mode == "navigate",
        None => header("accept").is_some_and(|a| a.contains("text/html")),
    }
}

/// The `Set-Cookie` value that gives a browser the session `secret`:
/// HttpOnly (no script reads it), SameSite=Strict (no other site's page
/// sends it), for the whole site, and Secure when the public URL is https.
fn session_cookie(public: Option<&PublicUrl>, secret: &str) -> String {
    format!("{SESSION_COOKIE}={secret}; {}", cookie_attributes(public))
}

/// The `Set-Cookie` value that makes a browser forget its session cookie.
fn ended_session_cookie(public: Option<&PublicUrl>) -> String {
    format!(
        "{SESSION_COOKIE}=; {}; Max-Age=0",
        cookie_attributes(public)
    )
}

fn cookie_attributes(public: Option<&PublicUrl>) -> &'static str {
    if public.is_some_and(PublicUrl::is_https) {
        "HttpOnly; SameSite=Strict; Path=/; Secure"
    } else {
        "HttpOnly; SameSite=Strict; Path=/"
    }
}
