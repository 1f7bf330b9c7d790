//! A ZIP written as a stream, every entry STORED with its CRC-32 and sizes in its local header:
//! no data descriptors. Java's `ZipInputStream` (and other readers that walk the local headers
//! front to back) cannot read a STORED entry whose sizes follow its data, since nothing tells
//! them where the data ends; the `zip` crate's streaming writer always writes them after. Each
//! entry here is whole in memory before it is written (a sheet, one photo, a README), so its
//! size and CRC are known first and no seeking is needed.
//!
//! Plain ZIP only (no ZIP64): at most 65,535 entries, each and the whole archive under 4 GiB; the
//! photo export's own bounds (`photo_export::MAX_PHOTOS`, `MAX_PHOTO_BYTES`) stay well inside,
//! and past them `add` and `finish` answer an error rather than write a broken archive.

use std::io::{self, Write};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
/// Version 1.0: STORED entries need nothing newer.
const VERSION_NEEDED: u16 = 10;
/// Version 2.0, MS-DOS attributes (none set).
const VERSION_MADE_BY: u16 = 20;
/// General purpose bit 11: names are UTF-8 (photo names are ASCII; a sheet's may be Chinese).
const FLAG_UTF8: u16 = 1 << 11;
/// 1980-01-01 00:00, the earliest DOS date: an export's content does not depend on the clock.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

/// Writes STORED entries to `out` as they come; `finish` writes the central directory.
pub struct StoredZipWriter<W: Write> {
    out: W,
    /// Bytes written so far: the next local header's offset.
    offset: u64,
    central: Vec<u8>,
    entries: u16,
}

fn too_large(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("ZIP without ZIP64: {what}"))
}

fn u32_field(n: u64, what: &str) -> io::Result<u32> {
    u32::try_from(n).ok().filter(|&n| n != u32::MAX).ok_or_else(|| too_large(what))
}

impl<W: Write> StoredZipWriter<W> {
    pub fn new(out: W) -> Self {
        StoredZipWriter { out, offset: 0, central: Vec::new(), entries: 0 }
    }

    /// Writes one entry: its local header with CRC-32 and sizes, then its bytes.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let entries = self.entries.checked_add(1).filter(|&n| n != u16::MAX).ok_or_else(|| too_large("entries"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_large("entry name"))?;
        let size = u32_field(bytes.len() as u64, "entry size")?;
        let offset = u32_field(self.offset, "archive size")?;
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        let crc = crc.sum();
        // the fields local and central headers share, from "version needed" to the name's length
        let mut common = Vec::with_capacity(26);
        for half in [VERSION_NEEDED, FLAG_UTF8, 0 /* STORED */, DOS_TIME, DOS_DATE] {
            common.extend(half.to_le_bytes());
        }
        for word in [crc, size, size] {
            common.extend(word.to_le_bytes());
        }
        common.extend(name_len.to_le_bytes());

        let mut local = Vec::with_capacity(30 + name.len());
        local.extend(LOCAL_HEADER.to_le_bytes());
        local.extend(&common);
        local.extend(0u16.to_le_bytes()); // extra field length
        local.extend(name.as_bytes());
        self.out.write_all(&local)?;
        self.out.write_all(bytes)?;

        self.central.extend(CENTRAL_HEADER.to_le_bytes());
        self.central.extend(VERSION_MADE_BY.to_le_bytes());
        self.central.extend(&common);
        // extra, comment, disk number, internal attributes: none
        for half in [0u16; 4] {
            self.central.extend(half.to_le_bytes());
        }
        self.central.extend(0u32.to_le_bytes()); // external attributes
        self.central.extend(offset.to_le_bytes());
        self.central.extend(name.as_bytes());

