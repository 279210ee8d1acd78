//! The hub's errors. Like the core's, they never carry content, tokens or codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the key does not open this hub's database")]
    WrongKey,
    #[error("no {0} found")]
    NotFound(&'static str),
    #[error("unauthorized")]
    Unauthorized,
    /// The participant the device belongs to was erased.
    #[error("the participant was erased")]
    Gone,
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    #[error("too large: {0}")]
    TooLarge(&'static str),
    /// The device holds its share of something already (connections, downloads).
    #[error("too many: {0}")]
    TooMany(&'static str),
    /// The hub has no room now; the device tries again later.
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("storage error ({0})")]
    Storage(String),
    #[error("i/o error ({0})")]
    Io(String),
    #[error(transparent)]
    Core(#[from] insikt_core::Error),
}

pub type Result<T, E = HubError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(code) => HubError::Storage(format!("{code:?}")),
            None => HubError::Storage("query".into()),
        }
    }
}

impl From<std::io::Error> for HubError {
    fn from(e: std::io::Error) -> Self {
        HubError::Io(format!("{:?}", e.kind()))
    }
}

impl From<insikt_media::MediaError> for HubError {
    fn from(e: insikt_media::MediaError) -> Self {
        HubError::Core(e.into())
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = match &self {
            HubError::Unauthorized => StatusCode::UNAUTHORIZED,
            HubError::Gone => StatusCode::GONE,
            HubError::Forbidden(_) => StatusCode::FORBIDDEN,
            HubError::NotFound(_) => StatusCode::NOT_FOUND,
            HubError::Invalid(_) => StatusCode::BAD_REQUEST,
            HubError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            HubError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}
