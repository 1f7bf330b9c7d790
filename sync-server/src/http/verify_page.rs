//! The public receipt check as a page (`GET /verify`, issue 18): a business-hall clerk types the
//! receipt's number and the code printed on it (or scans the receipt's QR code, which carries
//! both) and reads one of four answers — 真实有效 genuine, 已作废 voided, 不是真实收据 not genuine,
//! or 已开出、尚未上传 recorded on the collector's phone and not uploaded yet (the number is in a
//! receipt book the server issued and no receipt of it has arrived). Never personal data: a
//! genuine receipt shows its amount and date, nothing else. No login, zh-CN first, no script; the
//! same per-address budget as `GET /v1/verify` (receipts.rs).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gridbook_core::evidence::format_yuan;
use gridbook_core::sync::wire::{ErrorCode, ReceiptBlock};
use serde::Deserialize;

use super::backoffice::pages::{escape_html, page_with_csp};
use super::client_addr::ClientAddr;
use super::error::{AppError, AppResult};
use super::state::AppState;
use crate::domain::now_ms;

/// Where the page is served; a printed receipt's QR code points here (core prints the link:
/// `evidence::qr`).
pub const PATH_VERIFY_PAGE: &str = gridbook_core::evidence::qr::VERIFY_PAGE_PATH;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH_VERIFY_PAGE, get(verify_page))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VerifyPageQuery {
    /// The receipt's number; the form alone when missing.
    #[serde(default)]
    no: String,
    /// The verification code printed on it, `XXXX-XXXX-XX`.
    #[serde(default)]
    code: String,
}

/// What the page answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Genuine,
    Voided,
    NotGenuine,
    NotUploaded,
}

impl Answer {
    /// The answer's class on the page and its words, zh-CN first.
    fn text(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Answer::Genuine => {
                ("genuine", "真实有效", "Genuine: this receipt was issued and uploaded, and its code matches.")
            }
            Answer::Voided => ("voided", "已作废", "Voided: this receipt was genuine and has been cancelled."),
            Answer::NotGenuine => (
                "not-genuine",
                "不是真实收据",
                "Not genuine: no uploaded receipt has this number and code. Check both and try again.",
            ),
            Answer::NotUploaded => (
                "not-uploaded",
                "已开出，尚未上传",
                "Recorded on the collector's phone, not uploaded yet: the number was issued to a collector, \
                 whose phone has not sent the receipt. Check again after the phone has synced.",
            ),
        }
    }
}

