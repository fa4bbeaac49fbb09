//! HTTP errors: one mapping from domain errors to status codes, plain-text bodies as Nomad's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::fsm::ApplyError;
use crate::server::WriteError;

/// An error answered with a status code and a plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The status code.
    pub status: StatusCode,
    /// The message.
    pub message: String,
}

impl HttpError {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500 with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<WriteError> for HttpError {
    fn from(e: WriteError) -> Self {
        let status = match &e {
            WriteError::Apply(ApplyError::CasMismatch { .. }) => StatusCode::CONFLICT,
            WriteError::Apply(ApplyError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WriteError::Apply(ApplyError::Rejected { .. }) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, self.message).into_response()
    }
}

/// The answer for paths no route matches.
pub async fn not_found() -> HttpError {
    HttpError::not_found("Invalid URL or method")
}
