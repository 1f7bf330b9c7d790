//! Proof of visit by place (issue 20): each household's and premises' reference position (the
//! first good fix of a visit there, or one the back office set, audited), and the position of each
//! fact that carries one — a visit, an appointment arrival, a receipt, a sign-in — checked against
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

/// The record kinds whose facts carry where the phone was (`location::Position`), as stored.
pub const LOCATED_KINDS: [&str; 3] = ["visit", "receipt", "sign_in"];

/// What kind of fact a checked position belongs to, as the back office names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocatedKind {
    /// 走访
    Visit,
    /// 预约上门: the visit that kept an appointment.
    AppointmentArrival,
    /// 收款 (a receipt)
    Receipt,
    /// 签到
    SignIn,
}

impl LocatedKind {
    /// The kind of a stored fact: its record kind, and for a visit whether it kept an appointment
    /// (it carries the agreed time then). Not a column of its own: the fact's row says it.
    pub fn of(record_kind: &str, appointment_at_ms: Option<i64>) -> Self {
        match (record_kind, appointment_at_ms) {
            ("receipt", _) => Self::Receipt,
            ("sign_in", _) => Self::SignIn,
            (_, Some(_)) => Self::AppointmentArrival,
            _ => Self::Visit,
        }
    }
}

/// A fact not checked yet, as stored: its record kind, id, grid and fields (the op's `vals`).
#[derive(Debug, Clone)]
pub struct UncheckedFact {
    /// One of `LOCATED_KINDS`.
    pub kind: String,
    pub id: String,
    pub grid_id: String,
    pub vals: String,
}

/// One fact's position checked against its household's reference (a sign-in has no household:
/// only its mock and no-fix flags count). Stored in `visit_locations`, keyed by the fact's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitCheckRow {
    /// The fact's id (a visit's, a receipt's or a sign-in's): the column kept its first name.
    pub visit_id: String,
    /// Read back from the fact's own row, not stored with the check.
    pub kind: LocatedKind,
    pub grid_id: String,
    /// Empty for a sign-in.
    pub household_id: String,
    /// The manager who recorded it (a receipt's collector).
    pub manager_id: String,
    /// The fact's own time: arrival, collection or sign-in, UTC ms.
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

/// The counts beside a page of flagged facts: all that match, each flag, and each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlaggedCounts {
    pub total: u64,
    pub far: u64,
    pub mock: u64,
    pub no_fix: u64,
    pub visit: u64,
    pub appointment_arrival: u64,
    pub receipt: u64,
    pub sign_in: u64,
}

/// A flagged fact as the back office lists it.
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
    /// Facts of `LOCATED_KINDS` with no check yet, in the order they reached the server, at most
    /// `limit`.
    fn unchecked_facts(&self, limit: u32) -> StorageResult<Vec<UncheckedFact>>;
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
    /// One page of the flagged facts of `page.grids` of [from_ms, to_ms) (their own time), by
    /// manager, then time; with the counts of all that match.
    fn flagged_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
        page: &crate::storage::ListPage,
    ) -> StorageResult<(FlaggedCounts, Vec<FlaggedVisit>)>;
    /// The grid of a household or a premises; None when there is no such place.
    fn place_grid(&self, place_id: &str) -> StorageResult<Option<String>>;
}
