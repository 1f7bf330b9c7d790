//! The core's records and enums as the apps see them (uniffi records and enums), each with its
//! conversion to and from the core type. Field for field the same as gridbook_core::model,
//! reports and archive: the core has no uniffi dependency, so the FFI mirrors and converts here.
//! Money is integer fen (i64) everywhere; times are UTC milliseconds with the zone offset beside.

use gridbook_core as core;

/// Mirrors a core text enum as a uniffi enum, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident = $core:path { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl From<$core> for $name {
            fn from(v: $core) -> Self { match v { $(<$core>::$v => $name::$v),+ } }
        }
        impl From<$name> for $core {
            fn from(v: $name) -> Self { match v { $($name::$v => <$core>::$v),+ } }
        }
    };
}
pub(crate) use mirror_enum;

/// Converts a mirrored record field by field (`.into()` on each: the same type, or a mirrored
/// enum): `<=` from the core only, `<=>` both ways.
macro_rules! mirror_fields {
    ($name:ident <= $core:path { $($f:ident),+ $(,)? }) => {
        impl From<$core> for $name {
            fn from(r: $core) -> Self { Self { $($f: r.$f.into()),+ } }
        }
    };
    ($name:ident <=> $core:path { $($f:ident),+ $(,)? }) => {
        mirror_fields!($name <= $core { $($f),+ });
        impl From<$name> for $core {
            fn from(r: $name) -> Self { Self { $($f: r.$f.into()),+ } }
        }
    };
}

mirror_enum!(
    /// 楼宇 / 平房 / 商铺: the kind of premises.
    PremisesType = core::PremisesType {
        /// 楼宇: an apartment building with units and floors.
        Building,
        /// 平房: a single-storey house.
        Bungalow,
        /// 商铺: a shop front.
        Shop,
    }
);
mirror_enum!(
    /// 证件类型: the kind of ID document. Only the resident ID has a check digit the app verifies.
    IdType = core::IdType {
        /// 居民身份证
        ResidentId,
        /// 护照
        Passport,
        /// 港澳通行证
        HkMacaoPermit,
        /// 台湾通行证
        TaiwanPermit,
        /// 营业执照
        BusinessLicense,
        /// 其他
        Other,
    }
);
mirror_enum!(
    /// 走访目的: why the manager visited.
    VisitPurpose = core::VisitPurpose {
        /// 走访调研
        Survey,
        /// 营销
        Sale,
        /// 业务受理
        ServiceOrder,
        /// 欠费催缴
        Arrears,
        /// 投诉处理
        Complaint,
        /// 关怀
        Care,
        /// 挽留
        Retention,
    }
);
mirror_enum!(
    /// How an arrears notice was given.
    NoticeChannel = core::NoticeChannel {
        /// 电话
        Phone,
        /// 信函
        Letter,
        /// 欠费通知单, delivered in person.
        NoticeSlip,
    }
);
mirror_enum!(
    /// How the customer paid.
    PaymentMethod = core::PaymentMethod {
        /// 现金: cash counted on the spot, change given (唱收唱付).
        Cash,
        /// 微信
        Wechat,
        /// 支付宝
        Alipay,
        /// 银行卡
        Card,
    }
);
mirror_enum!(
    /// 城市 / 农村
    Area = core::Area {
        /// 城市
        Urban,
        /// 农村
        Rural,
    }
);
mirror_enum!(
    /// 客户类型: the household's segment.
    Segment = core::Segment {
        /// 住户
        Resident,
        /// 商铺
        Shop,
        /// 中小企业
        Sme,
        /// 流动客户
        Floating,
        /// 其他
        Other,
    }
);
mirror_enum!(
    /// 客户等级 by spend rank in the area: top 20 %, next 20 %, bottom 60 %.
    Tier = core::Tier {
        /// 高端
        High,
        /// 中端
        Middle,
        /// 低端
        Low,
    }
);
mirror_enum!(
    /// 预付费 / 后付费
    PaymentType = core::PaymentType {
        /// 预付费
        Prepaid,
        /// 后付费
        Postpaid,
    }
);
mirror_enum!(
    /// Why an existing archive may be the household being created again.
    DuplicateReason = core::DuplicateReason {
        /// Same door: premises, unit and room (or the same full address).
        SameAddress,
        /// Same ID document number.
        SameIdNumber,
        /// Same mobile or landline number.
        SamePhone,
    }
);

/// 楼宇 / 平房 / 商铺: a place in the grid that holds households.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Premises {
    /// Empty when creating: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// The grid (网格) it belongs to.
    pub grid_id: String,
    /// Building, bungalow or shop.
    pub premises_type: PremisesType,
    /// e.g. 3号楼, named by the grid's normalised scheme.
    pub name: String,
    /// 小区
    #[uniffi(default = "")]
    pub community: String,
    /// 街道
    #[uniffi(default = "")]
    pub street: String,
    /// Full address.
    #[uniffi(default = "")]
    pub address: String,
    /// Number of floors, when known (1..=200).
    #[uniffi(default = None)]
    pub floors: Option<i64>,
    /// 备注
    #[uniffi(default = "")]
    pub notes: String,
}

impl From<core::Premises> for Premises {
    fn from(p: core::Premises) -> Self {
        Self {
            id: p.id,
            grid_id: p.grid_id,
            premises_type: p.premises_type.into(),
            name: p.name,
            community: p.community,
            street: p.street,
            address: p.address,
            floors: p.floors,
            notes: p.notes,
        }
    }
}

