// Checks an evidence bundle (GET /v1/firearms/{id}/evidence) in the browser,
// with WebCrypto alone: the checkpoint's Ed25519 signature (C2SP signed
// note), every entry's leaf hash and RFC 9162 inclusion proof, and that each
// entry vouches for the content shown beside it. docs/audit.md says what
// such a bundle proves; `registry audit verify-evidence` checks the same
// offline.

const encoder = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}

export function hexToBytes(hex) {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`not lower-case hex: ${hex}`);
  return Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64ToBytes(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/// A C2SP signed note holding a tlog checkpoint.
export function parseCheckpoint(note) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint is not a signed note");
  const body = note.slice(0, split + 1);
  const lines = body.split("\n");
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error("the checkpoint's body is malformed");
  const signatures = note
    .slice(split + 2)
    .split("\n")
    .filter((l) => l.length > 0)
    .map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("a signature line is malformed");
      return { name: m[1], bytes: base64ToBytes(m[2]) };
    });
  return { body, origin: lines[0], size: Number(lines[1]), root: base64ToBytes(lines[2]), signatures };
}

/// A C2SP note verifier key: `name+hash+base64(0x01 || Ed25519 key)`.
export function parseVerifierKey(text) {
  // The key's base64 may itself hold a "+"; the name and hash do not.
  const m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(text.trim());
  if (!m) throw new Error("the verifier key is malformed");
  const [, name, hash, key] = m;
  const bytes = base64ToBytes(key);
  if (bytes.length !== 33 || bytes[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  return { name, hash: hexToBytes(hash), publicKey: bytes.slice(1) };
}

async function checkSignature(checkpoint, verifier) {
  const id = (await sha256(encoder.encode(`${verifier.name}\n`), Uint8Array.of(1), verifier.publicKey)).slice(0, 4);
  if (!same(id, verifier.hash)) throw new Error("the verifier key's hash does not match its key");
  const line = checkpoint.signatures.find((s) => s.name === verifier.name && same(s.bytes.slice(0, 4), id));
  if (!line) throw new Error(`the checkpoint carries no signature by ${verifier.name}`);
  const key = await crypto.subtle.importKey("raw", verifier.publicKey, { name: "Ed25519" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, line.bytes.slice(4), encoder.encode(checkpoint.body));
  if (!ok) throw new Error("the checkpoint's signature does not verify");
}

/// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) throw new Error(`entry ${index} is not in a tree of ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const hex of path) {
    const p = hexToBytes(hex);
    if (sn === 0) throw new Error("the proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof is too short");
  return r;
}

/// JSON with keys sorted at every level and no whitespace: the registry's
/// canonical form, whose SHA-256 an entry's digest is.
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function checkProven(proven, checkpoint, firearmId, digestField) {
  const { entry, content, proof } = proven;
  const leaf = await sha256(Uint8Array.of(0), encoder.encode(entry.canonical));
  if (bytesToHex(leaf) !== entry.leaf_hash) throw new Error(`entry ${entry.seq}: its text does not hash to its leaf`);
  const root = await rootFromInclusion(entry.seq, checkpoint.size, leaf, proof);
  if (!same(root, checkpoint.root)) throw new Error(`entry ${entry.seq}: its proof does not lead to the signed root`);
  const text = JSON.parse(entry.canonical);
  const names = [text.target, text.subject].filter(Boolean);
  if (!names.some((n) => n.endsWith(firearmId))) throw new Error(`entry ${entry.seq}: it is not about this firearm`);
  const digest = bytesToHex(await sha256(encoder.encode(canonicalJson(content))));
  if (text[digestField] !== digest) throw new Error(`entry ${entry.seq}: the content shown is not what it vouches for`);
}

/// Checks `bundle` against `verifierKey` (from /v1/audit/key, not from the
/// bundle). Answers what was proved, or throws naming the first failure.
export async function verifyBundle(bundle, verifierKey) {
  const verifier = parseVerifierKey(verifierKey);
  if (bundle.verifier_key.trim() !== verifierKey.trim()) throw new Error("the bundle names another key");
  const checkpoint = parseCheckpoint(bundle.checkpoint);
  await checkSignature(checkpoint, verifier);
  for (const proven of bundle.events) await checkProven(proven, checkpoint, bundle.firearm_id, "content_digest");
  if (bundle.state) await checkProven(bundle.state, checkpoint, bundle.firearm_id, "state_digest");
  return {
    origin: checkpoint.origin,
    size: checkpoint.size,
    key: verifier.name,
    events: bundle.events.length,
    state: Boolean(bundle.state),
    complete: bundle.complete,
  };
}

/// Checks a signed checkpoint (`/v1/audit/checkpoint`) against the
/// registry's verifier key: the signature, and the key's hash.
export async function checkCheckpoint(note, verifierKey) {
  const verifier = parseVerifierKey(verifierKey);
  const checkpoint = parseCheckpoint(note);
  await checkSignature(checkpoint, verifier);
  return { origin: checkpoint.origin, size: checkpoint.size, key: verifier.name };
}
