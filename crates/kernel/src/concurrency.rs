//! Optimistic concurrency for any entity with a `version` column: a change names the
//! version it was based on (`If-Match: "3"` or a `version` field), a stale one is a
//! 409 with the current version, and none at all is a 428, so nobody overwrites a
//! change they never saw.
//!
//! `If-Match` is compared strongly (RFC 9110, 13.1.1): a weak ETag (`W/"3"`) never
//! matches, so it is a 412 rather than silently taken as `"3"`.

use serde_json::{json, Value};

use super::error::{DomainError, Refusal};

/// The ETag of a version: `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` header names.
pub fn parse_if_match(value: &str) -> Result<i32, DomainError> {
    let value = value.trim();
    if value.starts_with("W/") {
        return Err(DomainError::refused(
            Refusal::PreconditionFailed,
            "precondition_failed",
            "If-Match is compared strongly: a weak ETag never matches; send the ETag as read, such as \"3\"",
            Value::Null,
        ));
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .parse::<i32>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| DomainError::BadRequest("If-Match must be an ETag such as \"3\"".into()))
}

/// The version a change is based on: the `If-Match` header's or the body's `version`,
/// which must agree when both are given. Neither is a 428.
pub fn expected_version(if_match: Option<&str>, in_body: Option<i32>) -> Result<i32, DomainError> {
    let from_header = if_match.map(parse_if_match).transpose()?;
    match (from_header, in_body) {
        (Some(a), Some(b)) if a != b => Err(DomainError::BadRequest(
            "If-Match and version disagree".into(),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(DomainError::refused(
            Refusal::PreconditionRequired,
            "version_required",
            "send the version you read, as If-Match or a version field",
            Value::Null,
        )),
    }
}

/// Fails with 409 `version_conflict` (and `details.current_version`) unless the
/// `what` the caller read is still at `expected`.
pub fn check_version(what: &str, expected: i32, current: i32) -> Result<(), DomainError> {
    if expected == current {
        Ok(())
    } else {
        Err(version_conflict(what, current))
    }
}

pub fn version_conflict(what: &str, current: i32) -> DomainError {
    DomainError::refused(
        Refusal::Conflict,
        "version_conflict",
        format!("the {what} changed meanwhile (now at version {current}); read it again"),
        json!({ "current_version": current }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_is_compared_strongly() {
        assert_eq!(parse_if_match("\"3\"").unwrap(), 3);
        assert_eq!(parse_if_match(" 3 ").unwrap(), 3);
        assert_eq!(
            parse_if_match("W/\"3\"").unwrap_err().code(),
            "precondition_failed"
        );
        for bad in ["\"\"", "\"x\"", "*", "\"3\", \"4\"", "\"0\"", "\"-1\""] {
            assert_eq!(
                parse_if_match(bad).unwrap_err().code(),
                "bad_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_header_and_the_body_must_agree_and_one_is_required() {
        assert_eq!(expected_version(Some("\"2\""), Some(2)).unwrap(), 2);
        assert_eq!(expected_version(None, Some(5)).unwrap(), 5);
        assert!(expected_version(Some("\"2\""), Some(3)).is_err());
        assert_eq!(
            expected_version(None, None).unwrap_err().code(),
            "version_required"
        );
        assert_eq!(
            check_version("contract", 2, 3).unwrap_err().code(),
            "version_conflict"
        );
        assert!(check_version("contract", 3, 3).is_ok());
    }
}