impl From<Premises> for core::Premises {
    fn from(p: Premises) -> Self {
        Self {
            id: p.id,
            grid_id: p.grid_id,
            premises_type: p.premises_type.into(),
            name: p.name,
            community: p.community,
            street: p.street,
            address: p.address,
            floors: p.floors,
            notes: p.notes,
        }
    }
}

/// One of our services the household holds (公司业务).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OwnService {
    /// fixed / broadband / mobile / bundle / iptv …
    pub product: String,
    /// 业务号码
    pub service_number: String,
    /// 合同号
    #[uniffi(default = "")]
    pub contract_number: String,
    /// 资费套餐
    #[uniffi(default = "")]
    pub plan: String,
    /// 竣工时间, YYYY-MM-DD (may be empty).
    #[uniffi(default = "")]
    pub completed_on: String,
}

/// A service the household holds with another operator (其它运营商).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CompetitorService {
    /// china_mobile / china_telecom / china_unicom / china_broadnet / other
    pub operator: String,
    /// broadband / mobile / fixed / …
    pub product: String,
    /// 备注
    #[uniffi(default = "")]
    pub notes: String,
}

/// The household archive (客户档案), prospects included. Reads return ID and phone numbers
/// masked unless revealed with a purpose; an edit that sends a masked value back leaves the
/// stored value unchanged.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Household {
    /// Empty when creating: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The building, bungalow or shop, when the household is in one.
    #[uniffi(default = None)]
    pub premises_id: Option<String>,
    /// 单元
    #[uniffi(default = "")]
    pub unit: String,
    /// 楼层 (-10..=200)
    #[uniffi(default = None)]
    pub floor: Option<i64>,
    /// 门牌号 / 房间号
    #[uniffi(default = "")]
    pub room: String,
    /// Full normalised address.
    #[uniffi(default = "")]
    pub address: String,
    /// 客户姓名 (required).
    pub customer_name: String,
    /// 固话 (masked on read).
    #[uniffi(default = "")]
    pub landline: String,
    /// 手机, 11 digits starting with 1 (masked on read).
    #[uniffi(default = "")]
    pub mobile: String,
    /// 其他联系方式
    #[uniffi(default = "")]
    pub other_contact: String,
    /// 证件类型; required when an ID number is given.
    #[uniffi(default = None)]
    pub id_type: Option<IdType>,
    /// 证件号码 (masked on read: 1101**********0021).
    #[uniffi(default = "")]
    pub id_number: String,
    /// 工作单位
    #[uniffi(default = "")]
    pub work_unit: String,
    /// 公司业务
    #[uniffi(default = [])]
    pub services: Vec<OwnService>,
    /// 其它运营商业务
    #[uniffi(default = [])]
    pub competitor_services: Vec<CompetitorService>,
    /// 城市 / 农村
    #[uniffi(default = None)]
    pub area: Option<Area>,
    /// 客户类型
    #[uniffi(default = None)]
    pub segment: Option<Segment>,
    /// 客户等级
    #[uniffi(default = None)]
    pub tier: Option<Tier>,
    /// 对服务有何意见
    #[uniffi(default = "")]
    pub opinions: String,
    /// 生日, YYYY-MM-DD (may be empty).
    #[uniffi(default = "")]
    pub birthday: String,
    /// 备注
    #[uniffi(default = "")]
    pub notes: String,
}

impl From<core::Household> for Household {
    fn from(h: core::Household) -> Self {
        Self {
            id: h.id,
            grid_id: h.grid_id,
            premises_id: h.premises_id,
            unit: h.unit,
            floor: h.floor,
            room: h.room,
            address: h.address,
            customer_name: h.customer_name,
            landline: h.landline,
            mobile: h.mobile,
            other_contact: h.other_contact,
            id_type: h.id_type.map(Into::into),
            id_number: h.id_number,
            work_unit: h.work_unit,
            services: h
                .services
                .into_iter()
                .map(|s| OwnService {
                    product: s.product,
                    service_number: s.service_number,
                    contract_number: s.contract_number,
                    plan: s.plan,
                    completed_on: s.completed_on,
                })
                .collect(),
            competitor_services: h
                .competitor_services
                .into_iter()
                .map(|c| CompetitorService { operator: c.operator, product: c.product, notes: c.notes })
                .collect(),
            area: h.area.map(Into::into),
            segment: h.segment.map(Into::into),
            tier: h.tier.map(Into::into),
            opinions: h.opinions,
            birthday: h.birthday,
            notes: h.notes,
        }
    }
}

impl From<Household> for core::Household {
    fn from(h: Household) -> Self {
        Self {
            id: h.id,
            grid_id: h.grid_id,
            premises_id: h.premises_id,
            unit: h.unit,
            floor: h.floor,
            room: h.room,
            address: h.address,
            customer_name: h.customer_name,
            landline: h.landline,
            mobile: h.mobile,
            other_contact: h.other_contact,
            id_type: h.id_type.map(Into::into),
            id_number: h.id_number,
            work_unit: h.work_unit,
            services: h
                .services
                .into_iter()
                .map(|s| core::OwnService {
                    product: s.product,
                    service_number: s.service_number,
                    contract_number: s.contract_number,
                    plan: s.plan,
                    completed_on: s.completed_on,
                })
                .collect(),
            competitor_services: h
                .competitor_services
                .into_iter()
                .map(|c| core::CompetitorService { operator: c.operator, product: c.product, notes: c.notes })
                .collect(),
            area: h.area.map(Into::into),
            segment: h.segment.map(Into::into),
            tier: h.tier.map(Into::into),
            opinions: h.opinions,
            birthday: h.birthday,
            notes: h.notes,
        }
    }
}

