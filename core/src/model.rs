//! What the store holds, in the users' words: premises (楼宇/平房/商铺), household archives (客户档案),
//! arrears accounts (欠费) and the notices given, visits (走访), receipts (收据) and their voids.
//! Each kind lists its fields once here; storage, merge and the wire all work from that list.

use serde::{Deserialize, Serialize};

/// The kinds of synced records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Premises,
    Household,
    ArrearsAccount,
    ArrearsNotice,
    Visit,
    Receipt,
    ReceiptVoid,
    /// The customer's signature on a receipt or a work order, sealed by the device key.
    Signature,
    /// An appointment with a household (预约). Mutable: confirmed, rescheduled, cancelled, done.
    Appointment,
    /// A manager's daily sign-in (签到) with time and place. Insert-only.
    SignIn,
    /// A request, complaint or question owned by whoever took it first (首问负责制). Mutable.
    Ticket,
    /// A manager's summary of a day (日工作总结), submitted for the back office. Insert-only.
    DaySummary,
    /// The back office's billing figures for one service of a household (contract and plan end,
    /// this month's spend against earlier months, suspension risk). Kept by the back office.
    BillingProfile,
    /// A reminder (预警) closed with its outcome, on every phone and in the back office. Insert-only.
    ReminderOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Int,
    Bool,
    /// A JSON array or object, kept as one value (its last writer wins as a whole).
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
}

const fn t(name: &'static str) -> FieldSpec {
    FieldSpec { name, ty: FieldType::Text }
}
const fn i(name: &'static str) -> FieldSpec {
    FieldSpec { name, ty: FieldType::Int }
}
const fn b(name: &'static str) -> FieldSpec {
    FieldSpec { name, ty: FieldType::Bool }
}
const fn j(name: &'static str) -> FieldSpec {
    FieldSpec { name, ty: FieldType::Json }
}

const PREMISES: &[FieldSpec] = &[
    t("grid_id"),
    t("premises_type"),
    t("name"),
    t("community"),
    t("street"),
    t("address"),
    i("floors"),
    t("notes"),
    b("deleted"),
];
const HOUSEHOLD: &[FieldSpec] = &[
    t("grid_id"),
    t("premises_id"),
    t("unit"),
    i("floor"),
    t("room"),
    t("address"),
    t("customer_name"),
    t("landline"),
    t("mobile"),
    t("other_contact"),
    t("id_type"),
    t("id_number"),
    t("work_unit"),
    j("services"),
    j("competitor_services"),
    t("area"),
    t("segment"),
    t("tier"),
    t("opinions"),
    t("birthday"),
    t("notes"),
    b("deleted"),
];
const ARREARS_ACCOUNT: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    t("account_no"),
    t("service_number"),
    t("payment_type"),
    i("owed_fen"),
    i("months_overdue"),
    i("balance_fen"),
    i("as_of_ms"),
    b("deleted"),
];
const ARREARS_NOTICE: &[FieldSpec] = &[
    t("grid_id"),
    t("account_id"),
    t("household_id"),
    t("channel"),
    i("given_at_ms"),
    i("zone_offset_min"),
    t("outcome"),
    i("promised_pay_at_ms"),
    t("notes"),
    t("manager_id"),
];
const VISIT: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    i("appointment_at_ms"),
    i("arrived_at_ms"),
    i("zone_offset_min"),
    i("lat_e6"),
    i("lon_e6"),
    t("purpose"),
    t("outcome"),
    t("needs"),
    t("competitor_info"),
    t("opinions"),
    t("open_question"),
    t("follow_up"),
    t("follow_up_due"),
    t("signature_id"),
    t("manager_id"),
];
const RECEIPT: &[FieldSpec] = &[
    t("grid_id"),
    t("receipt_no"),
    t("account_id"),
    t("household_id"),
    i("owed_before_fen"),
    i("amount_fen"),
    i("cash_received_fen"),
    i("change_fen"),
    t("method"),
    i("collected_at_ms"),
    i("zone_offset_min"),
    t("collector_id"),
    t("device_id"),
    i("lat_e6"),
    i("lon_e6"),
    t("signature_id"),
];
const RECEIPT_VOID: &[FieldSpec] = &[t("grid_id"), t("receipt_id"), t("reason"), i("voided_at_ms"), t("voided_by")];
const SIGNATURE: &[FieldSpec] = &[
    t("grid_id"),
    t("document_kind"),
    t("document_id"),
    t("document_hash"),
    j("strokes"),
    t("strokes_hash"),
    t("signer_name"),
    t("relation"),
    t("hlc"),
    t("device_id"),
    t("device_signature"),
    j("flags"),
];

