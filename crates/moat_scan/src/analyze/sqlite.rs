//! The rows of one table of an SQLite database file held in memory: what reading rpm's
//! `rpmdb.sqlite` needs, from the file format's documentation
//! (<https://www.sqlite.org/fileformat2.html>): the 100-byte header, table b-tree pages
//! (interior and leaf), varints, records and overflow pages; text in UTF-8 only.
//!
//! Written here rather than linking SQLite (rusqlite 0.37 with `bundled`, and `serialize` to
//! open bytes in memory): a clean build of rusqlite alone took 60 s in debug (with this
//! workspace's `opt-level = 1` for dependencies) and 92 s in release on a 2-core machine,
//! nearly all of it libsqlite3-sys compiling SQLite's one C file on one core (86 s of the
//! release build), for one table read; and the file comes from an untrusted image, where a
//! reader this small can be fuzzed whole and bounded in every loop.
//!
//! Bounds, whatever the bytes: every page is read at most once per table (a page met twice, a
//! cycle of child or overflow pointers, is an error), the tree is at most [`MAX_DEPTH`] levels
//! deep, no page lies outside the file, the payloads of a table's rows add up to no more than
//! the file's size (cells of one page that overlap could otherwise repeat one payload
//! thousands of times), rows are handed over one at a time and only their first columns are
//! decoded; so the work of a read is linear in the file's size and its memory in the largest
//! row. Malformed input is an error, never a panic.
//!
//! Not read: the write-ahead log (`rpmdb.sqlite-wal`, in a separate file: rows still there and
//! not yet checkpointed are missed), index b-trees, `WITHOUT ROWID` tables and UTF-16
//! databases.

/// The deepest table b-tree read: far more than any real file has (each level multiplies the
/// rows by at least two, usually by hundreds).
pub(crate) const MAX_DEPTH: usize = 40;

/// The file header's first 16 bytes.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A page's kind (its first byte).
const INTERIOR_TABLE: u8 = 0x05;
const LEAF_TABLE: u8 = 0x0d;

/// One column's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL `NULL` (also the `INTEGER PRIMARY KEY` column, whose value is the row id).
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, as stored (UTF-8).
    Text(Vec<u8>),
    /// A blob.
    Blob(Vec<u8>),
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The row id (the `INTEGER PRIMARY KEY` when the table has one).
    pub(crate) rowid: i64,
    /// The columns stored in the record, in order.
    pub(crate) values: Vec<Value>,
}

/// An SQLite file, checked enough to walk its pages.
#[derive(Debug)]
pub(crate) struct Database<'a> {
    data: &'a [u8],
    page_size: usize,
    /// The bytes of a page that hold data (the page size less the reserved bytes at its end).
    usable: usize,
    /// Whole pages in the file.
    pages: u32,
}