/// An archive that may be the one being created again, and why. Masked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PossibleDuplicate {
    /// The existing archive (masked).
    pub household: Household,
    /// What it has in common with the new one.
    pub reasons: Vec<DuplicateReason>,
}

impl From<core::PossibleDuplicate> for PossibleDuplicate {
    fn from(d: core::PossibleDuplicate) -> Self {
        Self { household: d.household.into(), reasons: d.reasons.into_iter().map(Into::into).collect() }
    }
}

/// An arrears account as last known from the back office (欠费). Comes from the server only.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ArrearsAccount {
    /// Account id (the server's).
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household that owes.
    pub household_id: String,
    /// 账号
    pub account_no: String,
    /// 业务号码
    pub service_number: String,
    /// Prepaid or postpaid.
    pub payment_type: PaymentType,
    /// Amount owed, fen.
    pub owed_fen: i64,
    /// Months overdue.
    pub months_overdue: i64,
    /// Prepaid balance in fen, when known.
    pub balance_fen: Option<i64>,
    /// When the back office last computed the debt, UTC ms.
    pub as_of_ms: i64,
}

impl From<core::ArrearsAccount> for ArrearsAccount {
    fn from(a: core::ArrearsAccount) -> Self {
        Self {
            id: a.id,
            grid_id: a.grid_id,
            household_id: a.household_id,
            account_no: a.account_no,
            service_number: a.service_number,
            payment_type: a.payment_type.into(),
            owed_fen: a.owed_fen,
            months_overdue: a.months_overdue,
            balance_fen: a.balance_fen,
            as_of_ms: a.as_of_ms,
        }
    }
}

/// A notice of arrears given to the customer (phone call, letter, 欠费通知单). Insert-only.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ArrearsNotice {
    /// Empty when recording: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The arrears account the notice is about.
    pub account_id: String,
    /// The household.
    pub household_id: String,
    /// Phone, letter or notice slip.
    pub channel: NoticeChannel,
    /// When it was given, UTC ms.
    pub given_at_ms: i64,
    /// The phone's zone offset then, minutes east of UTC (480 in China).
    pub zone_offset_min: i64,
    /// What the customer said.
    #[uniffi(default = "")]
    pub outcome: String,
    /// The time agreed for payment, UTC ms.
    #[uniffi(default = None)]
    pub promised_pay_at_ms: Option<i64>,
    /// 备注
    #[uniffi(default = "")]
    pub notes: String,
    /// The manager who gave it.
    #[uniffi(default = "")]
    pub manager_id: String,
}

impl From<core::ArrearsNotice> for ArrearsNotice {
    fn from(n: core::ArrearsNotice) -> Self {
        Self {
            id: n.id,
            grid_id: n.grid_id,
            account_id: n.account_id,
            household_id: n.household_id,
            channel: n.channel.into(),
            given_at_ms: n.given_at_ms,
            zone_offset_min: n.zone_offset_min,
            outcome: n.outcome,
            promised_pay_at_ms: n.promised_pay_at_ms,
            notes: n.notes,
            manager_id: n.manager_id,
        }
    }
}

impl From<ArrearsNotice> for core::ArrearsNotice {
    fn from(n: ArrearsNotice) -> Self {
        Self {
            id: n.id,
            grid_id: n.grid_id,
            account_id: n.account_id,
            household_id: n.household_id,
            channel: n.channel.into(),
            given_at_ms: n.given_at_ms,
            zone_offset_min: n.zone_offset_min,
            outcome: n.outcome,
            promised_pay_at_ms: n.promised_pay_at_ms,
            notes: n.notes,
            manager_id: n.manager_id,
        }
    }
}

/// A visit (上门服务 / 走访). Insert-only: recorded once, never edited.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    /// Empty when recording: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household visited.
    pub household_id: String,
    /// The time agreed with the customer (预约), UTC ms.
    #[uniffi(default = None)]
    pub appointment_at_ms: Option<i64>,
    /// Time of arrival, UTC ms.
    pub arrived_at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    pub zone_offset_min: i64,
    /// GPS latitude in micro-degrees, when the phone had a fix.
    #[uniffi(default = None)]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[uniffi(default = None)]
    pub lon_e6: Option<i64>,
    /// 走访目的
    pub purpose: VisitPurpose,
    /// 走访结果
    #[uniffi(default = "")]
    pub outcome: String,
    /// 客户需求
    #[uniffi(default = "")]
    pub needs: String,
    /// 竞争对手信息
    #[uniffi(default = "")]
    pub competitor_info: String,
    /// 客户意见
    #[uniffi(default = "")]
    pub opinions: String,
    /// A question that could not be answered on the spot.
    #[uniffi(default = "")]
    pub open_question: String,
    /// The reply or action promised (承诺回复).
    #[uniffi(default = "")]
    pub follow_up: String,
    /// Promised by, YYYY-MM-DD (承诺回复时限); needs `follow_up`.
    #[uniffi(default = "")]
    pub follow_up_due: String,
    /// The customer's signature on the work order, when one was taken.
    #[uniffi(default = None)]
    pub signature_id: Option<String>,
    /// The manager who visited.
    #[uniffi(default = "")]
    pub manager_id: String,
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Self {
        Self {
            id: v.id,
            grid_id: v.grid_id,
            household_id: v.household_id,
            appointment_at_ms: v.appointment_at_ms,
            arrived_at_ms: v.arrived_at_ms,
            zone_offset_min: v.zone_offset_min,
            lat_e6: v.lat_e6,
            lon_e6: v.lon_e6,
            purpose: v.purpose.into(),
            outcome: v.outcome,
            needs: v.needs,
            competitor_info: v.competitor_info,
            opinions: v.opinions,
            open_question: v.open_question,
            follow_up: v.follow_up,
            follow_up_due: v.follow_up_due,
            signature_id: v.signature_id,
            manager_id: v.manager_id,
        }
    }
}

