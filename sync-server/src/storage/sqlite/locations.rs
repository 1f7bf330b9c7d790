//! Proof of visit by place on SQLite (storage/locations.rs): facts (visits, receipts, sign-ins) not
//! checked yet, households' reference positions, the checks stored with their flags, the flagged
//! facts listed with their kind.

use rusqlite::{params, OptionalExtension, Row};

use super::SqliteStorage;
use crate::storage::error::StorageResult;
use crate::storage::locations::{
    FlaggedCounts, FlaggedVisit, LocatedKind, LocationStorage, ReferenceRow, UncheckedFact, VisitCheckRow,
    LOCATED_KINDS,
};
use crate::storage::ListPage;

const REFERENCE_COLUMNS: &str = "place_id, lat_e6, lon_e6, source, visit_id, set_by, set_at_ms";

fn reference(r: &Row) -> rusqlite::Result<ReferenceRow> {
    Ok(ReferenceRow {
        place_id: r.get(0)?,
        lat_e6: r.get(1)?,
        lon_e6: r.get(2)?,
        source: r.get(3)?,
        visit_id: r.get(4)?,
        set_by: r.get(5)?,
        set_at_ms: r.get(6)?,
    })
}

impl LocationStorage for SqliteStorage {
    fn unchecked_facts(&self, limit: u32) -> StorageResult<Vec<UncheckedFact>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.kind, e.id, e.grid_id, e.vals FROM entities e
                 WHERE e.kind IN (?1, ?2, ?3) AND NOT EXISTS (SELECT 1 FROM visit_locations l WHERE l.visit_id = e.id)
                 ORDER BY e.seq LIMIT ?4",
            )?;
            let [visit, receipt, sign_in] = LOCATED_KINDS;
            let rows = stmt.query_map(params![visit, receipt, sign_in, limit], |r| {
                Ok(UncheckedFact { kind: r.get(0)?, id: r.get(1)?, grid_id: r.get(2)?, vals: r.get(3)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn references(&self, place_ids: &[String]) -> StorageResult<Vec<ReferenceRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {REFERENCE_COLUMNS} FROM reference_positions WHERE place_id = ?1"))?;
            let mut out = Vec::new();
            for h in place_ids {
                if let Some(row) = stmt.query_row([h], reference).optional()? {
                    out.push(row);
                }
            }
            Ok(out)
        })
    }

    fn premises_of(&self, household_ids: &[String]) -> StorageResult<Vec<(String, String)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT json_extract(vals, '$.premises_id') FROM entities WHERE kind = 'household' AND id = ?1",
            )?;
            let mut out = Vec::new();
            for h in household_ids {
                let premises: Option<Option<String>> = stmt.query_row([h], |r| r.get(0)).optional()?;
                if let Some(p) = premises.flatten().filter(|p| !p.is_empty()) {
                    out.push((h.clone(), p));
                }
            }
            Ok(out)
        })
    }

    fn record_checks(&self, checks: &[VisitCheckRow], references: &[ReferenceRow]) -> StorageResult<()> {
        self.write(|tx| {
            let mut put_reference = tx.prepare_cached(&format!(
                "INSERT INTO reference_positions ({REFERENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (place_id) DO NOTHING"
            ))?;
            for r in references {
                put_reference.execute(params![
                    r.place_id,
                    r.lat_e6,
                    r.lon_e6,
                    r.source,
                    r.visit_id,
                    r.set_by,
                    r.set_at_ms
                ])?;
            }
            let mut put_check = tx.prepare_cached(
                "INSERT INTO visit_locations (visit_id, grid_id, household_id, manager_id, arrived_at_ms,
                     zone_offset_min, lat_e6, lon_e6, accuracy_m, distance_m, far, mock, no_fix, unknown, checked_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (visit_id) DO NOTHING",
            )?;
            for c in checks {
                put_check.execute(params![
                    c.visit_id,
                    c.grid_id,
                    c.household_id,
                    c.manager_id,
                    c.arrived_at_ms,
                    c.zone_offset_min,
                    c.lat_e6,
                    c.lon_e6,
                    c.accuracy_m,
                    c.distance_m,
                    c.far,
                    c.mock,
                    c.no_fix,
                    c.unknown,
                    c.checked_at_ms
                ])?;
            }
            Ok(())
        })
    }

    fn set_reference(&self, r: &ReferenceRow) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO reference_positions ({REFERENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (place_id) DO UPDATE SET lat_e6 = excluded.lat_e6, lon_e6 = excluded.lon_e6,
                         source = excluded.source, visit_id = excluded.visit_id, set_by = excluded.set_by,
                         set_at_ms = excluded.set_at_ms"
                ),
                params![r.place_id, r.lat_e6, r.lon_e6, r.source, r.visit_id, r.set_by, r.set_at_ms],
            )?;
            let detail = format!("{},{}", r.lat_e6, r.lon_e6);
            super::receipts::audit(tx, &r.set_by, "reference_position_set", &r.place_id, &detail, r.set_at_ms)
        })
    }

    fn flagged_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
        page: &ListPage,
    ) -> StorageResult<(FlaggedCounts, Vec<FlaggedVisit>)> {
        // ?1 from, ?2 to, ?3 the grids (NULL: every grid), ?4 ?5 ?6 the record kinds of a visit, a
        // receipt and a sign-in (the fact behind each line, for its kind)
        const FLAGGED: &str = "FROM visit_locations l
                 LEFT JOIN entities f ON f.kind IN (?4, ?5, ?6) AND f.id = l.visit_id
                 WHERE (l.far = 1 OR l.mock = 1 OR l.no_fix = 1) AND l.arrived_at_ms >= ?1 AND l.arrived_at_ms < ?2
                   AND (?3 IS NULL OR l.grid_id IN (SELECT value FROM json_each(?3)))";
        let grids = page.grids_json();
        let [visit, receipt, sign_in] = LOCATED_KINDS;
        self.read(|c| {
            let counts = c
                .prepare_cached(&format!(
                    "SELECT count(*), coalesce(sum(l.far = 1), 0), coalesce(sum(l.mock = 1), 0), coalesce(sum(l.no_fix = 1), 0),
                            coalesce(sum(f.kind = ?5), 0), coalesce(sum(f.kind = ?6), 0),
                            coalesce(sum(coalesce(f.kind, '') NOT IN (?5, ?6)
                                         AND json_extract(f.vals, '$.appointment_at_ms') IS NOT NULL), 0)
                     {FLAGGED}"
                ))?
                .query_row(params![from_ms, to_ms, grids, visit, receipt, sign_in], |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
                    let (total, receipt, sign_in, appointment_arrival) = (n(0)?, n(4)?, n(5)?, n(6)?);
                    Ok(FlaggedCounts {
                        total,
                        far: n(1)?,
                        mock: n(2)?,
                        no_fix: n(3)?,
                        visit: total.saturating_sub(receipt + sign_in + appointment_arrival),
                        appointment_arrival,
                        receipt,
                        sign_in,
                    })
                })?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT l.visit_id, l.grid_id, l.household_id, l.manager_id, l.arrived_at_ms, l.zone_offset_min,
                        l.lat_e6, l.lon_e6, l.accuracy_m, l.distance_m, l.far, l.mock, l.no_fix, l.unknown,
                        l.checked_at_ms, m.name, json_extract(h.vals, '$.address'),
                        coalesce(r.lat_e6, rp.lat_e6), coalesce(r.lon_e6, rp.lon_e6),
                        f.kind, json_extract(f.vals, '$.appointment_at_ms')
                 {FLAGGED_ROWS}
                 ORDER BY l.manager_id, l.arrived_at_ms, l.visit_id
                 LIMIT ?7 OFFSET ?8",
                FLAGGED_ROWS = FLAGGED.replacen(
                    "WHERE",
                    "LEFT JOIN managers m ON m.id = l.manager_id
                 LEFT JOIN entities h ON h.kind = 'household' AND h.id = l.household_id
                 LEFT JOIN reference_positions r ON r.place_id = l.household_id
                 LEFT JOIN reference_positions rp ON rp.place_id = json_extract(h.vals, '$.premises_id')
                 WHERE",
                    1
                )
            ))?;
            let rows = stmt.query_map(
                params![from_ms, to_ms, grids, visit, receipt, sign_in, page.limit, page.offset],
                |r| {
                    let kind: Option<String> = r.get(19)?;
                    Ok(FlaggedVisit {
                        check: VisitCheckRow {
                            visit_id: r.get(0)?,
                            kind: LocatedKind::of(kind.as_deref().unwrap_or_default(), r.get(20)?),
                            grid_id: r.get(1)?,
                            household_id: r.get(2)?,
                            manager_id: r.get(3)?,
                            arrived_at_ms: r.get(4)?,
                            zone_offset_min: r.get(5)?,
                            lat_e6: r.get(6)?,
                            lon_e6: r.get(7)?,
                            accuracy_m: r.get(8)?,
                            distance_m: r.get(9)?,
                            far: r.get(10)?,
                            mock: r.get(11)?,
                            no_fix: r.get(12)?,
                            unknown: r.get(13)?,
                            checked_at_ms: r.get(14)?,
                        },
                        manager_name: r.get(15)?,
                        address: r.get(16)?,
                        reference_lat_e6: r.get(17)?,
                        reference_lon_e6: r.get(18)?,
                    })
                },
            )?;
            Ok((counts, rows.collect::<Result<_, _>>()?))
        })
    }

    fn place_grid(&self, place_id: &str) -> StorageResult<Option<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT grid_id FROM entities WHERE kind IN ('household', 'premises') AND id = ?1 LIMIT 1",
            )?;
            Ok(stmt.query_row([place_id], |r| r.get(0)).optional()?)
        })
    }
}