const APPOINTMENT: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    t("manager_id"),
    i("agreed_at_ms"),
    i("zone_offset_min"),
    t("purpose"),
    t("status"),
    t("note"),
    t("visit_id"),
    b("deleted"),
];
const SIGN_IN: &[FieldSpec] =
    &[t("grid_id"), t("manager_id"), i("at_ms"), i("zone_offset_min"), i("lat_e6"), i("lon_e6"), t("note")];
const TICKET: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    t("owner_manager_id"),
    i("taken_at_ms"),
    t("channel"),
    t("kind"),
    t("text"),
    t("promised_reply_by"),
    t("status"),
    t("escalated_to"),
    t("reply"),
    i("closed_at_ms"),
    b("closure_confirmed_by_customer"),
    b("deleted"),
];
const DAY_SUMMARY: &[FieldSpec] = &[
    t("grid_id"),
    t("manager_id"),
    t("date"),
    i("zone_offset_min"),
    i("made_at_ms"),
    i("signed_in_at_ms"),
    i("visits"),
    i("appointments_kept"),
    i("appointments_on_time"),
    i("appointments_missed"),
    i("households_created"),
    i("households_updated"),
    i("receipts"),
    i("collected_fen"),
    i("notices"),
    i("open_promises"),
    i("open_tickets"),
    t("note"),
];
const BILLING_PROFILE: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    t("service_number"),
    t("product"),
    t("contract_end"),
    t("plan_end"),
    t("period"),
    i("spend_fen"),
    i("baseline_fen"),
    b("suspension_risk"),
    b("suspended"),
    i("as_of_ms"),
    b("deleted"),
];
const REMINDER_OUTCOME: &[FieldSpec] = &[
    t("grid_id"),
    t("household_id"),
    t("reminder_key"),
    t("kind"),
    t("outcome"),
    t("note"),
    i("closed_at_ms"),
    i("zone_offset_min"),
    t("manager_id"),
];

impl EntityKind {
    pub const ALL: [EntityKind; 14] = [
        EntityKind::Premises,
        EntityKind::Household,
        EntityKind::ArrearsAccount,
        EntityKind::ArrearsNotice,
        EntityKind::Visit,
        EntityKind::Receipt,
        EntityKind::ReceiptVoid,
        EntityKind::Signature,
        EntityKind::Appointment,
        EntityKind::SignIn,
        EntityKind::Ticket,
        EntityKind::DaySummary,
        EntityKind::BillingProfile,
        EntityKind::ReminderOutcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Premises => "premises",
            EntityKind::Household => "household",
            EntityKind::ArrearsAccount => "arrears_account",
            EntityKind::ArrearsNotice => "arrears_notice",
            EntityKind::Visit => "visit",
            EntityKind::Receipt => "receipt",
            EntityKind::ReceiptVoid => "receipt_void",
            EntityKind::Signature => "signature",
            EntityKind::Appointment => "appointment",
            EntityKind::SignIn => "sign_in",
            EntityKind::Ticket => "ticket",
            EntityKind::DaySummary => "day_summary",
            EntityKind::BillingProfile => "billing_profile",
            EntityKind::ReminderOutcome => "reminder_outcome",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The device table that holds this kind.
    pub fn table(self) -> &'static str {
        match self {
            EntityKind::Premises => "premises",
            EntityKind::Household => "households",
            EntityKind::ArrearsAccount => "arrears_accounts",
            EntityKind::ArrearsNotice => "arrears_notices",
            EntityKind::Visit => "visits",
            EntityKind::Receipt => "receipts",
            EntityKind::ReceiptVoid => "receipt_voids",
            EntityKind::Signature => "signatures",
            EntityKind::Appointment => "appointments",
            EntityKind::SignIn => "sign_ins",
            EntityKind::Ticket => "tickets",
            EntityKind::DaySummary => "day_summaries",
            EntityKind::BillingProfile => "billing_profiles",
            EntityKind::ReminderOutcome => "reminder_outcomes",
        }
    }

