//! The back office (issue 6): supervisors and admins log in at /admin and watch the phones sync —
//! devices and their health, sync activity, rejected ops, the conflict log, money collected,
//! voids and overdue follow-ups, visits flagged by where they were (locations.rs), each visit's
//! photos (photos.rs) — and order a
//! device's remote wipe (wipes.rs). Plain HTML, CSS
//! and JS compiled into the binary (assets/), JSON APIs under /admin/api/, nothing loaded from
//! elsewhere.

pub mod administration;
pub mod api;
pub mod billing;
pub mod device_list;
pub mod directory;
pub mod locations;
pub mod money;
pub mod pages;
pub mod photo_export;
pub mod photos;
pub mod releases;
pub mod reminders;
pub mod session;
pub mod spreadsheets;
pub mod staff_session;
pub mod wipes;
pub mod workbench;
pub mod workflows;

use axum::routing::{get, post};
use axum::Router;

use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::root))
        .route("/admin", get(pages::dashboard))
        .route("/admin/", get(pages::dashboard))
        .route("/admin/login", get(pages::login_form).post(pages::login))
        .route("/admin/logout", post(pages::logout))
        .route("/admin/assets/{file}", get(pages::asset))
        .route("/admin/api/me", get(api::me))
        .route("/admin/api/overview", get(api::overview))
        .route("/admin/api/home", get(workbench::home))
        .route("/admin/api/names", get(workbench::names))
        .route("/admin/api/buildings", get(workbench::buildings))
        .route("/admin/api/households", get(workbench::households))
        .route("/admin/api/household", get(workbench::household))
        .route("/admin/api/household/reveal", post(workbench::reveal_household))
        .route("/admin/api/devices", get(device_list::devices))
        .route("/admin/api/activity", get(api::activity))
        .route("/admin/api/rejections", get(api::rejections))
        .route("/admin/api/conflicts", get(api::conflicts))
        .route("/admin/api/money", get(api::money))
        .route("/admin/api/follow-ups", get(api::follow_ups))
        .route("/admin/api/billing", post(billing::load))
        .route("/admin/api/reminder-outcomes", get(reminders::outcomes))
        .merge(spreadsheets::routes())
        .merge(releases::routes())
        .merge(wipes::routes())
        .merge(locations::routes())
        .merge(photos::routes())
        .merge(money::routes())
        .merge(administration::routes())
        .merge(directory::routes())
        .route("/admin/api/handovers", get(workflows::handovers).post(workflows::start_handover))
        .route("/admin/api/tickets", get(workflows::tickets))
        .route("/admin/api/appointments", get(workflows::appointments))
        .route("/admin/api/day-summaries", get(workflows::day_summaries))
}
