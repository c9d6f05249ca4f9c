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
/// Clock skew forgiven on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 5;

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
    /// Not valid before; we never set it, but a token that carries it is held to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Token id: what a logout keeps, and what logs name.
    pub jti: Uuid,
    /// The user's session generation when the token was minted. A password change or a
    /// deactivation starts a new one, and a token of an earlier generation is refused
    /// from then on, though it has not expired. A token without the claim is of the
    /// first generation.
    #[serde(default, rename = "gen")]
    pub generation: i32,
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
        // Time is checked in `verify` against the clock the caller passes, so tests
        // move time instead of sleeping.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn mint(
        &self,
        user: Uuid,
        generation: i32,
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
            nbf: None,
            jti: Uuid::new_v4(),
            generation,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a token signed with our key and algorithm that is valid at `now`
    /// (Unix seconds): not expired, and not before its `nbf`. Which tenant it belongs
    /// to is the caller's check.
    pub fn verify(&self, token: &str, now: u64) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let expired = claims.exp.saturating_add(LEEWAY_SECS) < now;
        let early = claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS));
        // We never mint a token that lives longer than an access token's lifetime or
        // that is issued in the future: one that claims to (`exp` of 2^64 - 1) is not
        // ours to honour, whatever its signature.
        let too_long = claims.exp > now.saturating_add(ACCESS_TOKEN_TTL_SECS + LEEWAY_SECS)
            || claims.exp.saturating_sub(claims.iat) > ACCESS_TOKEN_TTL_SECS
            || claims.iat > now.saturating_add(LEEWAY_SECS);
        (!expired && !early && !too_long).then_some(claims)
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
            .mint(user, 0, tenant, "acme", "admin", unix_now())
            .unwrap();
        let claims = keys.verify(&token, unix_now()).unwrap();
        assert_eq!(
            (claims.sub, claims.tid, claims.role.as_str()),
            (user, tenant, "admin")
        );
    }

    #[test]
    fn a_token_carries_its_session_generation_and_one_without_is_of_the_first() {
        let keys = TokenKeys::new(SECRET);
        let (user, tenant, now) = (Uuid::new_v4(), Uuid::new_v4(), unix_now());
        let token = keys.mint(user, 7, tenant, "acme", "admin", now).unwrap();
        assert_eq!(keys.verify(&token, now).unwrap().generation, 7);
        let mut claims = serde_json::to_value(keys.verify(&token, now).unwrap()).unwrap();
        claims.as_object_mut().unwrap().remove("gen");
        let older =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&older, now).unwrap().generation, 0);
    }

    #[test]
    fn expired_foreign_and_unsigned_tokens_are_refused() {
        let keys = TokenKeys::new(SECRET);
        let (user, tenant) = (Uuid::new_v4(), Uuid::new_v4());
        let now = unix_now();
        let minted = keys.mint(user, 0, tenant, "acme", "admin", now).unwrap();
        assert!(keys.verify(&minted, now + ACCESS_TOKEN_TTL_SECS).is_some());
        assert!(keys
            .verify(&minted, now + ACCESS_TOKEN_TTL_SECS + LEEWAY_SECS + 1)
            .is_none());
        let foreign = TokenKeys::new(b"another-secret-another-secret-12")
            .mint(user, 0, tenant, "acme", "admin", unix_now())
            .unwrap();
        assert!(keys.verify(&foreign, now).is_none());
        // alg: none, with our claims.
        let good = keys
            .mint(user, 0, tenant, "acme", "admin", unix_now())
            .unwrap();
        let payload = good.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&unsigned, now).is_none());
    }

    #[test]
    fn a_token_is_refused_before_its_not_before_time() {
        let keys = TokenKeys::new(SECRET);
        let now = unix_now();
        let mut claims = keys
            .verify(
                &keys
                    .mint(Uuid::new_v4(), 0, Uuid::new_v4(), "acme", "admin", now)
                    .unwrap(),
                now,
            )
            .unwrap();
        claims.nbf = Some(now + 60);
        let early =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert!(keys.verify(&early, now).is_none());
        assert!(keys.verify(&early, now + 60).is_some());
    }

    #[test]
    fn a_token_claiming_a_longer_life_than_we_give_is_refused() {
        let keys = TokenKeys::new(SECRET);
        let now = unix_now();
        let claims = keys
            .verify(
                &keys
                    .mint(Uuid::new_v4(), 0, Uuid::new_v4(), "acme", "admin", now)
                    .unwrap(),
                now,
            )
            .unwrap();
        let sign = |claims: &Claims| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &keys.encoding).unwrap()
        };
        for forged in [
            Claims {
                exp: u64::MAX,
                ..claims.clone()
            },
            Claims {
                exp: now + 86_400,
                ..claims.clone()
            },
            Claims {
                iat: now + 3600,
                exp: now + 3600 + 60,
                ..claims.clone()
            },
        ] {
            assert!(
                keys.verify(&sign(&forged), now).is_none(),
                "exp {}",
                forged.exp
            );
        }
        assert!(keys.verify(&sign(&claims), now).is_some());
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
