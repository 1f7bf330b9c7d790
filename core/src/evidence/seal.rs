//! The device seal: an ed25519 signature by the phone's key over what the customer signed
//! (document hash, strokes hash, signer name and relation, HLC stamp, device id), and its checks.
//!
//! Signed message (format "gridbook-seal/1"):
//! ```text
//! b"gridbook-seal/1\0" ‖ document_hash[32] ‖ strokes_hash[32]
//!   ‖ u32be len ‖ signer_name ‖ u32be len ‖ relation code ‖ u32be len ‖ hlc ‖ u32be len ‖ device_id
//! ```
//! The tag separates this from anything else the key might ever sign; the length prefixes make
//! the string fields unambiguous. Relation codes: `householder`, `family_member`, `shop_staff`,
//! `other:<text>`.
//!
//! The private key sits behind [`DeviceSigner`] so the phone can keep it in the Android
//! Keystore / iOS Keychain and never hand the bytes to Rust; [`DeviceKey`] is the in-memory
//! implementation for tests, desktops and the simulator.

use ed25519_dalek::{Signature as EdSignature, Signer as _, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::document::{DocumentError, ReceiptDocument, WorkOrderDocument};
use super::strokes::{Signature, StrokeError};

const TAG: &[u8] = b"gridbook-seal/1\0";

/// Who signed, relative to the household. The manager never signs for the customer
/// (不准代客户签字), so "the manager" is deliberately not a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 户主
    Householder,
    /// 家属
    FamilyMember,
    /// 店员
    ShopStaff,
    /// 其他, with the relation as told (e.g. "邻居 neighbour").
    Other(String),
}

impl Relation {
    /// The code that is sealed and stored: `householder`, `family_member`, `shop_staff`,
    /// `other:<text>`.
    pub fn code(&self) -> String {
        match self {
            Relation::Householder => "householder".into(),
            Relation::FamilyMember => "family_member".into(),
            Relation::ShopStaff => "shop_staff".into(),
            Relation::Other(s) => format!("other:{s}"),
        }
    }
    /// Reads a stored code back; `None` for anything [`Relation::code`] does not write.
    pub fn from_code(code: &str) -> Option<Relation> {
        match code {
            "householder" => Some(Relation::Householder),
            "family_member" => Some(Relation::FamilyMember),
            "shop_staff" => Some(Relation::ShopStaff),
            other => other.strip_prefix("other:").map(|s| Relation::Other(s.to_string())),
        }
    }
    /// Label for a zh-CN-first page: "户主 Householder", "其他 Other: 邻居".
    pub fn label(&self) -> String {
        match self {
            Relation::Householder => "户主 Householder".into(),
            Relation::FamilyMember => "家属 Family member".into(),
            Relation::ShopStaff => "店员 Shop staff".into(),
            Relation::Other(s) => format!("其他 Other: {s}"),
        }
    }
}

/// The evidence record stored with the strokes and synced to the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRecord {
    #[serde(with = "super::hex")]
    pub document_hash: [u8; 32],
    #[serde(with = "super::hex")]
    pub strokes_hash: [u8; 32],
    pub signer_name: String,
    pub signer_relation: Relation,
    /// Hybrid logical clock stamp of the signing, from the sync engine.
    pub hlc: String,
    pub device_id: String,
    #[serde(with = "super::hex")]
    pub device_signature: [u8; 64],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// Key store locked, key missing or the user cancelled authentication: may work later.
    #[error("device key unavailable: {0}")]
    Unavailable(String),
    #[error("device signing failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum SealError {
    #[error("signer name is empty: the customer's name is required")]
    EmptySignerName,
    #[error("relation \"other\" needs a description")]
    EmptyRelation,
    #[error("{0} is empty")]
    EmptyField(&'static str),
    #[error("invalid document: {0}")]
    Document(#[from] DocumentError),
    #[error("invalid signature strokes: {0}")]
    Strokes(#[from] StrokeError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("public key is not a valid ed25519 key")]
    BadPublicKey,
    #[error("device signature does not verify: the record was altered or sealed by another key")]
    BadSignature,
    #[error("the document differs from the one that was signed")]
    DocumentMismatch,
    #[error("the strokes differ from the ones that were signed")]
    StrokesMismatch,
    #[error("record was sealed on device {record} but the document names device {document}")]
    DeviceMismatch { record: String, document: String },
}

/// Where the device's private key lives. Implemented in Kotlin/Swift over the platform key
/// store, and by [`DeviceKey`] in memory.
pub trait DeviceSigner: Send + Sync {
    fn public_key(&self) -> [u8; 32];
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}

/// In-memory ed25519 device key.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// A fresh key from the OS's random source; errors (rather than panics) if it fails.
    pub fn generate() -> Result<Self, SignError> {
        let mut seed = [0u8; 32];
        OsRng.try_fill_bytes(&mut seed).map_err(|e| SignError::Unavailable(format!("no OS randomness: {e}")))?;
        Ok(Self::from_bytes(&seed))
    }
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(secret))
    }
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
}