    /// Every field of the kind, in column order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            EntityKind::Premises => PREMISES,
            EntityKind::Household => HOUSEHOLD,
            EntityKind::ArrearsAccount => ARREARS_ACCOUNT,
            EntityKind::ArrearsNotice => ARREARS_NOTICE,
            EntityKind::Visit => VISIT,
            EntityKind::Receipt => RECEIPT,
            EntityKind::ReceiptVoid => RECEIPT_VOID,
            EntityKind::Signature => SIGNATURE,
            EntityKind::Appointment => APPOINTMENT,
            EntityKind::SignIn => SIGN_IN,
            EntityKind::Ticket => TICKET,
            EntityKind::DaySummary => DAY_SUMMARY,
            EntityKind::BillingProfile => BILLING_PROFILE,
            EntityKind::ReminderOutcome => REMINDER_OUTCOME,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Facts recorded once and never edited (docs/field.md, job 5.3: a receipt once issued is never altered;
    /// docs/field.md, sync 2: facts cannot conflict).
    pub fn insert_only(self) -> bool {
        matches!(
            self,
            EntityKind::ArrearsNotice
                | EntityKind::Visit
                | EntityKind::Receipt
                | EntityKind::ReceiptVoid
                | EntityKind::Signature
                | EntityKind::SignIn
                | EntityKind::DaySummary
                | EntityKind::ReminderOutcome
        )
    }

    /// Kinds only the back office writes: the figures come from billing, and a field manager's
    /// phone may not change them (the server rejects such ops; phones receive them by pull).
    pub fn backoffice_only(self) -> bool {
        matches!(self, EntityKind::ArrearsAccount | EntityKind::BillingProfile)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        // utoipa does not see a `rename` whose text comes from a macro argument; every text is
        // its variant's name in snake_case (a test checks the schema against `as_str`)
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(rename_all = "snake_case"))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

text_enum!(
    /// 楼宇 / 平房 / 商铺
    PremisesType { Building = "building", Bungalow = "bungalow", Shop = "shop" }
);
text_enum!(
    /// 证件类型. Only the resident ID (居民身份证) has a check digit we can verify.
    IdType {
        ResidentId = "resident_id", Passport = "passport", HkMacaoPermit = "hk_macao_permit",
        TaiwanPermit = "taiwan_permit", BusinessLicense = "business_license", Other = "other",
    }
);
text_enum!(
    /// 走访调研 / 营销 / 业务受理 / 欠费催缴 / 投诉处理 / 关怀 / 挽留
    VisitPurpose {
        Survey = "survey", Sale = "sale", ServiceOrder = "service_order", Arrears = "arrears",
        Complaint = "complaint", Care = "care", Retention = "retention",
    }
);
text_enum!(
    /// 电话 / 信函 / 欠费通知单
    NoticeChannel { Phone = "phone", Letter = "letter", NoticeSlip = "notice_slip" }
);
text_enum!(
    PaymentMethod { Cash = "cash", Wechat = "wechat", Alipay = "alipay", Card = "card" }
);
text_enum!(
    /// 城市 / 农村
    Area { Urban = "urban", Rural = "rural" }
);
text_enum!(
    /// 住户 / 商铺 / 中小企业 / 流动客户 / 其他
    Segment { Resident = "resident", Shop = "shop", Sme = "sme", Floating = "floating", Other = "other" }
);
text_enum!(
    /// 高端 (top 20 %) / 中端 (20–40 %) / 低端 (bottom 60 %)
    Tier { High = "high", Middle = "middle", Low = "low" }
);
text_enum!(
    /// 预付费 / 后付费
    PaymentType { Prepaid = "prepaid", Postpaid = "postpaid" }
);
text_enum!(
    /// What a customer signature was given for: a receipt (收据) or a visit's work order (工作单).
    SignedDocument { Receipt = "receipt", WorkOrder = "work_order" }
);

text_enum!(
    /// 已预约 / 已确认 / 已改约 / 已取消 / 已完成 (a visit was recorded for it)
    AppointmentStatus {
        Booked = "booked", Confirmed = "confirmed", Rescheduled = "rescheduled",
        Cancelled = "cancelled", Done = "done",
    }
);
text_enum!(
    /// How a ticket reached its owner: at the door, by phone, by WeChat, at the counter, other.
    TicketChannel { InPerson = "in_person", Phone = "phone", Wechat = "wechat", Counter = "counter", Other = "other" }
);
text_enum!(
    /// 需求 / 投诉 / 咨询
    TicketKind { Request = "request", Complaint = "complaint", Question = "question" }
);
text_enum!(
    /// 待处理 / 已上报 / 已答复 / 已闭环
    TicketStatus { Open = "open", Escalated = "escalated", Replied = "replied", Closed = "closed" }
);

text_enum!(
    /// 预警: 合同到期 / 套餐到期 / 话务下降一级 (> 30 %) / 话务下降二级 (0–30 %) / 余额不足 / 欠费两月 /
    /// 停机预警 / 生日关怀
    ReminderKind {
        ContractExpiry = "contract_expiry", PlanExpiry = "plan_expiry",
        SpendDropStage1 = "spend_drop_stage1", SpendDropStage2 = "spend_drop_stage2",
        LowBalance = "low_balance", PostpaidOverdue = "postpaid_overdue",
        SuspensionRisk = "suspension_risk", Birthday = "birthday",
    }
);
text_enum!(
    /// How a reminder was closed: 已联系 / 已续约 / 已缴费 / 已挽留 / 已送祝福 / 客户拒绝 / 联系不上 / 无需处理
    ReminderResolution {
        Contacted = "contacted", Renewed = "renewed", Paid = "paid", Retained = "retained",
        Greeted = "greeted", Declined = "declined", Unreachable = "unreachable", NotNeeded = "not_needed",
    }
);

/// One of our services held by the household (公司业务).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OwnService {
    /// fixed / broadband / mobile / bundle / iptv …
    pub product: String,
    pub service_number: String,
    #[serde(default)]
    pub contract_number: String,
    #[serde(default)]
    pub plan: String,
    /// 竣工时间, YYYY-MM-DD
    #[serde(default)]
    pub completed_on: String,
}

/// A service the household holds with another operator (其它运营商).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompetitorService {
    /// china_mobile / china_telecom / china_unicom / china_broadnet / other
    pub operator: String,
    pub product: String,
    #[serde(default)]
    pub notes: String,
}