impl From<Visit> for core::Visit {
    fn from(v: Visit) -> Self {
        Self {
            id: v.id,
            grid_id: v.grid_id,
            household_id: v.household_id,
            appointment_at_ms: v.appointment_at_ms,
            arrived_at_ms: v.arrived_at_ms,
            zone_offset_min: v.zone_offset_min,
            lat_e6: v.lat_e6,
            lon_e6: v.lon_e6,
            purpose: v.purpose.into(),
            outcome: v.outcome,
            needs: v.needs,
            competitor_info: v.competitor_info,
            opinions: v.opinions,
            open_question: v.open_question,
            follow_up: v.follow_up,
            follow_up_due: v.follow_up_due,
            signature_id: v.signature_id,
            manager_id: v.manager_id,
        }
    }
}

/// Money collected against a formal numbered receipt (正式话费收据). Insert-only.
/// `change_fen` must equal `cash_received_fen - amount_fen` (唱收唱付).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Receipt {
    /// Empty when recording: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The number printed on the receipt; unique.
    pub receipt_no: String,
    /// The arrears account paid.
    pub account_id: String,
    /// The household.
    pub household_id: String,
    /// Debt before this payment, fen.
    pub owed_before_fen: i64,
    /// Amount paid, fen (> 0).
    pub amount_fen: i64,
    /// Cash handed over, fen (>= amount).
    pub cash_received_fen: i64,
    /// Change given back, fen.
    pub change_fen: i64,
    /// Cash, WeChat, Alipay or card.
    pub method: PaymentMethod,
    /// When the money was taken, UTC ms.
    pub collected_at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    pub zone_offset_min: i64,
    /// The manager who collected.
    #[uniffi(default = "")]
    pub collector_id: String,
    /// Set by the store to this device's id.
    #[uniffi(default = "")]
    pub device_id: String,
    /// GPS latitude in micro-degrees.
    #[uniffi(default = None)]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[uniffi(default = None)]
    pub lon_e6: Option<i64>,
    /// The customer's signature on the receipt.
    #[uniffi(default = None)]
    pub signature_id: Option<String>,
    /// 交易单号 / 参考号 of a WeChat Pay, Alipay or card payment; empty for cash. 4–64 letters,
    /// digits, '-' or '_'; sealed with the receipt and printed on the customer's copy.
    #[uniffi(default = "")]
    pub payment_ref: String,
}

impl From<core::Receipt> for Receipt {
    fn from(r: core::Receipt) -> Self {
        Self {
            id: r.id,
            grid_id: r.grid_id,
            receipt_no: r.receipt_no,
            account_id: r.account_id,
            household_id: r.household_id,
            owed_before_fen: r.owed_before_fen,
            amount_fen: r.amount_fen,
            cash_received_fen: r.cash_received_fen,
            change_fen: r.change_fen,
            method: r.method.into(),
            collected_at_ms: r.collected_at_ms,
            zone_offset_min: r.zone_offset_min,
            collector_id: r.collector_id,
            device_id: r.device_id,
            lat_e6: r.lat_e6,
            lon_e6: r.lon_e6,
            signature_id: r.signature_id,
            payment_ref: r.payment_ref,
        }
    }
}

impl From<Receipt> for core::Receipt {
    fn from(r: Receipt) -> Self {
        Self {
            id: r.id,
            grid_id: r.grid_id,
            receipt_no: r.receipt_no,
            account_id: r.account_id,
            household_id: r.household_id,
            owed_before_fen: r.owed_before_fen,
            amount_fen: r.amount_fen,
            cash_received_fen: r.cash_received_fen,
            change_fen: r.change_fen,
            method: r.method.into(),
            collected_at_ms: r.collected_at_ms,
            zone_offset_min: r.zone_offset_min,
            collector_id: r.collector_id,
            device_id: r.device_id,
            lat_e6: r.lat_e6,
            lon_e6: r.lon_e6,
            signature_id: r.signature_id,
            payment_ref: r.payment_ref,
        }
    }
}

/// Voids a mistaken receipt with a reason; the receipt itself is never edited.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptVoid {
    /// The void's own id.
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The receipt voided.
    pub receipt_id: String,
    /// Why.
    pub reason: String,
    /// When, UTC ms.
    pub voided_at_ms: i64,
    /// Who voided it.
    pub voided_by: String,
}

impl From<core::ReceiptVoid> for ReceiptVoid {
    fn from(v: core::ReceiptVoid) -> Self {
        Self {
            id: v.id,
            grid_id: v.grid_id,
            receipt_id: v.receipt_id,
            reason: v.reason,
            voided_at_ms: v.voided_at_ms,
            voided_by: v.voided_by,
        }
    }
}

/// One event in a household's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HistoryEntry {
    /// A visit. (Variants are not named after the record types: Kotlin would confuse the two.)
    VisitEntry {
        /// The visit recorded.
        visit: Visit,
    },
    /// An arrears notice given.
    NoticeEntry {
        /// The notice recorded.
        notice: ArrearsNotice,
    },
    /// Money collected.
    ReceiptEntry {
        /// The receipt.
        receipt: Receipt,
        /// Whether it was voided since.
        voided: bool,
    },
}

