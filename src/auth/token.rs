//! Access tokens: HS256 JWTs, short-lived. Only HS256 is accepted, so a
//! token claiming `alg: none` or another algorithm is refused before its
//! signature is even considered.

use hmac::{digest::KeyInit, Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The account's token epoch when the token was issued; tokens from
    /// before a password change carry an older one.
    #[serde(default)]
    pub ep: i64,
    /// The console session the token belongs to; only the session cookie's
    /// token has one, and it works only while the session is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The key of console sessions' CSRF tokens, derived from the signing
    /// secret so that every process serving the registry agrees on it.
    csrf_key: [u8; 32],
    pub ttl_secs: i64,
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let csrf_key = Sha256::new()
            .chain_update(b"registry console csrf\0")
            .chain_update(secret)
            .finalize()
            .into();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            csrf_key,
            ttl_secs,
        }
    }

    /// Uses `REGISTRY_JWT_SECRET` when given; otherwise the key kept in the
    /// data directory, generated on first start (256 random bits, mode 0600).
    pub fn load(secret: Option<&str>, data_dir: &Path, ttl_secs: i64) -> Result<Self, String> {
        let secret = match secret {
            Some(s) if s.len() < 32 => {
                return Err("REGISTRY_JWT_SECRET must be at least 32 bytes".into())
            }
            Some(s) => s.to_string(),
            None => load_or_create_secret(&data_dir.join("jwt_secret"))?,
        };
        Ok(Self::new(secret.as_bytes(), ttl_secs))
    }

    pub fn issue(&self, user_id: &str, epoch: i64) -> AppResult<String> {
        self.sign(user_id, epoch, self.ttl_secs, None)
    }

    /// The token of a console session's cookie, good for `ttl_secs` and
    /// only while session `sid` is live.
    pub fn issue_session(
        &self,
        user_id: &str,
        epoch: i64,
        sid: &str,
        ttl_secs: i64,
    ) -> AppResult<String> {
        self.sign(user_id, epoch, ttl_secs, Some(sid.to_string()))
    }

    fn sign(
        &self,
        user_id: &str,
        epoch: i64,
        ttl_secs: i64,
        sid: Option<String>,
    ) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            ep: epoch,
            sid,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::caused_by)
    }

    fn csrf_mac(&self, sid: &str) -> Hmac<Sha256> {
        // The key is a full SHA-256 block's worth or less, which HMAC
        // takes as it is: `new` with a key of the block size cannot fail.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.csrf_key);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&key.into());
        mac.update(sid.as_bytes());
        mac
    }

    /// The CSRF token of console session `sid`: every request of the
    /// session that changes something carries it in `X-CSRF-Token`. A page
    /// of another site can make the browser send the cookie, never read
    /// this.
    pub fn csrf_token(&self, sid: &str) -> String {
        hex::encode(self.csrf_mac(sid).finalize().into_bytes())
    }

    /// Whether `given` is session `sid`'s CSRF token (compared in constant
    /// time).
    pub fn csrf_matches(&self, sid: &str, given: &str) -> bool {
        hex::decode(given).is_ok_and(|tag| self.csrf_mac(sid).verify_slice(&tag).is_ok())
    }

    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                let expired = matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature);
                if expired {
                    AppError::unauthorized(
                        "token_expired",
                        "the access token has expired; log in again",
                    )
                } else {
                    AppError::unauthorized("invalid_token", "the access token is not valid")
                }
            })
    }
}

fn load_or_create_secret(path: &Path) -> Result<String, String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing);
        }
        return Err(format!(
            "{} holds a key shorter than 32 bytes",
            path.display()
        ));
    }
    if let Some(dir) = path.parent() {
        crate::config::private_dir(dir)?;
    }
    let secret = random_hex(32);
    crate::config::write_private(path, &secret)?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(secret)
}
