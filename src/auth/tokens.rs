//! Access tokens (HS256 JWTs naming their tenant) and refresh tokens (random, stored
//! only as SHA-256).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const ACCESS_TOKEN_TTL_SECS: u64 = 15 * 60;
pub const REFRESH_TOKEN_TTL_DAYS: i64 = 30;
const ISSUER: &str = "pactum";
const AUDIENCE: &str = "pactum-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// The tenant's id: a token is valid on its own tenant's hosts only.
    pub tid: Uuid,
    /// The tenant's slug, for logs.
    pub tenant: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// Token id, for revocation lists and logs.
    pub jti: Uuid,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn mint(
        &self,
        user: Uuid,
        tenant_id: Uuid,
        tenant: &str,
        role: &str,
        now: u64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user,
            tid: tenant_id,
            tenant: tenant.to_owned(),
            role: role.to_owned(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            jti: Uuid::new_v4(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a valid, unexpired token signed with our key and algorithm. Which
    /// tenant it belongs to is the caller's check.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// A new refresh token: what the client gets, and the hash we store.
pub fn new_refresh_token() -> (String, String) {
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_minted_token_verifies_and_carries_its_tenant() {
        let keys = TokenKeys::new(SECRET);
        let (user, tenant) = (Uuid::new_v4(), Uuid::new_v4());
        let token = keys
            .mint(user, tenant, "acme", "admin", unix_now())
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.tid, claims.role.as_str()),
            (user, tenant, "admin")
        );
    }

    #[test]
    fn expired_foreign_and_unsigned_tokens_are_refused() {
        let keys = TokenKeys::new(SECRET);
        let (user, tenant) = (Uuid::new_v4(), Uuid::new_v4());
        let expired = keys
            .mint(user, tenant, "acme", "admin", unix_now() - 3600)
            .unwrap();
        assert!(keys.verify(&expired).is_none());
        let foreign = TokenKeys::new(b"another-secret-another-secret-12")
            .mint(user, tenant, "acme", "admin", unix_now())
            .unwrap();
        assert!(keys.verify(&foreign).is_none());
        // alg: none, with our claims.
        let good = keys
            .mint(user, tenant, "acme", "admin", unix_now())
            .unwrap();
        let payload = good.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&unsigned).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, hash_refresh_token(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a));
    }
}
