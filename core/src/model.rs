//! What the store holds, in the users' words: premises (楼宇/平房/商铺), household archives (客户档案),
//! arrears accounts (欠费) and the notices given, visits (走访), receipts (收据) and their voids.
//! Each kind lists its fields once here; storage, merge and the wire all work from that list.

use serde::{Deserialize, Serialize};

/// The largest amount of money any one field may hold, in fen (10^10 fen = 1 亿元), either sign.
/// Chosen so that every sum the system computes fits an i64 with room to spare: 9.2 × 10^8 such
/// amounts add up to less than i64::MAX, far more records than one server holds
/// (docs/sync-protocol.md, "Money").
pub const MAX_FEN: i64 = 10_000_000_000;

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
    // device schema 13: the last column, as `ALTER TABLE … ADD COLUMN` puts it
    j("location"),
    // device schema 14
    j("photos"),
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
    // schema 10: the last column, as `ALTER TABLE … ADD COLUMN` puts it
    t("payment_ref"),
    // device schema 13
    j("location"),
    // device schema 14
    j("photos"),
    // device schema 15: what the customer's copy prints, signed (receipt document version 2)
    t("billing_months"),
    t("collector_name"),
    t("collector_staff_no"),
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
const SIGN_IN: &[FieldSpec] = &[
    t("grid_id"),
    t("manager_id"),
    i("at_ms"),
    i("zone_offset_min"),
    i("lat_e6"),
    i("lon_e6"),
    t("note"),
    // device schema 13
    j("location"),
];
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

