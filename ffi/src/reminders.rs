//! Reminders (预警) for the apps: today's open reminders of a grid, closing one with its outcome,
//! the closures, and a household's billing figures. Records mirror gridbook_core::reminders and
//! model; the rules live in the core.

use gridbook_core as core;

use crate::error::Result;
use crate::records::{mirror_enum, Tier};
use crate::store::GridbookStore;

mirror_enum!(
    /// What a reminder is about.
    ReminderKind = core::model::ReminderKind {
        /// 合同到期: the contract ends within two months.
        ContractExpiry,
        /// 套餐到期: the plan ends within two months.
        PlanExpiry,
        /// 话务下降一级: this month's spend fell by more than 30 %.
        SpendDropStage1,
        /// 话务下降二级: this month's spend fell by up to 30 %.
        SpendDropStage2,
        /// 余额不足: prepaid balance under 10 yuan.
        LowBalance,
        /// 欠费两月: postpaid bill unpaid for two months or more.
        PostpaidOverdue,
        /// 停机预警: at risk of suspension, or suspended.
        SuspensionRisk,
        /// 生日关怀: birthday within the coming week.
        Birthday,
    }
);
mirror_enum!(
    /// How a reminder was closed.
    ReminderResolution = core::model::ReminderResolution {
        /// 已联系
        Contacted,
        /// 已续约
        Renewed,
        /// 已缴费
        Paid,
        /// 已挽留
        Retained,
        /// 已送祝福
        Greeted,
        /// 客户拒绝
        Declined,
        /// 联系不上
        Unreachable,
        /// 无需处理
        NotNeeded,
    }
);

/// The label of a reminder kind, zh-CN with English beside (e.g. "合同到期 Contract ending").
#[uniffi::export]
pub fn reminder_label(kind: ReminderKind) -> String {
    core::model::ReminderKind::from(kind).label().to_string()
}

/// One open reminder. The service number is masked; a birthday shows no birth year.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Reminder {
    /// `kind:subject:period`: pass it to `close_reminder`.
    pub key: String,
    /// What it is about.
    pub kind: ReminderKind,
    /// 网格
    pub grid_id: String,
    /// The household.
    pub household_id: String,
    /// Its customer name.
    pub customer_name: String,
    /// Its address.
    pub address: String,
    /// 高/中/低端, when the back office has ranked it.
    pub tier: Option<Tier>,
    /// The service or account, masked; empty for a birthday.
    pub service_number: String,
    /// The product (mobile, broadband …) for billing reminders.
    pub product: String,
    /// The date concerned, YYYY-MM-DD: the contract's or plan's end, this year's birthday.
    pub date: String,
    /// This month's spend, the prepaid balance or the amount owed, in fen.
    pub amount_fen: Option<i64>,
    /// The earlier months' spend a drop is measured against, in fen.
    pub baseline_fen: Option<i64>,
    /// How far the spend fell, whole percent.
    pub drop_percent: Option<i64>,
    /// Months a postpaid bill is unpaid.
    pub months_overdue: Option<i64>,
    /// Already suspended (已停机) rather than at risk.
    pub suspended: bool,
}

impl From<core::Reminder> for Reminder {
    fn from(r: core::Reminder) -> Self {
        Self {
            key: r.key,
            kind: r.kind.into(),
            grid_id: r.grid_id,
            household_id: r.household_id,
            customer_name: r.customer_name,
            address: r.address,
            tier: r.tier.map(Into::into),
            service_number: r.service_number,
            product: r.product,
            date: r.date,
            amount_fen: r.amount_fen,
            baseline_fen: r.baseline_fen,
            drop_percent: r.drop_percent,
            months_overdue: r.months_overdue,
            suspended: r.suspended,
        }
    }
}

