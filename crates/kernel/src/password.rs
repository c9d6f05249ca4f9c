//! argon2id password hashing, with a policy for new passwords.

use argon2::password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use thiserror::Error;

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password may not contain control characters")]
    ControlCharacters,
}

/// A password that meets the policy. Its `Debug` never shows the secret.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub fn parse(password: &str) -> Result<Self, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if password.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacters);
        }
        Ok(Self(password.to_owned()))
    }

    /// argon2id with the crate's recommended parameters and a random salt, as a PHC
    /// string. Deliberately slow: call it off async worker threads.
    pub fn hash(&self) -> anyhow::Result<String> {
        let hash = Argon2::default()
            .hash_password(self.0.as_bytes())
            .map_err(|error| anyhow::anyhow!("hashing the password: {error}"))?;
        Ok(hash.to_string())
    }
}

/// Whether `password` matches the PHC `hash`. A malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies_only_the_right_password() {
        let hash = NewPassword::parse("correct horse battery")
            .unwrap()
            .hash()
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse battery!", &hash));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn policy_refuses_short_long_and_control_character_passwords() {
        assert_eq!(
            NewPassword::parse("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(MAX_PASSWORD_BYTES + 1)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            NewPassword::parse("abcdefghij\u{7}").unwrap_err(),
            PasswordError::ControlCharacters
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = NewPassword::parse("a very secret phrase").unwrap();
        assert!(!format!("{password:?}").contains("secret"));
    }
}
