//! Per-field validation errors, collected so a client learns every problem at once.

use std::fmt;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field in the request body, e.g. `automaticLeave.maxDurationSecs`.
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `out_of_range`, `unsupported_url`.
    pub code: &'static str,
    /// Human-readable explanation that says how to fix it.
    pub message: String,
}

/// All field errors found in one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    pub errors: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn push(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            code,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was pushed, otherwise the collected errors.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.errors.is_empty() { Ok(value) } else { Err(self) }
    }
}

/// Checks a human label (account or key name): trimmed, 1–100 characters, no control
/// characters. Returns the trimmed label; records a problem under `field` otherwise.
pub fn check_label(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let label = raw.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        errors.push(
            field,
            "invalid_value",
            format!("{field} must be 1 to 100 characters without control characters"),
        );
    }
    label.to_string()
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}
