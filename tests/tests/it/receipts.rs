//! Signed receipts and work orders end to end (issue 4): the real server on 127.0.0.1, phones
//! with real SQLite files and device keys, real HTTP. Receipt numbers from issued blocks, the
//! customer's signature checked by the server on every push, tampering caught, arrears paid off,
//! voids approved and audited, the paper receipt verified.

use gridbook_core::evidence::{DeviceKey, Flag};
use gridbook_core::sync::wire::{
    OpOutcome, ReceiptBlock, ReceiptBlockRequest, ReceiptBlockResponse, RejectCode, VerifyResponse, PROTOCOL_VERSION,
};
use gridbook_core::testing::{self, household_n};
use gridbook_core::*;
use gridbook_tests::*;
use serde_json::Value;

/// A server with grid g1 and manager zhang, a phone of zhang's that has synced once (so it holds
/// a receipt book), a household and an account owing 300 yuan that the phone has pulled.
async fn collecting() -> (TestServer, Phone, String, String) {
    collecting_owing(30_000).await
}

/// A debt that many receipts do not pay off: a phone refuses a receipt beyond what is still owed
/// (docs/money.md), and some tests collect again and again.
const LARGE_DEBT: i64 = 1_000_000;

/// As `collecting`, the account owing `owed_fen`.
async fn collecting_owing(owed_fen: i64) -> (TestServer, Phone, String, String) {
    let server = TestServer::start().await;
    server.grid_with_manager("g1", "zhang");
    let phone = server.phone("zhang").await;
    let h = phone.store.create_household(household_n("g1", 1)).unwrap();
    phone.sync().await;
    let account = server.arrears("g1", &h.id, owed_fen);
    let report = phone.sync().await;
    assert_eq!(report.receipt_numbers_left, 100, "the first sync brought a receipt book");
    (server, phone, h.id, account)
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn verify(server: &TestServer, receipt_no: &str, code: &str) -> (u16, Value) {
    let resp =
        http().get(format!("{}/v1/verify/{receipt_no}", server.url)).query(&[("code", code)]).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn owed_on(phone: &Phone, account: &str) -> i64 {
    phone.store.arrears_account(account).unwrap().expect("account on the phone").owed_fen
}

/// Changes what a pending op will push, as someone with the phone's database file could.
fn tamper_outbox(phone: &Phone, entity: &str, json_path: &str, value: Value) {
    let db = rusqlite::Connection::open(phone.db_path()).unwrap();
    let n = db
        .execute(
            "UPDATE outbox SET body = json_set(body, ?1, json(?2)) WHERE entity_id = ?3 AND status = 'pending'",
            rusqlite::params![json_path, value.to_string(), entity],
        )
        .unwrap();
    assert_eq!(n, 1, "one pending op of {entity}");
}

fn rejection_code(phone: &Phone, entity: &str) -> Option<String> {
    phone.store.rejected_ops().unwrap().into_iter().find(|r| r.op.entity == entity).map(|r| r.code)
}

#[tokio::test]
async fn a_signed_receipt_pays_off_the_arrears_and_its_paper_copy_verifies() {
    let (server, phone, h, account) = collecting().await;
    let other = server.phone("zhang").await;
    other.sync().await;

    let signed = phone.collect(testing::receipt("g1", &account, &h, ""));
    let r = &signed.receipt;
    assert!(r.receipt_no.starts_with("SJ") && r.receipt_no.ends_with("-001"), "{}", r.receipt_no);
    // before the sync the phone shows the last known balance minus its own unsynced receipts
    let line = phone.store.grid_arrears("g1").unwrap().into_iter().find(|l| l.account.id == account).unwrap();
    assert_eq!((line.account.owed_fen, line.collected_unsynced_fen, line.remaining_fen), (30_000, 12_800, 17_200));

    let report = phone.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (2, 0), "the signature and its receipt");
    // the server applied the receipt to the account; the phones pulled the new balance
    assert_eq!(owed_on(&phone, &account), 17_200);
    let line = phone.store.grid_arrears("g1").unwrap().into_iter().find(|l| l.account.id == account).unwrap();
    assert_eq!((line.collected_unsynced_fen, line.remaining_fen), (0, 17_200));
    other.sync().await;
    assert_eq!(owed_on(&other, &account), 17_200);
    assert!(
        other.store.signature(&signed.signature.id).unwrap().is_some(),
        "the evidence reached the grid's other phone"
    );

    // the customer's copy, and the public check of it
    let copy = phone.store.receipt_printout(&r.id, "中国电信 幸福里营业部").unwrap();
    assert!(copy.html.contains("人民币壹佰贰拾捌元整") && copy.html.contains(&signed.verification_code));
    let (status, answer) = verify(&server, &r.receipt_no, &signed.verification_code).await;
    assert_eq!(status, 200);
    let answer: VerifyResponse = serde_json::from_value(answer).unwrap();
    assert!(answer.valid);
    assert_eq!(answer.status, "valid");
    assert_eq!(answer.amount_fen, Some(12_800));
    assert_eq!(answer.grid_id.as_deref(), Some("g1"));
    assert_eq!(answer.collected_on.as_deref(), Some("2023-11-15"), "1_700_000_400_000 ms at UTC+8");
    let sloppy = signed.verification_code.replace('-', "").to_lowercase();
    assert!(verify(&server, &r.receipt_no, &sloppy).await.1["valid"].as_bool().unwrap());

    // a wrong code or an unknown number: the same shape, nothing revealed
    let (_, wrong) = verify(&server, &r.receipt_no, "0000-0000-00").await;
    let (_, unknown) = verify(&server, "SJ999999-001", &signed.verification_code).await;
    let (_, garbage) = verify(&server, &r.receipt_no, "not a code").await;
    let shape = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<String>>();
    let good_shape = shape(&serde_json::to_value(&answer).unwrap());
    for a in [&wrong, &unknown, &garbage] {
        assert_eq!(shape(a), good_shape);
        assert_eq!(a["valid"], Value::Bool(false));
        assert_eq!(a["status"], "invalid");
        assert!(a["amount_fen"].is_null() && a["collected_on"].is_null() && a["grid_id"].is_null());
    }
    let text = serde_json::to_string(&answer).unwrap();
    assert!(!text.contains("王芳") && !text.contains(&h) && !text.contains(&account), "no personal data: {text}");

    // an accepted receipt is never edited, not even by the back office
    let edit = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Receipt,
        entity: r.id.clone(),
        grid: "g1".into(),
        action: OpAction::Update,
        fields: serde_json::json!({"amount_fen": 1}).as_object().unwrap().clone(),
        hlc: Hlc::new(gridbook_sync_server::now_ms() as u64, 0, "backoffice"),
    };
    let refused = server.storage.apply_backoffice_op(&edit, gridbook_sync_server::now_ms()).unwrap();
    assert!(matches!(refused.outcome, OpOutcome::Rejected { code: RejectCode::Immutable, .. }), "{refused:?}");

    // the back office sees the evidence, checked again against what is stored
    let evidence = server.storage.receipt_evidence(&r.receipt_no).unwrap().unwrap();
    assert_eq!(evidence.verification, "verified");
    assert_eq!(evidence.signer_name.as_deref(), Some("王芳"));
    assert_eq!(evidence.signer_relation.as_deref(), Some("户主 Householder"));
    assert!(evidence.flags.is_empty());
    assert_eq!(evidence.verification_code.as_deref(), Some(signed.verification_code.as_str()));
    assert!(evidence.signature_svg.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn any_change_to_a_signed_receipt_is_caught_by_the_server() {
    let (server, phone, h, account) = collecting_owing(LARGE_DEBT).await;
    let block = phone.store.receipt_blocks().unwrap()[0].block.clone();
    let mut tampered = Vec::new();

    // the amount (kept consistent: paid less, more change)
    let a = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    tamper_outbox(&phone, &a.id, "$.fields.amount_fen", Value::from(a.amount_fen - 1_000));
    tamper_outbox(&phone, &a.id, "$.fields.change_fen", Value::from(a.change_fen + 1_000));
    tampered.push(("amount", a.id.clone()));
    // the number: another number of the same book, issued and unused
    let b = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    tamper_outbox(&phone, &b.id, "$.fields.receipt_no", Value::from(block.number(99).unwrap()));
    tampered.push(("number", b.id.clone()));
    // the time
    let c = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    tamper_outbox(&phone, &c.id, "$.fields.collected_at_ms", Value::from(c.collected_at_ms + 3_600_000));
    tampered.push(("time", c.id.clone()));
    // the strokes: the signature itself is refused, and so its receipt
    let d = phone.collect(testing::receipt("g1", &account, &h, ""));
    tamper_outbox(&phone, &d.signature.id, "$.fields.strokes.strokes[0].points[3].y", Value::from(99.5));
    tampered.push(("strokes", d.receipt.id.clone()));
    // the signer's name on the signature record
    let e = phone.collect(testing::receipt("g1", &account, &h, ""));
    tamper_outbox(&phone, &e.signature.id, "$.fields.signer_name", Value::from("李四"));
    tampered.push(("signer", e.receipt.id.clone()));
    // and one honest receipt in the same push
    let honest = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;

    let report = phone.sync().await;
    assert_eq!(report.rejected, 5 + 2, "five receipts and two signatures");
    for (what, id) in &tampered {
        assert_eq!(rejection_code(&phone, id).as_deref(), Some("bad_signature"), "{what}");
    }
    assert_eq!(rejection_code(&phone, &d.signature.id).as_deref(), Some("bad_signature"));
    let reasons: Vec<String> = phone.store.rejected_ops().unwrap().into_iter().map(|r| r.reason).collect();
    assert!(reasons.iter().any(|r| r.contains("differs from what the customer signed")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("strokes differ")), "{reasons:?}");
    // the rejections are kept on the server for the back office, with their reasons
    let on_server = server.storage.rejections(50).unwrap();
    assert_eq!(on_server.iter().filter(|r| r.code == "bad_signature").count(), 7);
    assert!(on_server.iter().all(|r| r.device_id == phone.store.device_id()));
    // only the honest receipt counts against the debt
    assert_eq!(owed_on(&phone, &account), LARGE_DEBT - honest.amount_fen);
    assert!(server.storage.receipt_evidence(&honest.receipt_no).unwrap().is_some());
    assert!(server.storage.receipt_evidence(&a.receipt_no).unwrap().is_none(), "a rejected receipt is not accepted");

    // a receipt changed in the server's own database no longer verifies
    let altered = if server.postgres.is_some() {
        "jsonb_set(vals::jsonb, '{amount_fen}', '1')::text"
    } else {
        "json_set(vals, '$.amount_fen', 1)"
    };
    server.execute(&format!("UPDATE entities SET vals = {altered} WHERE kind = 'receipt' AND id = '{}'", honest.id));
    let evidence = server.storage.receipt_evidence(&honest.receipt_no).unwrap().unwrap();
    assert!(evidence.verification.starts_with("failed:"), "{}", evidence.verification);
    let code = evidence.verification_code.clone();
    assert_eq!(code, None);
}

#[tokio::test]
async fn numbers_not_issued_to_the_device_or_already_used_are_rejected() {
    let (server, a, h, account) = collecting_owing(LARGE_DEBT).await;
    let as_book = a.store.receipt_blocks().unwrap()[0].block.clone();
    let b = server.phone("zhang").await;
    b.sync().await;

    // a book the server never issued (someone added it to the phone)
    a.store
        .add_receipt_block(&ReceiptBlock { prefix: "SJ999999-".into(), first: 1, last: 10, issued_at_ms: 0 })
        .unwrap();
    let forged = a.collect(testing::receipt("g1", &account, &h, "SJ999999-001")).receipt;
    // B's own book, copied onto A
    let bs_book = b.store.receipt_blocks().unwrap()[0].block.clone();
    a.store.add_receipt_block(&bs_book).unwrap();
    let borrowed = a.collect(testing::receipt("g1", &account, &h, &bs_book.number(1).unwrap())).receipt;
    let report = a.sync().await;
    assert_eq!(report.rejected, 2);
    assert_eq!(rejection_code(&a, &forged.id).as_deref(), Some("receipt_no_not_issued"));
    assert_eq!(rejection_code(&a, &borrowed.id).as_deref(), Some("receipt_no_not_issued"));

    // A uses a number; B (holding a copy of A's book) uses it again offline
    let first = a.collect(testing::receipt("g1", &account, &h, &as_book.number(1).unwrap())).receipt;
    a.sync().await;
    b.store.add_receipt_block(&as_book).unwrap();
    let again = b.collect(testing::receipt("g1", &account, &h, &first.receipt_no)).receipt;
    b.sync().await;
    assert_eq!(rejection_code(&b, &again.id).as_deref(), Some("duplicate_receipt_no"));
    let codes: Vec<String> = server.storage.rejections(50).unwrap().into_iter().map(|r| r.code).collect();
    assert_eq!(codes.iter().filter(|c| *c == "receipt_no_not_issued").count(), 2);
    assert_eq!(codes.iter().filter(|c| *c == "duplicate_receipt_no").count(), 1);
    // the debt went down once, by the one accepted receipt
    b.sync().await;
    assert_eq!(owed_on(&b, &account), LARGE_DEBT - first.amount_fen);
}

#[tokio::test]
async fn a_signature_by_a_key_the_device_did_not_register_is_rejected() {
    let (server, phone, h, account) = collecting().await;
    // the phone forgets which key it registered and signs with another one
    let db = rusqlite::Connection::open(phone.db_path()).unwrap();
    db.execute("DELETE FROM meta WHERE key = 'device_public_key'", []).unwrap();
    let stranger = DeviceKey::generate().unwrap();
    let signed = phone
        .store
        .record_signed_receipt(testing::receipt("g1", &account, &h, ""), testing::capture("王芳"), &stranger)
        .unwrap();
    phone.sync().await;
    assert_eq!(rejection_code(&phone, &signed.signature.id).as_deref(), Some("bad_signature"));
    assert_eq!(rejection_code(&phone, &signed.receipt.id).as_deref(), Some("bad_signature"));
    let reasons: Vec<String> = server.storage.rejections(10).unwrap().into_iter().map(|r| r.reason).collect();
    assert!(reasons.iter().any(|r| r.contains("does not verify under the device's registered key")), "{reasons:?}");
    assert_eq!(owed_on(&phone, &account), 30_000);

    // and with the registered key in place, signing with another key is refused on the phone
    let (_server2, phone2, h2, account2) = collecting().await;
    match phone2.store.record_signed_receipt(
        testing::receipt("g1", &account2, &h2, ""),
        testing::capture("王芳"),
        &stranger,
    ) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "device_key"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unsigned_receipt_is_rejected_and_a_hasty_signature_is_flagged_for_the_back_office() {
    let (server, phone, h, account) = collecting().await;
    let unsigned = phone.store.record_receipt(testing::receipt("g1", &account, &h, "")).unwrap();
    let mut capture = testing::capture("王芳");
    for (i, p) in capture.strokes.strokes.iter_mut().flat_map(|s| s.points.iter_mut()).enumerate() {
        p.t_ms = i as u32 * 2; // the whole signature in about 0.1 s
    }
    let hasty = phone
        .store
        .record_signed_receipt(testing::receipt("g1", &account, &h, ""), capture, &phone.store.device_key().unwrap())
        .unwrap();
    assert_eq!(hasty.signature.flags, vec![Flag::TooFast]);
    phone.sync().await;
    assert_eq!(rejection_code(&phone, &unsigned.id).as_deref(), Some("bad_signature"));
    // the hasty one is accepted (no app can tell a forgery), and shown flagged
    let evidence = server.storage.receipt_evidence(&hasty.receipt.receipt_no).unwrap().unwrap();
    assert_eq!(evidence.verification, "verified");
    assert_eq!(evidence.flags, vec!["TooFast".to_string()]);
    assert!(evidence.signature_duration_ms.unwrap() < 300);
}

#[tokio::test]
async fn every_reveal_of_a_receipts_evidence_is_audited() {
    let (server, phone, h, account) = collecting().await;
    server.supervisor("sup1", "主管密码2026!");
    let signed = phone.collect(testing::receipt("g1", &account, &h, ""));
    let no = signed.receipt.receipt_no.clone();
    phone.sync().await;
    let trail = |subject: &str| server.storage.audit_log(Some(subject), 10).unwrap();
    assert!(trail(&no).is_empty());

    // the back office's JSON shows the name, the signature and the code: one row, who and when
    let url = |no: &str| format!("{}/v1/backoffice/receipts/{no}", server.url);
    let resp = http().get(url(&no)).basic_auth("sup1", Some("主管密码2026!")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["signer_name"], "王芳");
    assert_eq!(shown["verification_code"], signed.verification_code.as_str());
    let rows = trail(&no);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].action.as_str(), rows[0].actor.as_str()), ("reveal_receipt", "sup1"));
    assert!(rows[0].at_ms > 0);
    assert!(!rows[0].detail.contains("王芳") && !rows[0].detail.contains(&signed.verification_code));

    // refused credentials and an unknown number reveal nothing and leave no row
    assert_eq!(http().get(url(&no)).basic_auth("sup1", Some("wrong")).send().await.unwrap().status().as_u16(), 401);
    let unknown = http().get(url("SJ999999-001")).basic_auth("sup1", Some("主管密码2026!")).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    assert!(trail("SJ999999-001").is_empty());
    assert_eq!(trail(&no).len(), 1);

    // the admin command that prints the same evidence is audited too
    let printed = server.admin(gridbook_sync_server::cli::admin::AdminCommand::ShowReceipt { receipt_no: no.clone() });
    assert!(printed.contains("王芳"));
    let rows = trail(&no);
    assert_eq!((rows.len(), rows[0].action.as_str(), rows[0].actor.as_str()), (2, "reveal_receipt", "admin-cli"));
}

