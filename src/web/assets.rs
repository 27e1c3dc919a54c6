//! The files of the pages, embedded at compile time: one HTML shell for every
//! page, the style sheet, the scripts (plain JavaScript, no build step), the
//! message catalogue the Rust renderers use too (`messages.json`, from
//! `passerelle-projections`) and the icon. Nothing is read from disk at run
//! time. The large map's libraries (sigma.js and graphology, with their
//! licences) are vendored in `assets/vendor/` (its README says which
//! versions and from where) and served here under their own names; the map
//! page loads them only for a large network (decision 023).

/// An embedded file.
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::http::route::{Route, API_BASE, ROUTES};

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every asset under `/assets/`, by file name.
const ASSETS: &[(&str, Asset)] = &[
    (
        "style.css",
        Asset {
            content_type: "text/css; charset=utf-8",
            bytes: include_bytes!("assets/style.css"),
        },
    ),
    (
        "favicon.svg",
        Asset {
            content_type: "image/svg+xml",
            bytes: include_bytes!("assets/favicon.svg"),
        },
    ),
    (
        "messages.json",
        Asset {
            content_type: "application/json; charset=utf-8",
            bytes: passerelle_projections::messages::SOURCE.as_bytes(),
        },
    ),
    (
        "i18n.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/i18n.js"),
        },
    ),
    (
        "common.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/common.js"),
        },
    ),
    (
        "netdraw.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/netdraw.js"),
        },
    ),
    (
        "bigmap.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/bigmap.js"),
        },
    ),
    (
        "graphology.min.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/vendor/graphology.umd.min.js"),
        },
    ),
    (
        "sigma.min.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/vendor/sigma.min.js"),
        },
    ),
    (
        "graphology.LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: include_bytes!("assets/vendor/graphology.LICENSE.txt"),
        },
    ),
    (
        "sigma.LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: include_bytes!("assets/vendor/sigma.LICENSE.txt"),
        },
    ),
    (
        "map.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/map.js"),
        },
    ),
    (
        "gaps.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/gaps.js"),
        },
    ),
    (
        "participation.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/participation.js"),
        },
    ),
    (
        "record.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/record.js"),
        },
    ),
    (
        "compare.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/compare.js"),
        },
    ),
    (
        "log.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("assets/log.js"),
        },
    ),
];

/// The HTML shell; `{{page}}` names the page (its `data-page` and script),
/// `{{logout}}` is the sign-out path.
const SHELL: &str = include_str!("assets/page.html");

/// The HTML of the page whose script is `name` (`Page::script`).
pub fn page(name: &str) -> String {
    SHELL
        .replace("{{page}}", name)
        .replace("{{logout}}", Route::Logout.template())
}

/// The asset called `file`, if there is one.
pub fn find(file: &str) -> Option<&'static Asset> {
    if file == ROUTES_JS {
        return Some(routes_js());
    }
    ASSETS.iter().find(|(n, _)| *n == file).map(|(_, a)| a)
}

/// The script that tells the pages every path they use.
const ROUTES_JS: &str = "routes.js";

/// `routes.js`, written from the route table once: the API's base, each API
/// operation's path template by operation id, the pages (path and script)
/// and the sign-in and sign-out paths. The pages take every path from it.
fn routes_js() -> &'static Asset {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    ASSET.get_or_init(|| {
        let ops: serde_json::Map<String, Value> = ROUTES
            .iter()
            .filter(|s| s.is_api())
            .flat_map(|s| {
                s.ops
                    .iter()
                    .map(move |o| (o.id.to_owned(), s.template.into()))
            })
            .collect();
        let pages: Vec<Value> = ROUTES
            .iter()
            .filter_map(|s| match s.route {
                Route::Page(p) => Some(json!([s.template, p.script()])),
                _ => None,
            })
            .collect();
        let routes = json!({
            "api": API_BASE,
            "ops": ops,
            "pages": pages,
            "login": Route::Login.template(),
            "logout": Route::Logout.template(),
        });
        let text = format!(
            "// The server's paths, written from its route table (src/http/route.rs).\n\
             \"use strict\";\nconst ROUTES = Object.freeze({routes});\n"
        );
        Asset {
            content_type: JS,
            bytes: Box::leak(text.into_boxed_str()).as_bytes(),
        }
    })
}
