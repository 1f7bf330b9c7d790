//! Signatures for the apps: the signature pad's strokes (check, hash, SVG/PNG), the capture the
//! store records with a receipt or a visit, the device key behind the app's Keystore/Keychain
//! (`DeviceSigner`, a foreign trait) or in memory, and amounts in Chinese capitals. The sealing
//! itself happens in the core's store (`record_signed_receipt` / `record_signed_visit`); this file
//! converts types.

use std::sync::Arc;

use gridbook_core::evidence as ev;

use crate::error::{invalid, Result};

// ---- strokes ------------------------------------------------------------------------------------

/// One sample of the signature pad.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PadPoint {
    /// Pixels from the pad's left edge (0..=width).
    pub x: f32,
    /// Pixels from the pad's top edge (0..=height).
    pub y: f32,
    /// Milliseconds since the first touch of the signature; never decreasing within a stroke.
    pub t_ms: u32,
    /// 0.0..=1.0 when the pad reports pressure.
    #[uniffi(default = None)]
    pub pressure: Option<f32>,
}

/// One stroke: the points from finger down to finger up.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PadStroke {
    /// The samples, in order.
    pub points: Vec<PadPoint>,
}

/// The customer's handwritten signature as captured by the pad: kept as strokes, not a picture.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignaturePad {
    /// Pad width in px (1..=4096).
    pub width: u32,
    /// Pad height in px (1..=4096).
    pub height: u32,
    /// The strokes, in order.
    pub strokes: Vec<PadStroke>,
}