/// A reminder closed with its outcome (synced to every phone and the back office).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReminderOutcome {
    /// Its id.
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household.
    pub household_id: String,
    /// The reminder's key.
    pub reminder_key: String,
    /// What the reminder was about.
    pub kind: ReminderKind,
    /// How it was closed.
    pub outcome: ReminderResolution,
    /// What happened, in the manager's words.
    pub note: String,
    /// When, UTC ms.
    pub closed_at_ms: i64,
    /// The zone offset of the phone, minutes east of UTC.
    pub zone_offset_min: i64,
    /// Who closed it.
    pub manager_id: String,
}

impl From<core::model::ReminderOutcome> for ReminderOutcome {
    fn from(o: core::model::ReminderOutcome) -> Self {
        Self {
            id: o.id,
            grid_id: o.grid_id,
            household_id: o.household_id,
            reminder_key: o.reminder_key,
            kind: o.kind.into(),
            outcome: o.outcome.into(),
            note: o.note,
            closed_at_ms: o.closed_at_ms,
            zone_offset_min: o.zone_offset_min,
            manager_id: o.manager_id,
        }
    }
}

/// The back office's billing figures for one service of a household (read-only on phones).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BillingProfile {
    /// Its id.
    pub id: String,
    /// 网格
    pub grid_id: String,
    /// The household.
    pub household_id: String,
    /// 业务号码, masked.
    pub service_number: String,
    /// mobile, broadband …
    pub product: String,
    /// 合同到期日, YYYY-MM-DD or empty.
    pub contract_end: String,
    /// 套餐到期日, YYYY-MM-DD or empty.
    pub plan_end: String,
    /// The billing month, YYYY-MM.
    pub period: String,
    /// This month's spend, fen.
    pub spend_fen: i64,
    /// The earlier months' average spend, fen.
    pub baseline_fen: i64,
    /// At risk of suspension.
    pub suspension_risk: bool,
    /// Suspended.
    pub suspended: bool,
    /// When billing computed the figures, UTC ms.
    pub as_of_ms: i64,
}

impl From<core::model::BillingProfile> for BillingProfile {
    fn from(p: core::model::BillingProfile) -> Self {
        Self {
            id: p.id,
            grid_id: p.grid_id,
            household_id: p.household_id,
            service_number: core::mask::phone(&p.service_number),
            product: p.product,
            contract_end: p.contract_end,
            plan_end: p.plan_end,
            period: p.period,
            spend_fen: p.spend_fen,
            baseline_fen: p.baseline_fen,
            suspension_risk: p.suspension_risk,
            suspended: p.suspended,
            as_of_ms: p.as_of_ms,
        }
    }
}

#[uniffi::export]
impl GridbookStore {
    /// The grid's open reminders on the local day `date` (YYYY-MM-DD), most urgent first.
    pub fn reminders(&self, grid_id: String, date: String) -> Result<Vec<Reminder>> {
        Ok(self.inner.reminders(&grid_id, &date)?.into_iter().map(Into::into).collect())
    }

    /// Closes an open reminder of `date` with its outcome and a note, in the manager's name.
    /// An unknown or already closed key is a not-found error.
    #[allow(clippy::too_many_arguments)] // each is a part of the closure the manager gives
    pub fn close_reminder(
        &self,
        grid_id: String,
        date: String,
        key: String,
        outcome: ReminderResolution,
        note: String,
        manager_id: String,
        zone_offset_min: i64,
    ) -> Result<ReminderOutcome> {
        Ok(self
            .inner
            .close_reminder(&grid_id, &date, &key, outcome.into(), &note, &manager_id, zone_offset_min)?
            .into())
    }

    /// The grid's closed reminders, latest first.
    pub fn reminder_outcomes(&self, grid_id: String) -> Result<Vec<ReminderOutcome>> {
        Ok(self.inner.reminder_outcomes(&grid_id)?.into_iter().map(Into::into).collect())
    }

    /// A household's billing figures, one per service (service numbers masked).
    pub fn billing_profiles(&self, household_id: String) -> Result<Vec<BillingProfile>> {
        Ok(self.inner.billing_profiles(&household_id)?.into_iter().map(Into::into).collect())
    }
}