/// GET /verify: the form, or the answer for a number and code.
#[utoipa::path(
    get,
    path = "/verify",
    tag = "receipts",
    params(VerifyPageQuery),
    responses(
        (status = 200, description = "An HTML page (zh-CN first): the form, and for a number the answer — genuine, voided, not genuine, or issued and not uploaded yet", content_type = "text/html"),
        (status = 429, description = "Too many checks from this address; an HTML page saying when to try again, with `Retry-After`", content_type = "text/html"),
        (status = 503, description = "Storage busy; retry", body = gridbook_core::sync::wire::ErrorBody),
    )
)]
pub(crate) async fn verify_page(
    State(state): State<AppState>,
    client: ClientAddr,
    q: Result<Query<VerifyPageQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (no, code) = (q.no.trim().to_string(), q.code.trim().to_string());
    if no.is_empty() {
        return Ok(page_with_csp(StatusCode::OK, render(&no, &code, None), CSP));
    }
    if let Err(wait_ms) = state.verify_budget.take(&client.key(), now_ms()) {
        let secs = wait_ms.div_ceil(1000).max(1);
        let body = render(&no, &code, Some(Err(secs)));
        let mut r = page_with_csp(StatusCode::TOO_MANY_REQUESTS, body, CSP);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let storage = state.storage.clone();
    let (n, c) = (no.clone(), code.clone());
    let found = tokio::task::spawn_blocking(move || answer(storage.as_ref(), &n, &c)).await??;
    Ok(page_with_csp(StatusCode::OK, render(&no, &code, Some(Ok(found))), CSP))
}

/// The answer and, for a genuine or voided receipt, its amount and date.
pub fn answer(
    storage: &dyn crate::storage::SyncStorage,
    no: &str,
    code: &str,
) -> AppResult<(Answer, Option<(i64, String)>)> {
    if no.len() > 64 || code.len() > 64 {
        return Ok((Answer::NotGenuine, None));
    }
    let checked = storage.verify_receipt(no, code)?;
    let facts = checked.amount_fen.zip(checked.collected_on.clone());
    match checked.status.as_str() {
        "valid" if checked.valid => return Ok((Answer::Genuine, facts)),
        "voided" => return Ok((Answer::Voided, facts)),
        _ => {}
    }
    // not genuine as typed: a number the server holds a receipt of had the wrong code
    if storage.receipt_evidence(no)?.is_some() {
        return Ok((Answer::NotGenuine, None));
    }
    let issued = match storage.receipt_blocks(None) {
        Ok(blocks) => blocks.iter().any(|b| {
            let book =
                ReceiptBlock { prefix: b.prefix.clone(), first: b.first, last: b.last, issued_at_ms: b.issued_at_ms };
            book.seq_of(no).is_some()
        }),
        Err(e) if e.code() == ErrorCode::Unsupported => false,
        Err(e) => return Err(AppError::from(e)),
    };
    Ok((if issued { Answer::NotUploaded } else { Answer::NotGenuine }, None))
}

type Outcome = Result<(Answer, Option<(i64, String)>), u64>;

fn render(no: &str, code: &str, outcome: Option<Outcome>) -> String {
    let result = match outcome {
        None => String::new(),
        Some(Err(secs)) => format!(
            "<p class=\"answer wait\" role=\"status\">核验过于频繁，请 {secs} 秒后再试。<br>\
             Too many checks from this address; try again in {secs} s.</p>"
        ),
        Some(Ok((answer, facts))) => {
            let (class, zh, en) = answer.text();
            let facts = facts
                .map(|(fen, day)| {
                    format!(
                        "<p class=\"facts\">金额 Amount: ¥{} · 收款日期 Date: {}</p>",
                        escape_html(&format_yuan(fen)),
                        escape_html(&day)
                    )
                })
                .unwrap_or_default();
            format!(
                "<div class=\"answer {class}\" role=\"status\" data-answer=\"{class}\"><p class=\"zh\">{zh}</p>\
                 <p class=\"en\">{en}</p><p class=\"no\">收据编号 Receipt No.: {}</p>{facts}</div>",
                escape_html(no)
            )
        }
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>收据核验 Receipt check</title>
<style>
body {{ font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 34em; margin: 1.5em auto; padding: 0 1em; color: #1a1a1a; font-size: 16px; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
.sub {{ color: #444; margin-top: 0; }}
label {{ display: block; margin: 0.8em 0 0.2em; }}
input {{ font-size: 1.1em; padding: 0.4em; width: 100%; box-sizing: border-box; border: 1px solid #666; border-radius: 4px; }}
button {{ margin-top: 1em; font-size: 1.1em; padding: 0.5em 1.4em; background: #0b5cad; color: #fff; border: 0; border-radius: 4px; }}
.answer {{ margin-top: 1.5em; padding: 0.8em 1em; border-radius: 6px; border: 2px solid; }}
.answer .zh {{ font-size: 1.5em; font-weight: bold; margin: 0; }}
.genuine {{ border-color: #1b7a35; background: #e9f7ee; color: #0f4d21; }}
.voided, .not-genuine {{ border-color: #b3261e; background: #fdecea; color: #7a1610; }}
.not-uploaded, .wait {{ border-color: #8a5a00; background: #fff6e0; color: #5c3d00; }}
footer {{ margin-top: 2em; font-size: 0.85em; color: #444; }}
</style>
</head>
<body>
<h1>收据核验</h1>
<p class="sub">Receipt check · 营业厅核验网格经理开具的收据 / for business-hall clerks</p>
<form method="get" action="{PATH_VERIFY_PAGE}">
<label for="no">收据编号 Receipt No.</label>
<input id="no" name="no" value="{no}" maxlength="64" autocomplete="off" required>
<label for="code">验证码 Verification code</label>
<input id="code" name="code" value="{code}" maxlength="64" autocomplete="off" placeholder="XXXX-XXXX-XX">
<button type="submit">核验 Check</button>
</form>
{result}
<footer>本页不显示客户信息。No customer information is shown here.</footer>
</body>
</html>
"#,
        no = escape_html(no),
        code = escape_html(code),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_was_typed_and_says_each_answer_in_both_languages() {
        let html = render("<b>", "\"x", Some(Ok((Answer::NotUploaded, None))));
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
        assert!(html.contains("&quot;x"));
        assert!(html.contains("已开出，尚未上传") && html.contains("not uploaded yet"));
        let genuine = render("SJ1", "c", Some(Ok((Answer::Genuine, Some((12_800, "2026-12-06".into()))))));
        assert!(genuine.contains("data-answer=\"genuine\"") && genuine.contains("¥128.00"));
        assert!(render("SJ1", "c", Some(Err(3))).contains("3 秒"));
    }
}
