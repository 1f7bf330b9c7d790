//! The demo city: a few grids and managers, and simulated phones that enrol, build archives,
//! record visits and collect arrears, syncing over real HTTP like the apps do. One phone's clock
//! is a day off, one works offline for long stretches, two share a grid and edit the same
//! archives (conflicts), one writes where it may not (a rejection) — so the back office has
//! something true to show.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridbook_core::model::{ArrearsNotice, NoticeChannel, PremisesType, TicketKind, VisitPurpose};
use gridbook_core::sync::hlc::{SkewedClock, SystemClock, WallClock};
use gridbook_core::sync::wire::ErrorCode;
use gridbook_core::{testing, Reveal, Store, SyncConfig, SyncEngine};
use rand::Rng;

use crate::cli::admin::{self, AdminCommand};
use crate::domain::auth::Role;
use crate::domain::now_ms;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::SyncStorage;

pub const DEMO_PASSWORD: &str = "gridbook-demo";

/// (id, name) of the demo grids.
pub const GRIDS: &[(&str, &str)] =
    &[("yuelu-01", "岳麓区麓山网格"), ("yuelu-02", "岳麓区桃子湖网格"), ("kaifu-01", "开福区湘江网格")];

/// (id, name, grid) of the demo field managers; two share yuelu-01.
pub const MANAGERS: &[(&str, &str, &str)] = &[
    ("zhangwei", "张伟", "yuelu-01"),
    ("chenjing", "陈静", "yuelu-01"),
    ("lina", "李娜", "yuelu-02"),
    ("wangfang", "王芳", "kaifu-01"),
];

