//! Proof of visit by place on PostgreSQL (storage/locations.rs), as on SQLite: facts (visits,
//! receipts, sign-ins) not checked yet, households' reference positions, the checks stored with
//! their flags, the flagged facts with their kind.
//! Replicas checking the same visit at once meet on its key: the first row stays.

use tokio_postgres::Row;

use super::pool::RowExt;
use super::records::audit;
use super::PostgresStorage;
use crate::storage::error::StorageResult;
use crate::storage::locations::{
    FlaggedCounts, FlaggedVisit, LocatedKind, LocationStorage, ReferenceRow, UncheckedFact, VisitCheckRow,
    LOCATED_KINDS,
};
use crate::storage::ListPage;

const REFERENCE_COLUMNS: &str = "place_id, lat_e6, lon_e6, source, visit_id, set_by, set_at_ms";

fn reference(r: &Row) -> StorageResult<ReferenceRow> {
    Ok(ReferenceRow {
        place_id: r.at(0)?,
        lat_e6: r.at(1)?,
        lon_e6: r.at(2)?,
        source: r.at(3)?,
        visit_id: r.at(4)?,
        set_by: r.at(5)?,
        set_at_ms: r.at(6)?,
    })
}

impl LocationStorage for PostgresStorage {
    fn unchecked_facts(&self, limit: u32) -> StorageResult<Vec<UncheckedFact>> {
        let conn = self.db.conn()?;
        let kinds: &[&str] = &LOCATED_KINDS;
        let rows = self.db.query(
            &conn,
            "SELECT e.kind, e.id, e.grid_id, e.vals FROM entities e
             WHERE e.kind = ANY($1) AND NOT EXISTS (SELECT 1 FROM visit_locations l WHERE l.visit_id = e.id)
             ORDER BY e.seq LIMIT $2",
            &[&kinds, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| Ok(UncheckedFact { kind: r.at(0)?, id: r.at(1)?, grid_id: r.at(2)?, vals: r.at(3)? }))
            .collect()
    }

    fn references(&self, place_ids: &[String]) -> StorageResult<Vec<ReferenceRow>> {
        let conn = self.db.conn()?;
        let ids: Vec<&str> = place_ids.iter().map(String::as_str).collect();
        let rows = self.db.query(
            &conn,
            &format!("SELECT {REFERENCE_COLUMNS} FROM reference_positions WHERE place_id = ANY($1)"),
            &[&ids],
        )?;
        rows.iter().map(reference).collect()
    }

    fn premises_of(&self, household_ids: &[String]) -> StorageResult<Vec<(String, String)>> {
        let conn = self.db.conn()?;
        let ids: Vec<&str> = household_ids.iter().map(String::as_str).collect();
        let rows = self.db.query(
            &conn,
            "SELECT id, vals::jsonb ->> 'premises_id' FROM entities
             WHERE kind = 'household' AND id = ANY($1) AND coalesce(vals::jsonb ->> 'premises_id', '') <> ''",
            &[&ids],
        )?;
        rows.iter().map(|r| Ok((r.at(0)?, r.at(1)?))).collect()
    }

    fn record_checks(&self, checks: &[VisitCheckRow], references: &[ReferenceRow]) -> StorageResult<()> {
        let db = &self.db;
        db.write(|tx| {
            for r in references {
                db.execute(
                    tx,
                    &format!(
                        "INSERT INTO reference_positions ({REFERENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (place_id) DO NOTHING"
                    ),
                    &[&r.place_id, &r.lat_e6, &r.lon_e6, &r.source, &r.visit_id, &r.set_by, &r.set_at_ms],
                )?;
            }
            for c in checks {
                db.execute(
                    tx,
                    "INSERT INTO visit_locations (visit_id, grid_id, household_id, manager_id, arrived_at_ms,
                         zone_offset_min, lat_e6, lon_e6, accuracy_m, distance_m, far, mock, no_fix, unknown, checked_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                     ON CONFLICT (visit_id) DO NOTHING",
                    &[
                        &c.visit_id,
                        &c.grid_id,
                        &c.household_id,
                        &c.manager_id,
                        &c.arrived_at_ms,
                        &c.zone_offset_min,
                        &c.lat_e6,
                        &c.lon_e6,
                        &c.accuracy_m,
                        &c.distance_m,
                        &c.far,
                        &c.mock,
                        &c.no_fix,
                        &c.unknown,
                        &c.checked_at_ms,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn set_reference(&self, r: &ReferenceRow) -> StorageResult<()> {
        let db = &self.db;
        db.write(|tx| {
            db.execute(
                tx,
                &format!(
                    "INSERT INTO reference_positions ({REFERENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (place_id) DO UPDATE SET lat_e6 = excluded.lat_e6, lon_e6 = excluded.lon_e6,
                         source = excluded.source, visit_id = excluded.visit_id, set_by = excluded.set_by,
                         set_at_ms = excluded.set_at_ms"
                ),
                &[&r.place_id, &r.lat_e6, &r.lon_e6, &r.source, &r.visit_id, &r.set_by, &r.set_at_ms],
            )?;
            let detail = format!("{},{}", r.lat_e6, r.lon_e6);
            audit(db, tx, &r.set_by, "reference_position_set", &r.place_id, &detail, r.set_at_ms)
        })
    }

    fn flagged_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
        page: &ListPage,
    ) -> StorageResult<(FlaggedCounts, Vec<FlaggedVisit>)> {
        // $1 from, $2 to, $3 the grids (NULL: every grid), $4 the record kinds of a visit, a
        // receipt and a sign-in (the fact behind each line, for its kind)
        const FLAGGED: &str = "FROM visit_locations l
             LEFT JOIN entities f ON f.kind = ANY($4) AND f.id = l.visit_id
             WHERE (l.far OR l.mock OR l.no_fix) AND l.arrived_at_ms >= $1 AND l.arrived_at_ms < $2
               AND ($3::text[] IS NULL OR l.grid_id = ANY($3::text[]))";
        let kinds: &[&str] = &LOCATED_KINDS;
        let [_, receipt, sign_in] = LOCATED_KINDS;
        self.db.read(|tx| {
            let c = self.db.query_one(
                tx,
                &format!(
                    "SELECT count(*), count(*) FILTER (WHERE l.far), count(*) FILTER (WHERE l.mock),
                            count(*) FILTER (WHERE l.no_fix),
                            count(*) FILTER (WHERE f.kind = $5), count(*) FILTER (WHERE f.kind = $6),
                            count(*) FILTER (WHERE coalesce(f.kind, '') NOT IN ($5, $6)
                                             AND f.vals::jsonb ->> 'appointment_at_ms' IS NOT NULL)
                     {FLAGGED}"
                ),
                &[&from_ms, &to_ms, &page.grids, &kinds, &receipt, &sign_in],
            )?;
            let n = |i: usize| c.at::<i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
            let (total, receipt_n, sign_in_n, appointment_arrival) = (n(0)?, n(4)?, n(5)?, n(6)?);
            let counts = FlaggedCounts {
                total,
                far: n(1)?,
                mock: n(2)?,
                no_fix: n(3)?,
                visit: total.saturating_sub(receipt_n + sign_in_n + appointment_arrival),
                appointment_arrival,
                receipt: receipt_n,
                sign_in: sign_in_n,
            };
            let rows = self.db.query(
                tx,
                &format!(
                    "SELECT l.visit_id, l.grid_id, l.household_id, l.manager_id, l.arrived_at_ms, l.zone_offset_min,
                            l.lat_e6, l.lon_e6, l.accuracy_m, l.distance_m, l.far, l.mock, l.no_fix, l.unknown,
                            l.checked_at_ms, m.name, h.vals::jsonb ->> 'address',
                            coalesce(r.lat_e6, rp.lat_e6), coalesce(r.lon_e6, rp.lon_e6),
                            f.kind, (f.vals::jsonb ->> 'appointment_at_ms')::BIGINT
                     {}
                     ORDER BY l.manager_id, l.arrived_at_ms, l.visit_id
                     LIMIT $5 OFFSET $6",
                    FLAGGED.replacen(
                        "WHERE",
                        "LEFT JOIN managers m ON m.id = l.manager_id
                     LEFT JOIN entities h ON h.kind = 'household' AND h.id = l.household_id
                     LEFT JOIN reference_positions r ON r.place_id = l.household_id
                     LEFT JOIN reference_positions rp ON rp.place_id = h.vals::jsonb ->> 'premises_id'
                     WHERE",
                        1
                    )
                ),
                &[&from_ms, &to_ms, &page.grids, &kinds, &i64::from(page.limit), &i64::from(page.offset)],
            )?;
            let rows = rows
                .iter()
                .map(|r| {
                    let kind: Option<String> = r.at(19)?;
                    Ok(FlaggedVisit {
                        check: VisitCheckRow {
                            visit_id: r.at(0)?,
                            kind: LocatedKind::of(kind.as_deref().unwrap_or_default(), r.at(20)?),
                            grid_id: r.at(1)?,
                            household_id: r.at(2)?,
                            manager_id: r.at(3)?,
                            arrived_at_ms: r.at(4)?,
                            zone_offset_min: r.at(5)?,
                            lat_e6: r.at(6)?,
                            lon_e6: r.at(7)?,
                            accuracy_m: r.at(8)?,
                            distance_m: r.at(9)?,
                            far: r.at(10)?,
                            mock: r.at(11)?,
                            no_fix: r.at(12)?,
                            unknown: r.at(13)?,
                            checked_at_ms: r.at(14)?,
                        },
                        manager_name: r.at(15)?,
                        address: r.at(16)?,
                        reference_lat_e6: r.at(17)?,
                        reference_lon_e6: r.at(18)?,
                    })
                })
                .collect::<StorageResult<Vec<_>>>()?;
            Ok((counts, rows))
        })
    }

    fn place_grid(&self, place_id: &str) -> StorageResult<Option<String>> {
        let conn = self.db.conn()?;
        let row = self.db.query_opt(
            &conn,
            "SELECT grid_id FROM entities WHERE kind IN ('household', 'premises') AND id = $1 LIMIT 1",
            &[&place_id],
        )?;
        row.map(|r| r.at(0)).transpose()
    }
}