/// 楼宇 / 平房 / 商铺.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Premises {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    pub premises_type: PremisesType,
    /// e.g. 3号楼, normalised per grid
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[serde(default)]
    pub community: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub floors: Option<i64>,
    #[serde(default)]
    pub notes: String,
}

/// The household archive (客户档案), prospects included.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[serde(default)]
    pub premises_id: Option<String>,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -10, maximum = 200))]
    pub floor: Option<i64>,
    #[serde(default)]
    pub room: String,
    /// Full normalised address.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 300))]
    pub address: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub customer_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9-]*$"))]
    pub landline: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(1[0-9]{10})?$"))]
    pub mobile: String,
    #[serde(default)]
    pub other_contact: String,
    #[serde(default)]
    pub id_type: Option<IdType>,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub work_unit: String,
    #[serde(default)]
    pub services: Vec<OwnService>,
    #[serde(default)]
    pub competitor_services: Vec<CompetitorService>,
    #[serde(default)]
    pub area: Option<Area>,
    #[serde(default)]
    pub segment: Option<Segment>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    pub opinions: String,
    /// YYYY-MM-DD
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub birthday: String,
    #[serde(default)]
    pub notes: String,
}

/// An arrears account as last known from the back office (欠费).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsAccount {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    pub household_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub account_no: String,
    #[serde(default)]
    pub service_number: String,
    pub payment_type: PaymentType,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub owed_fen: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1200))]
    pub months_overdue: i64,
    /// Prepaid balance, when known.
    #[serde(default)]
    pub balance_fen: Option<i64>,
    pub as_of_ms: i64,
}

