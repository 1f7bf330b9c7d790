//! A restored database's new generation, one rule for both backends (docs/operations.md, "What a
//! restore does not lose"): SQLite's `admin restore` and PostgreSQL's `admin mark-restored` both
//! write it. A new id tells every phone that the server forgot what it acknowledged after the
//! restore point, `restored_from_ms` and `restored_cursor` say from where to send again and pull
//! again, and a new receipt-book tag keeps the books of the new generation apart from the
//! forgotten ones, which a receipt sent again re-claims for its device (`forgotten_book`).

use gridbook_core::sync::wire::{ReceiptBlock, ServerGeneration};
use rand::Rng;
use serde::Serialize;

/// The generation row a restore writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoredGeneration {
    /// New at every restore (16 hex digits).
    pub id: String,
    /// Phones send again every op acknowledged from (ten minutes before) this time on.
    pub restored_from_ms: i64,
    /// Phones whose pull cursor is past this pull again from here.
    pub restored_cursor: u64,
    /// Four letters and digits in the prefix of every receipt book this generation issues.
    pub book_tag: String,
}

impl RestoredGeneration {
    /// The generation of a database restored to `point_ms` (no write the database holds is
    /// later; every write it lacks was acknowledged later) holding changes up to `cursor`.
    ///
    /// When the database was itself restored shortly before (`previous` names a restore point
    /// within the phones' retention window), the earlier point and cursor are kept: a phone that
    /// never met the previous generation has still to send again what the first restore forgot,
    /// and the previous generation's writes reused change numbers that phone had paged past. So
    /// restoring twice, or marking one restore twice, loses nothing; it only makes phones send
    /// and pull a little more again, which the server answers `already_had`.
    /// `previous_tag` is the tag of the restored database's books: never taken again, or the new
    /// generation would issue the very prefixes it forgot.
    pub fn after_restore(previous: &ServerGeneration, previous_tag: &str, point_ms: i64, cursor: u64) -> Self {
        let window_ms = i64::from(previous.keep_acked_days.max(1)) * 86_400_000;
        let recent = previous.restored_from_ms > 0 && previous.restored_from_ms >= point_ms.saturating_sub(window_ms);
        let (restored_from_ms, restored_cursor) = if recent {
            (point_ms.min(previous.restored_from_ms), cursor.min(previous.restored_cursor))
        } else {
            (point_ms, cursor)
        };
        let mut rng = rand::thread_rng();
        let mut book_tag = new_book_tag(&mut rng);
        while book_tag == previous_tag {
            book_tag = new_book_tag(&mut rng);
        }
        Self {
            id: format!("{:016x}", rng.gen::<u64>()),
            restored_from_ms: restored_from_ms.max(0),
            restored_cursor,
            book_tag,
        }
    }
}

/// A tag of four letters and digits (no I, O, 0 or 1, which read alike on paper).
fn new_book_tag(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..4).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// The book a receipt number sent again belongs to, when that book may be one a restore made the
/// server forget: a number of a book this server issues (`SJ` + an optional 4-character tag + 6
/// digits + `-` + the number within the book) whose tag is not this generation's `tag`. Answers
/// the whole book and its number; the caller re-claims it unless its database knows the prefix.
pub fn forgotten_book(receipt_no: &str, tag: &str) -> Option<(ReceiptBlock, u64)> {
    let cut = receipt_no.rfind('-')?;
    let prefix = &receipt_no[..=cut];
    let body = prefix.strip_prefix("SJ")?.strip_suffix('-')?;
    let (their_tag, digits) = match body.len() {
        6 => ("", body),
        10 => body.split_at(4),
        _ => return None,
    };
    let tag_ok = their_tag.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !tag_ok || their_tag == tag || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let book = ReceiptBlock { prefix: prefix.to_string(), first: 1, last: ReceiptBlock::SIZE, issued_at_ms: 0 };
    if !book.contains(receipt_no) {
        return None;
    }
    Some((book, digits.parse().ok()?))
}

/// The audit trail's detail of a re-claimed book (`receipt_block_reclaimed`).
pub fn reclaim_note(book_no: u64, receipt_no: &str) -> String {
    format!("book {book_no} issued before a restore, re-claimed by the receipt {receipt_no} sent again")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn generation(restored_from_ms: i64, restored_cursor: u64) -> ServerGeneration {
        ServerGeneration {
            id: "0123456789abcdef".into(),
            restored_from_ms,
            restored_cursor,
            keep_acked_days: ServerGeneration::KEEP_ACKED_DAYS,
        }
    }

    #[test]
    fn a_first_restore_starts_from_its_own_point_with_a_new_id_and_tag() {
        let first = RestoredGeneration::after_restore(&generation(0, 0), "", 100 * DAY, 7_000);
        assert_eq!((first.restored_from_ms, first.restored_cursor), (100 * DAY, 7_000));
        assert_eq!(first.id.len(), 16);
        assert_eq!(first.book_tag.len(), 4);
        let again = RestoredGeneration::after_restore(&generation(0, 0), "", 100 * DAY, 7_000);
        assert_ne!(first.id, again.id, "every restore is a generation of its own");
    }

    #[test]
    fn a_restore_soon_after_another_keeps_the_earlier_point_and_cursor() {
        // marked twice, or restored again from a later backup: phones that missed the first
        // generation still send back what it forgot, and pull again what it renumbered
        let marked_again =
            RestoredGeneration::after_restore(&generation(100 * DAY, 7_000), "K7QF", 100 * DAY + 5, 9_000);
        assert_eq!((marked_again.restored_from_ms, marked_again.restored_cursor), (100 * DAY, 7_000));
        assert_ne!(marked_again.book_tag, "K7QF", "never the restored database's own tag");
        let earlier_backup = RestoredGeneration::after_restore(&generation(100 * DAY, 7_000), "K7QF", 99 * DAY, 6_000);
        assert_eq!((earlier_backup.restored_from_ms, earlier_backup.restored_cursor), (99 * DAY, 6_000));
        // a restore beyond the retention window: no phone keeps ops that old anyway
        let long_after = RestoredGeneration::after_restore(&generation(100 * DAY, 7_000), "K7QF", 200 * DAY, 9_000);
        assert_eq!((long_after.restored_from_ms, long_after.restored_cursor), (200 * DAY, 9_000));
    }

    #[test]
    fn forgotten_books_are_those_of_another_generations_shape() {
        let forgotten_book = |no: &str, tag: &str| forgotten_book(no, tag).map(|(book, n)| (book.prefix, n));
        assert_eq!(forgotten_book("SJ000007-012", ""), None, "this generation's own books");
        assert_eq!(forgotten_book("SJ000007-012", "K7QF"), Some(("SJ000007-".into(), 7)));
        assert_eq!(forgotten_book("SJAB23000124-001", "K7QF"), Some(("SJAB23000124-".into(), 124)));
        assert_eq!(forgotten_book("SJK7QF000124-001", "K7QF"), None, "the current tag is known");
        assert_eq!(forgotten_book("SJ000007-999", "K7QF"), None, "beyond a book's numbers");
        assert_eq!(forgotten_book("XX000007-012", "K7QF"), None);
        assert_eq!(forgotten_book("SJab23000124-001", "K7QF"), None, "tags are upper case");
        assert_eq!(forgotten_book("SJ00x007-012", "K7QF"), None);
        assert_eq!(forgotten_book("no dash", "K7QF"), None);
    }
}
