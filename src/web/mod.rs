//! The web pages (issue 5, decision 007): the network map with its time
//! slider (`/`), the gap report (`/gaps`), participation (`/participation`),
//! the recording forms (`/record`), the programme comparison (`/compare`) and
//! the event log (`/log`; its page shows the log to admins and coordinators,
//! as the API serves it, and says why to other roles), served by the same
//! binary as the API.
//!
//! Pages are one HTML shell plus CSS, JavaScript and SVG embedded at compile
//! time ([`assets`]); the browser draws everything from `/api/v1`, so the
//! API's authentication, roles and redaction hold in the pages unchanged.
//! Every response carries a Content-Security-Policy of `default-src 'self'`:
//! a page loads nothing from any other host and runs no inline script.
//!
//! This module must not read the projections or the store: what a page needs
//! and the API does not give is an API change, not a shortcut here. Its only
//! writes are in [`session`]: signing in with a pasted token, and signing out.

mod assets;
mod session;

use bytes::Buf;
use futures::Stream;
use warp::http::{HeaderMap, Method, StatusCode};

use crate::api::problem::Problem;
use crate::api::App;

type Response = warp::reply::Response;

/// What every page and asset may load: only this server, no inline script
/// or style, no framing, forms posting only here.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the pages tell other sites of where a request came from: nothing
/// (no `Referer`, and `Origin: null` on a form posted elsewhere), while the
/// pages' own forms and scripts name this server in `Origin`, which its
/// writes with the session cookie must (decision 013). `no-referrer` would
/// make Chromium send `Origin: null` on the pages' own forms too.
pub const REFERRER_POLICY: &str = "same-origin";

/// The pages: the path's single segment (`""` is `/`) and the page's name,
/// which is also its script (`/assets/{name}.js`).
const PAGES: &[(&str, &str)] = &[
    ("", "map"),
    ("gaps", "gaps"),
    ("participation", "participation"),
    ("record", "record"),
    ("compare", "compare"),
    ("log", "log"),
];

/// The route template of a path outside `/api/v1`, for logs and metrics.
pub fn route_name(segs: &[&str]) -> &'static str {
    match segs {
        [""] => "/",
        ["gaps"] => "/gaps",
        ["participation"] => "/participation",
        ["record"] => "/record",
        ["compare"] => "/compare",
        ["log"] => "/log",
        ["logout"] => "/logout",
        ["assets", _] => "/assets/{file}",
        _ => "other",
    }
}

/// Serves a path outside `/api/v1` (`segs` are its `/`-separated segments):
/// a page, an asset, the sign-in form's `POST /login` or the sign-out
/// control's `POST /logout`. Anything else is a 404 (or 405) problem, like
/// the API's.
pub async fn dispatch<S, B>(
    app: &App,
    method: &Method,
    segs: &[&str],
    headers: &HeaderMap,
    body: S,
) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let path = format!("/{}", segs.join("/"));
    let page = match segs {
        [one] => PAGES.iter().find(|(p, _)| p == one).map(|(_, name)| *name),
        _ => None,
    };
    let get = method == Method::GET || method == Method::HEAD;
    match (page, segs) {
        (Some(name), _) if get => Ok(respond(
            "text/html; charset=utf-8",
            assets::page(name).into_bytes(),
        )),
        (None, ["assets", file]) if get => {
            let asset = assets::find(file)
                .ok_or_else(|| Problem::not_found(format!("no asset {file:?}")))?;
            Ok(respond(asset.content_type, asset.bytes.to_vec()))
        }
        (None, ["login"]) if method == Method::POST => session::sign_in(app, headers, body).await,
        (None, ["login"]) => Err(Problem::method_not_allowed(
            format!("{method} is not allowed on {path}"),
            "GET, POST",
        )),
        (None, ["logout"]) if method == Method::POST => session::sign_out(app, headers, body).await,
        (None, ["logout"]) => Err(Problem::method_not_allowed(
            format!("{method} is not allowed on {path}"),
            "POST",
        )),
        (Some(_), _) | (None, ["assets", _]) => Err(Problem::method_not_allowed(
            format!("{method} is not allowed on {path}"),
            "GET",
        )),
        _ => Err(Problem::not_found(format!("no route {path}"))),
    }
}

/// A 200 response with the headers every page and asset carries.
fn respond(content_type: &str, body: Vec<u8>) -> Response {
    secured(warp::http::Response::builder())
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(body.into())
        .expect("valid response")
}

/// Adds the security headers of the pages to a response.
fn secured(builder: warp::http::response::Builder) -> warp::http::response::Builder {
    builder
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", REFERRER_POLICY)
}