/// A notice of arrears given to the customer (phone call, letter, 欠费通知单).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsNotice {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub account_id: String,
    pub household_id: String,
    pub channel: NoticeChannel,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub given_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    #[serde(default)]
    pub outcome: String,
    /// The time and place agreed for payment.
    #[serde(default)]
    pub promised_pay_at_ms: Option<i64>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub manager_id: String,
}

/// A visit (上门服务 / 走访).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    #[serde(default)]
    pub appointment_at_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub arrived_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// GPS fix in micro-degrees, when the phone had one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    pub purpose: VisitPurpose,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub competitor_info: String,
    #[serde(default)]
    pub opinions: String,
    /// A question that could not be answered on the spot.
    #[serde(default)]
    pub open_question: String,
    /// The reply or action promised (承诺回复).
    #[serde(default)]
    pub follow_up: String,
    /// Promised by, YYYY-MM-DD (承诺回复时限).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub follow_up_due: String,
    /// The customer's signature on the work order, when one was taken.
    #[serde(default)]
    pub signature_id: Option<String>,
    #[serde(default)]
    pub manager_id: String,
}

/// Money collected against a formal numbered receipt (正式话费收据). Insert-only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub receipt_no: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub account_id: String,
    pub household_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub owed_before_fen: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount_fen: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub cash_received_fen: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub change_fen: i64,
    pub method: PaymentMethod,
    pub collected_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    #[serde(default)]
    pub collector_id: String,
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    #[serde(default)]
    pub signature_id: Option<String>,
}

/// Voids a mistaken receipt; the receipt itself is never edited.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptVoid {
    #[serde(default)]
    pub id: String,
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub receipt_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    pub voided_at_ms: i64,
    #[serde(default)]
    pub voided_by: String,
}

/// The customer's handwritten signature on a receipt or a work order, as evidence (docs/field.md,
/// field work 5): the strokes from the pad, the hash of exactly what was signed, the signer's
/// name and relation to the household, and the device's Ed25519 seal over all of it
/// (`evidence::seal`). Insert-only, recorded in the same transaction as its document and pushed
/// before it. The server checks the seal and the binding to the document on every push.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSignature {
    #[serde(default)]
    pub id: String,
    pub grid_id: String,
    pub document_kind: SignedDocument,
    /// The receipt's or visit's id.
    pub document_id: String,
    /// SHA-256 of the document's canonical bytes (`evidence::document`), lower-case hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub document_hash: String,
    /// The strokes as captured, quantised to what is hashed (0.1 px, pressure in thousandths).
    pub strokes: crate::evidence::Signature,
    /// SHA-256 of the strokes' canonical bytes, lower-case hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub strokes_hash: String,
    /// Who signed, as they gave their name (签字人). Required: never the manager.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub signer_name: String,
    /// Relation code: `householder`, `family_member`, `shop_staff` or `other:<as told>`.
    pub relation: String,
    /// The device's clock stamp at signing, sealed with the rest.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{16}-[A-Za-z0-9_]{1,64}$"))]
    pub hlc: String,
    pub device_id: String,
    /// The device's Ed25519 signature over the seal message, lower-case hex (128 digits).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{128}$"))]
    pub device_signature: String,
    /// Plausibility warnings (drawn too fast, too few points, a dot), for the back office.
    #[serde(default)]
    pub flags: Vec<crate::evidence::Flag>,
}

