use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::created;
use super::json::ApiJson;
use super::pagination::{Page, PageQuery};
use crate::accounts::{self, NewAgency};
use crate::auth::policy::{self, Action};
use crate::auth::{self, AuthUser, Caller};
use crate::db::{self, agencies::AgencyRow};
use crate::domain::{AgencyKind, AgencyName, CountryCode};
use crate::error::{checked, AppError, AppResult, Validator};
use crate::http::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    pub name: String,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(example = "GH")]
    pub country: String,
    /// police, military, customs, licensing_authority, judiciary or other.
    #[schema(example = "police")]
    pub kind: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    pub id: String,
    pub name: String,
    pub country: String,
    pub kind: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AgencyRow> for AgencyView {
    fn from(r: AgencyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            country: r.country,
            kind: r.kind,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

impl CreateAgency {
    fn parse(self) -> AppResult<NewAgency> {
        let mut v = Validator::new();
        let name = v.check("name", AgencyName::parse(&self.name));
        let country = v.check("country", CountryCode::parse(&self.country));
        let kind = v.check("kind", self.kind.parse::<AgencyKind>());
        v.finish()?;
        Ok(NewAgency {
            name: checked(name)?,
            country: checked(country)?,
            kind: checked(kind)?,
        })
    }
}

/// Registers an agency (system administrators only).
#[utoipa::path(post, path = "/v1/agencies", tag = "accounts", request_body = CreateAgency,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, body = AgencyView),
        (status = 403, body = crate::http::Problem),
        (status = 409, description = "an agency of that name exists in that country", body = crate::http::Problem),
        (status = 422, body = crate::http::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<CreateAgency>,
) -> AppResult<HttpResponse> {
    policy::require(&user, Action::ManageAgencies)?;
    let new = body.0.parse()?;
    let row = accounts::create_agency(&state.pool, &user.audit_actor(), new).await?;
    let location = format!("/v1/agencies/{}", row.id);
    Ok(created(&location, row.version, AgencyView::from(row)))
}

/// Lists agencies, oldest first.
#[utoipa::path(get, path = "/v1/agencies", tag = "accounts", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<AgencyView>), (status = 400, body = crate::http::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<AgencyView>>> {
    let page = query.parse()?;
    let limit = page.limit;
    let rows = auth::run_as(&state.pool, caller, move |c, _| {
        Ok(db::agencies::page(c, page.after.as_deref(), limit + 1)?)
    })
    .await?;
    Page::from_rows(rows, limit, |r| &r.id, |r| Ok(AgencyView::from(r))).map(web::Json)
}

/// Reads one agency.
#[utoipa::path(get, path = "/v1/agencies/{id}", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AgencyView), (status = 404, body = crate::http::Problem)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = super::parse_id(&id)?;
    let row = auth::run_as(&state.pool, caller, move |c, _| {
        db::agencies::find(c, &id)?.ok_or(AppError::NotFound)
    })
    .await?;
    Ok(super::with_etag(row.version, AgencyView::from(row)))
}