impl std::fmt::Debug for DeviceKey {
    // Never print the secret, even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey(public {})", super::hex::encode(&self.public_key_bytes()))
    }
}

impl DeviceSigner for DeviceKey {
    fn public_key(&self) -> [u8; 32] {
        self.public_key_bytes()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.0.sign(message).to_bytes())
    }
}

impl SignatureRecord {
    /// The exact bytes the device signs; see the module docs.
    pub fn signed_message(&self) -> Vec<u8> {
        message(
            &self.document_hash,
            &self.strokes_hash,
            &self.signer_name,
            &self.signer_relation,
            &self.hlc,
            &self.device_id,
        )
    }
}

fn message(doc: &[u8; 32], strokes: &[u8; 32], name: &str, rel: &Relation, hlc: &str, device: &str) -> Vec<u8> {
    let code = rel.code();
    let mut m = Vec::with_capacity(TAG.len() + 64 + 16 + name.len() + code.len() + hlc.len() + device.len());
    m.extend_from_slice(TAG);
    m.extend_from_slice(doc);
    m.extend_from_slice(strokes);
    for field in [name, code.as_str(), hlc, device] {
        // Lengths beyond u32 cannot occur for strings we accept; saturate rather than wrap.
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(field.as_bytes());
    }
    m
}

fn check_fields(name: &str, rel: &Relation, hlc: &str, device: &str) -> Result<(), SealError> {
    if name.trim().is_empty() {
        return Err(SealError::EmptySignerName);
    }
    if matches!(rel, Relation::Other(s) if s.trim().is_empty()) {
        return Err(SealError::EmptyRelation);
    }
    if hlc.trim().is_empty() {
        return Err(SealError::EmptyField("hlc"));
    }
    if device.trim().is_empty() {
        return Err(SealError::EmptyField("device_id"));
    }
    Ok(())
}

/// Seals already-computed hashes. The signer name is stored trimmed.
pub fn seal(
    document_hash: [u8; 32],
    strokes_hash: [u8; 32],
    signer_name: &str,
    signer_relation: Relation,
    hlc: &str,
    device_id: &str,
    signer: &dyn DeviceSigner,
) -> Result<SignatureRecord, SealError> {
    let signer_name = signer_name.trim();
    check_fields(signer_name, &signer_relation, hlc, device_id)?;
    let mut record = SignatureRecord {
        document_hash,
        strokes_hash,
        signer_name: signer_name.to_string(),
        signer_relation,
        hlc: hlc.to_string(),
        device_id: device_id.to_string(),
        device_signature: [0; 64],
    };
    record.device_signature = signer.sign(&record.signed_message())?;
    Ok(record)
}

/// Validates the receipt and the strokes, then seals their hashes under the receipt's device id.
pub fn seal_receipt(
    doc: &ReceiptDocument,
    sig: &Signature,
    signer_name: &str,
    relation: Relation,
    hlc: &str,
    signer: &dyn DeviceSigner,
) -> Result<SignatureRecord, SealError> {
    doc.validate()?;
    seal(doc.hash(), sig.hash()?, signer_name, relation, hlc, &doc.device_id, signer)
}

/// Validates the work order and the strokes, then seals them under the work order's device id.
pub fn seal_work_order(
    doc: &WorkOrderDocument,
    sig: &Signature,
    signer_name: &str,
    relation: Relation,
    hlc: &str,
    signer: &dyn DeviceSigner,
) -> Result<SignatureRecord, SealError> {
    doc.validate()?;
    seal(doc.hash(), sig.hash()?, signer_name, relation, hlc, &doc.device_id, signer)
}

/// Whether 32 bytes are a usable Ed25519 public key (a point on the curve). The server checks a
/// device's key at enrolment with this.
pub fn is_valid_public_key(key: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(key).is_ok_and(|k| !k.is_weak())
}