impl From<core::HistoryEntry> for HistoryEntry {
    fn from(e: core::HistoryEntry) -> Self {
        match e {
            core::HistoryEntry::Visit(v) => HistoryEntry::VisitEntry { visit: v.into() },
            core::HistoryEntry::Notice(n) => HistoryEntry::NoticeEntry { notice: n.into() },
            core::HistoryEntry::Receipt { receipt, voided } => {
                HistoryEntry::ReceiptEntry { receipt: receipt.into(), voided }
            }
        }
    }
}

/// A line of the grid's arrears list, largest debt first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ArrearsLine {
    /// The account as last known from the back office.
    pub account: ArrearsAccount,
    /// The household's customer name.
    pub customer_name: String,
    /// The household's address.
    pub address: String,
    /// Collected on this phone and not yet acknowledged by the server, fen.
    pub collected_unsynced_fen: i64,
    /// Last known debt minus what this phone collected since (never below zero), fen.
    pub remaining_fen: i64,
}

impl From<core::ArrearsLine> for ArrearsLine {
    fn from(l: core::ArrearsLine) -> Self {
        Self {
            account: l.account.into(),
            customer_name: l.customer_name,
            address: l.address,
            collected_unsynced_fen: l.collected_unsynced_fen,
            remaining_fen: l.remaining_fen,
        }
    }
}

/// Households using one product (ours, or another operator's).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProductCount {
    /// Our product (broadband, fixed, mobile, bundle …) or the other operator's name.
    pub name: String,
    /// Households using it.
    pub households: i64,
    /// 占有率 in basis points: households using it per 10,000 households.
    pub penetration_bp: i64,
}

/// 网格信息档案汇总: the grid in numbers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridSummary {
    /// The grid.
    pub grid_id: String,
    /// Household archives.
    pub households: i64,
    /// 楼宇
    pub buildings: i64,
    /// 平房
    pub bungalows: i64,
    /// 商铺
    pub shops: i64,
    /// Households with none of our services.
    pub prospects: i64,
    /// Our products, most used first.
    pub own_products: Vec<ProductCount>,
    /// Other operators, most used first.
    pub competitors: Vec<ProductCount>,
}

impl From<core::GridSummary> for GridSummary {
    fn from(s: core::GridSummary) -> Self {
        let counts = |v: Vec<core::ProductCount>| {
            v.into_iter()
                .map(|c| ProductCount { name: c.name, households: c.households, penetration_bp: c.penetration_bp })
                .collect()
        };
        Self {
            grid_id: s.grid_id,
            households: s.households,
            buildings: s.buildings,
            bungalows: s.bungalows,
            shops: s.shops,
            prospects: s.prospects,
            own_products: counts(s.own_products),
            competitors: counts(s.competitors),
        }
    }
}

/// A change the server refused for good, waiting on this device with its reason until someone
/// retries it (after fixing the cause) or discards it. Field values are not included: they may
/// hold personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedChange {
    /// The change's id: pass it to retry or discard.
    pub op_id: String,
    /// The kind of record: "household", "visit", "receipt", …
    pub kind: String,
    /// The record's id.
    pub entity_id: String,
    /// The grid the record belongs to.
    pub grid_id: String,
    /// Whether the change created the record (else it edited it).
    pub is_create: bool,
    /// The fields the change set.
    pub fields: Vec<String>,
    /// The server's code: invalid, outside_grids, immutable, duplicate_receipt_no, …
    pub code: String,
    /// The server's reason, for the manager to read.
    pub reason: String,
    /// When the change was made on this phone, UTC ms.
    pub created_at_ms: i64,
}

impl From<core::outbox::RejectedOp> for RejectedChange {
    fn from(r: core::outbox::RejectedOp) -> Self {
        Self {
            op_id: r.op.id.to_string(),
            kind: r.op.kind.as_str().to_string(),
            entity_id: r.op.entity,
            grid_id: r.op.grid,
            is_create: r.op.action == core::OpAction::Create,
            fields: r.op.fields.keys().cloned().collect(),
            code: r.code,
            reason: r.reason,
            created_at_ms: r.created_at_ms,
        }
    }
}

/// Changes waiting on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OutboxCounts {
    /// Changes not yet acknowledged by the server.
    pub pending: u64,
    /// Changes the server refused, waiting for retry or discard.
    pub rejected: u64,
    /// When the oldest pending change was made, UTC ms.
    pub oldest_pending_ms: Option<i64>,
}

impl From<core::outbox::Counts> for OutboxCounts {
    fn from(c: core::outbox::Counts) -> Self {
        Self { pending: c.pending, rejected: c.rejected, oldest_pending_ms: c.oldest_pending_ms }
    }
}

mirror_enum!(
    /// What a customer signature was given for.
    SignedDocument = core::SignedDocument {
        /// A receipt for money collected (收据).
        Receipt,
        /// A visit's work order (工作单).
        WorkOrder,
    }
);

