//! Grants of `auditor` and `system_admin` waiting for a second system
//! administrator: listed, approved, rejected.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pagination::{Page, PageQuery};
use super::{parse_id, with_etag};
use crate::accounts::grants;
use crate::auth::AuthUser;
use crate::db::role_grants::{GrantRow, APPROVED, PENDING, REJECTED};
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::users::stored_roles;

#[derive(Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: String,
    pub user_id: String,
    pub roles: Vec<String>,
    /// pending_approval, approved or rejected.
    pub status: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl TryFrom<GrantRow> for GrantView {
    type Error = AppError;
    fn try_from(g: GrantRow) -> AppResult<Self> {
        Ok(Self {
            roles: stored_roles(&g.roles)?,
            id: g.id,
            user_id: g.user_id,
            status: g.status,
            requested_by: g.requested_by,
            decided_by: g.decided_by,
            version: g.version,
            created_at: g.created_at.and_utc(),
            decided_at: g.decided_at.map(|t| t.and_utc()),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GrantQuery {
    /// `pending` (or `pending_approval`), `approved` or `rejected`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn parse_status(raw: Option<&str>) -> AppResult<Option<&'static str>> {
    match raw {
        None => Ok(None),
        Some("pending" | "pending_approval") => Ok(Some(PENDING)),
        Some("approved") => Ok(Some(APPROVED)),
        Some("rejected") => Ok(Some(REJECTED)),
        Some(other) => Err(AppError::bad_request(
            "invalid_parameter",
            format!("status must be pending, approved or rejected, not `{other}`"),
        )),
    }
}

/// Lists grants of privileged roles (system administrators).
#[utoipa::path(get, path = "/v1/role-grants", tag = "accounts", security(("bearer" = [])),
    params(GrantQuery),
    responses((status = 200, body = Page<GrantView>), (status = 400, body = crate::http::Problem),
        (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<GrantQuery>,
) -> AppResult<web::Json<Page<GrantView>>> {
    let status = parse_status(query.status.as_deref())?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let rows = grants::list(&state.pool, &user, status, page.after, page.limit + 1).await?;
    Page::from_rows(rows, page.limit, |r| &r.id, GrantView::try_from).map(web::Json)
}

async fn decide(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    approve: bool,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let row = grants::decide(&state.pool, &user, id, approve).await?;
    Ok(with_etag(row.version, GrantView::try_from(row)?))
}

/// Approves a grant: a system administrator other than the one who asked
/// for it (403 `four_eyes`) and other than the grantee (403 `self_grant`).
#[utoipa::path(post, path = "/v1/role-grants/{id}/approve", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = GrantView),
        (status = 403, description = "forbidden, four_eyes or self_grant", body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "grant_not_pending", body = crate::http::Problem)))]
pub async fn approve(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide(state, user, id, true).await
}

/// Rejects a grant, on the same terms as an approval.
#[utoipa::path(post, path = "/v1/role-grants/{id}/reject", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = GrantView),
        (status = 403, description = "forbidden, four_eyes or self_grant", body = crate::http::Problem),
        (status = 404, body = crate::http::Problem),
        (status = 409, description = "grant_not_pending", body = crate::http::Problem)))]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide(state, user, id, false).await
}
