//! What a request must show before a handler runs or a body is read
//! (decision 013): its credential — a bearer token or the browser session
//! cookie —, that a write made with the session cookie comes from this
//! server's own pages, and that its body is labelled with the media type the
//! route reads. Also the session cookie's name and the server's public
//! address, which these rules depend on.
//!
//! A browser sends the session cookie with every request to this server,
//! including requests that another site's page makes it send (cross-site
//! request forgery). So a write carrying the cookie must name this server's
//! origin in `Origin`, and `Sec-Fetch-Site`, when sent, must say
//! `same-origin`; a write that sends neither header is refused, because
//! where it comes from cannot be told. No browser sends a bearer token on
//! its own, so requests that carry one are not checked for their origin.
//!
//! This module decides; it reads no body and knows no route.

use warp::http::{HeaderMap, Method};

use super::problem::Problem;

/// The name of the session cookie set by `/login`.
pub const SESSION_COOKIE: &str = "passerelle_session";

/// The longest header value quoted back in a problem's detail, in characters.
const QUOTED_CHARS: usize = 80;

/// The address people open the server at (`--public-url`), reduced to its
/// origin: `http` or `https`, a host, and a port unless it is the scheme's
/// default — as a browser writes it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
}

impl PublicUrl {
    /// Parses an `http://` or `https://` address without user name,
    /// password, path, query or fragment (a trailing `/` is allowed); the
    /// error names the rule it broke.
    pub fn parse(text: &str) -> Result<Self, String> {
        let example = "e.g. https://passerelle.example.org";
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{} holds a space or a control character; give the address alone, {example}",
                quote(text)
            ));
        }
        let url = url::Url::parse(text)
            .map_err(|e| format!("{} is not an address ({e}); {example}", quote(text)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{} must start with http:// or https://, {example}",
                quote(text)
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{} must not hold a user name or password",
                quote(text)
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{} must be a scheme, a host and a port only, without path, query or fragment: \
                 the server answers at the root of its address, {example}",
                quote(text)
            ));
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
        })
    }

    /// The origin, as browsers send it in `Origin`
    /// (`https://passerelle.example.org`, no trailing `/`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether people reach the server over TLS: its session cookie is then
    /// marked `Secure`.
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin)
    }
}

/// The credential a request presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer …`, which only a client that holds the secret
    /// can send.
    Bearer(String),
    /// The session cookie, which a browser sends by itself.
    Cookie(String),
}

impl Credential {
    /// The request's credential: the `Authorization` header if there is
    /// one (401 unless it is `Bearer <secret>`), else the session cookie,
    /// else `None`.
    pub fn of(headers: &HeaderMap) -> Result<Option<Self>, Problem> {
        if let Some(value) = headers.get("authorization") {
            return value
                .to_str()
                .ok()
                .and_then(|s| {
                    s.strip_prefix("Bearer ")
                        .or_else(|| s.strip_prefix("bearer "))
                })
                .map(|s| Some(Self::Bearer(s.trim().to_owned())))
                .ok_or_else(|| {
                    Problem::unauthorized("the Authorization header must be `Bearer <token>`")
                });
        }
        Ok(session_cookie(headers).map(Self::Cookie))
    }

    /// The secret presented.
    pub fn secret(&self) -> &str {
        match self {
            Self::Bearer(s) | Self::Cookie(s) => s,
        }
    }
}

/// The value of the session cookie, if the request sends one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// Whether a request with `method` may change something: every method but
/// GET and HEAD is treated so.
pub fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// Refuses (403, naming the header) a request that does not show it comes
/// from this server's own pages: `Origin`, when sent, must be the server's
/// origin ([`own_origin`]); `Sec-Fetch-Site`, when sent, must be
/// `same-origin`; and one of the two must be sent.
pub fn same_origin(public: Option<&PublicUrl>, headers: &HeaderMap) -> Result<(), Problem> {
    let origin = single(headers, "origin").map_err(refused)?;
    let site = single(headers, "sec-fetch-site").map_err(refused)?;
    if let Some(site) = site {
        if site != "same-origin" {
            return Err(refused(format!(
                "the Sec-Fetch-Site header is {}, not \"same-origin\"",
                quote(site)
            )));
        }
    }
    match origin {
        Some(origin) => {
            let own = own_origin(public, headers).map_err(refused)?;
            if origin == own {
                Ok(())
            } else {
                Err(refused(format!(
                    "the Origin header is {}, not this server's origin {} (the --public-url \
                     it was started with, else http:// and the Host header)",
                    quote(origin),
                    quote(&own)
                )))
            }
        }
        None if site.is_some() => Ok(()),
        None => Err(refused(
            "the request sends neither an Origin header nor Sec-Fetch-Site, so where it comes \
             from cannot be told"
                .to_owned(),
        )),
    }
}

/// The 403 of [`same_origin`], with why it refused.
fn refused(why: String) -> Problem {
    Problem::forbidden(format!(
        "a write with the session cookie is accepted only from this server's own pages: {why}. \
         Scripts and other programs send `Authorization: Bearer <token>` instead"
    ))
}

/// This server's origin: the public URL's when the server has one (the
/// `Host` header then plays no part), else `http://` and the `Host` header.
/// A forged `Host` gains nothing: it changes the origin a request is
/// compared with, not the cookie a browser sends, which it keeps per host.
fn own_origin(public: Option<&PublicUrl>, headers: &HeaderMap) -> Result<String, String> {
    if let Some(public) = public {
        return Ok(public.origin().to_owned());
    }
    let host = single(headers, "host")?.ok_or_else(|| {
        "the request has no Host header to tell this server's origin by (start the server with \
         --public-url)"
            .to_owned()
    })?;
    PublicUrl::parse(&format!("http://{host}"))
        .map(|u| u.origin)
        .map_err(|_| format!("the Host header {} is not a host", quote(host)))
}