/// The customer's signature on a receipt or a work order, as evidence: the strokes, the hash of
/// exactly what was signed, the signer's name and relation, and the device's seal over all of it.
/// Insert-only; synced with its document, so every device of the grid holds it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerSignature {
    /// The signature's id (the receipt's or visit's `signature_id`).
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// Receipt or work order.
    pub document_kind: SignedDocument,
    /// The receipt's or visit's id.
    pub document_id: String,
    /// SHA-256 of the signed document's canonical bytes, lower-case hex.
    pub document_hash: String,
    /// The strokes as captured, quantised to what is hashed.
    pub strokes: crate::evidence::SignaturePad,
    /// SHA-256 of the strokes' canonical bytes, lower-case hex.
    pub strokes_hash: String,
    /// Who signed, as they gave their name (签字人).
    pub signer_name: String,
    /// Who the signer is to the household (an unknown code reads as "other" with the code).
    pub relation: crate::evidence::SignerRelation,
    /// The device's clock stamp at signing.
    pub hlc: String,
    /// The device that sealed it.
    pub device_id: String,
    /// The device's Ed25519 signature over the seal, lower-case hex.
    pub device_signature: String,
    /// Plausibility warnings kept for the back office (drawn too fast, a dot …).
    pub flags: Vec<crate::evidence::SignatureFlag>,
}

impl From<core::CustomerSignature> for CustomerSignature {
    fn from(s: core::CustomerSignature) -> Self {
        let relation = match s.relation() {
            Some(r) => r.into(),
            None => crate::evidence::SignerRelation::Other { description: s.relation.clone() },
        };
        Self {
            id: s.id,
            grid_id: s.grid_id,
            document_kind: s.document_kind.into(),
            document_id: s.document_id,
            document_hash: s.document_hash,
            strokes: s.strokes.into(),
            strokes_hash: s.strokes_hash,
            signer_name: s.signer_name,
            relation,
            hlc: s.hlc,
            device_id: s.device_id,
            device_signature: s.device_signature,
            flags: s.flags.into_iter().map(Into::into).collect(),
        }
    }
}

/// A receipt recorded with the customer's signature, and the code printed on their copy.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignedReceipt {
    /// The receipt as recorded (its number, this device's id, the signature's id filled in).
    pub receipt: Receipt,
    /// The sealed signature.
    pub signature: CustomerSignature,
    /// `XXXX-XXXX-XX`, printed for the customer; the back office checks it.
    pub verification_code: String,
}

impl From<core::SignedReceipt> for SignedReceipt {
    fn from(s: core::SignedReceipt) -> Self {
        Self { receipt: s.receipt.into(), signature: s.signature.into(), verification_code: s.verification_code }
    }
}

/// A visit recorded with the customer's signature on its work order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignedVisit {
    /// The visit as recorded (its id and the signature's id filled in).
    pub visit: Visit,
    /// The sealed signature.
    pub signature: CustomerSignature,
    /// The appointment the visit kept, now done; null for a visit without one.
    pub appointment: Option<Appointment>,
    /// Against the appointment's time: on time within ±10 minutes; null without one.
    pub punctuality: Option<Punctuality>,
}

impl From<core::SignedVisit> for SignedVisit {
    fn from(s: core::SignedVisit) -> Self {
        Self {
            punctuality: s.visit.punctuality().map(Into::into),
            visit: s.visit.into(),
            signature: s.signature.into(),
            appointment: s.appointment.map(Into::into),
        }
    }
}

/// The customer's copy of a signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptPrintout {
    /// A self-contained page (zh-CN first, English beside it): amounts in figures and capitals,
    /// the number, the signature and the verification code. For the preview and for sharing.
    pub html: String,
    /// The signature as a PNG carrying the receipt's facts as text chunks.
    pub png: Vec<u8>,
    /// The signature alone as SVG.
    pub signature_svg: String,
    /// `XXXX-XXXX-XX`
    pub verification_code: String,
}

impl From<core::ReceiptPrintout> for ReceiptPrintout {
    fn from(p: core::ReceiptPrintout) -> Self {
        Self { html: p.html, png: p.png, signature_svg: p.signature_svg, verification_code: p.verification_code }
    }
}

/// One receipt book the server issued to this device, and how much of it is used.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptBlockStatus {
    /// The numbers' prefix, e.g. "SJ000012-".
    pub prefix: String,
    /// The first number of the block.
    pub first: u32,
    /// The last number (inclusive).
    pub last: u32,
    /// When the server issued it, UTC ms.
    pub issued_at_ms: i64,
    /// Numbers used on this device.
    pub used: u32,
    /// Numbers left.
    pub left: u32,
}

impl From<core::ReceiptBlockStatus> for ReceiptBlockStatus {
    fn from(b: core::ReceiptBlockStatus) -> Self {
        Self {
            prefix: b.block.prefix,
            first: b.block.first,
            last: b.block.last,
            issued_at_ms: b.block.issued_at_ms,
            used: b.used,
            left: b.left,
        }
    }
}

mirror_enum!(
    /// Where an appointment (预约) stands.
    AppointmentStatus = core::AppointmentStatus {
        /// 已预约: booked at the time the customer chose.
        Booked,
        /// 已确认: the customer confirmed the time.
        Confirmed,
        /// 已改约: a new time was agreed.
        Rescheduled,
        /// 已取消
        Cancelled,
        /// 已完成: a visit kept it.
        Done,
    }
);

/// An appointment with a household (预约): the customer chooses the time; arriving within ±10
/// minutes of it is on time.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Appointment {
    /// Empty when booking: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household to visit.
    pub household_id: String,
    /// The manager who will go (empty: the enrolled manager).
    #[uniffi(default = "")]
    pub manager_id: String,
    /// The agreed time, UTC ms.
    pub agreed_at_ms: i64,
    /// The zone offset the time was agreed in, minutes east of UTC.
    pub zone_offset_min: i64,
    /// Why the visit is made.
    pub purpose: VisitPurpose,
    /// Where it stands (booking sets it to booked).
    pub status: AppointmentStatus,
    /// A note: what the customer asked, why it was moved or cancelled.
    #[uniffi(default = "")]
    pub note: String,
    /// The visit that kept it, once recorded.
    #[uniffi(default = None)]
    pub visit_id: Option<String>,
}