/// A text enum: its variants, each with the text it is stored and sent as. With the `uniffi`
/// feature it is a uniffi enum as it is (the variants' docs go into the bindings).
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        // utoipa does not see a `rename` whose text comes from a macro argument; every text is
        // its variant's name in snake_case (a test checks the schema against `as_str`)
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(rename_all = "snake_case"))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum $name { $($(#[$vm])* #[serde(rename = $text)] $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

text_enum!(
    /// 楼宇 / 平房 / 商铺: the kind of premises.
    PremisesType {
        /// 楼宇: an apartment building with units and floors.
        Building = "building",
        /// 平房: a single-storey house.
        Bungalow = "bungalow",
        /// 商铺: a shop front.
        Shop = "shop",
    }
);
text_enum!(
    /// 证件类型. Only the resident ID (居民身份证) has a check digit we can verify.
    IdType {
        /// 居民身份证
        ResidentId = "resident_id",
        /// 护照
        Passport = "passport",
        /// 港澳通行证
        HkMacaoPermit = "hk_macao_permit",
        /// 台湾通行证
        TaiwanPermit = "taiwan_permit",
        /// 营业执照
        BusinessLicense = "business_license",
        /// 其他
        Other = "other",
    }
);
text_enum!(
    /// 走访目的: why the manager visited.
    VisitPurpose {
        /// 走访调研
        Survey = "survey",
        /// 营销
        Sale = "sale",
        /// 业务受理
        ServiceOrder = "service_order",
        /// 欠费催缴
        Arrears = "arrears",
        /// 投诉处理
        Complaint = "complaint",
        /// 关怀
        Care = "care",
        /// 挽留
        Retention = "retention",
    }
);
text_enum!(
    /// How an arrears notice was given: 电话 / 信函 / 欠费通知单.
    NoticeChannel {
        /// 电话
        Phone = "phone",
        /// 信函
        Letter = "letter",
        /// 欠费通知单, delivered in person.
        NoticeSlip = "notice_slip",
    }
);
text_enum!(
    /// How the customer paid.
    PaymentMethod {
        /// 现金: cash counted on the spot, change given (唱收唱付).
        Cash = "cash",
        /// 微信
        Wechat = "wechat",
        /// 支付宝
        Alipay = "alipay",
        /// 银行卡
        Card = "card",
    }
);
text_enum!(
    /// 城市 / 农村
    Area {
        /// 城市
        Urban = "urban",
        /// 农村
        Rural = "rural",
    }
);
text_enum!(
    /// 客户类型: the household's segment.
    Segment {
        /// 住户
        Resident = "resident",
        /// 商铺
        Shop = "shop",
        /// 中小企业
        Sme = "sme",
        /// 流动客户
        Floating = "floating",
        /// 其他
        Other = "other",
    }
);
text_enum!(
    /// 客户等级 by spend rank in the grid: 高端 (top 20 %) / 中端 (20–40 %) / 低端 (bottom 60 %).
    Tier {
        /// 高端
        High = "high",
        /// 中端
        Middle = "middle",
        /// 低端
        Low = "low",
    }
);
text_enum!(
    /// 预付费 / 后付费
    PaymentType {
        /// 预付费
        Prepaid = "prepaid",
        /// 后付费
        Postpaid = "postpaid",
    }
);
text_enum!(
    /// What a customer signature was given for: a receipt (收据) or a visit's work order (工作单).
    SignedDocument {
        /// A receipt for money collected (收据).
        Receipt = "receipt",
        /// A visit's work order (工作单).
        WorkOrder = "work_order",
    }
);

text_enum!(
    /// Where an appointment (预约) stands.
    AppointmentStatus {
        /// 已预约: booked at the time the customer chose.
        Booked = "booked",
        /// 已确认: the customer confirmed the time.
        Confirmed = "confirmed",
        /// 已改约: a new time was agreed.
        Rescheduled = "rescheduled",
        /// 已取消
        Cancelled = "cancelled",
        /// 已完成: a visit kept it.
        Done = "done",
    }
);
text_enum!(
    /// How a ticket reached its owner: at the door, by phone, by WeChat, at the counter, other.
    TicketChannel {
        /// 上门: taken at the door, on a visit.
        InPerson = "in_person",
        /// 电话
        Phone = "phone",
        /// 微信
        Wechat = "wechat",
        /// 营业厅
        Counter = "counter",
        /// 其他
        Other = "other",
    }
);
text_enum!(
    /// 需求 / 投诉 / 咨询
    TicketKind {
        /// 需求: something the customer wants done.
        Request = "request",
        /// 投诉
        Complaint = "complaint",
        /// 咨询: a question not answered on the spot.
        Question = "question",
    }
);
text_enum!(
    /// Where a first-ask ticket stands: 待处理 / 已上报 / 已答复 / 已闭环.
    TicketStatus {
        /// 待处理
        Open = "open",
        /// 已上报: handed up; the owner still owns it.
        Escalated = "escalated",
        /// 已答复: the customer was told; waiting for them to confirm.
        Replied = "replied",
        /// 已闭环: closed with the customer's confirmation.
        Closed = "closed",
    }
);

text_enum!(
    /// 预警: what a reminder is about.
    ReminderKind {
        /// 合同到期: the contract ends within two months.
        ContractExpiry = "contract_expiry",
        /// 套餐到期: the plan ends within two months.
        PlanExpiry = "plan_expiry",
        /// 话务下降一级: this period's spend is more than 30 % below the baseline.
        SpendDropStage1 = "spend_drop_stage1",
        /// 话务下降二级: below the baseline by more than nothing and at most 30 %.
        SpendDropStage2 = "spend_drop_stage2",
        /// 余额不足: prepaid balance under 1,000 fen (10 yuan).
        LowBalance = "low_balance",
        /// 欠费两月: postpaid, money owed, unpaid for two months or more.
        PostpaidOverdue = "postpaid_overdue",
        /// 停机预警: at risk of suspension, or suspended.
        SuspensionRisk = "suspension_risk",
        /// 生日关怀: birthday from today to six days ahead.
        Birthday = "birthday",
    }
);
text_enum!(
    /// How a reminder was closed.
    ReminderResolution {
        /// 已联系
        Contacted = "contacted",
        /// 已续约
        Renewed = "renewed",
        /// 已缴费
        Paid = "paid",
        /// 已挽留
        Retained = "retained",
        /// 已送祝福
        Greeted = "greeted",
        /// 客户拒绝
        Declined = "declined",
        /// 联系不上
        Unreachable = "unreachable",
        /// 无需处理
        NotNeeded = "not_needed",
    }
);

/// One of our services held by the household (公司业务).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OwnService {
    /// fixed / broadband / mobile / bundle / iptv …
    pub product: String,
    /// 业务号码
    pub service_number: String,
    /// 合同号
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub contract_number: String,
    /// 资费套餐
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub plan: String,
    /// 竣工时间, YYYY-MM-DD (may be empty).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub completed_on: String,
}

/// A service the household holds with another operator (其它运营商).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CompetitorService {
    /// china_mobile / china_telecom / china_unicom / china_broadnet / other
    pub operator: String,
    /// broadband / mobile / fixed / …
    pub product: String,
    /// 备注
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub notes: String,
}

/// 楼宇 / 平房 / 商铺: a place in the grid that holds households.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Premises {
    /// Empty when creating: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// The grid (网格) it belongs to.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// Building, bungalow or shop.
    pub premises_type: PremisesType,
    /// e.g. 3号楼, normalised per grid
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// 小区
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub community: String,
    /// 街道
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub street: String,
    /// Full address.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub address: String,
    /// Number of floors, when known (1..=200).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub floors: Option<i64>,
    /// 备注
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub notes: String,
}

