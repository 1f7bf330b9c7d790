//! The customer's copy of a receipt: a self-contained HTML page (zh-CN first, English beside it)
//! and a PNG of the signature carrying the receipt's key facts as text chunks.
//!
//! Both refuse to print unless the record belongs to this receipt and these strokes: a paper
//! receipt whose verification code or signature belongs to another payment would be worse than
//! none. The verification code is computed here from the record rather than passed in, for the
//! same reason. The device signature itself is not re-checked (that needs the public key and is
//! the back office's job, `seal::check_receipt`).
//!
//! Personal data is kept to what the customer needs: no ID number, no phone number, no place.

use thiserror::Error;

use super::capitals::{capitals, format_yuan, AmountError};
use super::document::{DocumentError, ReceiptDocument};
use super::hex;
use super::seal::SignatureRecord;
use super::strokes::{RenderOptions, Signature, StrokeError};
use super::verify_code::verification_code;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum PrintError {
    #[error("invalid receipt: {0}")]
    Document(#[from] DocumentError),
    #[error("invalid signature strokes: {0}")]
    Strokes(#[from] StrokeError),
    #[error("amount cannot be written: {0}")]
    Amount(#[from] AmountError),
    #[error("the signature record was made for another receipt")]
    DocumentMismatch,
    #[error("the signature record was made over other strokes")]
    StrokesMismatch,
}

fn check(doc: &ReceiptDocument, sig: &Signature, record: &SignatureRecord) -> Result<(), PrintError> {
    doc.validate()?;
    if doc.hash() != record.document_hash {
        return Err(PrintError::DocumentMismatch);
    }
    if sig.hash()? != record.strokes_hash {
        return Err(PrintError::StrokesMismatch);
    }
    Ok(())
}

/// The receipt as one HTML page with no external resources; the signature is inlined as SVG.
/// The output is also well-formed XML, which the tests rely on.
pub fn receipt_html(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    company_name: &str,
) -> Result<String, PrintError> {
    check(doc, sig, record)?;
    let svg = sig.to_svg(&RenderOptions::default())?;
    let paid_capitals = capitals(doc.paid_fen)?;
    let code = verification_code(record, &doc.receipt_no);
    let money = |fen: i64| format!("¥{}", format_yuan(fen));

    let rows: [(&str, String); 10] = [
        ("收据编号 Receipt No.", escape_html(&doc.receipt_no)),
        ("户号 Household", escape_html(&doc.household_id)),
        ("账户 Account", escape_html(&doc.account_id)),
        ("收款时间 Time", escape_html(&local_time(doc.issued_at_ms, doc.zone_offset_min))),
        ("欠费金额 Amount owed", money(doc.owed_before_fen)),
        (
            "实收金额 Amount paid",
            format!("<strong>{}</strong><br/><span class=\"cap\">人民币{paid_capitals}</span>", money(doc.paid_fen)),
        ),
        ("收取现金 Cash received", money(doc.cash_received_fen)),
        ("找零 Change", money(doc.change_fen)),
        ("付款方式 Method", escape_html(&method_text(doc))),
        ("收款人 Collector", escape_html(&doc.collector_id)),
    ];
    let mut table = String::new();
    for (label, value) in rows {
        table.push_str(&format!("<tr><th>{label}</th><td>{value}</td></tr>\n"));
    }

    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN" xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>收据 Receipt {no}</title>
<style>
body {{ font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 36em; margin: 1em auto; color: #111; }}
h1 {{ font-size: 1.3em; text-align: center; margin: 0; }}
h2 {{ font-size: 1em; text-align: center; font-weight: normal; margin: 0.2em 0 1em; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }}
th {{ width: 40%; font-weight: normal; background: #f3f3f3; }}
.cap {{ letter-spacing: 0.05em; }}
.sig svg {{ max-width: 100%; height: auto; border-bottom: 1px solid #999; }}
.code {{ font-family: monospace; font-size: 1.2em; letter-spacing: 0.1em; }}
footer {{ font-size: 0.8em; color: #555; margin-top: 1em; }}
</style>
</head>
<body>
<h1>{company}</h1>
<h2>话费收据 Payment Receipt</h2>
<table>
{table}<tr><th>签字 Signature</th><td class="sig">{svg}</td></tr>
<tr><th>签字人 Signed by</th><td>{signer} ({relation})</td></tr>
<tr><th>验证码 Verification code</th><td class="code">{code}</td></tr>
</table>
<footer>
<p>当面点清，唱收唱付。凭验证码可向营业厅核验本收据。<br/>
Cash counted and change given in the customer's presence. Quote the verification code at the business office to check this receipt.</p>
<p>设备 Device: {device}</p>
</footer>
</body>
</html>
"#,
        no = escape_html(&doc.receipt_no),
        company = escape_html(company_name),
        signer = escape_html(&record.signer_name),
        relation = escape_html(&record.signer_relation.label()),
        device = escape_html(&record.device_id),
    ))
}

/// The signature as a PNG with the receipt's facts in UTF-8 iTXt chunks.
///
/// Why not the whole receipt as a picture: that needs a CJK font and a text layout engine in the
/// core, megabytes for a page the HTML already gives. The PNG is for places that take only an
/// image (a chat message, a gallery): it shows the ink, and its metadata carries the receipt
/// number, the amount in figures and in capitals, the verification code and the document hash.
pub fn receipt_png(doc: &ReceiptDocument, sig: &Signature, record: &SignatureRecord) -> Result<Vec<u8>, PrintError> {
    png_with(doc, sig, record, None)
}

/// As [`receipt_png`], with the company's name (the receipt's header) as a `Company` chunk.
pub fn receipt_png_with_company(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    company_name: &str,
) -> Result<Vec<u8>, PrintError> {
    png_with(doc, sig, record, Some(company_name))
}

fn png_with(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    company_name: Option<&str>,
) -> Result<Vec<u8>, PrintError> {
    check(doc, sig, record)?;
    let mut text = vec![
        ("Title", "话费收据 Payment Receipt".to_string()),
        ("Receipt-No", doc.receipt_no.clone()),
        ("Amount", format!("¥{}", format_yuan(doc.paid_fen))),
        ("Amount-Capitals", format!("人民币{}", capitals(doc.paid_fen)?)),
        ("Verification-Code", verification_code(record, &doc.receipt_no)),
        ("Document-SHA256", hex::encode(&record.document_hash)),
    ];
    if let Some(company) = company_name {
        text.insert(0, ("Company", company.to_string()));
    }
    Ok(sig.to_png_with_text(&RenderOptions::default(), &text)?)
}

/// The method as printed, with the payment's reference (交易单号) when it has one.
pub(super) fn method_text(doc: &ReceiptDocument) -> String {
    match &doc.payment_ref {
        Some(reference) => format!("{} · 交易单号 Ref. {reference}", method_label(&doc.method)),
        None => method_label(&doc.method),
    }
}

pub(super) fn method_label(method: &str) -> String {
    match method {
        "cash" => "现金 Cash".into(),
        "wechat" => "微信支付 WeChat Pay".into(),
        "alipay" => "支付宝 Alipay".into(),
        "card" => "银行卡 Bank card".into(),
        other => other.into(),
    }
}

/// Escapes text for HTML (the receipt page and the back office's pages use this one).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "2024-05-01 14:03 (UTC+08:00)": the device's local wall time at issue, with its offset.
pub(crate) fn local_time(utc_ms: i64, offset_min: i32) -> String {
    let local = utc_ms.saturating_add(i64::from(offset_min) * 60_000);
    let secs = local.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.unsigned_abs();
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} (UTC{sign}{:02}:{:02})", sod / 3600, sod / 60 % 60, off / 60, off % 60)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::document::tests::receipt;
    use crate::evidence::seal::{seal_receipt, DeviceKey, Relation};
    use crate::evidence::strokes::tests::sample;

    fn sealed() -> (ReceiptDocument, Signature, SignatureRecord) {
        let (doc, sig) = (receipt(), sample());
        let rec =
            seal_receipt(&doc, &sig, "王芳", Relation::FamilyMember, "h1", &DeviceKey::from_bytes(&[7; 32])).unwrap();
        (doc, sig, rec)
    }

    #[test]
    fn html_page_has_the_facts_and_nothing_external() {
        let (doc, sig, rec) = sealed();
        let html = receipt_html(&doc, &sig, &rec, "中国电信 <某某> 营业部 & Co").unwrap();
        for needle in [
            "收据编号 Receipt No.</th><td>R-0007-000123",
            "¥158.00",
            "人民币壹佰伍拾捌元整",
            "收取现金 Cash received</th><td>¥200.00",
            "找零 Change</th><td>¥42.00",
            "2024-05-01 14:03 (UTC+08:00)",
            "王芳 (家属 Family member)",
            "现金 Cash",
            "中国电信 &lt;某某&gt; 营业部 &amp; Co",
            &verification_code(&rec, &doc.receipt_no),
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        assert!(!html.contains("39.9042"), "place is not printed");
        assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("url("));
        // Well-formed as XML (DOCTYPE aside), with the signature inlined as an SVG element.
        let xml = html.replacen("<!DOCTYPE html>", "", 1);
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        assert!(parsed.descendants().any(|n| n.has_tag_name("svg")));
    }

    #[test]
    fn refuses_a_record_of_another_receipt() {
        let (doc, sig, rec) = sealed();
        let mut other = doc.clone();
        other.receipt_no = "R-0007-000124".into();
        assert_eq!(receipt_html(&other, &sig, &rec, "X"), Err(PrintError::DocumentMismatch));
        let mut other_sig = sig.clone();
        other_sig.strokes.pop();
        assert_eq!(receipt_png(&doc, &other_sig, &rec), Err(PrintError::StrokesMismatch));
        let mut bad = doc.clone();
        bad.paid_fen = -5;
        assert!(matches!(receipt_html(&bad, &sig, &rec, "X"), Err(PrintError::Document(_))));
    }

    #[test]
    fn png_carries_the_receipt_text() {
        let (doc, sig, rec) = sealed();
        let bytes = receipt_png(&doc, &sig, &rec).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let texts: Vec<(String, String)> =
            reader.info().utf8_text.iter().map(|c| (c.keyword.clone(), c.get_text().unwrap())).collect();
        let get = |k: &str| texts.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Receipt-No"), Some("R-0007-000123"));
        assert_eq!(get("Company"), None);
        let with = receipt_png_with_company(&doc, &sig, &rec, "中国电信 营业部").unwrap();
        let with_company = png::Decoder::new(std::io::Cursor::new(with)).read_info().unwrap();
        assert!(with_company
            .info()
            .utf8_text
            .iter()
            .any(|c| c.keyword == "Company" && c.get_text().unwrap() == "中国电信 营业部"));
        assert_eq!(get("Amount"), Some("¥158.00"));
        assert_eq!(get("Amount-Capitals"), Some("人民币壹佰伍拾捌元整"));
        assert_eq!(get("Verification-Code"), Some(verification_code(&rec, &doc.receipt_no).as_str()));
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (200, 100));
        assert!(buf.iter().any(|&v| v < 64), "the signature is drawn");
    }

    #[test]
    fn local_time_handles_zones_and_dates() {
        assert_eq!(local_time(0, 0), "1970-01-01 00:00 (UTC+00:00)");
        assert_eq!(local_time(0, -330), "1969-12-31 18:30 (UTC-05:30)");
        assert_eq!(local_time(951_782_400_000, 480), "2000-02-29 08:00 (UTC+08:00)");
        assert_eq!(local_time(1_709_251_199_000, 480), "2024-03-01 07:59 (UTC+08:00)");
        let _ = local_time(i64::MIN, -840); // no overflow panic
        let _ = local_time(i64::MAX, 840);
    }
}
