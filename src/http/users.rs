use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use super::{created, if_match, parse_id, with_etag};
use crate::accounts::{self, NewUser};
use crate::auth::AuthUser;
use crate::db::{self, users::UserRow};
use crate::domain::{Password, Role, Roles, Username};
use crate::error::{checked, AppError, AppResult, Validator};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    pub agency_id: String,
    #[schema(example = json!(["registrar"]))]
    pub roles: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    pub roles: Vec<String>,
}

/// A user as the API shows it: never any password material.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub agency_id: Option<String>,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserView {
    type Error = AppError;
    fn try_from(r: UserRow) -> AppResult<Self> {
        let roles = Roles::from_stored(&r.roles).map_err(AppError::internal)?;
        Ok(Self {
            id: r.id,
            username: r.username,
            agency_id: r.agency_id,
            roles: roles.names().into_iter().map(String::from).collect(),
            disabled: r.disabled,
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
        (status = 201, body = UserView),
        (status = 403, body = crate::http::Problem),
        (status = 409, description = "duplicate username", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<CreateUser>,
) -> AppResult<HttpResponse> {
    user.require_any(&[Role::SystemAdmin, Role::Admin])?;
    let new = body.0.parse()?;
    let row = accounts::create_user(&state.pool, &user, new).await?;
    let location = format!("/v1/users/{}", row.id);
    Ok(created(&location, row.version, UserView::try_from(row)?))
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
    user.require_any(&[Role::SystemAdmin, Role::Admin])?;
    let page = query.parse()?;
    let agency = if user.has(Role::SystemAdmin) {
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

/// Replaces a user's roles. Takes effect on the user's next request.
#[utoipa::path(put, path = "/v1/users/{id}/roles", tag = "accounts", request_body = SetRoles,
    security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "the version the change applies to")),
    responses((status = 200, body = UserView), (status = 403, body = crate::http::Problem),
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
    let row = accounts::set_roles(&state.pool, &user, id, roles, expected).await?;
    Ok(with_etag(row.version, UserView::try_from(row)?))
}