impl<'a> Database<'a> {
    /// Reads the header of the file `data`.
    pub(crate) fn open(data: &'a [u8]) -> Result<Database<'a>, String> {
        if data.len() < 100 || &data[..16] != MAGIC {
            return Err("not an SQLite 3 database (no \"SQLite format 3\" header)".into());
        }
        let page_size = match u16::from_be_bytes([data[16], data[17]]) {
            1 => 65_536,
            n => usize::from(n),
        };
        if !page_size.is_power_of_two() || page_size < 512 {
            return Err(format!(
                "page size {page_size} is not a power of two from 512"
            ));
        }
        let usable = page_size - usize::from(data[20]);
        if usable < 480 {
            return Err(format!(
                "{} reserved bytes leave {usable} usable bytes a page (at least 480)",
                data[20]
            ));
        }
        let encoding = be32(data, 56)?;
        if encoding != 1 {
            return Err(format!(
                "text encoding {encoding} is not read (only UTF-8, 1)"
            ));
        }
        let pages = u32::try_from(data.len() / page_size).unwrap_or(u32::MAX);
        if pages == 0 {
            return Err("shorter than one page".into());
        }
        Ok(Database {
            data,
            page_size,
            usable,
            pages,
        })
    }

    /// The root page of the rowid table `name` (compared without case, as SQL names are), from
    /// the schema table; `None` when there is no such table.
    pub(crate) fn table_root(&self, name: &str) -> Result<Option<u32>, String> {
        let mut found = None;
        // schema rows: type, name, tbl_name, rootpage, sql
        self.for_each_row(1, 4, |row| {
            if let [
                Value::Text(kind),
                Value::Text(table),
                _,
                Value::Integer(root),
            ] = row.values.as_slice()
                && found.is_none()
                && kind == b"table"
                && table.eq_ignore_ascii_case(name.as_bytes())
            {
                let page = u32::try_from(*root).ok().filter(|r| *r >= 1);
                found = Some(
                    page.ok_or_else(|| format!("table {name}: root page {root} is not a page"))?,
                );
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Hands every row of the table whose b-tree starts at page `root` to `f`, in row-id
    /// order, with its first `columns` values (fewer when the record has fewer); stops at the
    /// first error, `f`'s or the file's.
    pub(crate) fn for_each_row(
        &self,
        root: u32,
        columns: usize,
        mut f: impl FnMut(Row) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut seen = Seen::new(self.pages);
        let mut budget = self.data.len();
        let mut stack = vec![(root, 1usize)];
        while let Some((number, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(format!(
                    "page {number}: the table is more than {MAX_DEPTH} levels deep"
                ));
            }
            seen.visit(number)?;
            let page = self.page(number)?;
            // page 1 starts with the file header
            let at = if number == 1 { 100 } else { 0 };
            let kind = *page.get(at).ok_or("page too short")?;
            let header_len = match kind {
                LEAF_TABLE => 8,
                INTERIOR_TABLE => 12,
                other => {
                    return Err(format!(
                        "page {number}: kind {other:#04x} is not a table b-tree page"
                    ));
                }
            };
            let cells = usize::from(be16(page, at + 3)?);
            let pointers = at + header_len;
            if pointers + 2 * cells > page.len() {
                return Err(format!(
                    "page {number}: {cells} cells do not fit in the page"
                ));
            }
            let cell_at = |i: usize| -> Result<usize, String> {
                let offset = usize::from(be16(page, pointers + 2 * i)?);
                if offset < pointers + 2 * cells || offset >= page.len() {
                    return Err(format!(
                        "page {number}: cell {i} at {offset}, outside the page"
                    ));
                }
                Ok(offset)
            };
            if kind == LEAF_TABLE {
                for i in 0..cells {
                    let cell = &page[cell_at(i)?..];
                    let row = self
                        .leaf_cell(cell, columns, &mut seen, &mut budget)
                        .map_err(|e| format!("page {number}, cell {i}: {e}"))?;
                    f(row)?;
                }
            } else {
                // children pushed right to left, so that rows come out in row-id order
                stack.push((be32(page, at + 8)?, depth + 1));
                for i in (0..cells).rev() {
                    stack.push((be32(page, cell_at(i)?)?, depth + 1));
                }
            }
        }
        Ok(())
    }

    /// The usable bytes of page `number` (1-based).
    fn page(&self, number: u32) -> Result<&'a [u8], String> {
        if number == 0 || number > self.pages {
            return Err(format!(
                "page {number} is not in the file ({} pages)",
                self.pages
            ));
        }
        let start = (number as usize - 1) * self.page_size;
        Ok(&self.data[start..start + self.usable])
    }

    /// One cell of a table leaf page: payload size, row id, the payload's first bytes and,
    /// when it does not fit, the first page of its overflow chain. The payload's size is
    /// taken from `budget`, the bytes the table's rows may still add up to.
    fn leaf_cell(
        &self,
        cell: &[u8],
        columns: usize,
        seen: &mut Seen,
        budget: &mut usize,
    ) -> Result<Row, String> {
        let (size, n) = varint(cell)?;
        let (rowid, m) = varint(&cell[n..])?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= *budget)
            .ok_or_else(|| {
                format!("payload of {size} bytes: the rows would hold more than the file")
            })?;
        *budget -= size;
        let local = self.local_payload(size);
        let start = n + m;
        let inline = cell
            .get(start..start + local)
            .ok_or("payload runs past the end of its page")?;
        let mut payload = Vec::with_capacity(size);
        payload.extend_from_slice(inline);
        if local < size {
            let mut next = be32(cell, start + local)?;
            while payload.len() < size {
                if next == 0 {
                    return Err(format!(
                        "overflow chain ends after {} of {size} bytes",
                        payload.len()
                    ));
                }
                seen.visit(next)?;
                let page = self.page(next)?;
                let take = (size - payload.len()).min(page.len() - 4);
                payload.extend_from_slice(&page[4..4 + take]);
                next = be32(page, 0)?;
            }
        }
        Ok(Row {
            rowid: rowid.cast_signed(),
            values: record(&payload, columns)?,
        })
    }

    /// How many bytes of a table leaf payload of `size` bytes are stored in the cell itself
    /// (the rest goes to overflow pages), as the file format defines it.
    fn local_payload(&self, size: usize) -> usize {
        let u = self.usable;
        let max_local = u - 35;
        if size <= max_local {
            return size;
        }
        let min_local = (u - 12) * 32 / 255 - 23;
        let k = min_local + (size - min_local) % (u - 4);
        if k <= max_local { k } else { min_local }
    }
}

/// The pages already read while walking one table: each at most once.
#[derive(Debug)]
struct Seen(Vec<bool>);

impl Seen {
    fn new(pages: u32) -> Seen {
        Seen(vec![false; pages as usize + 1])
    }

    fn visit(&mut self, page: u32) -> Result<(), String> {
        match self.0.get_mut(page as usize) {
            Some(seen) if *seen => Err(format!("page {page} is reached twice (a cycle)")),
            Some(seen) => {
                *seen = true;
                Ok(())
            }
            None => Err(format!(
                "page {page} is not in the file ({} pages)",
                self.0.len() - 1
            )),
        }
    }
}

/// The first `columns` values of a record: a header (its own length, then one serial type per
/// column) and the values, in order.
fn record(payload: &[u8], columns: usize) -> Result<Vec<Value>, String> {
    let (header_len, mut at) = varint(payload)?;
    let header_len = usize::try_from(header_len)
        .ok()
        .filter(|h| *h >= at && *h <= payload.len())
        .ok_or_else(|| {
            format!(
                "record header of {header_len} bytes in a {}-byte record",
                payload.len()
            )
        })?;
    let mut body = header_len;
    let mut values = Vec::new();
    while at < header_len && values.len() < columns {
        let (serial, n) = varint(&payload[at..header_len])?;
        at += n;
        let len = match serial {
            0 | 8 | 9 => 0,
            1..=4 => serial as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(format!("reserved serial type {serial}")),
            n => usize::try_from((n - 12) / 2).unwrap_or(usize::MAX),
        };
        let bytes = body
            .checked_add(len)
            .and_then(|end| payload.get(body..end))
            .ok_or("record value runs past the end of the record")?;
        body += len;
        values.push(match serial {
            0 => Value::Null,
            8 => Value::Integer(0),
            9 => Value::Integer(1),
            1..=6 => Value::Integer(signed(bytes)),
            7 => Value::Real(f64::from_bits(signed(bytes).cast_unsigned())),
            n if n % 2 == 0 => Value::Blob(bytes.to_vec()),
            _ => Value::Text(bytes.to_vec()),
        });
    }
    Ok(values)
}

/// A big-endian two's-complement integer of 1 to 8 bytes.
fn signed(bytes: &[u8]) -> i64 {
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        u64::MAX
    } else {
        0
    };
    bytes
        .iter()
        .fold(fill, |acc, b| (acc << 8) | u64::from(*b))
        .cast_signed()
}

/// A varint: 1 to 9 bytes, big-endian, 7 bits a byte while the high bit is set, all 8 bits of
/// a ninth byte; with its length.
fn varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(8).enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    match bytes.get(8) {
        Some(b) => Ok(((value << 8) | u64::from(*b), 9)),
        None => Err("varint runs past the end of its page".into()),
    }
}

fn be16(bytes: &[u8], at: usize) -> Result<u16, String> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("2 bytes at {at} past the end"))
}

