//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the secret is
//! `whsec_` and base64 of the key; the signature is base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, sent as `v1,<signature>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::kernel::DomainError;

const PREFIX: &str = "whsec_";

/// A new random secret (32 bytes).
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The key inside a secret, if the secret is well formed (24 to 64 bytes).
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

pub fn check_secret(secret: &str) -> Result<String, DomainError> {
    key_of(secret).map(|_| secret.to_owned()).ok_or_else(|| {
        DomainError::Validation(
            "secret: expected whsec_ followed by base64 of 24 to 64 bytes".into(),
        )
    })
}

/// The `webhook-signature` header value.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_example_of_the_standard() {
        // The example from the Standard Webhooks specification.
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked() {
        assert!(key_of(&generate_secret()).is_some());
        assert!(check_secret("whsec_short").is_err());
        assert!(check_secret("no-prefix").is_err());
        assert!(check_secret("whsec_%%%").is_err());
    }
}
