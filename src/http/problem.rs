//! Errors as RFC 9457 `application/problem+json`. Every error the API
//! returns goes through [`Problem`]; [`Problem::from_record`] and friends are
//! the one place where layer errors become HTTP statuses.

use passerelle_events::json::JsonError;
use passerelle_events::keyring::KeyError;
use passerelle_events::{FieldError, RecordError, StoreError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use warp::http::StatusCode;

/// The problem type of broken rules.
const VALIDATION: &str = "/problems/validation";

/// One problem document.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// A URI reference naming the problem type, e.g. `/problems/validation`.
    pub kind: &'static str,
    /// A short, stable summary of the problem type.
    pub title: &'static str,
    /// What happened this time.
    pub detail: String,
    /// Broken rules (validation only).
    pub errors: Vec<FieldError>,
    /// Extra headers (e.g. `WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl Problem {
    fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 400: a malformed body or a bad parameter.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "Bad request",
            detail,
        )
    }

    /// 401: no, bad or revoked credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorized",
            "Unauthorized",
            detail,
        );
        p.headers
            .push(("www-authenticate", "Bearer realm=\"passerelle\"".into()));
        p
    }

    /// 403: the token's role or scope does not allow it, or a write with the
    /// session cookie does not come from this server's own pages.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "/problems/forbidden",
            "Forbidden",
            detail,
        )
    }

    /// 404: no such route, programme or id.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            detail,
        )
    }

    /// 405: the route exists with other methods, listed in `Allow`.
    pub fn method_not_allowed(detail: impl Into<String>, allow: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "/problems/method-not-allowed",
            "Method not allowed",
            detail,
        );
        p.headers.push(("allow", allow.into()));
        p
    }

    /// 409: a version conflict or an id reused with another body.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "/problems/conflict",
            "Conflict",
            detail,
        )
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/too-large",
            "Body too large",
            format!("the request body is over the limit of {limit} bytes"),
        )
    }

    /// 415: the body is not labelled with the media type the route reads,
    /// named in `Accept-Post`.
    pub fn unsupported_media_type(detail: impl Into<String>, accepted: &'static str) -> Self {
        let mut p = Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            detail,
        );
        p.headers.push(("accept-post", accepted.into()));
        p
    }

    /// 422: broken rules, each naming its field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            VALIDATION,
            "Validation failed",
            format!(
                "{n} broken rule{}; nothing was recorded",
                if n == 1 { "" } else { "s" }
            ),
        );
        p.errors = errors;
        p
    }

    /// 503: the store is unavailable or a position was not reached in time.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "/problems/unavailable",
            "Service unavailable",
            detail,
        );
        p.headers.push(("retry-after", "1".into()));
        p
    }

    /// 429: the client has too much open at once; it may retry after
    /// `seconds` (`Retry-After`).
    pub fn too_many_requests(detail: impl Into<String>, seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/too-many-requests",
            "Too many requests",
            detail,
        )
        .retry_after(seconds)
    }

    /// This problem with `Retry-After: seconds` (replacing any).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.headers.retain(|(k, _)| *k != "retry-after");
        self.headers.push(("retry-after", seconds.to_string()));
        self
    }

    /// 503: the server does not take this work now — as many renderings
    /// as it runs at once are under way, or this one ran out of time —;
    /// `Retry-After` says when to try again.
    pub fn busy(detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "/problems/busy",
            "Server busy",
            detail,
        );
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        p.headers.push(("retry-after", secs.max(1).to_string()));
        p
    }

    /// 500: a bug or a corrupt store. The detail is logged, not shown.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "an internal error occurred; it has been logged",
        )
    }

    /// Maps a strict JSON body ([`passerelle_events::json::parse`]): 400 when
    /// it is not JSON, 422 naming a key given twice.
    pub fn from_json(parsed: Result<Value, JsonError>) -> Result<Value, Self> {
        parsed.map_err(|e| match e.duplicate() {
            Some(field) => Self::validation(vec![field]),
            None => Self::bad_request(format!("the body is not valid JSON: {e}")),
        })
    }

    /// Maps a recording error: 422, 409, 503 or 500.
    pub fn from_record(e: RecordError) -> Self {
        match e {
            RecordError::Invalid(v) => Self::validation(v.errors),
            e @ (RecordError::Conflict { .. } | RecordError::IdReused { .. }) => {
                Self::conflict(e.to_string())
            }
            RecordError::Store(s) => Self::from_store(s),
            RecordError::Keys(k) => Self::from_keys(k),
        }
    }

    /// Maps a key error: 503 for a store that failed or a master key rotated
    /// under a running server, 500 for a damaged key table.
    pub fn from_keys(e: KeyError) -> Self {
        match e {
            KeyError::Store(s) => Self::from_store(s),
            KeyError::Damaged(_) | KeyError::NoKeyring => Self::internal(e),
            other => Self::unavailable(other.to_string()),
        }
    }

    /// Maps a store error.
    pub fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } | StoreError::IdReused { .. } => {
                Self::conflict(e.to_string())
            }
            StoreError::KeyGone { .. } | StoreError::KeyConflict(_) => {
                Self::conflict(e.to_string())
            }
            StoreError::Corrupt { .. } | StoreError::Overflow(_) | StoreError::NoKeyring => {
                Self::internal(e)
            }
            _ => Self::unavailable(e.to_string()),
        }
    }

    /// The problem document: a [`ValidationDocument`] when it names broken
    /// rules, else a [`Document`].
    pub fn body(&self) -> String {
        let json = if self.errors.is_empty() {
            serde_json::to_string(&Document {
                kind: self.kind,
                title: self.title,
                status: self.status.as_u16(),
                detail: self.detail.clone(),
            })
        } else {
            serde_json::to_string(&ValidationDocument {
                kind: self.kind,
                title: self.title,
                status: self.status.as_u16(),
                detail: self.detail.clone(),
                errors: self.errors.clone(),
            })
        };
        json.expect("a problem serialises to JSON")
    }

    /// The HTTP response.
    pub fn into_response(self) -> warp::reply::Response {
        let mut r = warp::http::Response::builder()
            .status(self.status)
            .header("content-type", "application/problem+json");
        for (k, v) in &self.headers {
            r = r.header(*k, v);
        }
        r.body(self.body().into()).expect("valid response")
    }
}

