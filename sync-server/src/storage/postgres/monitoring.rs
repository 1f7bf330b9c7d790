//! The back office's read-only queries on PostgreSQL: the conflict log, rejected ops, the health
//! check, staff accounts; and, answering a typed "not yet" until they are written, the monitoring
//! and field-workflow queries of the dashboard (`MonitoringStorage`, `WorkflowStorage`).

use super::error::not_yet;
use super::pool::RowExt;
use super::PostgresStorage;
use crate::storage::error::StorageResult;
use crate::storage::monitoring::{
    ActivityBucket, FollowUpLine, GridDayTotal, ManagerTotal, MonitoringStorage, ReceiptLine, RejectionDetail,
    SyncTotals, VoidLine,
};
use crate::storage::staff::{StaffAccount, StaffStorage};
use crate::storage::workflows::{AppointmentLine, DaySummaryLine, TicketLine, WorkflowStorage};
use crate::storage::{ConflictRow, RejectionRow};

pub(super) fn conflicts(s: &PostgresStorage, limit: u32) -> StorageResult<Vec<ConflictRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT at_ms, kind, entity_id, grid_id, field, old_value, new_value, old_hlc, new_hlc, old_device, new_device
         FROM conflicts ORDER BY id DESC LIMIT $1",
        &[&i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(ConflictRow {
                at_ms: r.at(0)?,
                kind: r.at(1)?,
                entity_id: r.at(2)?,
                grid_id: r.at(3)?,
                field: r.at(4)?,
                old_value: r.at(5)?,
                new_value: r.at(6)?,
                old_hlc: r.at(7)?,
                new_hlc: r.at(8)?,
                old_device: r.at(9)?,
                new_device: r.at(10)?,
            })
        })
        .collect()
}

pub(super) fn rejections(s: &PostgresStorage, limit: u32) -> StorageResult<Vec<RejectionRow>> {
    let conn = s.db.conn()?;
    let rows = s.db.query(
        &conn,
        "SELECT at_ms, op_id, device_id, kind, entity_id, grid_id, code, reason FROM rejections
         ORDER BY at_ms DESC, op_id COLLATE \"C\" DESC LIMIT $1",
        &[&i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(RejectionRow {
                at_ms: r.at(0)?,
                op_id: r.at(1)?,
                device_id: r.at(2)?,
                kind: r.at(3)?,
                entity_id: r.at(4)?,
                grid_id: r.at(5)?,
                code: r.at(6)?,
                reason: r.at(7)?,
            })
        })
        .collect()
}

pub(super) fn check_health(s: &PostgresStorage) -> StorageResult<()> {
    let conn = s.db.conn()?;
    s.db.query_one(&conn, "SELECT count(*) FROM grids", &[])?;
    Ok(())
}

impl StaffStorage for PostgresStorage {
    fn staff_account(&self, id: &str) -> StorageResult<Option<StaffAccount>> {
        super::records::staff_account(self, id)
    }
}

impl MonitoringStorage for PostgresStorage {
    fn activity(&self, _since_ms: i64, _bucket_ms: i64) -> StorageResult<Vec<ActivityBucket>> {
        Err(not_yet("同步活动统计 sync activity"))
    }
    fn rejection_details(&self, _limit: u32) -> StorageResult<Vec<RejectionDetail>> {
        Err(not_yet("拒收明细 rejection details"))
    }
    fn receipts_by_grid_day(&self, _since_day: &str) -> StorageResult<Vec<GridDayTotal>> {
        Err(not_yet("按网格按日收款 receipts by grid and day"))
    }
    fn receipts_by_manager(&self, _since_day: &str) -> StorageResult<Vec<ManagerTotal>> {
        Err(not_yet("按经理收款 receipts by manager"))
    }
    fn receipts(&self, _limit: u32) -> StorageResult<Vec<ReceiptLine>> {
        Err(not_yet("收据列表 the receipt list"))
    }
    fn voids(&self, _limit: u32) -> StorageResult<Vec<VoidLine>> {
        Err(not_yet("作废列表 the void list"))
    }
    fn overdue_follow_ups(&self, _today: &str, _limit: u32) -> StorageResult<Vec<FollowUpLine>> {
        Err(not_yet("逾期回访 overdue follow-ups"))
    }
    fn totals(&self) -> StorageResult<SyncTotals> {
        Err(not_yet("同步总计 sync totals"))
    }
}

impl WorkflowStorage for PostgresStorage {
    fn tickets(&self, _today: &str, _limit: u32) -> StorageResult<Vec<TicketLine>> {
        Err(not_yet("首问工单 first-ask tickets"))
    }
    fn appointments(
        &self,
        _now_ms: i64,
        _day_start_ms: i64,
        _day_end_ms: i64,
        _limit: u32,
    ) -> StorageResult<Vec<AppointmentLine>> {
        Err(not_yet("预约 appointments"))
    }
    fn day_summaries(&self, _since_day: &str, _limit: u32) -> StorageResult<Vec<DaySummaryLine>> {
        Err(not_yet("日工作总结 day summaries"))
    }
}
