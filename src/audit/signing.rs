//! The registry's Ed25519 key and C2SP signed notes (c2sp.org/signed-note),
//! in which audit checkpoints (c2sp.org/tlog-checkpoint) are published.
//!
//! Written here rather than taken from the `signed_note` crate: the format
//! is a few lines, and these lines are checked against the known answer
//! from Go's `golang.org/x/mod/sumdb/note` (see the tests).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The signature algorithm byte of Ed25519 in signed notes.
const ED25519: u8 = 0x01;

pub struct NoteKey {
    pub name: String,
    signing: SigningKey,
}

/// The 4-byte key id of a signed-note key: SHA-256(name || "\n" || alg || key)[:4].
fn key_hash(name: &str, public: &[u8; 32]) -> [u8; 4] {
    typed_key_hash(name, ED25519, public)
}

/// The key id for a signature type: 0x01 for notes, 0x04 for Ed25519
/// cosignatures (c2sp.org/tlog-cosignature).
pub fn typed_key_hash(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The parts of key text `<name>+<hash>+<base64(alg || 32 bytes)>`
/// (after `PRIVATE+KEY+` for a private key): the name and the 32 bytes,
/// once the type byte is `alg` and the hash is that of the name, type
/// and public key (which `public` derives from the bytes).
pub fn key_parts(
    text: &str,
    alg: u8,
    public: impl Fn(&[u8; 32]) -> [u8; 32],
) -> Option<(String, [u8; 32])> {
    let mut parts = text.trim().splitn(3, '+');
    let (name, hash, key) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = B64.decode(key).ok()?;
    let (kind, material) = bytes.split_first()?;
    let material: [u8; 32] = material.try_into().ok()?;
    let ok = *kind == alg
        && valid_name(name)
        && hex::encode(typed_key_hash(name, alg, &public(&material))) == hash;
    ok.then(|| (name.to_string(), material))
}

/// The public key of an Ed25519 seed.
pub fn public_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

impl NoteKey {
    pub fn generate(name: &str) -> Result<Self, String> {
        if !valid_name(name) {
            return Err(format!(
                "`{name}` cannot name a note key (no spaces or '+')"
            ));
        }
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Ok(Self {
            name: name.to_string(),
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`.
    pub fn parse_private(text: &str) -> Result<Self, String> {
        let (name, seed) = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .and_then(|rest| key_parts(rest, ED25519, public_of))
            .ok_or("not a signed-note private key (PRIVATE+KEY+name+hash+key)")?;
        Ok(Self {
            name,
            signing: SigningKey::from_bytes(&seed),
        })
    }

    pub fn private_text(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(&self.signing.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(bytes)
        )
    }

    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    fn key_id(&self) -> [u8; 4] {
        key_hash(&self.name, &self.public())
    }

    /// The verifier key: `<name>+<hash>+<base64(0x01 || public key)>`.
    pub fn verifier(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(&self.public());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(bytes)
        )
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Signs `text` (which must end in a newline) as a signed note.
    pub fn sign_note(&self, text: &str) -> String {
        let mut sig = self.key_id().to_vec();
        sig.extend_from_slice(&self.sign(text.as_bytes()));
        format!("{text}\n\u{2014} {} {}\n", self.name, B64.encode(sig))
    }

    /// Loads the key from `path`, or generates one there (mode 0600).
    pub fn load_or_create(path: &Path, name: &str) -> Result<Self, String> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Self::parse_private(&text);
        }
        if let Some(dir) = path.parent() {
            crate::config::private_dir(dir)?;
        }
        let key = Self::generate(name)?;
        crate::config::write_private(path, &format!("{}\n", key.private_text()))?;
        tracing::info!(path = %path.display(), "generated a new audit signing key");
        Ok(key)
    }
}

/// A verifier: a name and an Ed25519 public key. A key given bare (its
/// hex, with no name) has an empty name and takes the name from the
/// signature line, whose key hash must then match that name and key.
pub struct NoteVerifier {
    pub name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteVerifier {
    /// Reads a key in any of the forms the contract names: the verifier
    /// key (`name+hash+base64`), the raw public key as 64 hex digits, or
    /// the JSON answer of `GET /v1/audit/key` (its `verifier_key`, else its
    /// `public_key`).
    pub fn parse_any(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            let field = |name: &str| v.get(name).and_then(|k| k.as_str()).map(str::to_string);
            return match (field("verifier_key"), field("public_key")) {
                (Some(k), _) => Self::parse(&k),
                (None, Some(k)) => Self::from_hex(&k),
                _ => Err("the key is JSON without verifier_key or public_key".into()),
            };
        }
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Self::from_hex(text);
        }
        Self::parse(text).map_err(|e| {
            format!("{e}; --key takes a verifier key, a 64-digit hex public key, or /v1/audit/key's JSON")
        })
    }

    /// A bare Ed25519 public key in hex.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bad = || "not an Ed25519 public key (64 hex digits)".to_string();
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        Ok(Self {
            name: String::new(),
            key: VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?,
            id: [0; 4],
        })
    }

    /// Whether `other` is the same key (and name, when both have one).
    pub fn same_key(&self, other: &NoteVerifier) -> bool {
        self.key == other.key
            && (self.name.is_empty() || other.name.is_empty() || self.name == other.name)
    }

    /// Whether a signature line by `name` with key id `id` is this key's.
    fn names(&self, name: &str, id: &[u8]) -> bool {
        if self.name.is_empty() {
            valid_name(name) && id == key_hash(name, self.key.as_bytes())
        } else {
            name == self.name && id == self.id
        }
    }

    /// Parses `<name>+<hash>+<base64(0x01 || key)>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = "not a signed-note verifier key (name+hash+key, its hash that of its key)";
        let (name, public) = key_parts(text, ED25519, |k| *k).ok_or(bad)?;
        Ok(Self {
            id: key_hash(&name, &public),
            key: VerifyingKey::from_bytes(&public).map_err(|_| bad)?,
            name,
        })
    }

    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify(message, &Signature::from_bytes(signature))
            .is_ok()
    }

    /// Checks a signed note and answers its text, if this key signed it.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, String> {
        let split = note
            .rfind("\n\n")
            .ok_or("a signed note has a blank line before its signatures")?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                continue;
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                continue;
            };
            let Ok(bytes) = B64.decode(sig) else {
                continue;
            };
            if bytes.len() != 68 || !self.names(name, &bytes[..4]) {
                continue;
            }
            let sig: [u8; 64] = bytes[4..].try_into().map_err(|_| "bad signature length")?;
            if self.verify(text.as_bytes(), &sig) {
                return Ok(text);
            }
            return Err("the note's signature does not verify".into());
        }
        Err(match self.name.as_str() {
            "" => "the note carries no signature by this key".to_string(),
            name => format!("the note carries no signature by {name}"),
        })
    }
}

