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
//! This module must not read the projections' state or the store: what a
//! page needs and the API does not give is an API change, not a shortcut
//! here (the message catalogue it serves is a constant of the projections
//! crate, the same for every reader). Its only writes are in [`session`]:
//! opening a browser session (a login link or a pasted token) and ending
//! it.

mod assets;
mod session;

use bytes::Buf;
use futures::Stream;
use warp::http::StatusCode;

use crate::api::App;
use crate::http::problem::Problem;
use crate::http::reply::Response;
use crate::http::route::{Route, Routed, Verb};

/// What every page and asset may load: only this server, no inline script
/// or style, no framing, forms posting only here. The large map's WebGL
/// libraries (sigma.js, graphology; decision 023) are served from here and
/// need nothing more: no `eval`, no worker, no `blob:` URL.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the pages tell other sites of where a request came from: nothing
/// (no `Referer`, and `Origin: null` on a form posted elsewhere), while the
/// pages' own forms and scripts name this server in `Origin`, which its
/// writes with the session cookie must (decision 013). `no-referrer` would
/// make Chromium send `Origin: null` on the pages' own forms too.
pub const REFERRER_POLICY: &str = "same-origin";

/// Serves a request the route table sent to the pages: a page, an asset,
/// or sign-in and sign-out ([`session`]).
pub async fn handle<S, B>(app: &App, req: Routed<'_>, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    match (req.route, req.op.verb) {
        (Route::Page(page), _) => Ok(respond(
            "text/html; charset=utf-8",
            assets::page(page.script()).into_bytes(),
        )),
        (Route::Asset, _) => {
            let file = req.params.first().copied().unwrap_or_default();
            let asset = assets::find(file)
                .ok_or_else(|| Problem::not_found(format!("no asset {file:?}")))?;
            Ok(respond(asset.content_type, asset.bytes.to_vec()))
        }
        (Route::Login, Verb::Get) => session::link(app, req.raw_query, req.op),
        (Route::Login, Verb::Post) => session::sign_in(app, req.headers, body).await,
        (Route::Logout, _) => session::sign_out(app, req.headers, body).await,
        _ => Err(Problem::not_found(format!("no route {}", req.path))),
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