/// Checks the record's fields and its device signature under `public_key`.
pub fn verify(record: &SignatureRecord, public_key: &[u8; 32]) -> Result<(), SealError> {
    check_fields(&record.signer_name, &record.signer_relation, &record.hlc, &record.device_id)?;
    verify_message(public_key, &record.signed_message(), &record.device_signature)
}

/// Checks a device's Ed25519 signature of `message` under `public_key`: a sealed record's, or a
/// signed request's (the remote wipe's report).
pub fn verify_message(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<(), SealError> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| SealError::BadPublicKey)?;
    // verify_strict rejects weak keys and malleable signatures, which plain verify accepts.
    key.verify_strict(message, &EdSignature::from_bytes(signature)).map_err(|_| SealError::BadSignature)
}

fn check(
    doc_hash: [u8; 32],
    doc_device: &str,
    sig: &Signature,
    record: &SignatureRecord,
    pk: &[u8; 32],
) -> Result<(), SealError> {
    if doc_hash != record.document_hash {
        return Err(SealError::DocumentMismatch);
    }
    if sig.hash()? != record.strokes_hash {
        return Err(SealError::StrokesMismatch);
    }
    if doc_device != record.device_id {
        return Err(SealError::DeviceMismatch { record: record.device_id.clone(), document: doc_device.to_string() });
    }
    verify(record, pk)
}

/// Back-office check of a receipt: valid document, same document and strokes as sealed, same
/// device, good device signature.
pub fn check_receipt(
    doc: &ReceiptDocument,
    sig: &Signature,
    record: &SignatureRecord,
    public_key: &[u8; 32],
) -> Result<(), SealError> {
    doc.validate()?;
    check(doc.hash(), &doc.device_id, sig, record, public_key)
}

