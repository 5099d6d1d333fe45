use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, if_match, parse_id, with_etag};
use crate::accounts::{self, passwords, NewUser};
use crate::auth::policy::{self, Action};
use crate::auth::AuthUser;
use crate::db::{self, role_grants::GrantRow, users::UserRow};
use crate::domain::{Password, Roles, Username};
use crate::error::{checked, AppError, AppResult, Validator};
use crate::http::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    pub agency_id: String,
    /// `auditor` and `system_admin` wait for a second system administrator's
    /// approval; the answer lists them in `pending_grants`.
    #[schema(example = json!(["registrar"]))]
    pub roles: Vec<String>,
    /// The user must choose a new password before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    pub roles: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// At least 12 characters.
    pub password: String,
    /// Whether the user must choose their own at the next login (default true).
    pub must_change_password: Option<bool>,
}

/// Roles that wait for a second system administrator.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingGrant {
    pub grant_id: String,
    pub roles: Vec<String>,
}

impl PendingGrant {
    fn of(grant: Option<GrantRow>) -> AppResult<Vec<Self>> {
        grant
            .map(|g| {
                Ok(Self {
                    roles: stored_roles(&g.roles)?,
                    grant_id: g.id,
                })
            })
            .into_iter()
            .collect()
    }
}

/// A user just created, with the grants that wait for approval.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    pub pending_grants: Vec<PendingGrant>,
}

/// The answer to a change of roles that waits for approval (202).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingRoles {
    pub grant_id: String,
    #[schema(example = "pending_approval")]
    pub status: String,
    /// The roles that wait.
    pub roles: Vec<String>,
    /// The user as the change left it meanwhile.
    pub user: UserView,
}

pub fn stored_roles(stored: &str) -> AppResult<Vec<String>> {
    let roles = Roles::from_stored(stored).map_err(AppError::internal)?;
    Ok(roles.names().into_iter().map(String::from).collect())
}

/// A user as the API shows it: never any password material.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub agency_id: Option<String>,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserView {
    type Error = AppError;
    fn try_from(r: UserRow) -> AppResult<Self> {
        Ok(Self {
            roles: stored_roles(&r.roles)?,
            id: r.id,
            username: r.username,
            agency_id: r.agency_id,
            disabled: r.disabled,
            must_change_password: r.must_change_password,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}

impl CreateUser {
    fn parse(self) -> AppResult<NewUser> {
        let mut v = Validator::new();
        let username = v.check("username", Username::parse(&self.username));
        let password = v.check("password", Password::parse(&self.password));
        let agency_id = v.check("agency_id", parse_uuid(&self.agency_id));
        let roles = v.check("roles", Roles::parse(&self.roles));
        v.finish()?;
        Ok(NewUser {
            username: checked(username)?,
            password: checked(password)?,
            agency_id: Some(checked(agency_id)?),
            roles: checked(roles)?,
            must_change_password: self.must_change_password,
        })
    }
}

fn parse_uuid(raw: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| "must be a UUID".to_string())
}

/// Creates a user: system administrators in any agency, admins in their own.
#[utoipa::path(post, path = "/v1/users", tag = "accounts", request_body = CreateUser,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = CreatedUser),
        (status = 403, body = crate::http::Problem),
        (status = 409, description = "duplicate username", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<CreateUser>,
) -> AppResult<HttpResponse> {
    policy::require(&user, Action::ManageUsers)?;
    let new = body.0.parse()?;
    let (row, grant) = accounts::create_user(&state.pool, &user, new).await?;
    let location = format!("/v1/users/{}", row.id);
    let version = row.version;
    let body = CreatedUser {
        user: UserView::try_from(row)?,
        pending_grants: PendingGrant::of(grant)?,
    };
    Ok(created(&location, version, body))
}

/// Lists users: every user for a system administrator, the own agency's for an admin.
#[utoipa::path(get, path = "/v1/users", tag = "accounts", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<UserView>), (status = 403, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<UserView>>> {
    policy::require(&user, Action::ManageUsers)?;
    let page = query.parse()?;
    let agency = if policy::sees_every_agency(&user) {
        None
    } else {
        Some(
            user.agency_id
                .clone()
                .ok_or_else(|| AppError::forbidden("you belong to no agency"))?,
        )
    };
    let limit = page.limit;
    let rows = db::run(&state.pool, move |c| {
        db::users::page(c, agency.as_deref(), page.after.as_deref(), limit + 1)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, UserView::try_from).map(web::Json)
}

/// Disables a user; their tokens stop working at once.
#[utoipa::path(post, path = "/v1/users/{id}/disable", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem), (status = 409, body = crate::http::Problem)))]
pub async fn disable(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let row = accounts::disable_user(&state.pool, &user, id).await?;
    Ok(with_etag(row.version, UserView::try_from(row)?))
}

/// Replaces a user's roles. Takes effect on the user's next request, except
/// a grant of `auditor` or `system_admin`, which waits for a second system
/// administrator (202). Nobody changes their own roles (403 `self_grant`).
#[utoipa::path(put, path = "/v1/users/{id}/roles", tag = "accounts", request_body = SetRoles,
    security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "the version the change applies to")),
    responses((status = 200, body = UserView),
        (status = 202, description = "the privileged roles wait for approval", body = PendingRoles),
        (status = 403, description = "forbidden or self_grant", body = crate::http::Problem),
        (status = 404, body = crate::http::Problem), (status = 412, body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn set_roles(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<SetRoles>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    let roles = Roles::parse(&body.0.roles).map_err(|m| AppError::field("roles", m))?;
    let (row, grant) = accounts::set_roles(&state.pool, &user, id, roles, expected).await?;
    let version = row.version;
    let user = UserView::try_from(row)?;
    Ok(match grant {
        None => with_etag(version, user),
        Some(grant) => HttpResponse::Accepted()
            .insert_header(super::etag(version))
            .json(PendingRoles {
                roles: stored_roles(&grant.roles)?,
                grant_id: grant.id,
                status: grant.status,
                user,
            }),
    })
}

/// Sets a new password for a user (system administrators; admins for their
/// agency's users who hold neither auditor nor system_admin). Every token
/// the user holds stops working.
#[utoipa::path(post, path = "/v1/users/{id}/password", tag = "accounts", request_body = ResetPassword,
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = crate::http::Problem),
        (status = 404, body = crate::http::Problem), (status = 422, body = crate::http::Problem)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: ApiJson<ResetPassword>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    policy::require(&user, Action::ManageUsers)?;
    let password = Password::parse(&body.0.password).map_err(|m| AppError::field("password", m))?;
    let must_change = body.0.must_change_password.unwrap_or(true);
    passwords::reset(&state.pool, &user, id, password, must_change).await?;
    Ok(HttpResponse::NoContent().finish())
}
