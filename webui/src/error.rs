//! The API's errors: each a status and a JSON body `{"error": "…"}` that says what is
//! wrong. Unexpected failures are logged in full and answered with a bare 500 or 503, so
//! no internals leak (v2.5 returned exception text).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// What a response carries for the usage metrics (`api::usage`): the dashboard served from
/// its cache, or Redis did not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marked {
    Cached,
    RedisDown,
}

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong, for a person to read.
    pub error: String,
    /// For a refused file (a rules file): every problem, by line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
}

/// One problem of a refused file, at its line (from 1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    /// A file with problems (400): every one is named, by line.
    Invalid(Vec<Problem>),
    Unauthorized,
    Forbidden(&'static str),
    NotFound(String),
    Conflict(String),
    /// A dependency is down; the detail is logged, not sent.
    Unavailable(String),
    /// A bug or an unexpected database answer; the detail is logged, not sent.
    Internal(String),
}

impl ApiError {
    pub fn bad(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// Logs what the answer leaves out: the detail of a 503 or 500.
    pub fn log(&self) {
        match self {
            Self::Unavailable(detail) => tracing::warn!(detail, "request failed: dependency down"),
            Self::Internal(detail) => tracing::error!(detail, "request failed"),
            _ => {}
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRequest(m) | Self::NotFound(m) | Self::Conflict(m) => f.write_str(m),
            Self::Invalid(problems) => {
                write!(
                    f,
                    "nothing was changed: the file has {} problem(s): ",
                    problems.len()
                )?;
                let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
                f.write_str(&listed.join("; "))
            }
            Self::Unauthorized => f.write_str("Unauthorized"),
            Self::Forbidden(scope) => write!(f, "this key lacks the {scope} scope"),
            Self::Unavailable(_) => f.write_str("Service unavailable"),
            Self::Internal(_) => f.write_str("Internal server error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut response = HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.to_string(),
            problems: match self {
                Self::Invalid(problems) => Some(problems.clone()),
                _ => None,
            },
        });
        if matches!(self, Self::Unavailable(detail) if detail.starts_with("redis")) {
            // For `mutt_webui_api_requests_total{status="fail_redis"}`.
            response.extensions_mut().insert(Marked::RedisDown);
        }
        response
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() || e.code().is_none() {
            Self::Unavailable(format!("postgresql: {e}"))
        } else if e.code().is_some_and(|c| c.code().starts_with("22")) {
            // Class 22, data exception: a value PostgreSQL cannot take (a NUL character in
            // text, say) came from the request.
            Self::BadRequest(format!(
                "PostgreSQL cannot store a value of this request: {}",
                e.as_db_error().map_or("invalid data", |d| d.message())
            ))
        } else {
            Self::Internal(format!("postgresql: {}", shared::store::describe(&e)))
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Unavailable(format!("postgresql pool: {e}"))
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        Self::Unavailable(format!("redis: {e}"))
    }
}

pub type ApiResult<T = HttpResponse> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_failure_is_marked_for_the_usage_metrics_and_says_nothing_inside() {
        let response = ApiError::Unavailable("redis: connection refused".into()).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.extensions().get::<Marked>(),
            Some(&Marked::RedisDown)
        );
        let response = ApiError::Unavailable("postgresql pool: timed out".into()).error_response();
        assert_eq!(response.extensions().get::<Marked>(), None);
    }
}
