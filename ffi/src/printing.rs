//! The receipt the customer takes away, for the apps: the whole page as one PNG for the system
//! share sheet, and the same page as ESC/POS raster commands for a portable Bluetooth thermal
//! printer (58 or 80 mm paper), a reprint marked 副本 / COPY, both as the server configures the
//! copy (company, seal, check address, collector: `receipt_branding`). The app passes a CJK font's bytes
//! (Android: /system/fonts/NotoSansCJK-Regular.ttc; iOS: PingFang) and sends the bytes itself.

use gridbook_core::evidence::{escpos, EscPosError, Paper};

use crate::error::{invalid, Result};
use crate::store::GridbookStore;

/// The paper in the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaperWidth {
    /// 58 mm: 384 dots a line.
    Mm58,
    /// 80 mm: 576 dots a line.
    Mm80,
}

impl From<PaperWidth> for Paper {
    fn from(p: PaperWidth) -> Self {
        match p {
            PaperWidth::Mm58 => Paper::Mm58,
            PaperWidth::Mm80 => Paper::Mm80,
        }
    }
}

fn printing_error(e: EscPosError) -> crate::GridbookError {
    let field = if matches!(e, EscPosError::Font(_)) { "font" } else { "receipt" };
    invalid(field, e.to_string())
}

#[uniffi::export]
impl GridbookStore {
    /// The customer's copy of a signed receipt as one PNG page (720 px wide), drawn with `font`
    /// (a CJK font or collection) as the server configures the copy (`receipt_branding`: company,
    /// seal, check's QR code): for the share sheet. Invalid "font" when the font cannot print
    /// Chinese; Invalid "signature_id" for a receipt nobody signed.
    pub fn receipt_image(&self, receipt_id: String, font: Vec<u8>) -> Result<Vec<u8>> {
        let store = self.store()?;
        Ok(store.receipt_copy_image(&receipt_id, &store.receipt_branding()?, &font)?)
    }

    /// The same page as the bytes to send to an ESC/POS thermal printer on `paper`: `ESC @`,
    /// `GS v 0` raster bands, a feed. `reprint` adds the 副本 / COPY bars (the first print on the
    /// phone that collected it is the original; the app decides, core-logic's ReceiptPrinting).
    pub fn receipt_escpos(
        &self,
        receipt_id: String,
        font: Vec<u8>,
        paper: PaperWidth,
        reprint: bool,
    ) -> Result<Vec<u8>> {
        let png = self.receipt_image(receipt_id, font.clone())?;
        escpos::receipt_escpos(&png, paper.into(), reprint, &font).map_err(printing_error)
    }
}

/// Dots in one printed line of `paper` (384 or 576).
#[uniffi::export]
pub fn paper_dots(paper: PaperWidth) -> u32 {
    Paper::from(paper).dots()
}