/// The household archive (客户档案), prospects included. The store's reads return ID and phone
/// numbers masked unless revealed with a purpose; an edit that sends a masked value back leaves
/// the stored value unchanged.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Household {
    /// Empty when creating: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The building, bungalow or shop, when the household is in one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub premises_id: Option<String>,
    /// 单元
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub unit: String,
    /// 楼层 (-10..=200)
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -10, maximum = 200))]
    pub floor: Option<i64>,
    /// 门牌号 / 房间号
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub room: String,
    /// Full normalised address.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 300))]
    pub address: String,
    /// 客户姓名 (required).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub customer_name: String,
    /// 固话 (masked on read).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9-]*$"))]
    pub landline: String,
    /// 手机, 11 digits starting with 1 (masked on read).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(1[0-9]{10})?$"))]
    pub mobile: String,
    /// 其他联系方式
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub other_contact: String,
    /// 证件类型; required when an ID number is given.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub id_type: Option<IdType>,
    /// 证件号码 (masked on read: 1101**********0021).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id_number: String,
    /// 工作单位
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub work_unit: String,
    /// 公司业务
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub services: Vec<OwnService>,
    /// 其它运营商业务
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub competitor_services: Vec<CompetitorService>,
    /// 城市 / 农村
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub area: Option<Area>,
    /// 客户类型
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub segment: Option<Segment>,
    /// 客户等级
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub tier: Option<Tier>,
    /// 对服务有何意见
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub opinions: String,
    /// 生日, YYYY-MM-DD (may be empty).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub birthday: String,
    /// 备注
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub notes: String,
}

/// An arrears account as last known from the back office (欠费). Comes from the server only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ArrearsAccount {
    /// Account id (the server's).
    #[serde(default)]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household that owes.
    pub household_id: String,
    /// 账号
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub account_no: String,
    /// 业务号码
    #[serde(default)]
    pub service_number: String,
    /// Prepaid or postpaid.
    pub payment_type: PaymentType,
    /// Amount owed, fen.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub owed_fen: i64,
    /// Months overdue.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1200))]
    pub months_overdue: i64,
    /// Prepaid balance in fen, when known.
    #[serde(default)]
    pub balance_fen: Option<i64>,
    /// When the back office last computed the debt, UTC ms.
    pub as_of_ms: i64,
}

/// A notice of arrears given to the customer (phone call, letter, 欠费通知单). Insert-only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ArrearsNotice {
    /// Empty when recording: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The arrears account the notice is about.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub account_id: String,
    /// The household.
    pub household_id: String,
    /// Phone, letter or notice slip.
    pub channel: NoticeChannel,
    /// When it was given, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub given_at_ms: i64,
    /// The phone's zone offset then, minutes east of UTC (480 in China).
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// What the customer said.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub outcome: String,
    /// The time agreed for payment, UTC ms.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub promised_pay_at_ms: Option<i64>,
    /// 备注
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub notes: String,
    /// The manager who gave it.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub manager_id: String,
}

/// A visit (上门服务 / 走访). Insert-only: recorded once, never edited.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Visit {
    /// Empty when recording: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household visited.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    /// The time agreed with the customer (预约), UTC ms.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub appointment_at_ms: Option<i64>,
    /// Time of arrival, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub arrived_at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// GPS latitude in micro-degrees, when the phone had a fix.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    /// 走访目的
    pub purpose: VisitPurpose,
    /// 走访结果
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub outcome: String,
    /// 客户需求
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub needs: String,
    /// 竞争对手信息
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub competitor_info: String,
    /// 客户意见
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub opinions: String,
    /// A question that could not be answered on the spot.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub open_question: String,
    /// The reply or action promised (承诺回复).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub follow_up: String,
    /// Promised by, YYYY-MM-DD (承诺回复时限); needs `follow_up`.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub follow_up_due: String,
    /// The customer's signature on the work order, when one was taken.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub signature_id: Option<String>,
    /// The manager who visited.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub manager_id: String,
    /// Where the phone was (`location::Position`): a fix or "no fix within 30 s"; `lat_e6` and
    /// `lon_e6` are the fix's. None from an app older than this field: left off the wire then,
    /// so such a fact is exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub location: Option<crate::location::Position>,
    /// Photos of this visit (the shop front, a competitor's broadband box, the paper form): the
    /// SHA-256 of each prepared photo (`photos::photo_sha256`), at most 12, in the order taken. They
    /// are lines of the work order the customer signs, so a swapped photo breaks its seal. The
    /// photos themselves travel on the upload channel (`PUT /v1/photos/…`). Left off the wire
    /// when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    #[cfg_attr(feature = "openapi", schema(max_items = 12))]
    pub photos: Vec<String>,
}

