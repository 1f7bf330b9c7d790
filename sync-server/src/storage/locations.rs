//! Proof of visit by place (issue 20): each household's and premises' reference position (the
//! first good fix of a visit there, or one the back office set, audited), and each visit's position checked against
//! it (`domain::visit_locations` computes, this stores): the distance and the flags (far, mock
//! location, no fix). Rows only; the rule is core's `location::check`.

use serde::Serialize;

use crate::storage::error::StorageResult;

/// Where a household or a premises is, as the server judges visits against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceRow {
    /// The household's or the premises' id.
    pub place_id: String,
    pub lat_e6: i64,
    pub lon_e6: i64,
    /// "first_fix" (a visit's good fix) or "back_office".
    pub source: String,
    /// The visit whose fix it is, for "first_fix".
    pub visit_id: Option<String>,
    /// Who set it: the visit's manager, or the back-office account.
    pub set_by: String,
    pub set_at_ms: i64,
}

/// A visit not checked yet, as stored: its id, grid and fields (the op's `vals`).
#[derive(Debug, Clone)]
pub struct UncheckedVisit {
    pub id: String,
    pub grid_id: String,
    pub vals: String,
}

/// One visit's position checked against its household's reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitCheckRow {
    pub visit_id: String,
    pub grid_id: String,
    pub household_id: String,
    pub manager_id: String,
    pub arrived_at_ms: i64,
    pub zone_offset_min: i64,
    /// The fix, when there was one.
    pub lat_e6: Option<i64>,
    pub lon_e6: Option<i64>,
    pub accuracy_m: Option<i64>,
    /// Metres from the reference, when both were known.
    pub distance_m: Option<i64>,
    pub far: bool,
    pub mock: bool,
    pub no_fix: bool,
    /// The app sent no position at all (older than issue 20): not judged.
    pub unknown: bool,
    pub checked_at_ms: i64,
}

impl VisitCheckRow {
    pub fn flagged(&self) -> bool {
        self.far || self.mock || self.no_fix
    }
}

/// The counts beside a page of flagged visits: all that match, and each flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlaggedCounts {
    pub total: u64,
    pub far: u64,
    pub mock: u64,
    pub no_fix: u64,
}

/// A flagged visit as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlaggedVisit {
    #[serde(flatten)]
    pub check: VisitCheckRow,
    pub manager_name: Option<String>,
    /// The household's address (not personal data: the place the manager went).
    pub address: Option<String>,
    /// The reference it is judged against now: the household's, else its premises'.
    pub reference_lat_e6: Option<i64>,
    pub reference_lon_e6: Option<i64>,
}

pub trait LocationStorage: Send + Sync + 'static {
    /// Visits with no check yet, in the order they reached the server, at most `limit`.
    fn unchecked_visits(&self, limit: u32) -> StorageResult<Vec<UncheckedVisit>>;
    /// The reference positions of these households and premises (those that have one).
    fn references(&self, place_ids: &[String]) -> StorageResult<Vec<ReferenceRow>>;
    /// (household, premises) of those of these households that are in a premises.
    fn premises_of(&self, household_ids: &[String]) -> StorageResult<Vec<(String, String)>>;
    /// Stores the checks and the first-fix references found with them, in one transaction; a
    /// check or a reference already there (another replica was quicker) stays as it is.
    fn record_checks(&self, checks: &[VisitCheckRow], references: &[ReferenceRow]) -> StorageResult<()>;
    /// The back office sets (or replaces) a household's or a premises' reference, audited under
    /// `row.set_by`.
    fn set_reference(&self, row: &ReferenceRow) -> StorageResult<()>;
    /// One page of the flagged visits of `page.grids` that arrived in [from_ms, to_ms), by
    /// manager, then time; with the counts of all that match.
    fn flagged_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
        page: &crate::storage::ListPage,
    ) -> StorageResult<(FlaggedCounts, Vec<FlaggedVisit>)>;
}