fn be32(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("4 bytes at {at} past the end"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x00]).unwrap(), (0, 1));
        assert_eq!(varint(&[0x7f]).unwrap(), (127, 1));
        assert_eq!(varint(&[0x81, 0x00]).unwrap(), (128, 2));
        assert_eq!(varint(&[0xff; 9]).unwrap(), (u64::MAX, 9));
        assert!(varint(&[0x81]).is_err());
        assert!(varint(&[]).is_err());
    }

    #[test]
    fn signed_integers() {
        assert_eq!(signed(&[0x7f]), 127);
        assert_eq!(signed(&[0xff]), -1);
        assert_eq!(signed(&[0xff, 0xfe]), -2);
        assert_eq!(signed(&[0x01, 0x00, 0x00]), 65_536);
    }

    #[test]
    fn records() {
        // header: 5 bytes (its length, NULL, integer 1, 2-byte blob, 1-byte text); body
        let values = record(&[5, 0, 9, 16, 15, 0xab, 0xcd, b'x'], 9).unwrap();
        assert_eq!(
            values,
            [
                Value::Null,
                Value::Integer(1),
                Value::Blob(vec![0xab, 0xcd]),
                Value::Text(b"x".to_vec())
            ]
        );
        assert_eq!(
            record(&[5, 0, 9, 16, 15, 0xab, 0xcd, b'x'], 2).unwrap(),
            [Value::Null, Value::Integer(1)]
        );
        // a blob longer than the record
        assert!(record(&[2, 20, 0], 9).is_err());
        // a header longer than the record
        assert!(record(&[9, 0], 9).is_err());
        assert!(record(&[2, 10], 9).is_err());
    }

    #[test]
    fn local_payload_follows_the_format() {
        // 512-byte pages: at most 477 bytes in the cell, else 39 + (P - 39) % 508 or 39
        // (when that is more than 477)
        let db = Database {
            data: &[],
            page_size: 512,
            usable: 512,
            pages: 0,
        };
        assert_eq!(db.local_payload(477), 477);
        assert_eq!(db.local_payload(478), 39);
        assert_eq!(db.local_payload(39 + 508 + 100), 139);
        assert_eq!(db.local_payload(39 + 508 + 477), 39);
    }

    fn header(page_size: u16, pages: usize) -> Vec<u8> {
        let mut data = vec![0u8; usize::from(page_size) * pages];
        data[..16].copy_from_slice(MAGIC);
        data[16..18].copy_from_slice(&page_size.to_be_bytes());
        data[56..60].copy_from_slice(&1u32.to_be_bytes());
        data
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(Database::open(b"").is_err());
        assert!(Database::open(&[0; 512]).is_err());
        assert!(Database::open(&header(1000, 1)).is_err());
        let mut utf16 = header(512, 1);
        utf16[59] = 2;
        assert!(Database::open(&utf16).unwrap_err().contains("UTF-8"));
        let mut reserved = header(512, 1);
        reserved[20] = 40;
        assert!(Database::open(&reserved).is_err());
    }

    fn rows(db: &Database<'_>, root: u32) -> Result<Vec<Row>, String> {
        let mut rows = Vec::new();
        db.for_each_row(root, 9, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    #[test]
    fn overlapping_cells_cannot_repeat_a_payload_past_the_file_size() {
        // one 512-byte page: 150 cells, all at the same offset
        let mut data = header(512, 1);
        data[100] = LEAF_TABLE;
        data[103..105].copy_from_slice(&150u16.to_be_bytes());
        let cell = 100 + 8 + 2 * 150;
        for i in 0..150 {
            let at = 108 + 2 * i;
            data[at..at + 2].copy_from_slice(&(cell as u16).to_be_bytes());
        }
        // a 1-byte payload (an empty record) read 150 times fits in the file's 512 bytes
        data[cell..cell + 3].copy_from_slice(&[1, 1, 1]);
        let db = Database::open(&data).unwrap();
        assert_eq!(rows(&db, 1).unwrap().len(), 150);
        // a 5-byte one read 150 times (750 bytes) does not
        data[cell..cell + 7].copy_from_slice(&[5, 1, 1, 0, 0, 0, 0]);
        let db = Database::open(&data).unwrap();
        assert!(rows(&db, 1).unwrap_err().contains("more than the file"));
    }

    #[test]
    fn cycles_and_depth_are_errors() {
        // page 2 an interior table page whose only child is itself
        let mut data = header(512, 2);
        data[100] = LEAF_TABLE;
        let p2 = 512;
        data[p2] = INTERIOR_TABLE;
        data[p2 + 8..p2 + 12].copy_from_slice(&2u32.to_be_bytes());
        let db = Database::open(&data).unwrap();
        assert!(rows(&db, 2).unwrap_err().contains("twice"));
        // an empty leaf: no rows
        assert_eq!(rows(&db, 1).unwrap(), []);
        assert!(rows(&db, 3).is_err());
        assert!(rows(&db, 0).is_err());
        // a chain of interior pages deeper than the limit
        let n = MAX_DEPTH + 2;
        let mut data = header(512, n + 1);
        for page in 2..=n {
            let at = (page - 1) * 512;
            data[at] = INTERIOR_TABLE;
            data[at + 8..at + 12].copy_from_slice(&(page as u32 + 1).to_be_bytes());
        }
        data[n * 512] = LEAF_TABLE;
        let db = Database::open(&data).unwrap();
        assert!(rows(&db, 2).unwrap_err().contains("levels deep"));
        assert!(rows(&db, 4).is_ok());
    }
}