/// The body of a C2SP checkpoint: origin, tree size, base64 root hash.
pub fn checkpoint_text(origin: &str, size: u64, root: &[u8; 32]) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// Reads a checkpoint body back: (origin, size, root).
pub fn parse_checkpoint(text: &str) -> Result<(String, u64, [u8; 32]), String> {
    let mut lines = text.lines();
    let origin = lines.next().ok_or("checkpoint without origin")?.to_string();
    let size = lines
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("checkpoint without a size")?;
    let root = lines
        .next()
        .and_then(|r| B64.decode(r).ok())
        .and_then(|r| <[u8; 32]>::try_from(r).ok())
        .ok_or("checkpoint without a root hash")?;
    Ok((origin, size, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn reproduces_gos_known_answer() {
        let key = NoteKey::parse_private(SKEY).unwrap();
        assert_eq!(key.verifier(), VKEY);
        assert_eq!(key.sign_note(TEXT), SIGNED);
        assert_eq!(key.private_text(), SKEY);
        let v = NoteVerifier::parse(VKEY).unwrap();
        assert_eq!(v.open(SIGNED).unwrap(), TEXT);
        assert!(v
            .open(&SIGNED.replace("cryptography", "cryptograph"))
            .is_err());
    }

    #[test]
    fn generated_keys_round_trip() {
        let key = NoteKey::generate("registry.test/audit").unwrap();
        let again = NoteKey::parse_private(&key.private_text()).unwrap();
        assert_eq!(again.public(), key.public());
        let cp = checkpoint_text("registry.test/audit", 7, &[9u8; 32]);
        let note = key.sign_note(&cp);
        let v = NoteVerifier::parse(&key.verifier()).unwrap();
        assert_eq!(
            parse_checkpoint(v.open(&note).unwrap()).unwrap(),
            ("registry.test/audit".into(), 7, [9u8; 32])
        );
        assert!(NoteKey::generate("bad name").is_err());
    }
}