/// Money collected against a formal numbered receipt (正式话费收据). Insert-only.
/// `change_fen` must equal `cash_received_fen - amount_fen` (唱收唱付).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Receipt {
    /// Empty when recording: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The number printed on the receipt; unique.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub receipt_no: String,
    /// The arrears account paid.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub account_id: String,
    /// The household.
    pub household_id: String,
    /// Debt before this payment, fen.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub owed_before_fen: i64,
    /// Amount paid, fen (> 0).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount_fen: i64,
    /// Cash handed over, fen (>= amount).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub cash_received_fen: i64,
    /// Change given back, fen.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub change_fen: i64,
    /// Cash, WeChat, Alipay or card.
    pub method: PaymentMethod,
    /// When the money was taken, UTC ms.
    pub collected_at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// The manager who collected.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub collector_id: String,
    /// Set by the store to this device's id.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub device_id: String,
    /// GPS latitude in micro-degrees.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    /// The customer's signature on the receipt.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub signature_id: Option<String>,
    /// The payment's reference (交易单号 / 参考号) for WeChat Pay, Alipay or a card, as the
    /// customer's payment screen or the terminal shows it; empty for cash. Left off the wire and
    /// out of the signed document when empty, so a receipt without one is exactly as before.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub payment_ref: String,
    /// Where the phone was (`location::Position`): a fix or "no fix within 30 s"; `lat_e6` and
    /// `lon_e6` are the fix's. None from an app older than this field: left off the wire then,
    /// so such a fact is exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub location: Option<crate::location::Position>,
    /// Photos attached to the receipt (a scan of the paper receipt or form): the SHA-256 of each
    /// prepared photo, at most 12; lines of the signed receipt document. Left off the wire when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    #[cfg_attr(feature = "openapi", schema(max_items = 12))]
    pub photos: Vec<String>,
    /// The billing months whose arrears this pays (缴费月份): `YYYY-MM`, or `YYYY-MM/YYYY-MM` for a
    /// run of months, first to last. Empty: the store fills it from the account's months overdue
    /// (`receipts::billing_months_owed`). Signed (receipt document version 2); left off the wire
    /// when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 15))]
    pub billing_months: String,
    /// The collector's name as printed (收款人). Empty: the store fills it from the device's
    /// collector profile (`Store::set_collector_profile`, the manager's name at enrolment).
    /// Signed (document version 2); left off the wire when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub collector_name: String,
    /// The collector's staff number (工号). Empty: the store fills it from the device's collector
    /// profile. Signed (document version 2); left off the wire when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub collector_staff_no: String,
}

/// Voids a mistaken receipt with a reason; the receipt itself is never edited.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptVoid {
    /// The void's own id.
    #[serde(default)]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The receipt voided.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub receipt_id: String,
    /// Why.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// When, UTC ms.
    pub voided_at_ms: i64,
    /// Who voided it.
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Appointment {
    /// Empty when booking: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household to visit.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    /// The manager who will go (empty: the enrolled manager).
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub manager_id: String,
    /// The agreed time, UTC milliseconds.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub agreed_at_ms: i64,
    /// The zone offset the time was agreed in, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// Why the visit is made.
    pub purpose: VisitPurpose,
    /// Where it stands (booking sets it to booked).
    pub status: AppointmentStatus,
    /// A note: what the customer asked, why it was moved or cancelled.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
    /// The visit that kept the appointment, once recorded.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub visit_id: Option<String>,
}

/// A manager's sign-in at the start of the day (签到): when and, when the phone has a fix, where.
/// Insert-only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignIn {
    /// Empty when signing in: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The manager signing in.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub manager_id: String,
    /// When, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// GPS latitude in micro-degrees, when the phone had a fix.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -90_000_000, maximum = 90_000_000))]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    #[cfg_attr(feature = "openapi", schema(minimum = -180_000_000, maximum = 180_000_000))]
    pub lon_e6: Option<i64>,
    /// 备注, e.g. where the morning meeting was.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
    /// Where the phone was (`location::Position`): a fix or "no fix within 30 s"; `lat_e6` and
    /// `lon_e6` are the fix's. None from an app older than this field: left off the wire then,
    /// so such a fact is exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub location: Option<crate::location::Position>,
}