impl From<core::Appointment> for Appointment {
    fn from(a: core::Appointment) -> Self {
        Self {
            id: a.id,
            grid_id: a.grid_id,
            household_id: a.household_id,
            manager_id: a.manager_id,
            agreed_at_ms: a.agreed_at_ms,
            zone_offset_min: a.zone_offset_min,
            purpose: a.purpose.into(),
            status: a.status.into(),
            note: a.note,
            visit_id: a.visit_id,
        }
    }
}

impl From<Appointment> for core::Appointment {
    fn from(a: Appointment) -> Self {
        Self {
            id: a.id,
            grid_id: a.grid_id,
            household_id: a.household_id,
            manager_id: a.manager_id,
            agreed_at_ms: a.agreed_at_ms,
            zone_offset_min: a.zone_offset_min,
            purpose: a.purpose.into(),
            status: a.status.into(),
            note: a.note,
            visit_id: a.visit_id,
        }
    }
}

/// A visit that kept an appointment, and the appointment, now done.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppointmentVisit {
    /// The visit recorded (carrying the agreed time).
    pub visit: Visit,
    /// The appointment, marked done with the visit's id.
    pub appointment: Appointment,
    /// 准时 / 早到 / 迟到: the arrival against the agreed time (±10 minutes is on time).
    pub punctuality: Punctuality,
}

impl From<(core::Visit, core::Appointment)> for AppointmentVisit {
    fn from((visit, appointment): (core::Visit, core::Appointment)) -> Self {
        let agreed = visit.appointment_at_ms.unwrap_or(appointment.agreed_at_ms);
        Self {
            punctuality: core::punctuality(agreed, visit.arrived_at_ms).into(),
            visit: visit.into(),
            appointment: appointment.into(),
        }
    }
}

/// How an arrival compares with the agreed time: within ±10 minutes is on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Punctuality {
    /// 准时: within ±10 minutes.
    OnTime,
    /// 早到: this many minutes (rounded up) before the agreed time.
    Early {
        /// Minutes early.
        minutes: i64,
    },
    /// 迟到: this many minutes (rounded up) after the agreed time.
    Late {
        /// Minutes late.
        minutes: i64,
    },
}

impl From<core::Punctuality> for Punctuality {
    fn from(p: core::Punctuality) -> Self {
        match p {
            core::Punctuality::OnTime => Punctuality::OnTime,
            core::Punctuality::Early { minutes } => Punctuality::Early { minutes },
            core::Punctuality::Late { minutes } => Punctuality::Late { minutes },
        }
    }
}

/// One thing to do at a door.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PlanItem {
    /// An appointment today.
    AppointmentItem {
        /// The appointment.
        appointment: Appointment,
    },
    /// A promise made on an earlier visit, due today or before.
    FollowUpItem {
        /// The visit that made the promise.
        visit: Visit,
    },
    /// Money to collect.
    ArrearsItem {
        /// The arrears line.
        line: ArrearsLine,
    },
    /// An open reminder (预警): expiry, spend drop, arrears, suspension, birthday.
    ReminderItem {
        /// The reminder; close it with `close_reminder`.
        reminder: crate::reminders::Reminder,
    },
}

impl From<core::PlanItem> for PlanItem {
    fn from(i: core::PlanItem) -> Self {
        match i {
            core::PlanItem::Appointment(a) => PlanItem::AppointmentItem { appointment: a.into() },
            core::PlanItem::FollowUp(v) => PlanItem::FollowUpItem { visit: v.into() },
            core::PlanItem::Arrears(l) => PlanItem::ArrearsItem { line: l.into() },
            core::PlanItem::Reminder(r) => PlanItem::ReminderItem { reminder: r.into() },
        }
    }
}

/// One door of the day's walk, with everything to do there.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlanStop {
    /// The household.
    pub household_id: String,
    /// Its customer name.
    pub customer_name: String,
    /// Its address.
    pub address: String,
    /// The building's (bungalow's, shop's) name; empty when the archive names none.
    pub premises_name: String,
    /// 单元
    pub unit: String,
    /// 楼层
    pub floor: Option<i64>,
    /// 门牌号
    pub room: String,
    /// Appointments first, by time; then follow-ups; then arrears; then reminders.
    pub items: Vec<PlanItem>,
}

/// 日工作计划: the day's stops in walking order (building, unit, floor, room).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayPlan {
    /// The grid.
    pub grid_id: String,
    /// The local day, YYYY-MM-DD.
    pub date: String,
    /// The zone offset of the day, minutes east of UTC.
    pub zone_offset_min: i64,
    /// The doors to go to, in walking order.
    pub stops: Vec<PlanStop>,
}