/// An RFC 9457 problem document (the `Problem` schema).
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(rename = "type")]
    #[schema(schema_with = schema::kind)]
    kind: &'static str,
    #[schema(schema_with = schema::title)]
    title: &'static str,
    #[schema(schema_with = schema::status)]
    status: u16,
    #[schema(schema_with = schema::detail)]
    detail: String,
}

/// An RFC 9457 problem document for broken rules (422): `errors` names each
/// field and the rule it broke (the `ValidationProblem` schema).
#[derive(Serialize, ToSchema)]
#[schema(as = ValidationProblem)]
#[serde(deny_unknown_fields)]
pub struct ValidationDocument {
    #[serde(rename = "type")]
    #[schema(schema_with = schema::validation_kind)]
    kind: &'static str,
    #[schema(schema_with = schema::title)]
    title: &'static str,
    #[schema(schema_with = schema::validation_status)]
    status: u16,
    #[schema(schema_with = schema::detail)]
    detail: String,
    #[schema(schema_with = schema::errors)]
    errors: Vec<FieldError>,
}

/// The schemas of the problem documents' fields.
mod schema {
    use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::Ref;

    use super::VALIDATION;

    fn string(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    }

    fn kind_builder() -> ObjectBuilder {
        string("A URI reference naming the problem type, e.g. `/problems/validation`.")
            .format(Some(SchemaFormat::Custom("uri-reference".into())))
    }

    fn status_builder() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("The HTTP status."))
            .minimum(Some(100))
            .maximum(Some(599))
    }

    pub fn kind() -> Object {
        kind_builder().build()
    }

    pub fn validation_kind() -> Object {
        kind_builder().enum_values(Some([VALIDATION])).build()
    }

    pub fn title() -> Object {
        string("A short, stable summary of the problem type.").build()
    }

    pub fn status() -> Object {
        status_builder().build()
    }

    pub fn validation_status() -> Object {
        status_builder().enum_values(Some([422])).build()
    }

    pub fn detail() -> Object {
        string("What happened this time.").build()
    }

    pub fn errors() -> utoipa::openapi::schema::Array {
        ArrayBuilder::new()
            .items(Ref::from_schema_name("FieldError"))
            .min_items(Some(1))
            .build()
    }
}
