//! `page` and `limit` as v2.5 took them (`page` from 1, `limit` at most 200), checked.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

pub const MAX_LIMIT: i64 = 200;

#[derive(Clone, Debug, Deserialize)]
pub struct Page {
    #[serde(default = "first")]
    pub page: i64,
    #[serde(default = "fifty")]
    pub limit: i64,
}

fn first() -> i64 {
    1
}

fn fifty() -> i64 {
    50
}

impl Page {
    /// (limit, offset), or a 400 that says what is wrong.
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        if self.page < 1 {
            return Err(ApiError::bad("page must be 1 or more"));
        }
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(ApiError::bad(format!("limit must be 1 to {MAX_LIMIT}")));
        }
        Ok((self.limit, (self.page - 1).saturating_mul(self.limit)))
    }
}

/// v2.5's `pagination` object.
#[derive(Clone, Debug, Serialize)]
pub struct Pagination {
    pub page: i64,
    pub limit: i64,
    pub total: i64,
    pub pages: i64,
}

impl Pagination {
    pub fn new(page: &Page, total: i64) -> Self {
        Self {
            page: page.page,
            limit: page.limit,
            total,
            pages: (total + page.limit - 1) / page.limit,
        }
    }
}
