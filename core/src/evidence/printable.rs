//! The customer's copy of a receipt: a self-contained HTML page (zh-CN first, English beside it)
//! and a PNG of the signature carrying the receipt's key facts as text chunks.
//!
//! Both refuse to print unless the record belongs to this receipt and these strokes: a paper
//! receipt whose verification code or signature belongs to another payment would be worse than
//! none. The verification code is computed here from the record rather than passed in, for the
//! same reason. The device signature itself is not re-checked (that needs the public key and is
//! the back office's job, `seal::check_receipt`).
//!
//! Personal data is kept to what the customer needs: no ID number, no phone number, no place; the
//! payer's name, the account and the service number are masked (`mask::name`, `mask::account`,
//! `mask::phone`: the back office's rules), as a receipt can be lost or photographed.
//!
//! What the copy prints beyond the signed document comes in a [`CustomerCopy`]: the company's
//! name and seal and the verification link's base from configuration, never from this code; the
//! payer and account, which the document names only by id, from the store.

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
    #[error("印章图片无效：{0} / the seal image cannot be used: {0}")]
    Seal(String),
}

/// What the customer's copy prints beyond the signed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerCopy {
    /// The company's name, the copy's header (configuration).
    pub company_name: String,
    /// The company's seal (印章) as a PNG, printed over the header (configuration); none: no seal.
    pub seal_png: Option<Vec<u8>>,
    /// Where the public check lives, e.g. `https://gb.example` (configuration); none: no QR code.
    pub verify_base_url: Option<String>,
    /// The payer's name as the archive holds it; printed masked.
    pub payer_name: String,
    /// The account number (账号); printed masked.
    pub account_no: String,
    /// The service number (业务号码); printed masked.
    pub service_number: String,
    /// The collector's name and staff number (工号) as the server knows them now (the receipt
    /// profile's): printed only when the signed document names no collector (a receipt signed
    /// before the profile reached the phone); the document's own lines, being signed, win.
    pub collector_name: String,
    pub collector_staff_no: String,
}

impl CustomerCopy {
    /// A copy with only the company's name (no seal, no QR code, no payer or account).
    pub fn company(name: &str) -> Self {
        CustomerCopy { company_name: name.to_string(), ..Default::default() }
    }
}

/// The largest seal image taken, in bytes and in pixels a side.
pub const MAX_SEAL_BYTES: usize = 512 * 1024;
pub const MAX_SEAL_SIDE: u32 = 1024;

/// A seal image: width, height, and (luma, alpha) per pixel, rows top to bottom.
pub(crate) type SealPixels = (u32, u32, Vec<(u8, u8)>);

/// A seal PNG decoded to luma and alpha per pixel, checked for size.
pub(crate) fn seal_pixels(png_bytes: &[u8]) -> Result<SealPixels, PrintError> {
    let bad = |why: String| PrintError::Seal(why);
    if png_bytes.len() > MAX_SEAL_BYTES {
        return Err(bad(format!("larger than {MAX_SEAL_BYTES} bytes")));
    }
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| bad(format!("not a PNG ({e})")))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width == 0 || height == 0 || width > MAX_SEAL_SIDE || height > MAX_SEAL_SIDE {
        return Err(bad(format!("{width}×{height} px; at most {MAX_SEAL_SIDE} a side")));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| bad(format!("not a PNG ({e})")))?;
    let channels = frame.color_type.samples();
    let luma = |r: u8, g: u8, b: u8| ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000) as u8;
    let pixels = buf[..frame.buffer_size()]
        .chunks_exact(channels)
        .map(|p| match p {
            [l] => (*l, 255),
            [l, a] => (*l, *a),
            [r, g, b] => (luma(*r, *g, *b), 255),
            [r, g, b, a, ..] => (luma(*r, *g, *b), *a),
            _ => (255, 0),
        })
        .collect();
    Ok((width, height, pixels))
}

/// Standard base64 with padding (the seal inlined as a data: URL; HTTP Basic credentials).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The row after which the amount paid is printed, large.
pub(crate) const OWED_LABEL: &str = "欠费金额 Amount owed";

