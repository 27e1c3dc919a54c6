//! `POST /login`: the sign-in form the pages show when there is no session.
//! A person pastes the token printed by `passerelle token create` (or
//! `passerelle demo`); it becomes the same HttpOnly, SameSite=Strict session
//! cookie as a `/login?code=` link, and the browser goes to the map. The token
//! travels in the form body only: never in an address, never kept by a script.

use bytes::{Buf, Bytes};
use futures::Stream;
use warp::http::{HeaderMap, StatusCode};

use crate::api::problem::Problem;
use crate::api::routes::{read_body, SESSION_COOKIE, SESSION_TTL};
use crate::api::App;

/// The largest sign-in form accepted.
const FORM_LIMIT: u64 = 4096;

/// API tokens start so (login codes `psl1_` and sessions `psls_` do not).
const TOKEN_PREFIX: &str = "psl_";

/// Checks the form (`token=psl_…`) and answers with a redirect: to `/` with
/// a session cookie, or back to `/?signin=failed` without one. A form posted
/// from another site is refused (403), so no site can sign a browser in.
pub async fn sign_in<S, B>(app: &App, headers: &HeaderMap, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    same_origin(headers)?;
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
            builder.header("location", "/").header(
                "set-cookie",
                format!("{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/"),
            )
        }
        None => builder.header("location", "/?signin=failed"),
    };
    Ok(builder
        .header("cache-control", "no-store")
        .body(Bytes::new().into())
        .expect("valid response"))
}

type Response = warp::reply::Response;

/// Refuses a form whose `Origin` is not this server's own `Host`.
fn same_origin(headers: &HeaderMap) -> Result<(), Problem> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (header("origin"), header("host")) {
        (None, _) => Ok(()),
        (Some(origin), Some(host)) if origin.split_once("://").map(|(_, h)| h) == Some(host) => {
            Ok(())
        }
        (Some(origin), _) => Err(Problem::forbidden(format!(
            "a sign-in form from {origin} is refused: sign in from this server's own page"
        ))),
    }
}
