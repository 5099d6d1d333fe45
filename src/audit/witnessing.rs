//! The log's side of c2sp.org/tlog-witness: each new signed head goes to
//! the configured witnesses with a consistency proof from the size each
//! last cosigned, and the cosignatures they return are kept with the head.
//! A head counts as witnessed once a quorum has cosigned it.
//!
//! One thread per node submits the latest head about once a second; heads
//! in between are covered by the next one's consistency proof.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::cosign::CosignVerifier;
use super::merkle;
use super::sequencer::AuditLog;
use super::signing::checkpoint_text;
use super::tree::{parse_hash, StoredNodes};
use crate::config::WitnessSetting;
use crate::db::audit::HeadRow;
use crate::db::{self, DbConn, Pool};
use crate::error::{AppError, AppResult};

pub struct Configured {
    pub url: String,
    pub verifier: CosignVerifier,
    /// Kept, so that submissions reuse its connection.
    agent: ureq::Agent,
}

/// The witnesses this log submits to, and how many must cosign a head.
pub struct Witnesses {
    pub list: Vec<Configured>,
    pub quorum: usize,
}

impl Witnesses {
    /// From `REGISTRY_WITNESSES` and `REGISTRY_WITNESS_QUORUM`; None when
    /// no witness is configured.
    pub fn from_settings(
        list: &[WitnessSetting],
        quorum: Option<usize>,
    ) -> Result<Option<Self>, String> {
        if list.is_empty() {
            return match quorum {
                Some(_) => {
                    Err("REGISTRY_WITNESS_QUORUM is set but REGISTRY_WITNESSES is empty".into())
                }
                None => Ok(None),
            };
        }
        let list = list
            .iter()
            .map(|w| {
                Ok(Configured {
                    url: w.url.trim_end_matches('/').to_string(),
                    verifier: CosignVerifier::parse(&w.key)
                        .map_err(|e| format!("REGISTRY_WITNESSES: {e}"))?,
                    agent: ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(10))
                        .redirects(0)
                        .build(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let quorum = quorum.unwrap_or(list.len());
        if quorum == 0 || quorum > list.len() {
            return Err(format!(
                "REGISTRY_WITNESS_QUORUM must be between 1 and the {} witnesses configured",
                list.len()
            ));
        }
        Ok(Some(Self { list, quorum }))
    }
}

/// A head's checkpoint with the cosignatures kept for it.
pub fn cosigned_checkpoint(conn: &mut DbConn, log: &AuditLog, head: &HeadRow) -> AppResult<String> {
    let mut note = log.checkpoint(head.size as u64, &parse_hash(&head.root_hash)?);
    for (_, line) in db::witnesses::cosignatures(conn, head.size)? {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(note)
}

/// The consistency proof from `old` to `size`, as base64 lines.
fn proof_lines(conn: &mut DbConn, old: u64, size: u64) -> AppResult<String> {
    if old == 0 || old == size {
        return Ok(String::new());
    }
    let proof = merkle::consistency_proof(&StoredNodes::new(conn), old, size)
        .map_err(AppError::internal)?;
    Ok(proof
        .iter()
        .map(|h| format!("{}\n", B64.encode(h)))
        .collect())
}

enum Outcome {
    Cosigned,
    /// The witness has cosigned another size: submit again from it.
    From(u64),
    Refused(String),
}

fn submit(
    pool: &Pool,
    log: &AuditLog,
    w: &Configured,
    head: &HeadRow,
    old: u64,
) -> AppResult<Outcome> {
    let size = head.size as u64;
    let root = parse_hash(&head.root_hash)?;
    let proof = db::on_pooled(pool, |c| proof_lines(c, old, size))?;
    let note = log.checkpoint(size, &root);
    let body = format!("old {old}\n{proof}\n{note}");
    let answer = w
        .agent
        .post(&format!("{}/add-checkpoint", w.url))
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_string(&body);
    let now = db::now();
    let name = &w.verifier.name;
    match answer {
        Ok(r) => {
            let lines = r.into_string().unwrap_or_default();
            let text = checkpoint_text(&log.origin, size, &root);
            let Some((line, _)) = w.verifier.find(&text, &lines) else {
                return Ok(Outcome::Refused(
                    "answered with no valid cosignature by its key".into(),
                ));
            };
            db::on_pooled(pool, |c| -> AppResult<()> {
                db::witnesses::add_cosignature(c, head.size, name, line, now)?;
                Ok(db::witnesses::record(c, name, head.size, None, now)?)
            })?;
            Ok(Outcome::Cosigned)
        }
        Err(ureq::Error::Status(409, r)) => {
            let text = r.into_string().unwrap_or_default();
            match text.trim().parse::<u64>() {
                Ok(seen) if seen != old => Ok(Outcome::From(seen)),
                _ => Ok(Outcome::Refused(format!("409 with `{}`", text.trim()))),
            }
        }
        Err(ureq::Error::Status(code, r)) => Ok(Outcome::Refused(format!(
            "{code}: {}",
            r.into_string().unwrap_or_default().trim()
        ))),
        Err(e) => Ok(Outcome::Refused(format!("unreachable: {e}"))),
    }
}

/// Brings one witness up to the head: from the size it last cosigned, or
/// from the size it says it has (once).
fn witness_head(pool: &Pool, log: &AuditLog, w: &Configured, head: &HeadRow) -> AppResult<()> {
    let name = &w.verifier.name;
    let mut old = db::on_pooled(pool, |c| Ok::<_, AppError>(db::witnesses::size(c, name)?))? as u64;
    let kept = db::on_pooled(pool, |c| {
        Ok::<_, AppError>(db::witnesses::cosignatures(c, head.size)?)
    })?;
    if kept.iter().any(|(n, _)| n == name) {
        return Ok(());
    }
    for _ in 0..2 {
        if old > head.size as u64 {
            // Another node's newer head reached it first.
            return Ok(());
        }
        match submit(pool, log, w, head, old)? {
            Outcome::Cosigned => return Ok(()),
            Outcome::From(seen) => old = seen,
            Outcome::Refused(why) => {
                tracing::error!(witness = %name, size = head.size, reason = %why,
                    "a witness refused the log's checkpoint");
                let now = db::now();
                return db::on_pooled(pool, |c| {
                    Ok(db::witnesses::record(c, name, old as i64, Some(&why), now)?)
                });
            }
        }
    }
    Ok(())
}

const RETRY: Duration = Duration::from_secs(30);

/// Runs the submitter on its own thread until `stop` is set.
pub fn spawn(
    pool: Pool,
    log: Arc<AuditLog>,
    witnesses: Arc<Witnesses>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name("audit-witnesses".into())
        .spawn(move || {
            // A head is submitted once; one a witness did not cosign is
            // tried again every 30 s until a newer head replaces it.
            let (mut last, mut again) = (-1, std::time::Instant::now());
            while !stop.load(Ordering::Relaxed) {
                match db::on_pooled(&pool, |c| Ok::<_, AppError>(db::audit::latest_head(c)?)) {
                    Ok(Some(head)) if head.size != last || again.elapsed() > RETRY => {
                        for w in &witnesses.list {
                            if let Err(e) = witness_head(&pool, &log, w, &head) {
                                tracing::error!(error = %e, witness = %w.verifier.name,
                                    "cannot submit to a witness");
                            }
                        }
                        (last, again) = (head.size, std::time::Instant::now());
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "cannot read the signed head"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
        .map_err(|e| format!("cannot start the witness thread: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::cosign::CosignKey;

    fn setting(key: &str) -> WitnessSetting {
        WitnessSetting {
            url: "https://witness.test/".into(),
            key: key.into(),
        }
    }

    #[test]
    fn witness_settings_are_checked_at_start() {
        let key = CosignKey::generate("witness.test/w1").unwrap().verifier();
        assert!(Witnesses::from_settings(&[], None).unwrap().is_none());
        let w = Witnesses::from_settings(&[setting(&key)], None)
            .unwrap()
            .unwrap();
        assert_eq!(
            (w.quorum, w.list[0].url.as_str()),
            (1, "https://witness.test")
        );
        for (list, quorum, says) in [
            (vec![], Some(1), "REGISTRY_WITNESSES is empty"),
            (vec![setting(&key)], Some(0), "between 1 and the 1"),
            (vec![setting(&key)], Some(2), "between 1 and the 1"),
            (
                vec![setting("not-a-key")],
                None,
                "not a cosignature verifier key",
            ),
        ] {
            let e = Witnesses::from_settings(&list, quorum).err().unwrap();
            assert!(e.contains(says), "{e}");
        }
    }
}