/// An appointment with a household (预约): the customer chooses the time; arriving within ±10
/// minutes of it is on time (`workday::punctuality`). Mutable, merged per field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub manager_id: String,
    /// The agreed time, UTC milliseconds.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub agreed_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    pub purpose: VisitPurpose,
    pub status: AppointmentStatus,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
    /// The visit that kept the appointment, once recorded.
    #[serde(default)]
    pub visit_id: Option<String>,
}

/// A manager's sign-in at the start of the day (签到): when and where. Insert-only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub manager_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
}

/// A request, complaint or question (首问负责制): whoever took it first owns it until the
/// customer confirms it is closed (闭环). Mutable, merged per field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household's archive, when the customer has one.
    #[serde(default)]
    pub household_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub owner_manager_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub taken_at_ms: i64,
    pub channel: TicketChannel,
    pub kind: TicketKind,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub text: String,
    /// The reply promised by, YYYY-MM-DD (承诺回复时限).
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub promised_reply_by: String,
    pub status: TicketStatus,
    /// Who it was escalated to, when outside the owner's authority.
    #[serde(default)]
    pub escalated_to: String,
    /// What the customer was told.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reply: String,
    #[serde(default)]
    pub closed_at_ms: Option<i64>,
    #[serde(default)]
    pub closure_confirmed_by_customer: bool,
}

/// 日工作总结: what a grid's records show for one local day (`Store::day_summary`), as the phone
/// saw them. A manager submits it for the back office (`Store::submit_day_summary`); each
/// submission is a new insert-only record, and the latest one counts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    /// Empty until submitted.
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// Who submitted it; empty until submitted.
    #[serde(default)]
    pub manager_id: String,
    /// YYYY-MM-DD, local to `zone_offset_min`.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub date: String,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// When the phone computed it.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub made_at_ms: i64,
    /// The first sign-in of the day in the grid, if any.
    #[serde(default)]
    pub signed_in_at_ms: Option<i64>,
    pub visits: i64,
    /// Appointments of the day kept by a visit, and of those how many on time.
    pub appointments_kept: i64,
    pub appointments_on_time: i64,
    /// Appointments of the day neither kept nor cancelled.
    pub appointments_missed: i64,
    /// Household archives first created that day, and others edited that day.
    pub households_created: i64,
    pub households_updated: i64,
    /// Receipts written that day (voided ones excluded) and the money they took, in fen.
    pub receipts: i64,
    pub collected_fen: i64,
    pub notices: i64,
    /// Promises made on visits that fall due after the day (承诺回复 still to keep).
    pub open_promises: i64,
    /// Tickets not yet replied to or closed.
    pub open_tickets: i64,
    /// The manager's own words: tomorrow's plan, problems met.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub note: String,
}

