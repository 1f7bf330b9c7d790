//! The words of the back office's sheets for the model's codes, both ways: 居民身份证 ↔
//! resident_id, 后付费 ↔ postpaid, 宽带 ↔ broadband … A sheet may use the Chinese word, the code
//! itself, or a common variant; exports write the Chinese word.

/// (code, the word a sheet is written with, other words accepted)
pub type Labels = &'static [(&'static str, &'static str, &'static [&'static str])];

pub const PREMISES_TYPE: Labels =
    &[("building", "楼宇", &["楼房", "小区楼宇"]), ("bungalow", "平房", &[]), ("shop", "商铺", &["商户", "门面"])];
pub const ID_TYPE: Labels = &[
    ("resident_id", "居民身份证", &["身份证", "二代身份证"]),
    ("passport", "护照", &[]),
    ("hk_macao_permit", "港澳通行证", &["港澳居民来往内地通行证"]),
    ("taiwan_permit", "台湾通行证", &["台胞证", "台湾居民来往大陆通行证"]),
    ("business_license", "营业执照", &[]),
    ("other", "其他", &["其它"]),
];
pub const AREA: Labels = &[("urban", "城市", &["城镇"]), ("rural", "农村", &[])];
pub const SEGMENT: Labels = &[
    ("resident", "住户", &["居民", "家庭"]),
    ("shop", "商铺", &["商户"]),
    ("sme", "中小企业", &["企业"]),
    ("floating", "流动客户", &["流动人口"]),
    ("other", "其他", &["其它"]),
];
pub const TIER: Labels = &[("high", "高端", &["高"]), ("middle", "中端", &["中"]), ("low", "低端", &["低"])];
pub const PAYMENT_TYPE: Labels = &[("prepaid", "预付费", &["预付"]), ("postpaid", "后付费", &["后付"])];
pub const PRODUCT: Labels = &[
    ("broadband", "宽带", &["光纤宽带", "光宽"]),
    ("fixed", "固话", &["固定电话", "座机"]),
    ("mobile", "手机", &["移动电话", "移动"]),
    ("bundle", "融合", &["融合套餐"]),
    ("iptv", "IPTV", &["ITV", "电视"]),
    ("caller_id", "来电显示", &[]),
];
pub const OPERATOR: Labels = &[
    ("china_mobile", "中国移动", &["移动"]),
    ("china_telecom", "中国电信", &["电信"]),
    ("china_unicom", "中国联通", &["联通"]),
    ("china_broadnet", "中国广电", &["广电"]),
    ("other", "其他", &["其它"]),
];
pub const VISIT_PURPOSE: Labels = &[
    ("survey", "走访调研", &[]),
    ("sale", "营销", &[]),
    ("service_order", "业务受理", &[]),
    ("arrears", "欠费催缴", &[]),
    ("complaint", "投诉处理", &[]),
    ("care", "关怀", &[]),
    ("retention", "挽留", &[]),
];
pub const PAYMENT_METHOD: Labels =
    &[("cash", "现金", &[]), ("wechat", "微信", &[]), ("alipay", "支付宝", &[]), ("card", "银行卡", &["刷卡"])];

/// The code a sheet's word stands for (the word, the code or a variant; case and spaces ignored).
pub fn code(labels: Labels, text: &str) -> Option<&'static str> {
    let t = text.trim();
    labels
        .iter()
        .find(|(code, word, others)| {
            t.eq_ignore_ascii_case(code) || t.eq_ignore_ascii_case(word) || others.contains(&t)
        })
        .map(|(code, _, _)| *code)
}

/// The word a sheet shows for a code; an unknown code is shown as it is.
pub fn word(labels: Labels, code: &str) -> String {
    labels.iter().find(|(c, _, _)| *c == code).map(|(_, w, _)| w.to_string()).unwrap_or_else(|| code.to_string())
}

/// The accepted words, for an error message: "楼宇/平房/商铺".
pub fn choices(labels: Labels) -> String {
    labels.iter().map(|(_, w, _)| *w).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_codes_both_ways() {
        assert_eq!(code(ID_TYPE, "身份证"), Some("resident_id"));
        assert_eq!(code(PAYMENT_TYPE, " Postpaid "), Some("postpaid"));
        assert_eq!(code(PAYMENT_TYPE, "月付"), None);
        for labels in [
            PREMISES_TYPE,
            ID_TYPE,
            AREA,
            SEGMENT,
            TIER,
            PAYMENT_TYPE,
            PRODUCT,
            OPERATOR,
            VISIT_PURPOSE,
            PAYMENT_METHOD,
        ] {
            for (c, _, _) in labels {
                assert_eq!(code(labels, &word(labels, c)), Some(*c));
            }
        }
        assert_eq!(word(PRODUCT, "satellite"), "satellite");
    }
}
