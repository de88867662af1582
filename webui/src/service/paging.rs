//! `page` and `limit` as v2.5 took them (`page` from 1, `limit` at most 200), checked.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

pub const MAX_LIMIT: i64 = 200;

#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// The page, from 1.
    #[serde(default = "first")]
    #[param(minimum = 1, default = 1)]
    pub page: i64,
    /// Rows per page; when absent, `AUDIT_LOG_PAGE_SIZE` (v2.5's default page size).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn first() -> i64 {
    1
}

impl Page {
    /// (limit, offset), `default_limit` standing in for an absent limit, or a 400 that
    /// says what is wrong.
    pub fn bounds(&self, default_limit: i64) -> Result<(i64, i64), ApiError> {
        if self.page < 1 {
            return Err(ApiError::bad("page must be 1 or more"));
        }
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad(format!("limit must be 1 to {MAX_LIMIT}")));
        }
        Ok((limit, (self.page - 1).saturating_mul(limit)))
    }
}

/// v2.5's `pagination` object.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: i64,
    pub limit: i64,
    pub total: i64,
    pub pages: i64,
    /// Only where totals are capped (the event audit): whether `total` stopped at the cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_capped: Option<bool>,
}

impl Pagination {
    /// For a page whose `limit` was resolved by [`Page::bounds`].
    pub fn new(page: &Page, limit: i64, total: i64) -> Self {
        Self {
            page: page.page,
            limit,
            total,
            pages: (total + limit - 1) / limit,
            total_capped: None,
        }
    }
}