        self.offset += local.len() as u64 + bytes.len() as u64;
        self.entries = entries;
        Ok(())
    }

    /// Writes the central directory and its end record; answers the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let cd_offset = u32_field(self.offset, "archive size")?;
        let cd_size = u32_field(self.central.len() as u64, "central directory")?;
        u32_field(self.offset + self.central.len() as u64, "archive size")?;
        self.out.write_all(&self.central)?;
        let mut end = Vec::with_capacity(22);
        end.extend(END_OF_CENTRAL.to_le_bytes());
        for half in [0, 0, self.entries, self.entries] {
            end.extend(half.to_le_bytes());
        }
        end.extend(cd_size.to_le_bytes());
        end.extend(cd_offset.to_le_bytes());
        end.extend(0u16.to_le_bytes()); // comment length
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(any(test, feature = "testing"))]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[cfg(any(test, feature = "testing"))]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads `zip` as Java's `ZipInputStream` does, front to back by local headers alone, and
/// refuses what it refuses: a STORED entry with a data descriptor (flag bit 3), whose end it
/// cannot find. Answers each entry's name and bytes, each checked against its header's CRC.
#[cfg(any(test, feature = "testing"))]
pub fn read_local_headers(zip: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut at = 0;
    let mut out = Vec::new();
    while zip.len() >= at + 4 && u32_at(zip, at) == LOCAL_HEADER {
        let header = zip.get(at..at + 30).ok_or("cut local header")?;
        let (flags, method) = (u16_at(header, 6), u16_at(header, 8));
        let (crc, csize, size) = (u32_at(header, 14), u32_at(header, 18) as usize, u32_at(header, 22) as usize);
        let (name_len, extra_len) = (usize::from(u16_at(header, 26)), usize::from(u16_at(header, 28)));
        let name = zip.get(at + 30..at + 30 + name_len).ok_or("cut name")?;
        let name = String::from_utf8(name.to_vec()).map_err(|e| e.to_string())?;
        if method == 0 && flags & 8 != 0 {
            return Err(format!("{name}: only DEFLATED entries can have EXT descriptor"));
        }
        if method != 0 || csize != size {
            return Err(format!("{name}: not stored"));
        }
        let start = at + 30 + name_len + extra_len;
        let data = zip.get(start..start + size).ok_or("cut data")?.to_vec();
        let mut check = flate2::Crc::new();
        check.update(&data);
        if check.sum() != crc {
            return Err(format!("{name}: CRC does not match"));
        }
        out.push((name, data));
        at = start + size;
    }
    if zip.len() < at + 4 || u32_at(zip, at) != CENTRAL_HEADER {
        return Err(format!("no central directory after the entries, at {at}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn entries_carry_their_sizes_in_front_and_any_reader_takes_them() {
        let mut zip = StoredZipWriter::new(Vec::new());
        zip.add("访问-g1.csv", "名称,金额\r\n一,2\r\n".as_bytes()).unwrap();
        zip.add("photos/a.jpg", &[0xFF, 0xD8, 0xFF, 0, 1, 2]).unwrap();
        zip.add("empty.txt", b"").unwrap();
        let bytes = zip.finish().unwrap();

        let entries = read_local_headers(&bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["访问-g1.csv", "photos/a.jpg", "empty.txt"]);
        assert_eq!(entries[1].1, [0xFF, 0xD8, 0xFF, 0, 1, 2]);

        // and the central directory agrees, as a reader that starts from the end sees it
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 3);
        let mut csv = String::new();
        archive.by_name("访问-g1.csv").unwrap().read_to_string(&mut csv).unwrap();
        assert_eq!(csv, "名称,金额\r\n一,2\r\n");
        let jpg = archive.by_name("photos/a.jpg").unwrap();
        assert_eq!((jpg.size(), jpg.compression()), (6, zip::CompressionMethod::Stored));
    }

    #[test]
    fn the_zip_crates_stream_is_what_the_local_header_reader_refuses() {
        // the reader above is strict enough to catch the old export's way of writing
        let mut zip = zip::ZipWriter::new_stream(Vec::new());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("a.txt", options).unwrap();
        zip.write_all(b"hello").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let err = read_local_headers(&bytes).unwrap_err();
        assert!(err.contains("EXT descriptor"), "{err}");
    }

    #[test]
    fn a_name_too_long_for_the_header_is_an_error_not_a_broken_archive() {
        let mut zip = StoredZipWriter::new(Vec::new());
        let long = "x".repeat(usize::from(u16::MAX) + 1);
        assert_eq!(zip.add(&long, b"a").unwrap_err().kind(), io::ErrorKind::InvalidInput);
        zip.add("ok.txt", b"a").unwrap();
        assert_eq!(read_local_headers(&zip.finish().unwrap()).unwrap().len(), 1);
    }
}
