//! The audit log for auditors: entries, signed heads and checkpoints,
//! proofs, full verification and export. Everyone else gets 403.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::merkle::{self, Nodes};
use crate::audit::reads;
use crate::audit::tree::StoredNodes;
use crate::audit::verify::{self, Report};
use crate::audit::witnessing;
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::audit::{EntryRow, HeadRow};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult, Validator};
use crate::http::pagination::Page;
use crate::http::state::AppState;

fn require_auditor(user: &AuthUser) -> AppResult<()> {
    policy::require(user, Action::ReadAudit)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActorView {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub agency_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: ActorView,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub event_id: Option<String>,
    pub subject: Option<String>,
    /// The exact UTF-8 text hashed into the leaf.
    pub canonical: String,
    /// SHA-256(0x00 || canonical), lower-case hex.
    pub leaf_hash: String,
}

impl From<EntryRow> for EntryView {
    fn from(r: EntryRow) -> Self {
        let canonical = crate::audit::text(&r);
        Self {
            seq: r.seq.unwrap_or(-1),
            at: r.at.and_utc(),
            actor: ActorView {
                user_id: r.actor_user_id,
                username: r.actor_username,
                agency_id: r.actor_agency_id,
            },
            action: r.action,
            target: r.target,
            request_id: r.request_id,
            event_id: r.event_id,
            subject: r.subject,
            canonical,
            leaf_hash: r.leaf_hash,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// Entries with a seq above this one (default: from the first).
    pub after: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (the same as `after`).
    pub cursor: Option<String>,
}

/// Integrated entries in seq order.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", security(("bearer" = [])),
    params(EntriesQuery),
    responses((status = 200, body = Page<EntryView>), (status = 403, body = crate::http::Problem)))]
pub async fn entries(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<EntriesQuery>,
) -> AppResult<web::Json<Page<EntryView>>> {
    require_auditor(&user)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(
            "invalid_parameter",
            "limit must be between 1 and 1000",
        ));
    }
    let after = match &query.cursor {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            AppError::bad_request(
                "invalid_cursor",
                "the cursor is not one this registry issued",
            )
        })?),
        None => query.after,
    };
    let (reads, actor) = (state.reads.clone(), user.audit_actor());
    let read = reads::entry(
        "audit.read",
        "audit",
        json!({"after": after, "limit": limit}),
    );
    let rows = db::run(&state.pool, move |c| -> AppResult<_> {
        let rows = db::audit::integrated(c, after, limit + 1)?;
        reads.record(c, &actor, read)?;
        Ok(rows)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<EntryView> = rows
        .into_iter()
        .take(limit as usize)
        .map(EntryView::from)
        .collect();
    let next_cursor = if more {
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(web::Json(Page { items, next_cursor }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeadView {
    pub size: i64,
    /// The tree's root hash, lower-case hex.
    pub root_hash: String,
    pub at: DateTime<Utc>,
    /// Ed25519 signature (base64) over the checkpoint text
    /// `<origin>\n<size>\n<base64 root>\n`.
    pub signature: String,
    pub origin: String,
    /// Whether the quorum of configured witnesses has cosigned this head
    /// (always false with no witness configured).
    pub witnessed: bool,
    /// How many witnesses have cosigned this head.
    pub cosignatures: usize,
    /// Each configured witness: the size it last cosigned and why it last
    /// refused, if it did.
    pub witnesses: Vec<WitnessView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WitnessView {
    pub name: String,
    pub size: i64,
    pub last_error: Option<String>,
}

pub(crate) async fn latest_head(state: &AppState) -> AppResult<HeadRow> {
    db::run(&state.pool, db::audit::latest_head)
        .await?
        .ok_or_else(|| AppError::internal("the audit log has no signed head"))
}

/// The latest signed tree head.
#[utoipa::path(get, path = "/v1/audit/head", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = HeadView), (status = 403, body = crate::http::Problem)))]
pub async fn head(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<HeadView>> {
    require_auditor(&user)?;
    let h = latest_head(&state).await?;
    let size = h.size;
    let (cosigned, witnesses) = db::run(&state.pool, move |c| -> AppResult<_> {
        Ok((
            db::witnesses::cosignatures(c, size)?,
            db::witnesses::all(c)?,
        ))
    })
    .await?;
    let quorum = state.witnesses.as_ref().map(|w| w.quorum);
    Ok(web::Json(HeadView {
        size: h.size,
        root_hash: h.root_hash,
        at: h.at.and_utc(),
        signature: h.signature,
        origin: state.audit.origin.clone(),
        witnessed: quorum.is_some_and(|q| cosigned.len() >= q),
        cosignatures: cosigned.len(),
        witnesses: witnesses
            .into_iter()
            .map(|(name, size, last_error)| WitnessView {
                name,
                size,
                last_error,
            })
            .collect(),
    }))
}

/// The latest head as a C2SP tlog-checkpoint signed note.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String), (status = 403, body = crate::http::Problem)))]
pub async fn checkpoint(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    require_auditor(&user)?;
    let h = latest_head(&state).await?;
    let note = signed_checkpoint(&state, &h).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

/// The latest head the witnesses' quorum cosigned, when witnesses are
/// configured and `wanted`.
pub(crate) async fn witnessed_head(
    state: &AppState,
    wanted: bool,
) -> AppResult<Option<crate::db::audit::HeadRow>> {
    let Some(quorum) = state.witnesses.as_ref().map(|w| w.quorum as i64) else {
        return Ok(None);
    };
    if !wanted {
        return Ok(None);
    }
    crate::db::run(&state.pool, move |c| -> AppResult<_> {
        match crate::db::witnesses::latest_witnessed(c, quorum)? {
            Some(size) => Ok(crate::db::audit::head_at(c, size)?),
            None => Ok(None),
        }
    })
    .await
}

/// A head as a signed checkpoint note, with the cosignatures kept for it.
pub(crate) async fn signed_checkpoint(state: &AppState, head: &HeadRow) -> AppResult<String> {
    let (log, head) = (state.audit.clone(), head.clone());
    db::run(&state.pool, move |c| {
        witnessing::cosigned_checkpoint(c, &log, &head)
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub algorithm: &'static str,
    /// The raw Ed25519 public key, lower-case hex.
    pub public_key: String,
    /// The C2SP signed-note verifier key: `<name>+<key hash>+<base64 key>`.
    pub verifier_key: String,
    pub origin: String,
}

/// The registry's Ed25519 public key.
#[utoipa::path(get, path = "/v1/audit/key", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = KeyView), (status = 403, body = crate::http::Problem)))]
pub async fn key(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<KeyView>> {
    require_auditor(&user)?;
    Ok(web::Json(KeyView {
        algorithm: "ed25519",
        public_key: hex::encode(state.audit.key.public()),
        verifier_key: state.audit.key.verifier(),
        origin: state.audit.origin.clone(),
    }))
}

/// A proof parameter: a non-negative whole number, or 422.
fn number(v: &mut Validator, name: &str, raw: Option<&str>) -> Option<u64> {
    let raw = raw?;
    v.check(
        name,
        raw.trim()
            .parse::<u64>()
            .map_err(|_| "must be a non-negative whole number".to_string()),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry to prove.
    pub seq: Option<String>,
    /// The tree size to prove it in (default: the latest head's).
    pub size: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    pub leaf_hash: String,
    /// RFC 9162 §2.1.3 audit path, lower-case hex, leaf to root.
    pub path: Vec<String>,
}

fn proof_nodes<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&StoredNodes) -> Result<T, String>,
) -> AppResult<T> {
    f(&StoredNodes::new(conn)).map_err(AppError::internal)
}

/// Proves that entry `seq` is in the tree of `size` entries.
#[utoipa::path(get, path = "/v1/audit/proof/inclusion", tag = "audit", security(("bearer" = [])),
    params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 403, body = crate::http::Problem),
        (status = 422, description = "seq >= size, size beyond the tree, or not a number", body = crate::http::Problem)))]
pub async fn inclusion(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<InclusionQuery>,
) -> AppResult<web::Json<InclusionProof>> {
    require_auditor(&user)?;
    let mut v = Validator::new();
    let seq = number(&mut v, "seq", query.seq.as_deref());
    if query.seq.is_none() {
        v.push("seq", "is required");
    }
    let size = number(&mut v, "size", query.size.as_deref());
    v.finish()?;
    let head = latest_head(&state).await?.size as u64;
    let size = size.unwrap_or(head);
    let seq = seq.unwrap_or(0);
    if size > head {
        return Err(AppError::field(
            "size",
            format!("the tree has {head} entries"),
        ));
    }
    if seq >= size {
        return Err(AppError::field(
            "seq",
            format!("must be below size ({size})"),
        ));
    }
    let (path, leaf) = db::run(&state.pool, move |c| {
        proof_nodes(c, |n| {
            Ok((merkle::inclusion_proof(n, seq, size)?, n.node(0, seq)?))
        })
    })
    .await?;
    Ok(web::Json(InclusionProof {
        seq,
        size,
        leaf_hash: hex::encode(leaf),
        path: path.iter().map(hex::encode).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// RFC 9162 §2.1.4 consistency proof, lower-case hex.
    pub path: Vec<String>,
}

/// Proves that the tree of `to` entries extends the tree of `from`.
#[utoipa::path(get, path = "/v1/audit/proof/consistency", tag = "audit", security(("bearer" = [])),
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 403, body = crate::http::Problem),
        (status = 422, description = "from > to, to beyond the tree, or not a number", body = crate::http::Problem)))]
pub async fn consistency(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ConsistencyQuery>,
) -> AppResult<web::Json<ConsistencyProof>> {
    require_auditor(&user)?;
    let mut v = Validator::new();
    let from = number(&mut v, "from", query.from.as_deref());
    let to = number(&mut v, "to", query.to.as_deref());
    for (name, given) in [("from", &query.from), ("to", &query.to)] {
        if given.is_none() {
            v.push(name, "is required");
        }
    }
    v.finish()?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(0));
    let head = latest_head(&state).await?.size as u64;
    if from > to {
        return Err(AppError::field(
            "from",
            format!("must not be above to ({to})"),
        ));
    }
    if to > head {
        return Err(AppError::field(
            "to",
            format!("the tree has {head} entries"),
        ));
    }
    let path = db::run(&state.pool, move |c| {
        proof_nodes(c, |n| merkle::consistency_proof(n, from, to))
    })
    .await?;
    Ok(web::Json(ConsistencyProof {
        from,
        to,
        path: path.iter().map(hex::encode).collect(),
    }))
}

/// Recomputes every leaf from the rows it describes and the whole tree,
/// and checks every signed head.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Report), (status = 403, body = crate::http::Problem)))]
pub async fn verify(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<Report>> {
    require_auditor(&user)?;
    let log = state.audit.clone();
    let (reads, actor) = (state.reads.clone(), user.audit_actor());
    db::run(&state.pool, move |c| {
        let report = verify::verify(c, &log)?;
        let read = reads::entry("audit.read", "audit", json!({"verify": report.size}));
        reads.record(c, &actor, read)?;
        Ok(report)
    })
    .await
    .map(web::Json)
}

/// Every integrated entry as NDJSON, then the checkpoint that covers them
/// as a last line `{"checkpoint": "<signed note>"}`: what
/// `registry audit verify FILE --key KEY` checks offline.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", security(("bearer" = [])),
    responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 403, body = crate::http::Problem)))]
pub async fn export(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    require_auditor(&user)?;
    // With witnesses, the export ends at the latest head they cosigned,
    // so that it verifies with --witness.
    let head = match witnessed_head(&state, true).await? {
        Some(head) => head,
        None => latest_head(&state).await?,
    };
    let note = signed_checkpoint(&state, &head).await?;
    let (reads, actor) = (state.reads.clone(), user.audit_actor());
    let read = reads::entry("audit.export", "audit", json!({"size": head.size}));
    db::run(&state.pool, move |c| reads.record(c, &actor, read)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(8);
    let pool = state.pool.clone();
    // Pages are read on a blocking thread and sent as they are ready, so
    // an export of millions of entries never sits in memory whole.
    std::thread::spawn(move || {
        let mut after = None;
        let mut sent = 0i64;
        loop {
            let page = db::on_pooled(&pool, |c| db::audit::integrated(c, after, 1000));
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            after = page.last().and_then(|r| r.seq);
            let mut chunk = String::new();
            for row in page
                .into_iter()
                .take_while(|r| r.seq.unwrap_or(i64::MAX) < head.size)
            {
                sent += 1;
                chunk.push_str(&serde_json::to_string(&EntryView::from(row)).unwrap_or_default());
                chunk.push('\n');
            }
            let done = chunk.is_empty() || sent >= head.size;
            if !chunk.is_empty() && tx.blocking_send(Ok(web::Bytes::from(chunk))).is_err() {
                return;
            }
            if done {
                break;
            }
        }
        let last = serde_json::json!({"checkpoint": note}).to_string() + "\n";
        let _ = tx.blocking_send(Ok(web::Bytes::from(last)));
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(stream))
}
