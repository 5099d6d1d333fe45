//! Ed25519 cosignatures on checkpoints (c2sp.org/tlog-cosignature,
//! `cosignature/v1`): what a witness signs to say it saw this checkpoint
//! consistent with every earlier one it saw, and what the log keeps.
//!
//! The signed message is `cosignature/v1\ntime <t>\n` and the checkpoint's
//! text; the signature line carries the key id (type 0x04), the time as a
//! big-endian u64, and the Ed25519 signature.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use std::path::Path;

use super::signing::{key_parts, public_of, typed_key_hash, valid_name};

/// The signature type of Ed25519 cosignatures.
const COSIGNATURE_V1: u8 = 0x04;

fn message(checkpoint_text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{checkpoint_text}")
}

/// A witness's signing key.
pub struct CosignKey {
    pub name: String,
    signing: SigningKey,
}

impl CosignKey {
    pub fn generate(name: &str) -> Result<Self, String> {
        if !valid_name(name) {
            return Err(format!("`{name}` cannot name a witness (no spaces or '+')"));
        }
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Ok(Self {
            name: name.into(),
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x04 || seed)>`.
    pub fn parse_private(text: &str) -> Result<Self, String> {
        let (name, seed) = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .and_then(|rest| key_parts(rest, COSIGNATURE_V1, public_of))
            .ok_or("not a cosigner private key (PRIVATE+KEY+name+hash+key)")?;
        Ok(Self {
            name,
            signing: SigningKey::from_bytes(&seed),
        })
    }

    fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    fn id(&self) -> [u8; 4] {
        typed_key_hash(&self.name, COSIGNATURE_V1, &self.public())
    }

    pub fn private_text(&self) -> String {
        let mut bytes = vec![COSIGNATURE_V1];
        bytes.extend_from_slice(&self.signing.to_bytes());
        let id = hex::encode(self.id());
        format!("PRIVATE+KEY+{}+{id}+{}", self.name, B64.encode(bytes))
    }

    /// The verifier key logs configure: `<name>+<hash>+<base64(0x04 || key)>`.
    pub fn verifier(&self) -> String {
        let mut bytes = vec![COSIGNATURE_V1];
        bytes.extend_from_slice(&self.public());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id()),
            B64.encode(bytes)
        )
    }

    /// The signature line cosigning a checkpoint's text at `time`.
    pub fn cosign(&self, checkpoint_text: &str, time: u64) -> String {
        let sig = self.signing.sign(message(checkpoint_text, time).as_bytes());
        let mut bytes = self.id().to_vec();
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, B64.encode(bytes))
    }

    /// Loads the key from `path`, or generates one there (mode 0600).
    pub fn load_or_create(path: &Path, name: &str) -> Result<Self, String> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let key = Self::parse_private(&text)?;
            if key.name != name {
                return Err(format!(
                    "{} holds the key of witness {}, not {name}",
                    path.display(),
                    key.name
                ));
            }
            return Ok(key);
        }
        if let Some(dir) = path.parent() {
            crate::config::private_dir(dir)?;
        }
        let key = Self::generate(name)?;
        crate::config::write_private(path, &format!("{}\n", key.private_text()))?;
        Ok(key)
    }
}

/// A witness as a log knows it: its name and public key.
#[derive(Clone)]
pub struct CosignVerifier {
    pub name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl CosignVerifier {
    /// Parses `<name>+<hash>+<base64(0x04 || key)>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!("`{text}` is not a cosignature verifier key (name+hash+base64 of 0x04 and the key, its hash that of its key)")
        };
        let (name, public) = key_parts(text, COSIGNATURE_V1, |k| *k).ok_or_else(bad)?;
        Ok(Self {
            id: typed_key_hash(&name, COSIGNATURE_V1, &public),
            key: VerifyingKey::from_bytes(&public).map_err(|_| bad())?,
            name,
        })
    }

    /// The first line among `lines` that is this witness's valid
    /// cosignature on `checkpoint_text`, with its time. Lines by other
    /// keys are ignored, as the spec asks.
    pub fn find<'a>(&self, checkpoint_text: &str, lines: &'a str) -> Option<(&'a str, u64)> {
        lines.lines().find_map(|line| {
            let (name, sig) = line.strip_prefix("\u{2014} ")?.split_once(' ')?;
            let bytes = B64.decode(sig).ok()?;
            if name != self.name || bytes.len() != 76 || bytes[..4] != self.id {
                return None;
            }
            let time = u64::from_be_bytes(bytes[4..12].try_into().ok()?);
            let sig = Signature::from_slice(&bytes[12..]).ok()?;
            self.key
                .verify(message(checkpoint_text, time).as_bytes(), &sig)
                .ok()?;
            Some((line, time))
        })
    }
}

/// Checks that every witness in `keys` (cosignature verifier keys) has
/// cosigned the signed note `note`, whose text the log's key opened.
/// Answers how many did.
pub fn require_all(note: &str, text: &str, keys: &[String]) -> Result<usize, String> {
    let lines = note.get(text.len()..).unwrap_or_default();
    for key in keys {
        let w = CosignVerifier::parse(key)?;
        if w.find(text, lines).is_none() {
            return Err(format!(
                "the checkpoint carries no valid cosignature by witness {}",
                w.name
            ));
        }
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cosignature_verifies_with_the_witness_key_only() {
        let key = CosignKey::generate("witness.test/w1").unwrap();
        let again = CosignKey::parse_private(&key.private_text()).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        let text = "registry.test/audit\n5\nAAAA\n";
        let line = key.cosign(text, 1_700_000_000);
        let v = CosignVerifier::parse(&key.verifier()).unwrap();
        assert_eq!(v.find(text, &line), Some((line.trim_end(), 1_700_000_000)));
        assert_eq!(v.find("registry.test/audit\n6\nAAAA\n", &line), None);
        let other = CosignKey::generate("witness.test/w1").unwrap();
        assert_eq!(v.find(text, &other.cosign(text, 1)), None);
        // A note key (type 0x01) is not a cosigner key.
        let note = super::super::signing::NoteKey::generate("witness.test/w1").unwrap();
        assert!(CosignVerifier::parse(&note.verifier()).is_err());
    }
}