/// Creates the demo's grids, managers and back-office logins when the database is empty.
pub fn seed(storage: &dyn SyncStorage) -> AppResult<bool> {
    let now = now_ms();
    match storage.create_grid(GRIDS[0].0, GRIDS[0].1, now) {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::Exists => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    for (id, name) in &GRIDS[1..] {
        storage.create_grid(id, name, now)?;
    }
    for (n, (id, name, grid)) in MANAGERS.iter().enumerate() {
        storage.create_manager(id, name, Role::Field, None, now)?;
        storage.assign_grid(id, grid)?;
        // each prints a staff number (工号) on their receipts, as an admin would set it
        storage.set_staff_no(id, &format!("HN{:04}", 731 + n), "demo", now)?;
    }
    let hash = crate::domain::password::hash_password(DEMO_PASSWORD)?;
    storage.create_manager("admin", "系统管理员", Role::Admin, Some(&hash), now)?;
    storage.create_manager("zhuguan", "营业部主管", Role::Supervisor, Some(&hash), now)?;
    // the supervisor watches the 岳麓区 grids; 开福区 is another supervisor's (the admin sees all)
    for (grid, _) in &GRIDS[..2] {
        storage.assign_grid("zhuguan", grid)?;
    }
    Ok(true)
}

/// One simulated phone.
pub struct DemoPhone {
    pub manager: &'static str,
    pub grid: &'static str,
    pub store: Arc<Store>,
    pub engine: SyncEngine,
    /// Works offline: syncs only every few rounds.
    pub patchy: bool,
    households: Vec<String>,
    premises: Vec<String>,
    receipts: u64,
    /// Appointments booked and not kept yet, tickets not closed yet, the last receipt issued.
    appointments: Vec<String>,
    tickets: Vec<String>,
    last_receipt: Option<String>,
}

/// What the demo's phones have collected on each bill (account id and the bill's `as_of_ms`), all
/// phones together: a debt is paid once, whichever manager collects it. (A phone alone knows only
/// its own unsynced receipts, and two phones share a grid; without this the demo collected
/// ¥1,381.39 on ¥581.39 owed.)
static COLLECTED: Mutex<Option<HashMap<String, i64>>> = Mutex::new(None);

/// What is still owed on a bill after every demo phone's collections, and records `take` of it.
fn collect_once(bill: &str, owed_fen: i64, take: impl FnOnce(i64) -> i64) -> i64 {
    let Ok(mut guard) = COLLECTED.lock() else { return 0 };
    let map = guard.get_or_insert_with(HashMap::new);
    let paid = map.get(bill).copied().unwrap_or(0);
    let left = owed_fen.saturating_sub(paid).max(0);
    let amount = if left > 0 { take(left).clamp(0, left) } else { 0 };
    map.insert(bill.to_string(), paid.saturating_add(amount));
    amount
}

impl DemoPhone {
    pub async fn enrol(
        storage: &dyn SyncStorage,
        url: &str,
        dir: &Path,
        n: usize,
        clock: Box<dyn WallClock>,
    ) -> AppResult<Self> {
        let (manager, _, grid) = MANAGERS[n % MANAGERS.len()];
        let store = Store::open_with_clock(dir.join(format!("phone-{n}.db")), clock)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let store = Arc::new(store);
        let config = match gridbook_core::sync::client::saved_config(&store, "demo-1.0")
            .map_err(|e| AppError::internal(e.to_string()))?
        {
            // the city continues, perhaps on another address (`--listen`) than last time
            Some(c) => SyncConfig::new(url, &c.token, "demo-1.0"),
            None => {
                let code = storage.create_enrol_code(manager, now_ms(), 3_600_000)?;
                let resp = gridbook_core::sync::client::enrol(&store, url, &code, "demo-1.0", None)
                    .await
                    .map_err(|e| AppError::internal(format!("demo enrol: {e}")))?;
                SyncConfig::new(url, &resp.token, "demo-1.0")
            }
        };
        let engine = SyncEngine::new(store.clone(), config).map_err(|e| AppError::internal(e.to_string()))?;
        let households = store
            .all_states(gridbook_core::EntityKind::Household)
            .map(|s| s.into_iter().map(|s| s.id).collect())
            .unwrap_or_default();
        let premises = store.premises_in_grid(grid).map(|p| p.into_iter().map(|p| p.id).collect()).unwrap_or_default();
        Ok(Self {
            manager,
            grid,
            store,
            engine,
            patchy: n == 4,
            households,
            premises,
            receipts: 0,
            appointments: Vec::new(),
            tickets: Vec::new(),
            last_receipt: None,
        })
    }

    /// A little field work: a building, archives, visits, a notice, a receipt, an edit.
    pub fn work(&mut self, round: u64, rng: &mut impl Rng) {
        let result = self.work_inner(round, rng);
        if let Err(e) = result {
            tracing::warn!(manager = self.manager, error = %e, "demo phone: a write was refused");
        }
    }

    fn work_inner(&mut self, round: u64, rng: &mut impl Rng) -> gridbook_core::Result<()> {
        let seq = round * 1000 + rng.gen_range(0..1000);
        if self.premises.is_empty() || rng.gen_bool(0.1) {
            let mut p = testing::premises(self.grid, self.premises.len() as u64 + 1);
            if rng.gen_bool(0.2) {
                p.premises_type = PremisesType::Shop;
                p.name = format!("{}号商铺", self.premises.len() + 1);
            }
            self.premises.push(self.store.create_premises(p)?.id);
        }
        for _ in 0..rng.gen_range(1..4) {
            let mut h = testing::household_n(self.grid, seq + rng.gen_range(0..100_000));
            h.premises_id = self.premises.choose_one(rng);
            self.households.push(self.store.create_household(h)?.id);
        }
        let Some(id) = self.households.choose_one(rng) else { return Ok(()) };
        let mut v = testing::visit(self.grid, &id);
        v.arrived_at_ms = now_ms();
        v.manager_id = self.manager.to_string();
        v.purpose = *[VisitPurpose::Survey, VisitPurpose::Sale, VisitPurpose::Care, VisitPurpose::Arrears]
            .get(rng.gen_range(0..4))
            .unwrap_or(&VisitPurpose::Survey);
        if rng.gen_bool(0.3) {
            v.open_question = "宽带能否提速到千兆?".into();
            v.follow_up = "三日内回复资费方案".into();
            let due = chrono::Utc::now().date_naive() + chrono::Duration::days(rng.gen_range(-5..5));
            v.follow_up_due = due.format("%Y-%m-%d").to_string();
        }
        self.store.record_visit(v)?;
        // edit the grid's first archive: phones sharing a grid edit the same one (conflicts)
        let first = self.store.search_households(self.grid, "人民路", 1)?.into_iter().next().map(|h| h.id);
        if let Some(id) = first {
            let mut h = self.store.household(&id, Reveal::Full { purpose: "demo edit".into() })?;
            h.notes = format!("{}于第{round}轮走访", self.manager);
            self.store.update_household(h)?;
        }
        self.appointments_and_tickets(rng)?;
        // collect arrears where the back office has sent an account, never beyond the debt
        for line in self.store.grid_arrears(self.grid)?.into_iter().take(1) {
            let bill = format!("{}@{}", line.account.id, line.account.as_of_ms);
            let owed = line.remaining_fen.min(line.account.owed_fen);
            // some customers pay part of it now
            let amount = collect_once(&bill, owed, |left| if rng.gen_bool(0.3) { left / 2 } else { left.min(20_000) });
            if amount <= 0 {
                continue;
            }
            let notice = ArrearsNotice {
                id: String::new(),
                grid_id: self.grid.into(),
                account_id: line.account.id.clone(),
                household_id: line.account.household_id.clone(),
                channel: NoticeChannel::NoticeSlip,
                given_at_ms: now_ms(),
                zone_offset_min: 480,
                outcome: "已送达欠费通知单".into(),
                promised_pay_at_ms: None,
                notes: String::new(),
                manager_id: self.manager.into(),
            };
            self.store.record_notice(notice)?;
            self.receipts += 1;
            // an empty number takes the next one from the phone's receipt book
            let mut r = testing::receipt(self.grid, &line.account.id, &line.account.household_id, "");
            r.owed_before_fen = owed;
            r.amount_fen = amount;
            r.cash_received_fen = (r.amount_fen + 9_999) / 10_000 * 10_000; // paid in 100-yuan notes
            r.change_fen = r.cash_received_fen - r.amount_fen;
            r.collected_at_ms = now_ms();
            r.collector_id = self.manager.into();
            let key = self.store.device_key()?;
            let signed = self.store.record_signed_receipt(r, testing::capture("户主"), &key)?;
            self.last_receipt = Some(signed.receipt.id.clone());
        }
        // now and then a receipt is written out wrong and its void asked for
        if rng.gen_bool(0.03) {
            if let Some(id) = self.last_receipt.take() {
                self.store.void_receipt(&id, "金额录入错误，重开收据", self.manager)?;
            }
        }
        Ok(())
    }

    /// Appointments booked for about now and kept (most on time, some early or late, some
    /// missed); first-ask tickets taken at the door and answered a few rounds later.
    fn appointments_and_tickets(&mut self, rng: &mut impl Rng) -> gridbook_core::Result<()> {
        let now = now_ms();
        if let Some(id) = self.appointments.pop() {
            if rng.gen_bool(0.8) {
                if let Some(a) = self.store.appointment(&id)? {
                    let mut v = testing::visit(self.grid, &a.household_id);
                    v.arrived_at_ms = now;
                    v.manager_id = self.manager.to_string();
                    self.store.record_appointment_visit(&id, v)?;
                }
            }
        }
        if rng.gen_bool(0.5) {
            if let Some(household) = self.households.choose_one(rng) {
                let mut a = testing::appointment(self.grid, &household, now + rng.gen_range(-14..8) * 60_000);
                a.manager_id = self.manager.to_string();
                self.appointments.push(self.store.book_appointment(a)?.id);
            }
        }
        if rng.gen_bool(0.15) {
            if let Some(household) = self.households.choose_one(rng) {
                let due = chrono::Utc::now().date_naive() + chrono::Duration::days(rng.gen_range(-2..4));
                let mut t = testing::ticket(self.grid, &household, &due.format("%Y-%m-%d").to_string());
                t.owner_manager_id = self.manager.to_string();
                t.taken_at_ms = now;
                if rng.gen_bool(0.5) {
                    t.kind = TicketKind::Request;
                    t.text = "想办理宽带提速，请告知资费".into();
                }
                self.tickets.push(self.store.open_ticket(t)?.id);
            }
        }
        if rng.gen_bool(0.2) && !self.tickets.is_empty() {
            let id = self.tickets.remove(0);
            self.store.reply_ticket(&id, "已答复客户：可办理，资费见营业厅公示")?;
            self.store.close_ticket(&id, true, now)?;
        }
        Ok(())
    }
}

trait ChooseOne {
    fn choose_one(&self, rng: &mut impl Rng) -> Option<String>;
}
impl ChooseOne for Vec<String> {
    fn choose_one(&self, rng: &mut impl Rng) -> Option<String> {
        (!self.is_empty()).then(|| self[rng.gen_range(0..self.len())].clone())
    }
}

/// The back office sends arrears accounts and the month's billing figures (spend, contract end,
/// suspension risk: the phones' reminders, and tiers) for some archives it has received.
pub fn bill_some_households(storage: &dyn SyncStorage, phones: &[DemoPhone], rng: &mut impl Rng) -> AppResult<()> {
    for phone in phones {
        let Some(household) = phone.households.choose_one(rng) else { continue };
        let today = chrono::Utc::now().date_naive();
        let baseline_fen = rng.gen_range(3_000..30_000);
        let mut figures = testing::billing_profile(phone.grid, &household, &today.format("%Y-%m").to_string());
        figures.service_number = format!("139{:08}", rng.gen_range(0..100_000_000));
        figures.baseline_fen = baseline_fen;
        figures.spend_fen = baseline_fen * rng.gen_range(40..120) / 100;
        figures.contract_end = (today + chrono::Duration::days(rng.gen_range(10..400))).format("%Y-%m-%d").to_string();
        figures.suspension_risk = rng.gen_range(0..10) == 0;
        if let Err(e) = crate::domain::billing::load(storage, vec![figures], now_ms()) {
            tracing::debug!(error = %e, "demo billing figures skipped a household");
        }
        let arrears = AdminCommand::AddArrears {
            grid: phone.grid.into(),
            household,
            account_no: format!("ACC{}", rng.gen_range(100_000..999_999)),
            owed_fen: rng.gen_range(3_000..60_000),
            months: rng.gen_range(1..6),
            service_number: String::new(),
            payment_type: "postpaid".into(),
        };
        if let Err(e) = admin::run(storage, arrears, now_ms()) {
            // the household may not have reached the server yet
            tracing::debug!(error = %e, "demo billing skipped a household");
        }
    }
    Ok(())
}

/// Every ten minutes or so a building of 李娜's grid is handed over to 张伟 (网格交接): the back
/// office's handovers page has one waiting for the old phone, then done.
pub fn hand_over_a_building(storage: &dyn SyncStorage, phones: &mut [DemoPhone]) {
    let Some(from) = phones.iter_mut().find(|p| p.manager == "lina") else { return };
    let Some(premises) = from.premises.pop() else { return };
    let request = crate::storage::handover::HandoverRequest::Building {
        premises,
        to: "zhangwei".into(),
        to_grid: "yuelu-01".into(),
    };
    if let Err(e) = storage.hand_over(&request, "admin", now_ms()) {
        tracing::debug!(error = %e, "demo handover skipped a building");
    }
}

/// Serves the demo city until interrupted.
/// Where the demo phones keep their stores: beside the city's database. A new city starts with new
/// phones: the stores of an earlier city (its database deleted) hold tokens this one never issued.
pub fn phones_dir(db: &Path, fresh_city: bool) -> AppResult<PathBuf> {
    let dir = db.with_extension("phones");
    if fresh_city && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| AppError::internal(format!("{}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| AppError::internal(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

pub async fn run(db: &Path, listen: &str, phone_count: usize) -> AppResult<()> {
    let storage = Arc::new(SqliteStorage::open(db)?);
    storage.write_log_room_ahead();
    let fresh = seed(storage.as_ref())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| AppError::internal(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| AppError::internal(e.to_string()))?;
    let url = format!("http://{addr}");
    let state = AppState::new(storage.clone());
    let server = tokio::spawn(crate::http::serve(listener, state, crate::http::shutdown_signal()));

    let phone_dir = phones_dir(db, fresh)?;
    let mut phones = Vec::new();
    for n in 0..phone_count.max(1) {
        let clock: Box<dyn WallClock> = if n == 3 { Box::new(SkewedClock(86_400_000)) } else { Box::new(SystemClock) };
        phones.push(DemoPhone::enrol(storage.as_ref(), &url, &phone_dir, n, clock).await?);
    }
    println!();
    println!("  Gridbook 网格通 demo city {}", if fresh { "(new)" } else { "(continued)" });
    println!("  sync server:  {url}   (database {})", db.display());
    println!("  back office:  {url}/admin   login admin / {DEMO_PASSWORD}  (or zhuguan / {DEMO_PASSWORD})");
    println!("  metrics:      {url}/metrics");
    println!("  {} simulated phones syncing; Ctrl-C stops.", phones.len());
    println!();

    // one phone writes into a grid it is not assigned: a rejection for the back office
    if let Some(p) = phones.first() {
        let _ = p.store.create_household(testing::household_n("kaifu-01", 424_242));
    }
    let mut rng = rand::thread_rng();
    let mut round = 0u64;
    while !server.is_finished() {
        round += 1;
        for phone in phones.iter_mut() {
            phone.work(round, &mut rng);
            if phone.patchy && !round.is_multiple_of(4) {
                continue; // no signal in this stairwell
            }
            if let Err(e) = phone.engine.sync_once().await {
                tracing::warn!(manager = phone.manager, error = %e, "demo phone sync failed");
            }
        }
        if round % 2 == 1 {
            bill_some_households(storage.as_ref(), &phones, &mut rng)?;
        }
        if round % 120 == 60 {
            hand_over_a_building(storage.as_ref(), &mut phones);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    server.await.map_err(AppError::from)?.map_err(|e| AppError::internal(e.to_string()))
}