impl From<SignaturePad> for ev::Signature {
    fn from(s: SignaturePad) -> Self {
        ev::Signature {
            width: s.width,
            height: s.height,
            strokes: s
                .strokes
                .into_iter()
                .map(|st| ev::Stroke {
                    points: st
                        .points
                        .into_iter()
                        .map(|p| ev::Point { x: p.x, y: p.y, t_ms: p.t_ms, pressure: p.pressure })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A plausibility warning about a signature. It does not make the signature invalid: ask the
/// customer to sign again; the back office sees the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignatureFlag {
    /// Drawn in under 300 ms: a swipe, not a name.
    TooFast,
    /// Fewer than 10 points in all.
    TooFewPoints,
    /// Less than 3 px of ink: a tap.
    Dot,
}

impl From<ev::Flag> for SignatureFlag {
    fn from(f: ev::Flag) -> Self {
        match f {
            ev::Flag::TooFast => SignatureFlag::TooFast,
            ev::Flag::TooFewPoints => SignatureFlag::TooFewPoints,
            ev::Flag::Dot => SignatureFlag::Dot,
        }
    }
}

/// A valid signature's hash, warnings and numbers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignatureCheck {
    /// SHA-256 of the strokes' canonical bytes: what the seal signs.
    pub strokes_hash: Vec<u8>,
    /// Plausibility warnings; empty when the signature looks like handwriting.
    pub flags: Vec<SignatureFlag>,
    /// Strokes.
    pub strokes: u32,
    /// Points in all strokes.
    pub points: u32,
    /// Last touch minus first touch, ms.
    pub duration_ms: u32,
    /// Length of the ink, px.
    pub ink_length_px: f32,
}

/// Checks a signature from the pad: invalid (field "signature", with the rule) if it cannot be a
/// signature at all; otherwise its hash, its plausibility flags and its numbers.
#[uniffi::export]
pub fn check_signature(pad: SignaturePad) -> Result<SignatureCheck> {
    let sig: ev::Signature = pad.into();
    let hash = sig.hash()?;
    let stats = sig.stats();
    Ok(SignatureCheck {
        strokes_hash: hash.to_vec(),
        flags: sig.flags().into_iter().map(Into::into).collect(),
        strokes: u32::try_from(stats.strokes).unwrap_or(u32::MAX),
        points: u32::try_from(stats.points).unwrap_or(u32::MAX),
        duration_ms: stats.duration_ms,
        ink_length_px: stats.ink_length_px,
    })
}

fn render_options(pen_width_px: f32, follow_pressure: bool) -> Result<ev::RenderOptions> {
    if !pen_width_px.is_finite() || !(0.5..=50.0).contains(&pen_width_px) {
        return Err(invalid("pen_width_px", "must be between 0.5 and 50 px"));
    }
    Ok(ev::RenderOptions { pen_width_px, follow_pressure })
}

/// The signature as a standalone SVG document, drawn from exactly what is hashed.
/// `pen_width_px` 0.5..=50 (3 is usual); `follow_pressure` widens the pen with pressure.
#[uniffi::export]
pub fn signature_svg(pad: SignaturePad, pen_width_px: f32, follow_pressure: bool) -> Result<String> {
    let sig: ev::Signature = pad.into();
    Ok(sig.to_svg(&render_options(pen_width_px, follow_pressure)?)?)
}

/// The signature as a grayscale PNG of the pad's size.
#[uniffi::export]
pub fn signature_png(pad: SignaturePad, pen_width_px: f32, follow_pressure: bool) -> Result<Vec<u8>> {
    let sig: ev::Signature = pad.into();
    Ok(sig.to_png(&render_options(pen_width_px, follow_pressure)?)?)
}

// ---- amounts ------------------------------------------------------------------------------------

/// An amount in fen written in Chinese financial capitals (大写金额), without "人民币":
/// 12800 → "壹佰贰拾捌元整". Invalid for negative amounts.
#[uniffi::export]
pub fn amount_in_capitals(fen: i64) -> Result<String> {
    Ok(ev::capitals(fen)?)
}

/// An amount in fen as figures with thousands separators and two decimals: 100050 → "1,000.50".
#[uniffi::export]
pub fn format_yuan(fen: i64) -> String {
    ev::format_yuan(fen)
}

// ---- documents and the seal -----------------------------------------------------------------------

/// Who signed, relative to the household. The manager never signs for the customer
/// (不准代客户签字), so the manager is not a choice.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SignerRelation {
    /// 户主
    Householder,
    /// 家属
    FamilyMember,
    /// 店员
    ShopStaff,
    /// 其他, with the relation as told (e.g. "邻居 neighbour").
    Other {
        /// The relation in the customer's words; must not be empty.
        description: String,
    },
}

impl From<SignerRelation> for ev::Relation {
    fn from(r: SignerRelation) -> Self {
        match r {
            SignerRelation::Householder => ev::Relation::Householder,
            SignerRelation::FamilyMember => ev::Relation::FamilyMember,
            SignerRelation::ShopStaff => ev::Relation::ShopStaff,
            SignerRelation::Other { description } => ev::Relation::Other(description),
        }
    }
}

impl From<ev::Relation> for SignerRelation {
    fn from(r: ev::Relation) -> Self {
        match r {
            ev::Relation::Householder => SignerRelation::Householder,
            ev::Relation::FamilyMember => SignerRelation::FamilyMember,
            ev::Relation::ShopStaff => SignerRelation::ShopStaff,
            ev::Relation::Other(description) => SignerRelation::Other { description },
        }
    }
}

/// The relation as a zh-CN-first label: "户主 Householder", "其他 Other: 邻居".
#[uniffi::export]
pub fn relation_label(relation: SignerRelation) -> String {
    ev::Relation::from(relation).label()
}

/// What the customer gave on the pad: the strokes, and who they said they are. Recorded with a
/// receipt or a visit by `GridbookStore.record_signed_receipt` / `record_signed_visit`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SignatureCapture {
    /// The strokes from the pad.
    pub pad: SignaturePad,
    /// The signer's name as they gave it (签字人姓名). Required: never the manager.
    pub signer_name: String,
    /// Who the signer is to the household.
    pub relation: SignerRelation,
}

impl From<SignatureCapture> for gridbook_core::SignatureCapture {
    fn from(c: SignatureCapture) -> Self {
        gridbook_core::SignatureCapture {
            strokes: c.pad.into(),
            signer_name: c.signer_name,
            relation: c.relation.into(),
        }
    }
}

impl From<ev::Signature> for SignaturePad {
    fn from(s: ev::Signature) -> Self {
        SignaturePad {
            width: s.width,
            height: s.height,
            strokes: s
                .strokes
                .into_iter()
                .map(|st| PadStroke {
                    points: st
                        .points
                        .into_iter()
                        .map(|p| PadPoint { x: p.x, y: p.y, t_ms: p.t_ms, pressure: p.pressure })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Where the device's Ed25519 private key lives. The app implements it over the Android
/// Keystore or the iOS Keychain/Secure Enclave so the key bytes never reach Rust;
/// `in_memory_device_key` is the implementation for tests, desktops and simulators.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The Ed25519 public key: 32 bytes.
    fn public_key(&self) -> Result<Vec<u8>>;
    /// The Ed25519 signature of `message`: 64 bytes. Fail with `KeyUnavailable` if the key store is
    /// locked or the user cancelled authentication.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>>;
}

fn fixed<const N: usize>(field: &str, bytes: Vec<u8>) -> Result<[u8; N]> {
    let len = bytes.len();
    bytes.try_into().map_err(|_| invalid(field, format!("must be {N} bytes, got {len}")))
}

/// The in-memory key: core's `DeviceKey` behind the foreign trait.
pub(crate) struct MemoryKey(pub(crate) ev::DeviceKey);

impl DeviceSigner for MemoryKey {
    fn public_key(&self) -> Result<Vec<u8>> {
        Ok(self.0.public_key_bytes().to_vec())
    }
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        Ok(ev::DeviceSigner::sign(&self.0, &message)?.to_vec())
    }
}

/// An Ed25519 device key held in memory: from the 32 secret bytes given, or fresh from the OS's
/// random source when `secret` is null. For tests, desktops and simulators; phones use their key
/// store through their own `DeviceSigner`.
#[uniffi::export]
pub fn in_memory_device_key(secret: Option<Vec<u8>>) -> Result<Arc<dyn DeviceSigner>> {
    let key = match secret {
        Some(bytes) => ev::DeviceKey::from_bytes(&fixed::<32>("secret", bytes)?),
        None => ev::DeviceKey::generate()?,
    };
    Ok(Arc::new(MemoryKey(key)))
}

pub(crate) fn public_key_of(signer: &dyn DeviceSigner) -> Result<[u8; 32]> {
    fixed("public_key", signer.public_key()?)
}

/// The app's signer seen as core's: the public key read (and checked) once, signatures checked
/// for length.
pub(crate) struct CoreSigner {
    public_key: [u8; 32],
    inner: Arc<dyn DeviceSigner>,
}

impl CoreSigner {
    pub(crate) fn new(inner: Arc<dyn DeviceSigner>) -> Result<Self> {
        Ok(Self { public_key: public_key_of(inner.as_ref())?, inner })
    }
}

impl ev::DeviceSigner for CoreSigner {
    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], ev::SignError> {
        let sig = self.inner.sign(message.to_vec()).map_err(|e| match e {
            crate::error::GridbookError::KeyUnavailable { detail } => ev::SignError::Unavailable(detail),
            e => ev::SignError::Unavailable(e.to_string()),
        })?;
        let len = sig.len();
        sig.try_into()
            .map_err(|_| ev::SignError::Failed(format!("the key store returned {len} bytes, not a 64-byte signature")))
    }
}
