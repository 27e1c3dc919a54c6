//! Browser sessions opened and ended from the pages. `POST /login` is the
//! sign-in form the pages show when there is no session: a person pastes the
//! token printed by `passerelle token create` (or `passerelle demo`); it
//! becomes the same session cookie as a `/login?code=` link, and the browser
//! goes to the map. The token travels in the form body only: never in an
//! address, never kept by a script. `POST /logout` is the header's "Sign
//! out": it ends the session in the server and makes the browser forget its
//! cookie.
//!
//! Both come only from this server's own pages ([`guard::same_origin`]): a
//! site that could sign a browser in would make its owner record under the
//! site's token (login forgery), and one that could sign it out would be a
//! nuisance.

use bytes::{Buf, Bytes};
use futures::Stream;
use warp::http::{HeaderMap, StatusCode};

use crate::api::guard::{self, Credential, Media, SESSION_TTL};
use crate::api::problem::Problem;
use crate::api::routes::read_body;
use crate::api::App;

type Response = warp::reply::Response;

/// The largest sign-in form accepted.
const FORM_LIMIT: u64 = 4096;

/// API tokens start so (login codes `psl1_` and sessions `psls_` do not).
const TOKEN_PREFIX: &str = "psl_";

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
    guard::same_origin(app, headers)?;
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
    let builder = warp::http::Response::builder().status(StatusCode::SEE_OTHER);
    let builder = match principal {
        Some(p) => {
            let secret = app
                .tokens()
                .open_session(&p.id, SESSION_TTL)
                .map_err(|e| Problem::unauthorized(e.to_string()))?;
            builder
                .header("location", "/")
                .header("set-cookie", guard::session_cookie_header(app, &secret))
        }
        None => builder.header("location", "/?signin=failed"),
    };
    Ok(builder
        .header("cache-control", "no-store")
        .body(Bytes::new().into())
        .expect("valid response"))
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
    guard::same_origin(app, headers)?;
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
        .header("set-cookie", guard::ended_session_cookie_header(app))
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
