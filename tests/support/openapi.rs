//! Checks that keep the OpenAPI document honest, for the tests: the document
//! against the official OAS 3.1 schema (with Schema Objects checked against
//! the OAS 3.1 dialect), every `$ref` resolved, the document's operations
//! equal to the API's routes in the route table, and any response or request
//! body against the schema the document gives it. The server itself never
//! validates against its document; only tests do, so `jsonschema` is a
//! dev-dependency.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Registry, Validator};
pub use passerelle::api::openapi::document;
pub use passerelle::http::route::API_BASE as BASE_PATH;
use passerelle::http::route::ROUTES as TABLE;
use serde_json::{json, Map, Value};

/// Every operation of the API in the route table: `(method, path template)`,
/// the template relative to [`BASE_PATH`] (`/stakeholders/{id}`).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    TABLE
        .iter()
        .filter_map(|spec| spec.api_path().map(|path| (spec, path)))
        .flat_map(|(spec, path)| spec.ops.iter().map(move |op| (op.verb.as_str(), path)))
        .collect()
}

/// The OAS 3.1 schema (2022-10-07), vendored from openapi-spec-validator;
/// see `tests/fixtures/openapi/README.md`.
const OAS_SCHEMA: &str = include_str!("../fixtures/openapi/oas-3.1-schema.json");
/// The OAS 3.1 Schema Object dialect (`https://spec.openapis.org/oas/3.1/dialect/base`).
const OAS_DIALECT: &str = include_str!("../fixtures/openapi/oas-3.1-dialect-base.json");
/// The OAS 3.1 base vocabulary meta-schema (`https://spec.openapis.org/oas/3.1/meta/base`).
const OAS_META: &str = include_str!("../fixtures/openapi/oas-3.1-meta-base.json");
const OAS_SCHEMA_ID: &str = "https://spec.openapis.org/oas/3.1/schema/2022-10-07";
const OAS_SCHEMA_BASE_ID: &str = "https://spec.openapis.org/oas/3.1/schema-base/2022-10-07";
const OAS_DIALECT_ID: &str = "https://spec.openapis.org/oas/3.1/dialect/base";
const OAS_META_ID: &str = "https://spec.openapis.org/oas/3.1/meta/base";
/// The base URI the document is registered under when its schemas are compiled.
const DOCUMENT_URI: &str = "https://passerelle.invalid/api/v1/openapi.json";

fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(document)
}

/// The document registered as a resource, so that a wrapper `$ref` to any of
/// its schemas resolves the document's own `#/components/...` references.
fn registry() -> &'static Registry<'static> {
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new()
            .add(DOCUMENT_URI, doc().clone())
            .and_then(|b| b.prepare())
            .expect("the OpenAPI document registers as a resource")
    })
}

/// A validator for the schema at `pointer` (a JSON pointer into the document),
/// compiled once.
fn validator_at(pointer: &str) -> Result<Arc<Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("validator cache").get(pointer) {
        return Ok(v.clone());
    }
    let wrapper = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("{DOCUMENT_URI}#{}", fragment(pointer)),
    });
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_registry(registry())
        .build(&wrapper)
        .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
    let v = Arc::new(v);
    cache
        .lock()
        .expect("validator cache")
        .insert(pointer.to_owned(), v.clone());
    Ok(v)
}