/// A body format a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: every body under `/api/v1`.
    Json,
    /// `application/x-www-form-urlencoded`: the sign-in form.
    Form,
}

impl Media {
    /// The media type, as `Content-Type` names it.
    pub fn essence(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// Refuses (415, naming what was sent and what is read) a request whose
/// `Content-Type` is not `media`. Parameters are allowed, but a `charset`
/// must be `utf-8`: bodies are read as UTF-8 only. Other types that hold
/// JSON (`text/plain`, `application/*+json`) are refused too: each route
/// reads one format, named one way, and `text/plain` is what a form on
/// another site can send without asking.
pub fn require_media(headers: &HeaderMap, media: Media) -> Result<(), Problem> {
    let expected = media.essence();
    let refuse = |detail: String| Problem::unsupported_media_type(detail, expected);
    let sent = single(headers, "content-type")
        .map_err(refuse)?
        .ok_or_else(|| refuse(format!("no Content-Type header was sent; send {expected}")))?;
    let mut parts = sent.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(expected) {
        return Err(refuse(format!(
            "the Content-Type header is {}; this route reads {expected} only",
            quote(sent)
        )));
    }
    let other_charset = parts
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .any(|(_, v)| !v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8"));
    if other_charset {
        return Err(refuse(format!(
            "the Content-Type header is {}: bodies are read as UTF-8 only; send {expected} \
             without a charset or with charset=utf-8",
            quote(sent)
        )));
    }
    Ok(())
}

/// The one value of header `name`: `None` when absent, an error naming the
/// header when it is sent more than once or is not visible ASCII.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let title = title_case(name);
    if values.next().is_some() {
        return Err(format!(
            "the {title} header is sent {} times; send it once",
            headers.get_all(name).iter().count()
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| format!("the {title} header holds characters other than visible ASCII"))
}

/// A header name as people write it: `sec-fetch-site` → `Sec-Fetch-Site`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// `text` quoted for a message, cut to [`QUOTED_CHARS`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((i, _)) => format!("{:?}…", &text[..i]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_reduced_to_the_origin_a_browser_sends() {
        for (given, origin) in [
            (
                "https://passerelle.example.org",
                "https://passerelle.example.org",
            ),
            (
                "https://Passerelle.Example.org/",
                "https://passerelle.example.org",
            ),
            (
                "https://passerelle.example.org:443",
                "https://passerelle.example.org",
            ),
            ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
        ] {
            let url = PublicUrl::parse(given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(url.origin(), origin, "{given}");
        }
        assert!(PublicUrl::parse("https://x.example").unwrap().is_https());
        assert!(!PublicUrl::parse("http://x.example").unwrap().is_https());
    }

    #[test]
    fn a_public_url_with_more_than_an_origin_is_refused_with_the_rule() {
        for (given, rule) in [
            ("ftp://passerelle.example.org", "http:// or https://"),
            ("passerelle.example.org", "not an address"),
            ("https://", "not an address"),
            ("https://passerelle.example.org/tracker", "without path"),
            ("https://passerelle.example.org/?a=1", "without path"),
            ("https://passerelle.example.org/#top", "without path"),
            (
                "https://ada:pw@passerelle.example.org",
                "user name or password",
            ),
            (" https://passerelle.example.org", "space"),
        ] {
            let err = PublicUrl::parse(given).expect_err(given);
            assert!(err.contains(rule), "{given}: {err}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("a header value"));
        }
        h
    }

    #[test]
    fn json_is_read_with_or_without_a_utf8_charset_and_nothing_else() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert_eq!(
                require_media(&headers(&[("content-type", ok)]), Media::Json),
                Ok(()),
                "{ok}"
            );
        }
        for (bad, says) in [
            ("text/plain", "\"text/plain\""),
            ("application/problem+json", "application/json only"),
            ("application/jsonx", "application/json only"),
            ("application/json; charset=latin1", "UTF-8 only"),
            (
                "application/json; charset=utf-8; charset=latin1",
                "UTF-8 only",
            ),
        ] {
            let p = require_media(&headers(&[("content-type", bad)]), Media::Json).expect_err(bad);
            assert_eq!(p.status.as_u16(), 415, "{bad}");
            assert!(p.detail.contains(says), "{bad}: {}", p.detail);
        }
        let none = require_media(&HeaderMap::new(), Media::Json).expect_err("no type");
        assert!(none.detail.contains("no Content-Type"), "{}", none.detail);
        let twice = headers(&[
            ("content-type", "application/json"),
            ("content-type", "text/plain"),
        ]);
        let p = require_media(&twice, Media::Json).expect_err("twice");
        assert!(p.detail.contains("2 times"), "{}", p.detail);
    }

    #[test]
    fn the_authorization_header_comes_before_the_cookie() {
        let cookie = format!("theme=dark; {SESSION_COOKIE}=psls_x");
        assert_eq!(
            Credential::of(&headers(&[("cookie", &cookie)])),
            Ok(Some(Credential::Cookie("psls_x".into())))
        );
        assert_eq!(
            Credential::of(&headers(&[
                ("cookie", &cookie),
                ("authorization", "Bearer psl_y")
            ])),
            Ok(Some(Credential::Bearer("psl_y".into())))
        );
        assert_eq!(Credential::of(&HeaderMap::new()), Ok(None));
        let basic = Credential::of(&headers(&[("authorization", "Basic eDp5")]));
        assert_eq!(basic.expect_err("basic").status.as_u16(), 401);
    }
}
