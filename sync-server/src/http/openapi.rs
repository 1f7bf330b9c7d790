//! The sync protocol as an OpenAPI 3.1 document, served at `GET /v1/openapi.json` and committed as
//! docs/openapi.json. Built by utoipa from core's wire types and records and from the handlers'
//! own annotations, so it cannot drift from the code (a test compares the committed copy).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridbook_core::sync::wire::{
    AppUpdate, ChangesResponse, DeviceFacts, EnrolRequest, EnrolResponse, EntityState, ErrorBody, Op, OpAction,
    OpOutcome, OpResult, PhotoStatus, PullPage, PushRequest, PushResponse, ReceiptBlock, ReceiptBlockRequest,
    ReceiptBlockResponse, RejectCode, Removal, SnapshotFileFacts, VerifyResponse, WipeMode, WipeOrder, WipeReport,
    WipeReportRequest, WipeReportResponse,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::backoffice::{administration, device_list, directory, money};
use super::sync::Health;
use super::{app_versions, changes, photos, receipt_seal, receipts, snapshot_files, sync, verify_page, wipes};

/// Where the document is served.
pub const PATH_OPENAPI: &str = "/v1/openapi.json";
/// The security scheme of the device endpoints: `Authorization: Bearer <token from enrol>`.
pub const DEVICE_TOKEN: &str = "device_token";
/// The security scheme of the back office's JSON: the session cookie the login form sets.
pub const STAFF_SESSION: &str = "staff_session";

const DESCRIPTION: &str = "Gridbook's sync protocol between phones and the server (protocol version 1). \
docs/sync-protocol.md tells the exchange (enrol, push, pull, live changes, snapshot file, receipt blocks, verify, receipt profile and seal, app builds, remote wipe, photos) and its rules; \
docs/record-kinds.md lists every record kind's fields (the same schemas are under components). \
Every error is JSON `ErrorBody` {code, message}. Bodies of 1 KiB and more may be gzip'd both ways \
(Content-Encoding: gzip).";

#[derive(OpenApi)]
#[openapi(
    info(title = "Gridbook sync protocol", version = "1"),
    paths(
        sync::health,
        sync::enrol,
        sync::push,
        sync::pull,
        changes::changes,
        snapshot_files::snapshot_file,
        app_versions::download,
        receipts::receipt_block,
        receipts::verify,
        receipt_seal::receipt_seal,
        verify_page::verify_page,
        wipes::report,
        device_list::devices,
        money::receipts,
        money::receipt,
        money::voids,
        money::decide_void,
        money::hand_ins,
        money::record_hand_in,
        administration::enrol_code,
        administration::revoke_device,
        administration::audit,
        administration::staff_no,
        directory::directory,
        directory::create_grid,
        directory::rename_grid,
        directory::assignment,
        directory::billing_file,
        photos::put_chunk,
        photos::status,
        photos::photo,
        openapi_json,
    ),
    components(schemas(
        Health,
        EnrolRequest,
        EnrolResponse,
        PushRequest,
        DeviceFacts,
        Op,
        OpAction,
        PushResponse,
        OpResult,
        OpOutcome,
        RejectCode,
        PullPage<EntityState>,
        ChangesResponse<EntityState>,
        EntityState,
        Removal,
        SnapshotFileFacts,
        ReceiptBlockRequest,
        ReceiptBlockResponse,
        ReceiptBlock,
        VerifyResponse,
        ErrorBody,
        AppUpdate,
        WipeMode,
        WipeOrder,
        WipeReport,
        WipeReportRequest,
        WipeReportResponse,
        money::DecisionBody,
        administration::EnrolCodeBody,
        administration::StaffNoBody,
        PhotoStatus,
    )),
    modifiers(&Contract),
    tags(
        (name = "sync", description = "Enrolment, push and pull (docs/sync-protocol.md)"),
        (name = "receipts", description = "Receipt numbers and the public receipt check"),
        (name = "backoffice", description = "The back office's money controls (docs/money.md) and administration: a staff session's cookie; writes also carry its CSRF token in `X-CSRF-Token`"),
        (name = "photos", description = "The photo upload channel: resumable chunks, checked by SHA-256"),
    )
)]
pub struct ApiDoc;

/// What the derive cannot say: the description, the device token's scheme and every record kind's
/// schema.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.description = Some(DESCRIPTION.to_string());
        let components = openapi.components.get_or_insert_with(Default::default);
        // the token `POST /v1/enrol` answered, shown once
        components.add_security_scheme(DEVICE_TOKEN, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components
            .add_security_scheme(STAFF_SESSION, SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("gb_session"))));
        for (name, schema) in gridbook_core::sync::contract::record_schemas() {
            components.schemas.entry(name).or_insert(schema);
        }
    }
}

/// The document as served, pretty-printed with a final newline (the committed docs/openapi.json).
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    })
}

/// GET /v1/openapi.json: this document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "sync",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json", body = serde_json::Value))
)]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}