/// As [`check_receipt`], for a work order.
pub fn check_work_order(
    doc: &WorkOrderDocument,
    sig: &Signature,
    record: &SignatureRecord,
    public_key: &[u8; 32],
) -> Result<(), SealError> {
    doc.validate()?;
    check(doc.hash(), &doc.device_id, sig, record, public_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::document::tests::{receipt, work_order};
    use crate::evidence::strokes::tests::sample;

    fn key() -> DeviceKey {
        DeviceKey::from_bytes(&[7; 32])
    }

    fn sealed() -> (ReceiptDocument, Signature, SignatureRecord) {
        let (doc, sig) = (receipt(), sample());
        let rec =
            seal_receipt(&doc, &sig, "  王芳 ", Relation::FamilyMember, "0000018f2a3b:0001:dev-a1", &key()).unwrap();
        (doc, sig, rec)
    }

    #[test]
    fn sealed_receipt_checks_out() {
        let (doc, sig, rec) = sealed();
        assert_eq!(rec.signer_name, "王芳");
        assert_eq!(rec.device_id, "dev-a1");
        assert_eq!(check_receipt(&doc, &sig, &rec, &key().public_key_bytes()), Ok(()));
    }

    #[test]
    fn tampering_is_detected() {
        let (doc, sig, rec) = sealed();
        let pk = key().public_key_bytes();

        let mut d = doc.clone();
        d.paid_fen -= 100; // still a consistent receipt, just not the signed one
        d.change_fen += 100;
        assert_eq!(check_receipt(&d, &sig, &rec, &pk), Err(SealError::DocumentMismatch));

        let mut d = doc.clone();
        d.receipt_no = "R-0007-000124".into();
        assert_eq!(check_receipt(&d, &sig, &rec, &pk), Err(SealError::DocumentMismatch));

        let mut d = doc.clone();
        d.issued_at_ms += 60_000;
        assert_eq!(check_receipt(&d, &sig, &rec, &pk), Err(SealError::DocumentMismatch));

        let mut s = sig.clone();
        s.strokes[1].points[2].y += 1.0;
        assert_eq!(check_receipt(&doc, &s, &rec, &pk), Err(SealError::StrokesMismatch));

        // Someone who rewrites the record's hash to match an edited receipt breaks the signature.
        let mut d = doc.clone();
        d.owed_before_fen = 0;
        let mut r = rec.clone();
        r.document_hash = d.hash();
        assert_eq!(check_receipt(&d, &sig, &r, &pk), Err(SealError::BadSignature));

        let mut r = rec.clone();
        r.signer_relation = Relation::Householder;
        assert_eq!(verify(&r, &pk), Err(SealError::BadSignature));

        let mut r = rec.clone();
        r.signer_name = "李四".into();
        assert_eq!(verify(&r, &pk), Err(SealError::BadSignature));

        let mut d = doc.clone();
        d.device_id = "dev-b2".into();
        let mut r = rec.clone();
        r.document_hash = d.hash();
        assert!(matches!(check_receipt(&d, &sig, &r, &pk), Err(SealError::DeviceMismatch { .. })));
    }

    #[test]
    fn public_keys_are_checked() {
        assert!(is_valid_public_key(&key().public_key_bytes()));
        assert!(!is_valid_public_key(&[0; 32]), "the identity point is a weak key");
    }

    #[test]
    fn relation_codes_round_trip() {
        for r in [
            Relation::Householder,
            Relation::FamilyMember,
            Relation::ShopStaff,
            Relation::Other("邻居".into()),
            Relation::Other("a:b".into()),
        ] {
            assert_eq!(Relation::from_code(&r.code()), Some(r));
        }
        assert_eq!(Relation::from_code("manager"), None);
        assert_eq!(Relation::from_code(""), None);
    }

    #[test]
    fn wrong_key_is_detected() {
        let (doc, sig, rec) = sealed();
        let other = DeviceKey::generate().unwrap();
        assert_ne!(other.public_key_bytes(), key().public_key_bytes());
        assert_eq!(check_receipt(&doc, &sig, &rec, &other.public_key_bytes()), Err(SealError::BadSignature));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let (doc, sig) = (receipt(), sample());
        let k = key();
        let err = |name: &str, rel: Relation, hlc: &str| seal_receipt(&doc, &sig, name, rel, hlc, &k).unwrap_err();
        assert_eq!(err(" \t", Relation::Householder, "h"), SealError::EmptySignerName);
        assert_eq!(err("王芳", Relation::Other(" ".into()), "h"), SealError::EmptyRelation);
        assert_eq!(err("王芳", Relation::Householder, ""), SealError::EmptyField("hlc"));

        let mut bad_doc = receipt();
        bad_doc.change_fen = 0;
        assert!(matches!(
            seal_receipt(&bad_doc, &sig, "王芳", Relation::Householder, "h", &k),
            Err(SealError::Document(_))
        ));
        let mut bad_sig = sample();
        bad_sig.strokes.clear();
        assert_eq!(
            seal_receipt(&doc, &bad_sig, "王芳", Relation::Householder, "h", &k),
            Err(SealError::Strokes(StrokeError::NoStrokes))
        );
    }

    #[test]
    fn keystore_failure_is_reported_not_panicked() {
        struct Locked;
        impl DeviceSigner for Locked {
            fn public_key(&self) -> [u8; 32] {
                [0; 32]
            }
            fn sign(&self, _: &[u8]) -> Result<[u8; 64], SignError> {
                Err(SignError::Unavailable("keystore locked".into()))
            }
        }
        let r = seal_receipt(&receipt(), &sample(), "王芳", Relation::Householder, "h", &Locked);
        assert_eq!(r, Err(SealError::Sign(SignError::Unavailable("keystore locked".into()))));
    }

    #[test]
    fn record_survives_json_and_key_debug_hides_secret() {
        let (doc, sig, rec) = sealed();
        let json = serde_json::to_string(&rec).unwrap();
        assert!(json.contains(&crate::evidence::hex::encode(&rec.device_signature)));
        assert!(json.contains("\"signer_relation\":\"family_member\""));
        let back: SignatureRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rec);
        assert_eq!(check_receipt(&doc, &sig, &back, &key().public_key_bytes()), Ok(()));
        assert!(serde_json::from_str::<SignatureRecord>(&json.replacen(
            "\"document_hash\":\"",
            "\"document_hash\":\"zz",
            1
        ))
        .is_err());

        let dbg = format!("{:?}", key());
        assert!(!dbg.contains(&crate::evidence::hex::encode(&[7; 32])));
    }

    #[test]
    fn work_order_seal_round_trip() {
        let (doc, sig, k) = (work_order(), sample(), key());
        let rec = seal_work_order(&doc, &sig, "赵老板", Relation::ShopStaff, "h1", &k).unwrap();
        assert_eq!(check_work_order(&doc, &sig, &rec, &k.public_key_bytes()), Ok(()));
        let mut d = doc.clone();
        d.summary.push_str(" 另收费 extra fee");
        assert_eq!(check_work_order(&d, &sig, &rec, &k.public_key_bytes()), Err(SealError::DocumentMismatch));
    }
}