/// The facts a copy prints, in order, as (label, value) text: the HTML page and the image both
/// print these rows, so they cannot disagree.
pub(crate) struct CopyRows {
    pub rows: Vec<(&'static str, String)>,
    pub paid: String,
    pub paid_capitals: String,
    pub code: String,
    /// The QR code's link, when the copy has a base URL for it.
    pub link: Option<String>,
}

pub(crate) fn copy_rows(
    doc: &ReceiptDocument,
    record: &SignatureRecord,
    copy: &CustomerCopy,
) -> Result<CopyRows, PrintError> {
    let money = |fen: i64| format!("¥{}", format_yuan(fen));
    let code = verification_code(record, &doc.receipt_no);
    let mut rows: Vec<(&'static str, String)> = vec![
        ("收据编号 Receipt No.", doc.receipt_no.clone()),
        ("收款时间 Time", local_time(doc.issued_at_ms, doc.zone_offset_min)),
    ];
    if !copy.payer_name.trim().is_empty() {
        rows.push(("缴费人 Payer", crate::mask::name(&copy.payer_name)));
    }
    if copy.account_no.trim().is_empty() {
        rows.push(("账户 Account", doc.account_id.clone()));
    } else {
        rows.push(("账号 Account No.", crate::mask::account(&copy.account_no)));
    }
    if !copy.service_number.trim().is_empty() {
        rows.push(("业务号码 Service No.", crate::mask::phone(copy.service_number.trim())));
    }
    rows.push(("户号 Household", doc.household_id.clone()));
    if let Some(months) = billing_months_text(&doc.billing_months) {
        rows.push(("缴费月份 Billing months", months));
    }
    rows.push((OWED_LABEL, money(doc.owed_before_fen)));
    rows.push(("收取现金 Cash received", money(doc.cash_received_fen)));
    rows.push(("找零 Change", money(doc.change_fen)));
    rows.push(("付款方式 Method", method_text(doc)));
    let collector = if doc.collector_name.is_empty() && !copy.collector_name.trim().is_empty() {
        collector_line(copy.collector_name.trim(), copy.collector_staff_no.trim())
    } else {
        collector_text(doc)
    };
    rows.push(("收款人 Collector", collector));
    let link = copy.verify_base_url.as_deref().and_then(|base| super::qr::verify_link(base, &doc.receipt_no, &code));
    Ok(CopyRows {
        rows,
        paid: money(doc.paid_fen),
        paid_capitals: format!("人民币{}", capitals(doc.paid_fen)?),
        code,
        link,
    })
}

/// "2024-01 至 2024-03（3 个月 months）", or the one month; None when the document has none.
pub(crate) fn billing_months_text(months: &str) -> Option<String> {
    let ((y0, m0), (y1, m1)) = super::document::billing_month_range(months)?;
    if (y0, m0) == (y1, m1) {
        return Some(format!("{y0:04}-{m0:02}"));
    }
    let count = (y1 * 12 + m1) - (y0 * 12 + m0) + 1;
    Some(format!("{y0:04}-{m0:02} 至 to {y1:04}-{m1:02}（{count} 个月 months）"))
}

/// "张伟（工号 Staff No. HN0731）"; the collector's id when the document names no one.
pub(crate) fn collector_text(doc: &ReceiptDocument) -> String {
    let name = if doc.collector_name.is_empty() { &doc.collector_id } else { &doc.collector_name };
    collector_line(name, &doc.collector_staff_no)
}

/// "张伟（工号 Staff No. HN0731）", or the name alone without a staff number.
fn collector_line(name: &str, staff_no: &str) -> String {
    if staff_no.is_empty() {
        name.to_string()
    } else {
        format!("{name}（工号 Staff No. {staff_no}）")
    }
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
    receipt_copy_html(doc, sig, record, &CustomerCopy::company(company_name))
}

/// The customer's copy as one HTML page: [`receipt_html`] with the seal (inlined as a `data:`
/// PNG, the only `src`), the payer and account masked, and the QR code of the public check.
pub fn receipt_copy_html(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    copy: &CustomerCopy,
) -> Result<String, PrintError> {
    check(doc, sig, record)?;
    let svg = sig.to_svg(&RenderOptions::default())?;
    let facts = copy_rows(doc, record, copy)?;
    let seal = match &copy.seal_png {
        Some(png) => {
            seal_pixels(png)?;
            format!("<img class=\"seal\" alt=\"印章 Seal\" src=\"data:image/png;base64,{}\"/>\n", base64(png))
        }
        None => String::new(),
    };
    let mut table = String::new();
    for (label, value) in &facts.rows {
        table.push_str(&format!("<tr><th>{label}</th><td>{}</td></tr>\n", escape_html(value)));
        // the amount paid right after the amount owed, in figures and in capitals
        if *label == OWED_LABEL {
            table.push_str(&format!(
                "<tr><th>实收金额 Amount paid</th><td><strong>{}</strong><br/><span class=\"cap\">{}</span></td></tr>\n",
                facts.paid, facts.paid_capitals
            ));
        }
    }
    let qr = match facts.link.as_deref().and_then(|link| super::qr::QrMatrix::new(link).map(|m| (link, m))) {
        Some((link, m)) => format!(
            "<div class=\"qr\">{}<p>扫码核验本收据 Scan to check this receipt:<br/>{}</p></div>\n",
            m.svg(4),
            escape_html(link)
        ),
        None => String::new(),
    };

    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN" xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>收据 Receipt {no}</title>
<style>
body {{ font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 36em; margin: 1em auto; color: #111; }}
header {{ position: relative; }}
h1 {{ font-size: 1.3em; text-align: center; margin: 0; }}
h2 {{ font-size: 1em; text-align: center; font-weight: normal; margin: 0.2em 0 1em; }}
.seal {{ position: absolute; right: 0; top: -0.5em; width: 6em; height: auto; opacity: 0.85; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }}
th {{ width: 40%; font-weight: normal; background: #f3f3f3; }}
.cap {{ letter-spacing: 0.05em; }}
.sig svg {{ max-width: 100%; height: auto; border-bottom: 1px solid #999; }}
.code {{ font-family: monospace; font-size: 1.2em; letter-spacing: 0.1em; }}
.qr {{ display: flex; align-items: center; gap: 1em; word-break: break-all; }}
footer {{ font-size: 0.8em; color: #555; margin-top: 1em; }}
</style>
</head>
<body>
<header>
{seal}<h1>{company}</h1>
<h2>话费收据 Payment Receipt</h2>
</header>
<table>
{table}<tr><th>签字 Signature</th><td class="sig">{svg}</td></tr>
<tr><th>签字人 Signed by</th><td>{signer} ({relation})</td></tr>
<tr><th>验证码 Verification code</th><td class="code">{code}</td></tr>
</table>
<footer>
<p>当面点清，唱收唱付。凭验证码可向营业厅核验本收据。<br/>
Cash counted and change given in the customer's presence. Quote the verification code at the business office to check this receipt.</p>
{qr}<p>设备 Device: {device}</p>
</footer>
</body>
</html>
"#,
        no = escape_html(&doc.receipt_no),
        company = escape_html(&copy.company_name),
        signer = escape_html(&record.signer_name),
        relation = escape_html(&record.signer_relation.label()),
        device = escape_html(&record.device_id),
        code = facts.code,
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
    if let Some(months) = billing_months_text(&doc.billing_months) {
        text.push(("Billing-Months", months));
    }
    text.push(("Collector", collector_text(doc)));
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
pub(crate) mod tests {
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

    pub(crate) use crate::testing::seal_png;

    pub(crate) fn full_copy() -> CustomerCopy {
        CustomerCopy {
            company_name: "中国电信长沙分公司".into(),
            seal_png: Some(seal_png()),
            verify_base_url: Some("https://gb.example/".into()),
            payer_name: "欧阳娜娜".into(),
            account_no: "7310012345678".into(),
            service_number: "13812345678".into(),
            collector_name: String::new(),
            collector_staff_no: String::new(),
        }
    }

    pub(crate) fn version_2(mut doc: ReceiptDocument) -> ReceiptDocument {
        doc.billing_months = "2024-02/2024-04".into();
        doc.collector_name = "张伟".into();
        doc.collector_staff_no = "HN0731".into();
        doc
    }

    #[test]
    fn the_customer_copy_carries_every_element_masked_where_it_must_be() {
        let (doc, sig) = (version_2(receipt()), sample());
        let rec =
            seal_receipt(&doc, &sig, "王芳", Relation::FamilyMember, "h1", &DeviceKey::from_bytes(&[7; 32])).unwrap();
        let html = receipt_copy_html(&doc, &sig, &rec, &full_copy()).unwrap();
        let code = verification_code(&rec, &doc.receipt_no);
        let link = format!("https://gb.example/verify?no=R-0007-000123&amp;code={code}");
        for needle in [
            "<h1>中国电信长沙分公司</h1>",
            "<img class=\"seal\" alt=\"印章 Seal\" src=\"data:image/png;base64,iVBORw0KGgo",
            "缴费人 Payer</th><td>欧***</td>",
            "账号 Account No.</th><td>*********5678</td>",
            "业务号码 Service No.</th><td>138****5678</td>",
            "缴费月份 Billing months</th><td>2024-02 至 to 2024-04（3 个月 months）</td>",
            "实收金额 Amount paid</th><td><strong>¥158.00</strong><br/><span class=\"cap\">人民币壹佰伍拾捌元整</span>",
            "收取现金 Cash received</th><td>¥200.00",
            "找零 Change</th><td>¥42.00",
            "收据编号 Receipt No.</th><td>R-0007-000123",
            "收款时间 Time</th><td>2024-05-01 14:03 (UTC+08:00)",
            "收款人 Collector</th><td>张伟（工号 Staff No. HN0731）</td>",
            "王芳 (家属 Family member)",
            &code,
            &link,
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        for secret in ["欧阳娜娜", "7310012345678", "13812345678", "39.9042"] {
            assert!(!html.contains(secret), "{secret} printed in full");
        }
        // the one src is the seal's data: URL; the QR code is an inline SVG; well-formed XML
        assert_eq!(html.matches("src=").count(), 1);
        assert!(!html.contains("href=") && !html.contains("url("));
        let xml = html.replacen("<!DOCTYPE html>", "", 1);
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(parsed.descendants().filter(|n| n.has_tag_name("svg")).count(), 2, "signature and QR code");
        // the PNG's text chunks carry the months and the collector too
        let png = receipt_png_with_company(&doc, &sig, &rec, "中国电信").unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        let chunk = |k: &str| reader.info().utf8_text.iter().find(|c| c.keyword == k).map(|c| c.get_text().unwrap());
        assert_eq!(chunk("Collector").as_deref(), Some("张伟（工号 Staff No. HN0731）"));
        assert_eq!(chunk("Billing-Months").as_deref(), Some("2024-02 至 to 2024-04（3 个月 months）"));
    }

    #[test]
    fn a_document_naming_no_collector_prints_the_collector_the_copy_names_and_a_signed_one_wins() {
        let with = |name: &str| CustomerCopy {
            collector_name: name.into(),
            collector_staff_no: "HN0731".into(),
            ..full_copy()
        };
        let (doc, sig, rec) = sealed();
        assert!(doc.collector_name.is_empty(), "a version 1 document");
        let html = receipt_copy_html(&doc, &sig, &rec, &with("张伟")).unwrap();
        assert!(html.contains("收款人 Collector</th><td>张伟（工号 Staff No. HN0731）</td>"), "{html}");
        let plain = receipt_copy_html(&doc, &sig, &rec, &full_copy()).unwrap();
        assert!(plain.contains(&format!("收款人 Collector</th><td>{}</td>", doc.collector_id)));
        // what was signed is printed as signed
        let doc = version_2(receipt());
        let rec =
            seal_receipt(&doc, &sig, "王芳", Relation::FamilyMember, "h1", &DeviceKey::from_bytes(&[7; 32])).unwrap();
        let html = receipt_copy_html(&doc, &sig, &rec, &with("李娜")).unwrap();
        assert!(html.contains("收款人 Collector</th><td>张伟（工号 Staff No. HN0731）</td>") && !html.contains("李娜"));
    }

    #[test]
    fn a_seal_that_is_not_a_small_png_is_refused() {
        let (doc, sig, rec) = sealed();
        for bad in [b"GIF89a".to_vec(), Vec::new(), vec![0; MAX_SEAL_BYTES + 1]] {
            let copy = CustomerCopy { seal_png: Some(bad), ..full_copy() };
            assert!(matches!(receipt_copy_html(&doc, &sig, &rec, &copy), Err(PrintError::Seal(_))));
        }
        // no base URL, or one that is not a web address: no QR code, the rest as before
        for base in [None, Some("ftp://x".to_string())] {
            let copy = CustomerCopy { verify_base_url: base, ..full_copy() };
            let html = receipt_copy_html(&doc, &sig, &rec, &copy).unwrap();
            assert!(!html.contains("/verify?") && html.contains("欧***"));
        }
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(billing_months_text("2024-11"), Some("2024-11".into()));
        assert_eq!(billing_months_text("2023-11/2024-02").unwrap(), "2023-11 至 to 2024-02（4 个月 months）");
        assert_eq!(billing_months_text(""), None);
    }
}
