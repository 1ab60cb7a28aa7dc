//! Exit codes: 0 success, 1 differences found (diff, check), 2 invalid input or usage.

use std::process::ExitCode;

/// Exit code for invalid input or usage.
pub const INVALID: u8 = 2;

/// Exit code when the renders differ or the committed directory is stale.
pub const DIFFERENT: u8 = 1;

/// Invalid input or usage.
pub fn invalid() -> ExitCode {
    ExitCode::from(INVALID)
}

/// Success when the two sides are the same, else [`DIFFERENT`].
pub fn for_same(is_same: bool) -> ExitCode {
    if is_same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DIFFERENT)
    }
}
