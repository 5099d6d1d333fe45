use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A checked page request: how many rows to fetch and after which id.
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> AppResult<PageRequest> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                "invalid_parameter",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = self.cursor.as_deref().map(cursor::decode).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`: the extra row only
    /// shows that another page exists.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        id: impl Fn(&R) -> &str,
        view: impl Fn(R) -> AppResult<T>,
    ) -> AppResult<Self> {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more {
            rows.last().map(|r| cursor::encode(id(r)))
        } else {
            None
        };
        let items = rows.into_iter().map(view).collect::<AppResult<Vec<T>>>()?;
        Ok(Self { items, next_cursor })
    }
}

/// Opaque pagination cursors: the hex of the last id of a page. Ids are
/// UUIDv7, so ordering by id is ordering by creation.
mod cursor {
    use crate::error::AppError;

    pub fn encode(last_id: &str) -> String {
        hex::encode(last_id)
    }

    pub fn decode(raw: &str) -> Result<String, AppError> {
        hex::decode(raw)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| uuid::Uuid::parse_str(s).is_ok())
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_cursor",
                    "the cursor is not one this registry issued",
                )
            })
    }
}