#[tokio::test]
async fn a_void_is_recorded_approved_and_audited() {
    let (server, phone, h, account) = collecting().await;
    server.supervisor("sup1", "主管密码2026!");
    server.admin(gridbook_sync_server::cli::admin::AdminCommand::CreateManager {
        id: "fieldpw".into(),
        name: "外勤".into(),
        role: "field".into(),
        password: Some("field-password".into()),
    });
    let r = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    let second = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    phone.sync().await;
    assert_eq!(owed_on(&phone, &account), 30_000 - 2 * 12_800);

    let void = phone.store.void_receipt(&r.id, "金额录错，重开收据", "zhang").unwrap();
    let refused = phone.store.void_receipt(&second.id, "客户要求作废", "zhang").unwrap();
    phone.sync().await;
    assert_eq!(phone.store.rejected_ops().unwrap().len(), 0);
    // recorded, waiting: the receipt still counts
    assert_eq!(owed_on(&phone, &account), 30_000 - 2 * 12_800);

    let voids_url = format!("{}/v1/backoffice/voids", server.url);
    // the back office only, by its credentials
    assert_eq!(http().get(&voids_url).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(http().get(&voids_url).basic_auth("sup1", Some("wrong")).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(
        http().get(&voids_url).basic_auth("fieldpw", Some("field-password")).send().await.unwrap().status().as_u16(),
        403
    );
    let pending: Vec<Value> = http()
        .get(&voids_url)
        .query(&[("status", "pending")])
        .basic_auth("sup1", Some("主管密码2026!"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    let row = pending.iter().find(|v| v["void_id"] == void.id.as_str()).unwrap();
    assert_eq!(
        (row["receipt_no"].as_str(), row["reason"].as_str(), row["amount_fen"].as_i64()),
        (Some(r.receipt_no.as_str()), Some("金额录错，重开收据"), Some(12_800))
    );

    // approve over HTTP
    let decide = |id: &str| format!("{voids_url}/{id}/decision");
    let resp = http()
        .post(decide(&void.id))
        .basic_auth("sup1", Some("主管密码2026!"))
        .json(&serde_json::json!({"decision": "approve", "note": "已核实，收据重开"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let decided: Value = resp.json().await.unwrap();
    assert_eq!((decided["status"].as_str(), decided["decided_by"].as_str()), (Some("approved"), Some("sup1")));
    // deciding again is refused
    let again = http()
        .post(decide(&void.id))
        .basic_auth("sup1", Some("主管密码2026!"))
        .json(&serde_json::json!({"decision": "refuse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    // refuse the other by the admin command, as an operator would
    let out = server.admin(gridbook_sync_server::cli::admin::AdminCommand::DecideVoid {
        void: refused.id.clone(),
        decision: "refuse".into(),
        by: "sup1".into(),
        note: "客户已确认付款".into(),
    });
    assert_eq!(out, format!("void {} refused", refused.id));

    // the approved void gives the amount back to the account; the refused one does not
    phone.sync().await;
    assert_eq!(owed_on(&phone, &account), 30_000 - 12_800);
    // the paper receipt now reads as voided
    let code = server.storage.receipt_evidence(&r.receipt_no).unwrap().unwrap().verification_code.unwrap();
    let (_, answer) = verify(&server, &r.receipt_no, &code).await;
    assert_eq!((answer["valid"].as_bool(), answer["status"].as_str()), (Some(false), Some("voided")));
    assert_eq!(
        server.storage.receipt_evidence(&second.receipt_no).unwrap().unwrap().void_status.as_deref(),
        Some("refused")
    );
    // the receipt itself never changed
    let stored = server.storage.receipt_evidence(&r.receipt_no).unwrap().unwrap().receipt;
    assert_eq!(stored, r);

    // audited: who asked, who decided, when
    let trail = server.storage.audit_log(Some(&void.id), 10).unwrap();
    let actions: Vec<(&str, &str)> = trail.iter().rev().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert_eq!(actions, [("void_requested", phone.store.device_id()), ("void_approved", "sup1")]);
    assert!(trail[0].detail.contains("已核实"));
    assert!(trail.iter().all(|a| a.at_ms > 0));
    let audit: Vec<Value> = http()
        .get(format!("{}/v1/backoffice/audit", server.url))
        .query(&[("subject", refused.id.as_str())])
        .basic_auth("sup1", Some("主管密码2026!"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["action"], "void_refused");
    // a void decided by someone who is not back office is refused
    let third = phone.collect(testing::receipt("g1", &account, &h, "")).receipt;
    phone.sync().await;
    let v3 = phone.store.void_receipt(&third.id, "测试", "zhang").unwrap();
    phone.sync().await;
    let err = server
        .storage
        .decide_void(
            &v3.id,
            gridbook_sync_server::storage::evidence::VoidDecision::Approve,
            "zhang",
            "",
            gridbook_sync_server::now_ms(),
        )
        .unwrap_err();
    assert_eq!(gridbook_sync_server::AppError::from(err).status().as_u16(), 403);
}

#[tokio::test]
async fn the_phone_asks_for_a_new_book_below_fifty_and_a_retried_request_gets_the_same_book() {
    let (server, phone, h, account) = collecting_owing(LARGE_DEBT).await;
    for _ in 0..51 {
        phone.collect(testing::receipt("g1", &account, &h, ""));
    }
    assert_eq!(phone.store.receipt_numbers_left().unwrap(), 49);
    let report = phone.sync().await;
    assert_eq!((report.rejected, report.receipt_blocks_added, report.receipt_numbers_left), (0, 1, 149));
    let books = phone.store.receipt_blocks().unwrap();
    assert_eq!(books.len(), 2);
    assert_ne!(books[0].block.prefix, books[1].block.prefix);
    let on_server = server.storage.receipt_blocks(Some(phone.store.device_id())).unwrap();
    assert_eq!(on_server.iter().map(|b| b.used).collect::<Vec<_>>(), [51, 0]);
    // no refill while 50 or more are left
    assert_eq!(phone.sync().await.receipt_blocks_added, 0);
    // the app may ask for a book itself
    assert_eq!(phone.engine.refill_receipt_numbers().await.unwrap(), 249);

    // the same request id twice: one book
    let token = phone.config.token.clone();
    let request =
        ReceiptBlockRequest { protocol: PROTOCOL_VERSION, request_id: uuid::Uuid::now_v7(), numbers_left: 249 };
    let ask = |req: ReceiptBlockRequest| {
        let (url, token) = (server.url.clone(), token.clone());
        async move { http().post(format!("{url}/v1/receipt-blocks")).bearer_auth(token).json(&req).send().await.unwrap() }
    };
    let first: ReceiptBlockResponse = ask(request.clone()).await.json().await.unwrap();
    let second: ReceiptBlockResponse = ask(request.clone()).await.json().await.unwrap();
    assert_eq!(first.block, second.block);
    // a device that hoards numbers is refused more
    let mut status = 200;
    for _ in 0..5 {
        status =
            ask(ReceiptBlockRequest { request_id: uuid::Uuid::now_v7(), ..request.clone() }).await.status().as_u16();
        if status != 200 {
            break;
        }
    }
    assert_eq!(status, 409);
    // without a device token: refused
    let anonymous = http().post(format!("{}/v1/receipt-blocks", server.url)).json(&request).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn a_signed_work_order_is_verified_and_an_altered_one_rejected() {
    let (server, phone, h, _account) = collecting().await;
    let key = phone.store.device_key().unwrap();
    let mut v = testing::visit("g1", &h);
    v.purpose = VisitPurpose::Complaint;
    v.outcome = "宽带故障已修复".into();
    let good = phone.store.record_signed_visit(v.clone(), testing::capture("王芳"), &key, None).unwrap();
    let altered = phone.store.record_signed_visit(v.clone(), testing::capture("王芳"), &key, None).unwrap();
    tamper_outbox(&phone, &altered.visit.id, "$.fields.outcome", Value::from("客户不满意"));
    let unsigned = phone.store.record_visit(testing::visit("g1", &h)).unwrap();
    let report = phone.sync().await;
    assert_eq!(report.rejected, 1);
    assert_eq!(rejection_code(&phone, &altered.visit.id).as_deref(), Some("bad_signature"));
    let other = server.phone("zhang").await;
    other.sync().await;
    assert_eq!(
        other.store.visit(&good.visit.id).unwrap().and_then(|v| v.signature_id),
        Some(good.signature.id.clone())
    );
    assert!(other.store.visit(&unsigned.id).unwrap().is_some(), "a visit without a work order needs no signature");
    assert!(other.store.visit(&altered.visit.id).unwrap().is_none());
}

/// Issue 18: two phones of one manager, each with the whole debt on its screen, collect it twice;
/// the server keeps what the account owed when each receipt arrived, and the back office flags
/// the second as over-collection. A phone itself refuses more than the debt it holds, and the
/// public check page calls the first receipt genuine.
#[tokio::test]
async fn money_beyond_the_debt_is_refused_on_the_phone_and_flagged_when_two_phones_collect_it() {
    use gridbook_sync_server::storage::money::MoneyQuery;
    let (server, phone, h, account) = collecting().await;
    let other = server.phone("zhang").await;
    other.sync().await;
    assert_eq!(owed_on(&other, &account), 30_000);

    let mut too_much = testing::receipt("g1", &account, &h, "");
    (too_much.owed_before_fen, too_much.amount_fen, too_much.cash_received_fen, too_much.change_fen) =
        (30_000, 30_001, 40_000, 9_999);
    let key = phone.store.device_key().unwrap();
    match phone.store.record_signed_receipt(too_much, testing::capture("王芳"), &key) {
        Err(Error::Invalid(e)) => assert_eq!(e.field, gridbook_core::field::receipts::OVERPAYMENT_FIELD),
        other => panic!("a fen beyond the debt is refused on the phone: {other:?}"),
    }

    let all = |no_owed: i64| {
        let mut r = testing::receipt("g1", &account, &h, "");
        (r.owed_before_fen, r.amount_fen, r.cash_received_fen, r.change_fen) = (no_owed, 30_000, 30_000, 0);
        r
    };
    let first = phone.collect(all(30_000));
    let second = other.collect(all(30_000));
    phone.sync().await;
    other.sync().await;

    let page = server.state.backoffice.money.money_receipts(&MoneyQuery { limit: 10, ..Default::default() }).unwrap();
    let of = |no: &str| page.receipts.iter().find(|r| r.receipt_no == no).unwrap().clone();
    let (a, b) = (of(&first.receipt.receipt_no), of(&second.receipt.receipt_no));
    assert_eq!((a.owed_at_arrival_fen, a.flags.clone()), (Some(30_000), vec![]));
    assert_eq!((b.owed_at_arrival_fen, b.flags.clone()), (Some(0), vec!["over_collected", "owed_before_differs"]));
    assert_eq!(owed_on(&phone, &account), 0, "never below zero");

    let check = http()
        .get(format!("{}/verify", server.url))
        .query(&[("no", first.receipt.receipt_no.as_str()), ("code", first.verification_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(check.status().as_u16(), 200);
    let html = check.text().await.unwrap();
    assert!(html.contains("data-answer=\"genuine\"") && html.contains("¥300.00"), "{html}");
    assert!(!html.contains("王芳") && !html.contains(&h), "no personal data on the public page");
}

#[tokio::test]
async fn a_photo_swapped_or_dropped_after_signing_is_refused_by_the_server() {
    let (server, phone, h, account) = collecting_owing(LARGE_DEBT).await;
    let scan = gridbook_core::photos::photo_sha256(b"the paper form the customer signed");
    let other = gridbook_core::photos::photo_sha256(b"another paper");
    let with_scan = || Receipt { photos: vec![scan.clone()], ..testing::receipt("g1", &account, &h, "") };
    // the receipt's photo swapped for another, or taken off, between signing and the push
    let swapped = phone.collect(with_scan()).receipt;
    tamper_outbox(&phone, &swapped.id, "$.fields.photos", Value::from(vec![other.clone()]));
    let dropped = phone.collect(with_scan()).receipt;
    tamper_outbox(&phone, &dropped.id, "$.fields.photos", Value::Array(vec![]));
    // a visit's work order: its photos are lines of what the customer signed too
    let key = phone.store.device_key().unwrap();
    let visit = Visit { photos: vec![scan.clone(), other.clone()], ..testing::visit("g1", &h) };
    let signed = phone.store.record_signed_visit(visit, testing::capture("赵老板"), &key, None).unwrap();
    let reordered = Value::from(vec![other.clone(), scan.clone()]);
    tamper_outbox(&phone, &signed.visit.id, "$.fields.photos", reordered);
    let honest = phone.collect(with_scan()).receipt;

    phone.sync().await;
    for (what, id) in [("swapped", &swapped.id), ("dropped", &dropped.id), ("visit", &signed.visit.id)] {
        assert_eq!(rejection_code(&phone, id).as_deref(), Some("bad_signature"), "{what}");
    }
    assert_eq!(rejection_code(&phone, &honest.id), None, "the honest receipt with its photo is taken");
    let on_server = server.storage.rejections(50).unwrap();
    assert_eq!(on_server.iter().filter(|r| r.code == "bad_signature").count(), 3, "{on_server:?}");
    assert!(on_server.iter().all(|r| r.code != "bad_signature" || r.reason.contains("differs")), "{on_server:?}");
}

/// The customer's copy as the phone prints it (issue 18): the collector's name and staff number
/// and the billing months are signed (document version 2) and the server accepts the seal; the
/// QR code on the printed page, read back from the printer's raster, leads to this server's
/// public check, which answers "genuine" for it.
#[tokio::test]
async fn the_qr_code_on_the_printed_copy_leads_to_the_public_check_which_answers_genuine() {
    use gridbook_core::evidence::{escpos, Paper};
    let (server, phone, h, account) = collecting().await;
    phone.store.set_collector_profile(&CollectorProfile { name: "张伟".into(), staff_no: "HN0731".into() }).unwrap();
    let signed = phone.collect(testing::receipt("g1", &account, &h, ""));
    let r = &signed.receipt;
    assert_eq!(gridbook_core::field::receipts::receipt_document(r).version(), 2);
    let report = phone.sync().await;
    assert_eq!((report.acknowledged, report.rejected), (2, 0), "the server verifies a version 2 seal");

    // the copy's check address is the server this phone is enrolled with: configuration, not code
    let branding = ReceiptBranding::company("中国电信 幸福里营业部");
    let copy = phone.store.receipt_copy(&r.id, &branding).unwrap();
    let link = copy.verify_url.clone().expect("an enrolled phone prints the check's address");
    assert!(link.starts_with(&format!("{}/verify?no=", server.url)), "{link}");
    assert!(copy.html.contains("收款人 Collector</th><td>张伟（工号 Staff No. HN0731）</td>"));
    assert!(copy.html.contains("缴费月份 Billing months"));

    let font = std::fs::read("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
        .expect("the CJK test font (.ci/install-tools installs fonts-noto-cjk)");
    let png = phone.store.receipt_copy_image(&r.id, &branding, &font).unwrap();
    let raster = escpos::receipt_raster(&png, Paper::Mm58).unwrap();
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(raster.width() as usize, raster.height() as usize, |x, y| {
            if raster.is_black(x as u32, y as u32) {
                0
            } else {
                255
            }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the paper");
    let scanned = grids[0].decode().unwrap().1;
    assert_eq!(scanned, link);

    let page = http().get(&scanned).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-answer=\"genuine\"") && html.contains("¥128.00"), "{html}");
    assert!(!html.contains("王芳") && !html.contains("张伟") && !html.contains(&h), "no personal data");
    // the same link with another code is not genuine
    let forged = scanned.replace(&signed.verification_code, "0000-0000-00");
    let html = http().get(&forged).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-answer=\"not-genuine\""), "{html}");
}
