//! A rule's result as the validation callback's answer.

use hdi::prelude::*;

/// An `Invalid` result with `reason`.
pub(crate) fn invalid(reason: &str) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Invalid(reason.to_string()))
}

/// `Valid` when `check` passes, else `Invalid` with its reason prefixed by `what`.
pub(crate) fn verdict(what: &str, check: Result<(), String>) -> ExternResult<ValidateCallbackResult> {
    match check {
        Ok(()) => Ok(ValidateCallbackResult::Valid),
        Err(reason) => Ok(ValidateCallbackResult::Invalid(format!("{what}: {reason}"))),
    }
}