/// The back office's billing figures for one service of a household, synced to the phones of the
/// grid. Written only by the back office (`load-billing`); phones compute reminders from them.
/// Unknown fields are refused, so that a misspelt column in billing's export is an error, not a
/// figure silently left out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingProfile {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    /// 业务号码 (shown masked on phones).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 40))]
    pub service_number: String,
    /// fixed / broadband / mobile / bundle …
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub product: String,
    /// 合同到期日, YYYY-MM-DD; empty when there is no contract term.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub contract_end: String,
    /// 套餐到期日, YYYY-MM-DD; empty when the plan does not end.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub plan_end: String,
    /// The billing month the spend belongs to, YYYY-MM.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4}-[0-9]{2}$"))]
    pub period: String,
    /// This period's spend (话费), fen.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub spend_fen: i64,
    /// The average monthly spend of the months before, fen: what a drop is measured against.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub baseline_fen: i64,
    /// Billing flags the service for suspension (停机预警): overdue past the grace period.
    #[serde(default)]
    pub suspension_risk: bool,
    /// Already suspended (已停机).
    #[serde(default)]
    pub suspended: bool,
    /// When billing computed these figures (UTC ms); a load fills in its own time when left out.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub as_of_ms: i64,
}

/// A reminder (预警) closed with its outcome. Insert-only: the key carries the reminder's period,
/// so the same matter next period (next year's birthday, next month's drop) is a new reminder.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderOutcome {
    #[serde(default)]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    /// `Reminder::key`: kind, subject and period, e.g. `birthday:<household>:2026`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub reminder_key: String,
    pub kind: ReminderKind,
    pub outcome: ReminderResolution,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub closed_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub manager_id: String,
}

/// A typed record that maps onto one entity kind.
pub trait Record: Serialize + serde::de::DeserializeOwned {
    const KIND: EntityKind;
    fn id(&self) -> &str;
    fn set_id(&mut self, id: String);
}

macro_rules! record {
    ($ty:ty, $kind:expr) => {
        impl Record for $ty {
            const KIND: EntityKind = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn set_id(&mut self, id: String) {
                self.id = id;
            }
        }
    };
}
record!(Premises, EntityKind::Premises);
record!(Household, EntityKind::Household);
record!(ArrearsAccount, EntityKind::ArrearsAccount);
record!(ArrearsNotice, EntityKind::ArrearsNotice);
record!(Visit, EntityKind::Visit);
record!(Receipt, EntityKind::Receipt);
record!(ReceiptVoid, EntityKind::ReceiptVoid);
record!(CustomerSignature, EntityKind::Signature);
record!(Appointment, EntityKind::Appointment);
record!(SignIn, EntityKind::SignIn);
record!(Ticket, EntityKind::Ticket);
record!(DaySummary, EntityKind::DaySummary);
record!(BillingProfile, EntityKind::BillingProfile);
record!(ReminderOutcome, EntityKind::ReminderOutcome);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_field_is_a_declared_field_of_its_kind() {
        fn check<R: Record>(sample: R) {
            let v = serde_json::to_value(&sample).unwrap();
            for key in v.as_object().unwrap().keys() {
                if key != "id" {
                    assert!(R::KIND.field(key).is_some(), "{} has no field {key}", R::KIND.as_str());
                }
            }
            let declared = R::KIND.fields().iter().filter(|f| f.name != "deleted").count();
            assert_eq!(v.as_object().unwrap().len() - 1, declared, "{}", R::KIND.as_str());
        }
        check(crate::testing::household("g1"));
        check(crate::testing::visit("g1", "h1"));
        check(crate::testing::receipt("g1", "a1", "h1", "R1"));
        check(crate::testing::customer_signature("g1", "r1"));
        check(crate::testing::appointment("g1", "h1", 1_700_000_000_000));
        check(crate::testing::sign_in("g1", "mgr-1", 1_700_000_000_000));
        check(crate::testing::ticket("g1", "h1", "2026-11-25"));
        check(crate::testing::day_summary("g1", "mgr-1", "2026-11-23"));
        check(crate::testing::billing_profile("g1", "h1", "2026-11"));
        check(crate::testing::reminder_outcome("g1", "h1", "birthday:h1:2026"));
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for k in EntityKind::ALL {
            assert_eq!(EntityKind::parse(k.as_str()), Some(k));
        }
    }
}