/// A JSON pointer as a URI fragment (percent-encoding what a fragment may not hold).
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for c in pointer.chars() {
        match c {
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | ':'
            | '@' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Escapes one JSON-pointer token.
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Validates `instance` against the schema at `pointer`; errors are
/// `"{instance path}: {message}"`.
fn check(pointer: &str, instance: &Value) -> Result<(), Vec<String>> {
    let v = validator_at(pointer).map_err(|e| vec![e])?;
    let mut out = Vec::new();
    for e in v.iter_errors(instance) {
        describe(&e, &mut out, 0);
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Renders an error; for a failed `oneOf`/`anyOf` the errors of the branch
/// that came closest instead (skipping branches whose JSON type or `type`
/// discriminator does not even match), so that a stored envelope missing a
/// field names that field rather than "not valid under any schema".
fn describe(e: &jsonschema::ValidationError<'_>, out: &mut Vec<String>, depth: usize) {
    use jsonschema::error::ValidationErrorKind as K;
    let at = e.instance_path().as_str().to_owned();
    let shown = if at.is_empty() { "(body)" } else { at.as_str() };
    let push = |out: &mut Vec<String>, message: String| {
        const MAX: usize = 300;
        let message = match message.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message,
        };
        out.push(format!("{shown}: {message}"));
    };
    let context = match e.kind() {
        K::OneOfNotValid { context } | K::AnyOf { context } if depth < 8 => context,
        _ => return push(out, e.to_string()),
    };
    let best = context
        .iter()
        .filter(|b| !mismatched(b, &at))
        .min_by_key(|b| b.len());
    match best {
        Some(branch) if !branch.is_empty() => {
            for b in branch {
                describe(b, out, depth + 1);
            }
        }
        Some(_) => push(out, e.to_string()),
        None => match e.instance().get("type").and_then(Value::as_str) {
            Some(ty) if e.instance().is_object() => push(
                out,
                format!("`type` {ty:?} matches none of the documented shapes"),
            ),
            _ => push(
                out,
                format!(
                    "a JSON {} matches none of the documented shapes",
                    json_type(e.instance())
                ),
            ),
        },
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a `oneOf`/`anyOf` branch fails on the instance's JSON type or on
/// its `type` discriminator, directly or because every branch of a nested
/// `oneOf`/`anyOf` at the same place does.
fn mismatched(branch: &[jsonschema::ValidationError<'static>], at: &str) -> bool {
    use jsonschema::error::ValidationErrorKind as K;
    let discriminator = format!("{at}/type");
    branch.iter().any(|b| {
        let p = b.instance_path().as_str();
        match b.kind() {
            K::Type { .. } => p == at,
            K::Constant { .. } => p == discriminator,
            K::OneOfNotValid { context } | K::AnyOf { context } => {
                p == at && context.iter().all(|c| mismatched(c, at))
            }
            _ => false,
        }
    })
}

/// Checks the document: against the official OAS 3.1 schema (with Schema
/// Objects checked against the OAS 3.1 dialect, i.e. JSON Schema 2020-12),
/// every `$ref` resolving, every component used, [`routes`] equal to
/// `paths`, operation ids unique, path parameters declared, every schema
/// compiling, and every example valid against its schema.
pub fn validate_document() -> Result<(), Vec<String>> {
    let doc = doc();
    let mut errors = validate_against_oas_schema(doc);
    errors.extend(check_refs(doc));
    errors.extend(check_routes(doc));
    errors.extend(check_operations(doc));
    if errors.is_empty() {
        errors.extend(check_examples(doc));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates any value as an OpenAPI 3.1 document; exposed so tests can show
/// that the vendored schema does reject a broken document.
pub fn validate_against_oas_schema(document: &Value) -> Vec<String> {
    let parse = |name: &str, text: &str| -> Result<Value, String> {
        serde_json::from_str(text).map_err(|e| format!("vendored {name} is not JSON: {e}"))
    };
    let (schema, dialect, meta) = match (
        parse("OAS schema", OAS_SCHEMA),
        parse("OAS dialect", OAS_DIALECT),
        parse("OAS meta", OAS_META),
    ) {
        (Ok(s), Ok(d), Ok(m)) => (s, d, m),
        (s, d, m) => {
            return [s.err(), d.err(), m.err()].into_iter().flatten().collect();
        }
    };
    // The OAI's `schema-base.json` of the same date: the document schema with
    // every Schema Object checked against the OAS 3.1 dialect.
    let schema_base = json!({
        "$id": OAS_SCHEMA_BASE_ID,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "The description of OpenAPI v3.1.x documents using the OpenAPI JSON Schema dialect",
        "$ref": OAS_SCHEMA_ID,
        "properties": { "jsonSchemaDialect": { "$ref": "#/$defs/dialect" } },
        "$defs": {
            "dialect": { "const": OAS_DIALECT_ID },
            "schema": {
                "$dynamicAnchor": "meta",
                "$ref": OAS_DIALECT_ID,
                "properties": { "$schema": { "$ref": "#/$defs/dialect" } },
            },
        },
    });
    let registry = match Registry::new()
        .add(OAS_SCHEMA_ID, schema)
        .and_then(|b| b.add(OAS_DIALECT_ID, dialect))
        .and_then(|b| b.add(OAS_META_ID, meta))
        .and_then(|b| b.prepare())
    {
        Ok(r) => r,
        Err(e) => return vec![format!("cannot register the OAS 3.1 schemas: {e}")],
    };
    let validator = match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema_base)
    {
        Ok(v) => v,
        Err(e) => return vec![format!("cannot compile the OAS 3.1 schema: {e}")],
    };
    let mut out = Vec::new();
    for e in validator.iter_errors(document) {
        describe(&e, &mut out, 0);
    }
    out.into_iter()
        .map(|m| format!("OAS 3.1 schema: {m}"))
        .collect()
}

/// Every `(pointer, $ref)` in `v`.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "$ref" {
                    if let Value::String(s) = child {
                        out.push((at.to_owned(), s.clone()));
                    }
                } else {
                    refs(child, &format!("{at}/{}", token(k)), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn check_refs(doc: &Value) -> Vec<String> {
    let mut all = Vec::new();
    refs(doc, "", &mut all);
    let mut errors = Vec::new();
    let mut used = BTreeSet::new();
    for (at, target) in &all {
        match target.strip_prefix('#') {
            Some(pointer) if doc.pointer(pointer).is_some() => {
                used.insert(pointer.to_owned());
            }
            _ => errors.push(format!("{at}: $ref {target:?} does not resolve")),
        }
    }
    // Discriminator mappings are references too.
    let mut mapped = Vec::new();
    collect_mappings(doc, "", &mut mapped);
    for (at, target) in mapped {
        match target.strip_prefix('#') {
            Some(pointer) if doc.pointer(pointer).is_some() => {}
            _ => errors.push(format!("{at}: mapping {target:?} does not resolve")),
        }
    }
    if let Some(Value::Object(components)) = doc.get("components") {
        for (section, items) in components {
            if section == "securitySchemes" {
                continue;
            }
            for name in items.as_object().into_iter().flat_map(Map::keys) {
                let pointer = format!("/components/{section}/{}", token(name));
                if !used.contains(&pointer) {
                    errors.push(format!("{pointer} is never referenced"));
                }
            }
        }
    }
    errors
}

fn collect_mappings(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(map)) = m.get("discriminator").and_then(|d| d.get("mapping"))
            {
                for (k, t) in map {
                    if let Value::String(t) = t {
                        out.push((
                            format!("{at}/discriminator/mapping/{}", token(k)),
                            t.clone(),
                        ));
                    }
                }
            }
            for (k, child) in m {
                collect_mappings(child, &format!("{at}/{}", token(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_mappings(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `(METHOD, path)` operation of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn check_routes(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut routes = BTreeSet::new();
    for (m, p) in self::routes() {
        if !routes.insert((m.to_string(), p.to_string())) {
            errors.push(format!("the route table lists {m} {p} twice"));
        }
    }
    let ops = operations(doc);
    for (m, p) in routes.difference(&ops) {
        errors.push(format!(
            "the route table has {m} {p} but the document's paths do not"
        ));
    }
    for (m, p) in ops.difference(&routes) {
        errors.push(format!(
            "the document has {m} {p} but the route table does not"
        ));
    }
    errors
}

/// Follows a `$ref` to a component (one level is all the document uses).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(t) => t
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(v),
        None => v,
    }
}

fn check_operations(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = BTreeMap::new();
    for (method, path) in operations(doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        match op.get("operationId").and_then(Value::as_str) {
            Some(id) => {
                if let Some(prev) = ids.insert(id.to_owned(), format!("{method} {path}")) {
                    errors.push(format!(
                        "operationId {id} is used by {prev} and {method} {path}"
                    ));
                }
            }
            None => errors.push(format!("{method} {path} has no operationId")),
        }
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| deref(doc, p))
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        if declared != templated {
            errors.push(format!(
                "{method} {path}: path parameters {templated:?} but declared {declared:?}"
            ));
        }
        let statuses: Vec<&String> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(s, _)| s)
            .collect();
        if !statuses.iter().any(|s| s.starts_with('2')) {
            errors.push(format!("{method} {path} documents no success response"));
        }
        // Every schema of the operation must compile.
        for (pointer, _) in media_schemas(doc, &method, &path) {
            if let Err(e) = validator_at(&pointer) {
                errors.push(e);
            }
        }
    }
    errors
}

/// `(pointer to schema, pointer to media object)` of every request and
/// response media type of an operation (responses `$ref`'d to components are
/// followed).
fn media_schemas(doc: &Value, method: &str, path: &str) -> Vec<(String, String)> {
    let op_ptr = format!("/paths/{}/{}", token(path), method.to_lowercase());
    let mut containers = vec![format!("{op_ptr}/requestBody")];
    for (status, resp) in doc
        .pointer(&format!("{op_ptr}/responses"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match resp.get("$ref").and_then(Value::as_str) {
            Some(t) => containers.push(t.trim_start_matches('#').to_owned()),
            None => containers.push(format!("{op_ptr}/responses/{}", token(status))),
        }
    }
    let mut out = Vec::new();
    for c in containers {
        for (media, m) in doc
            .pointer(&format!("{c}/content"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if m.get("schema").is_some() {
                let media_ptr = format!("{c}/content/{}", token(media));
                out.push((format!("{media_ptr}/schema"), media_ptr));
            }
        }
    }
    out
}

fn check_examples(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (method, path) in operations(doc) {
        for (schema_ptr, media_ptr) in media_schemas(doc, &method, &path) {
            if !seen.insert(media_ptr.clone()) {
                continue;
            }
            let media = doc.pointer(&media_ptr).expect("media object");
            let mut examples: Vec<(String, &Value)> = Vec::new();
            if let Some(e) = media.get("example") {
                examples.push(("example".into(), e));
            }
            for (name, e) in media
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(v) = e.get("value") {
                    examples.push((format!("examples/{name}"), v));
                }
            }
            for (name, value) in examples {
                if let Err(es) = check(&schema_ptr, value) {
                    for e in es {
                        errors.push(format!("{media_ptr}/{name}: {e}"));
                    }
                }
            }
        }
    }
    errors
}

/// The operation object for `method` and `path_template` (with or without
/// [`BASE_PATH`]), and its pointer.
fn operation(method: &str, path_template: &str) -> Result<(String, &'static Value), Vec<String>> {
    let path = path_template
        .strip_prefix(BASE_PATH)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path_template);
    let doc = doc();
    let Some(item) = doc["paths"].get(path) else {
        return Err(vec![format!("{path} is not a path of the document")]);
    };
    let m = method.to_lowercase();
    match item.get(&m) {
        Some(op) => Ok((format!("/paths/{}/{m}", token(path)), op)),
        None => Err(vec![format!(
            "{path} has no {} operation in the document",
            method.to_uppercase()
        )]),
    }
}

/// The media type without parameters, lower-cased (`application/json`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Picks the documented media type matching `content_type`: an exact match
/// first, then one with the same essence.
fn media_for<'a>(content: &'a Map<String, Value>, content_type: &str) -> Option<&'a String> {
    let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    content
        .keys()
        .find(|k| norm(k) == norm(content_type))
        .or_else(|| content.keys().find(|k| essence(k) == essence(content_type)))
}

/// Checks one response: `status` documented for the operation,
/// `content_type` one of its media types (parameters aside), and `body`
/// valid against that media type's schema. A response documented without
/// content (304) must come with a `null` body. `path_template` is relative to
/// [`BASE_PATH`] (a leading `/api/v1` is accepted) and written as in
/// [`routes`]. Non-JSON bodies (Server-Sent Events, Prometheus text) are
/// passed as a JSON string.
///
/// A request the document has no operation for may only be answered by the
/// router's fallbacks: `405` (a documented path with another method) or `404`
/// (an undocumented path), each an `application/problem+json` `Problem` with
/// that status.
pub fn validate_response(
    method: &str,
    path_template: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) -> Result<(), Vec<String>> {
    let (op_ptr, op) = match operation(method, path_template) {
        Ok(found) => found,
        Err(errors) => return unrouted(method, path_template, status, content_type, body, errors),
    };
    let what = format!("{} {path_template} → {status}", method.to_uppercase());
    let Some(resp) = op["responses"].get(status.to_string()) else {
        let documented: Vec<&String> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(s, _)| s)
            .collect();
        return Err(vec![format!(
            "{what}: status {status} is not documented (documented: {})",
            documented
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    };
    let (resp_ptr, resp) = match resp.get("$ref").and_then(Value::as_str) {
        Some(t) => {
            let p = t.trim_start_matches('#').to_owned();
            let v = doc().pointer(&p).expect("response refs resolve");
            (p, v)
        }
        None => (format!("{op_ptr}/responses/{status}"), resp),
    };
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        return if body.is_null() {
            Ok(())
        } else {
            Err(vec![format!(
                "{what}: documented without a body, but one was sent"
            )])
        };
    };
    let Some(media) = media_for(content, content_type) else {
        return Err(vec![format!(
            "{what}: content type {content_type:?} is not documented (documented: {})",
            content
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    };
    let schema_ptr = format!("{resp_ptr}/content/{}/schema", token(media));
    check(&schema_ptr, body).map_err(|es| es.into_iter().map(|e| format!("{what}: {e}")).collect())
}

/// The router's answer to a request outside the document: 404 or 405 as a
/// problem document, or else the lookup's own errors.
fn unrouted(
    method: &str,
    path_template: &str,
    status: u16,
    content_type: &str,
    body: &Value,
    lookup: Vec<String>,
) -> Result<(), Vec<String>> {
    let path = path_template
        .strip_prefix(BASE_PATH)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path_template);
    let documented = doc()["paths"].get(path).is_some();
    let expected = if documented { 405 } else { 404 };
    if status != expected {
        return Err(lookup);
    }
    let what = format!("{} {path_template} → {status}", method.to_uppercase());
    let mut errors = Vec::new();
    if essence(content_type) != "application/problem+json" {
        errors.push(format!(
            "{what}: content type {content_type:?} is not application/problem+json"
        ));
    }
    if let Err(es) = check("/components/schemas/Problem", body) {
        errors.extend(es.into_iter().map(|e| format!("{what}: {e}")));
    }
    if body.get("status").is_some_and(|s| s != status) {
        errors.push(format!(
            "{what}: /status: {} is not {status}",
            body["status"]
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks a request body against the operation's request body schema for
/// `content_type`, which must be one the operation documents (parameters
/// aside), as the server refuses any other with `415`.
pub fn validate_request(
    method: &str,
    path_template: &str,
    content_type: &str,
    body: &Value,
) -> Result<(), Vec<String>> {
    let (op_ptr, op) = operation(method, path_template)?;
    let what = format!("{} {path_template} request", method.to_uppercase());
    let Some(content) = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
    else {
        return Err(vec![format!("{what}: the operation takes no body")]);
    };
    let Some(media) = media_for(content, content_type) else {
        return Err(vec![format!(
            "{what}: content type {content_type:?} is not documented"
        )]);
    };
    let schema_ptr = format!("{op_ptr}/requestBody/content/{}/schema", token(media));
    check(&schema_ptr, body).map_err(|es| es.into_iter().map(|e| format!("{what}: {e}")).collect())
}

/// Checks `instance` against the component schema `name`
/// (`#/components/schemas/{name}`), e.g. one event's `data` against
/// `OutreachContactLoggedData`.
pub fn validate_schema(name: &str, instance: &Value) -> Result<(), Vec<String>> {
    if doc()["components"]["schemas"].get(name).is_none() {
        return Err(vec![format!("no component schema named {name}")]);
    }
    check(&format!("/components/schemas/{}", token(name)), instance)
}
