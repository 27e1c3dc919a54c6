//! Errors of the event layer: a broken rule names its field; a batch of events
//! reports every broken rule at once.

use std::fmt;

use serde::Serialize;

/// One broken rule: which field, and what the rule is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A path such as `data.beneficiaries.women`, `occurred_at` or, in a batch,
    /// `[2].data.to`.
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    /// A broken rule on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Turns a serde error found at `path` (relative to `prefix`) into a field
    /// error: unknown and missing fields get their own name appended, type
    /// errors are worded for people.
    pub(crate) fn from_serde(prefix: &str, path: &str, message: &str) -> Self {
        let mut field = if path == "." || path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{path}")
        };
        let ticked = |m: &str, lead: &str| -> Option<String> {
            let rest = m.strip_prefix(lead)?;
            Some(rest.split('`').next().unwrap_or_default().to_owned())
        };
        let name_field = |field: &mut String, name: &str| {
            if !field.ends_with(&format!(".{name}")) {
                *field = format!("{field}.{name}");
            }
        };
        let message = if let Some(name) = ticked(message, "unknown field `") {
            name_field(&mut field, &name);
            "is not a field of this event; unknown fields are refused (there is deliberately no field for special categories of personal data)".to_owned()
        } else if let Some(name) = ticked(message, "missing field `") {
            name_field(&mut field, &name);
            "is required".to_owned()
        } else if let Some(name) = ticked(message, "unknown variant `") {
            let expected = message
                .split_once("expected ")
                .map(|(_, e)| e.replace('`', ""))
                .unwrap_or_default();
            format!("{name:?} is not allowed; expected {expected}")
        } else if message.contains("expected map with a single key") {
            "must hold exactly one key: stakeholder, need, partnership or gap".to_owned()
        } else if message.starts_with("invalid value: integer `-") {
            "must be a non-negative whole number".to_owned()
        } else if message.contains("expected u32") {
            "must be a non-negative whole number below 4294967296".to_owned()
        } else {
            message.to_owned()
        };
        Self { field, message }
    }

    /// The same error, with `prefix` put before its field (for batches).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every broken rule of an event or a batch. Becomes HTTP 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The broken rules, in the order they were found.
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// A single broken rule.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(field, message)],
        }
    }
}

impl From<FieldError> for ValidationError {
    fn from(e: FieldError) -> Self {
        Self { errors: vec![e] }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "{n} broken rule{}", if n == 1 { "" } else { "s" })?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}
