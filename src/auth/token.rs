//! Access tokens: HS256 JWTs, short-lived. Only HS256 is accepted, so a
//! token claiming `alg: none` or another algorithm is refused before its
//! signature is even considered.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
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
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
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
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
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
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            ep: epoch,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::caused_by)
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