/// A request, complaint or question (首问负责制): whoever took it first owns it, with the reply
/// date promised, until the customer confirms it is closed (闭环). Mutable, merged per field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Ticket {
    /// Empty when opening: the store assigns one.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household's archive, when the customer has one (empty otherwise).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub household_id: String,
    /// 首问责任人: the manager who took it and owns it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub owner_manager_id: String,
    /// When it was taken, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub taken_at_ms: i64,
    /// How it was taken.
    pub channel: TicketChannel,
    /// Request, complaint or question.
    pub kind: TicketKind,
    /// The issue in the customer's words.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub text: String,
    /// The reply promised by, YYYY-MM-DD (承诺回复时限).
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub promised_reply_by: String,
    /// Where it stands (opening sets it to open).
    pub status: TicketStatus,
    /// Who it was escalated to, when outside the owner's authority.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub escalated_to: String,
    /// What the customer was told.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reply: String,
    /// When it was closed, UTC ms.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub closed_at_ms: Option<i64>,
    /// The customer confirmed the closure (闭环).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub closure_confirmed_by_customer: bool,
}

/// 日工作总结: what a grid's records show for one local day (`Store::day_summary`), as the phone
/// saw them (after a sync, those of every phone in the grid), with the manager's note. A manager
/// submits it for the back office (`Store::submit_day_summary`); each submission is a new
/// insert-only record, and the latest one counts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DaySummary {
    /// Empty until submitted.
    #[serde(default)]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// Who submitted it; empty until submitted.
    #[serde(default)]
    pub manager_id: String,
    /// The local day, YYYY-MM-DD, local to `zone_offset_min`.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub date: String,
    /// The zone offset of the day, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// When the phone computed it, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub made_at_ms: i64,
    /// The first sign-in of the day in the grid, if any, UTC ms.
    #[serde(default)]
    pub signed_in_at_ms: Option<i64>,
    /// 走访: visits recorded that day.
    pub visits: i64,
    /// Appointments of the day kept by a visit.
    pub appointments_kept: i64,
    /// Of those, kept within ±10 minutes.
    pub appointments_on_time: i64,
    /// Appointments of the day neither kept nor cancelled.
    pub appointments_missed: i64,
    /// 新建档案: household archives first created that day.
    pub households_created: i64,
    /// 更新档案: other archives edited that day.
    pub households_updated: i64,
    /// Receipts written that day, voided ones excluded.
    pub receipts: i64,
    /// 收款: the money those receipts took, fen.
    pub collected_fen: i64,
    /// Arrears notices given.
    pub notices: i64,
    /// 未兑现承诺: promises made on visits that fall due after the day (承诺回复 still to keep).
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BillingProfile {
    /// Its id.
    #[serde(default)]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household.
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

/// A reminder (预警) closed with its outcome, synced to every phone and the back office.
/// Insert-only: the key carries the reminder's period, so the same matter next period (next
/// year's birthday, next month's drop) is a new reminder.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReminderOutcome {
    /// Its id.
    #[serde(default)]
    pub id: String,
    /// 网格
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub grid_id: String,
    /// The household.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub household_id: String,
    /// `Reminder::key`: kind, subject and period, e.g. `birthday:<household>:2026`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub reminder_key: String,
    /// What the reminder was about.
    pub kind: ReminderKind,
    /// How it was closed.
    pub outcome: ReminderResolution,
    /// What happened, in the manager's words.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: String,
    /// When, UTC ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub closed_at_ms: i64,
    /// The zone offset of the phone, minutes east of UTC.
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub zone_offset_min: i64,
    /// Who closed it.
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
        // a position and photos are only serialised when the app gave them
        let located = Some(crate::location::Position::no_fix());
        let photo = crate::photos::photo_sha256(b"door plate");
        check(Visit { location: located, photos: vec![photo.clone()], ..crate::testing::visit("g1", "h1") });
        // a reference is only serialised when there is one
        check(Receipt {
            payment_ref: "4200001234".into(),
            location: located,
            photos: vec![photo],
            billing_months: "2026-09/2026-10".into(),
            collector_name: "张伟".into(),
            collector_staff_no: "HN0731".into(),
            ..crate::testing::receipt("g1", "a1", "h1", "R1")
        });
        check(crate::testing::customer_signature("g1", "r1"));
        check(crate::testing::appointment("g1", "h1", 1_700_000_000_000));
        check(SignIn { location: located, ..crate::testing::sign_in("g1", "mgr-1", 1_700_000_000_000) });
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
