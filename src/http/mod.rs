//! What every part of the server shares about HTTP, and nothing else: the
//! route table ([`route`]), RFC 9457 problems ([`problem`]), what a request
//! must show before a handler runs ([`guard`]) and the plumbing of requests
//! and answers ([`reply`]: query strings, bodies, JSON answers). It knows no
//! handler and no state: `api` and `web` build on it, `server` assembles
//! them.

pub mod guard;
pub mod problem;
pub mod reply;
pub mod route;
