//! The files of the pages, embedded at compile time: one HTML shell for every
//! page, the style sheet, the scripts (plain JavaScript, no build step), the
//! message catalogue the Rust renderers use too (`messages.json`, from
//! `passerelle-projections`) and the icon. Nothing is read from disk at run
//! time.

/// An embedded file.
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

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

/// The HTML shell; `{{page}}` names the page (its `data-page` and script).
const SHELL: &str = include_str!("assets/page.html");

/// The HTML of the page `name` (one of `PAGES` in `mod.rs`).
pub fn page(name: &str) -> String {
    SHELL.replace("{{page}}", name)
}

/// The asset called `file`, if there is one.
pub fn find(file: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|(n, _)| *n == file).map(|(_, a)| a)
}
