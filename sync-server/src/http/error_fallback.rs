//! The one fallback for errors the handlers never see: axum's own rejections (a path parameter
//! that is not UTF-8, a query that does not parse, a method the route lacks) and tower-http's (an
//! unsupported `Content-Encoding`, a body over the limit) answer plain text or nothing. This
//! layer gives each of them the `{code, message}` JSON body of `AppError`, zh-CN first, so that a
//! client has one error shape to read.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use gridbook_core::sync::wire::ErrorCode;

use crate::http::error::AppError;

/// The most of a plain-text error body kept as the English detail (axum's texts are one line).
const MAX_DETAIL_BYTES: usize = 512;

/// The code and the zh-CN / English words for an error status that reached no `AppError`.
fn code_and_words(status: StatusCode) -> (ErrorCode, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => (ErrorCode::BadRequest, "请求无效 bad request"),
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthorized, "需要登录 unauthorized"),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "无权访问 forbidden"),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "没有此地址 no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "此地址不接受该方法 method not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => {
            (ErrorCode::TooLarge, "请求体过大 the request body is larger than the server accepts")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "不支持的内容类型或编码 unsupported content type or encoding (gzip only)")
        }
        StatusCode::UNPROCESSABLE_ENTITY => (ErrorCode::Invalid, "请求内容无效 the request's content is invalid"),
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "请求过于频繁 too many requests"),
        s if s.is_server_error() => (ErrorCode::Internal, "服务器出错 the server failed on this request"),
        _ => (ErrorCode::BadRequest, "请求失败 the request failed"),
    }
}

/// Whether an error response already is (or deliberately is not) JSON: JSON bodies are
/// `AppError`'s, and HTML pages are the back office's own error pages for browsers.
fn keeps_its_body(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        let v = v.trim_start().to_ascii_lowercase();
        v.starts_with("application/json") || v.starts_with("text/html")
    })
}

/// Middleware: any 4xx or 5xx without a JSON (or HTML) body leaves as `AppError` JSON, keeping
/// the status and the headers that matter to the client (`Allow`, `Retry-After`, `WWW-Authenticate`).
pub async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || keeps_its_body(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's and tower-http's error bodies are a line of text or empty; read at most a little
    let detail = match axum::body::to_bytes(body, MAX_DETAIL_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let (code, words) = code_and_words(status);
    let message = if detail.is_empty() { words.to_string() } else { format!("{words}: {detail}") };
    let mut json = AppError::new(code, message).into_response();
    // the status the request was refused with stays, also where it is not the code's usual one
    *json.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}