impl From<core::DayPlan> for DayPlan {
    fn from(p: core::DayPlan) -> Self {
        Self {
            grid_id: p.grid_id,
            date: p.date,
            zone_offset_min: p.zone_offset_min,
            stops: p
                .stops
                .into_iter()
                .map(|s| PlanStop {
                    household_id: s.household_id,
                    customer_name: s.customer_name,
                    address: s.address,
                    premises_name: s.premises_name,
                    unit: s.unit,
                    floor: s.floor,
                    room: s.room,
                    items: s.items.into_iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}

/// 签到: the manager's sign-in at the start of the day, with the time and, when the phone has a
/// fix, the place. Insert-only.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignIn {
    /// Empty when signing in: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The manager signing in.
    pub manager_id: String,
    /// When, UTC ms.
    pub at_ms: i64,
    /// The phone's zone offset, minutes east of UTC.
    pub zone_offset_min: i64,
    /// GPS latitude in micro-degrees, when the phone had a fix.
    #[uniffi(default = None)]
    pub lat_e6: Option<i64>,
    /// GPS longitude in micro-degrees.
    #[uniffi(default = None)]
    pub lon_e6: Option<i64>,
    /// 备注, e.g. where the morning meeting was.
    #[uniffi(default = "")]
    pub note: String,
}

mirror_fields!(SignIn <=> core::SignIn { id, grid_id, manager_id, at_ms, zone_offset_min, lat_e6, lon_e6, note });

/// 日工作总结: the day in numbers, computed from the records on the phone (after a sync, those of
/// every phone in the grid), with the manager's note. Submitted, it syncs to the back office.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DaySummary {
    /// Empty until submitted.
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// Who submitted it; empty until submitted.
    pub manager_id: String,
    /// The local day, YYYY-MM-DD.
    pub date: String,
    /// The zone offset of the day, minutes east of UTC.
    pub zone_offset_min: i64,
    /// When the phone computed it, UTC ms.
    pub made_at_ms: i64,
    /// The day's first sign-in in the grid, UTC ms.
    pub signed_in_at_ms: Option<i64>,
    /// 走访: visits recorded that day.
    pub visits: i64,
    /// Appointments of the day kept by a visit.
    pub appointments_kept: i64,
    /// Of those, kept within ±10 minutes.
    pub appointments_on_time: i64,
    /// Appointments of the day neither kept nor cancelled.
    pub appointments_missed: i64,
    /// 新建档案: archives first created that day.
    pub households_created: i64,
    /// 更新档案: other archives edited that day.
    pub households_updated: i64,
    /// Receipts written that day, voided ones left out.
    pub receipts: i64,
    /// 收款: money those receipts took, fen.
    pub collected_fen: i64,
    /// Arrears notices given.
    pub notices: i64,
    /// 未兑现承诺: promises made on visits that fall due after the day.
    pub open_promises: i64,
    /// Tickets not yet replied to.
    pub open_tickets: i64,
    /// The manager's own words: tomorrow's plan, problems met.
    pub note: String,
}

mirror_fields!(
    DaySummary
        <= core::DaySummary {
            id,
            grid_id,
            manager_id,
            date,
            zone_offset_min,
            made_at_ms,
            signed_in_at_ms,
            visits,
            appointments_kept,
            appointments_on_time,
            appointments_missed,
            households_created,
            households_updated,
            receipts,
            collected_fen,
            notices,
            open_promises,
            open_tickets,
            note,
        }
);

mirror_enum!(
    /// How a ticket reached the manager who owns it.
    TicketChannel = core::TicketChannel {
        /// 上门: taken at the door, on a visit.
        InPerson,
        /// 电话
        Phone,
        /// 微信
        Wechat,
        /// 营业厅
        Counter,
        /// 其他
        Other,
    }
);
mirror_enum!(
    /// 需求 / 投诉 / 咨询
    TicketKind = core::TicketKind {
        /// 需求: something the customer wants done.
        Request,
        /// 投诉
        Complaint,
        /// 咨询: a question not answered on the spot.
        Question,
    }
);
mirror_enum!(
    /// Where a first-ask ticket stands.
    TicketStatus = core::TicketStatus {
        /// 待处理
        Open,
        /// 已上报: handed up; the owner still owns it.
        Escalated,
        /// 已答复: the customer was told; waiting for them to confirm.
        Replied,
        /// 已闭环: closed with the customer's confirmation.
        Closed,
    }
);

/// 首问负责制: a request, complaint or question owned by whoever took it first, with the reply
/// date promised, until the customer confirms it is closed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Ticket {
    /// Empty when opening: the store assigns one.
    #[uniffi(default = "")]
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household's archive, when the customer has one (empty otherwise).
    #[uniffi(default = "")]
    pub household_id: String,
    /// 首问责任人: the manager who took it and owns it.
    pub owner_manager_id: String,
    /// When it was taken, UTC ms.
    pub taken_at_ms: i64,
    /// How it was taken.
    pub channel: TicketChannel,
    /// Request, complaint or question.
    pub kind: TicketKind,
    /// The issue in the customer's words.
    pub text: String,
    /// 承诺回复时限, YYYY-MM-DD.
    pub promised_reply_by: String,
    /// Where it stands (opening sets it to open).
    pub status: TicketStatus,
    /// Who it was escalated to.
    #[uniffi(default = "")]
    pub escalated_to: String,
    /// What the customer was told.
    #[uniffi(default = "")]
    pub reply: String,
    /// When it was closed, UTC ms.
    #[uniffi(default = None)]
    pub closed_at_ms: Option<i64>,
    /// The customer confirmed the closure (闭环).
    #[uniffi(default = false)]
    pub closure_confirmed_by_customer: bool,
}

mirror_fields!(Ticket <=> core::Ticket {
    id, grid_id, household_id, owner_manager_id, taken_at_ms, channel, kind, text, promised_reply_by, status,
    escalated_to, reply, closed_at_ms, closure_confirmed_by_customer,
});
