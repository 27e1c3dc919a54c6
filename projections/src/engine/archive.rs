//! The engine's archive of the events folded in: each event in a compact
//! binary record (its fields, with `data` as the stored JSON text), records
//! grouped in pages of [`PAGE_LEN`] events, each sealed page compressed with
//! LZ4. Events are decoded again only when a read asks for them (a replay
//! as of a time or a position, a layout chain); pages are decoded in
//! parallel, a chunk of pages at a time, so a replay holds a bounded number
//! of decoded events at once.

use chrono::{DateTime, Utc};
use passerelle_events::values::{OccurredAt, ProgrammeId};
use passerelle_events::{Event, NewEvent, StoredEvent};
use rayon::prelude::*;
use uuid::Uuid;

/// Events per page.
pub const PAGE_LEN: usize = 256;

/// The archive: sealed pages, and the page being filled.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// Sealed pages, each [`PAGE_LEN`] records compressed.
    sealed: Vec<Box<[u8]>>,
    /// The records of the page being filled, uncompressed.
    open: Vec<u8>,
    /// Records in `open`.
    open_len: usize,
}

impl Archive {
    /// Keeps `e`, with `data` its payload's JSON text (what
    /// [`Event::from_parts`] reads back into `e.event.event`).
    pub fn push(&mut self, e: &StoredEvent, data: &str) {
        if self.open.is_empty() {
            self.open.reserve(PAGE_LEN * 512);
        }
        encode(&mut self.open, e, data);
        self.open_len += 1;
        if self.open_len == PAGE_LEN {
            let page = lz4_flex::compress_prepend_size(&self.open);
            self.sealed.push(page.into_boxed_slice());
            self.open = Vec::new();
            self.open_len = 0;
        }
    }

    /// The events at `slots` (ascending, each below [`PAGE_LEN`]) of page
    /// `page`, decoded.
    pub fn decode_page(&self, page: usize, slots: &[u16]) -> Vec<StoredEvent> {
        let owned;
        let bytes: &[u8] = match self.sealed.get(page) {
            Some(sealed) => {
                owned = lz4_flex::decompress_size_prepended(sealed)
                    .expect("a page the archive compressed decompresses");
                &owned
            }
            None => {
                assert_eq!(page, self.sealed.len(), "page {page} is not archived");
                &self.open
            }
        };
        let mut out = Vec::with_capacity(slots.len());
        let mut reader = Reader { bytes, at: 0 };
        let mut slot = 0u16;
        for &wanted in slots {
            while slot < wanted {
                reader.skip_record();
                slot += 1;
            }
            out.push(reader.record());
            slot += 1;
        }
        out
    }

    /// The events at `indexes` (ascending), decoded in parallel by page, a
    /// chunk of pages at a time: `visit` sees each in order, and may stop
    /// the walk with an error. The next chunk is decoded while `visit`
    /// folds the current one.
    pub fn visit<E>(
        &self,
        indexes: impl IntoIterator<Item = usize>,
        mut visit: impl FnMut(StoredEvent) -> Result<(), E> + Send,
    ) -> Result<(), E>
    where
        E: Send,
    {
        let mut chunks = Chunks::new(indexes.into_iter());
        let mut current = match chunks.next() {
            Some(chunk) => self.decode_chunk(&chunk),
            None => return Ok(()),
        };
        loop {
            let next = chunks.next();
            let (folded, decoded) = rayon::join(
                || -> Result<(), E> {
                    for e in current.into_iter().flatten() {
                        visit(e)?;
                    }
                    Ok(())
                },
                || next.map(|chunk| self.decode_chunk(&chunk)),
            );
            folded?;
            match decoded {
                Some(d) => current = d,
                None => return Ok(()),
            }
        }
    }

    fn decode_chunk(&self, chunk: &[(usize, Vec<u16>)]) -> Vec<Vec<StoredEvent>> {
        chunk
            .par_iter()
            .map(|(page, slots)| self.decode_page(*page, slots))
            .collect()
    }
}

/// Pages decoded at once by [`Archive::visit`] (with [`PAGE_LEN`] of 256,
/// at most 4,096 events).
const CHUNK_PAGES: usize = 16;

/// Groups ascending indexes by page, [`CHUNK_PAGES`] pages at a time.
struct Chunks<I: Iterator<Item = usize>> {
    indexes: std::iter::Peekable<I>,
}

impl<I: Iterator<Item = usize>> Chunks<I> {
    fn new(indexes: I) -> Self {
        Self {
            indexes: indexes.peekable(),
        }
    }
}

impl<I: Iterator<Item = usize>> Iterator for Chunks<I> {
    type Item = Vec<(usize, Vec<u16>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut chunk: Vec<(usize, Vec<u16>)> = Vec::new();
        while let Some(&i) = self.indexes.peek() {
            let (page, slot) = (i / PAGE_LEN, (i % PAGE_LEN) as u16);
            let same_page = chunk.last().is_some_and(|(p, _)| *p == page);
            if same_page {
                let (_, slots) = chunk.last_mut().expect("a page in the chunk");
                debug_assert!(slots.last().is_none_or(|&s| s < slot), "ascending");
                slots.push(slot);
            } else if chunk.len() == CHUNK_PAGES {
                break;
            } else {
                chunk.push((page, vec![slot]));
            }
            self.indexes.next();
        }
        (!chunk.is_empty()).then_some(chunk)
    }
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    out.extend_from_slice(&t.timestamp().to_le_bytes());
    put_u32(out, t.timestamp_subsec_nanos());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(
        out,
        u32::try_from(s.len()).expect("a stored field under 4 GiB"),
    );
    out.extend_from_slice(s.as_bytes());
}

/// One record: its length, then position, version, schema version,
/// recorded and occurred times (seconds and nanoseconds), id, then stream,
/// recorded by, programme, type and data as texts (each its length first).
fn encode(out: &mut Vec<u8>, e: &StoredEvent, data: &str) {
    let start = out.len();
    put_u32(out, 0);
    put_u64(out, e.position);
    put_u64(out, e.version);
    put_u32(out, e.schema_version);
    put_time(out, e.recorded_at);
    put_time(out, e.event.occurred_at.datetime());
    out.extend_from_slice(e.event.id.as_bytes());
    put_str(out, &e.stream);
    put_str(out, &e.recorded_by);
    put_str(out, e.event.programme.as_str());
    put_str(out, e.event.event.type_name());
    put_str(out, data);
    let len = u32::try_from(out.len() - start - 4).expect("a record under 4 GiB");
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        s
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }

    fn time(&mut self) -> DateTime<Utc> {
        let secs = i64::from_le_bytes(self.take(8).try_into().expect("8 bytes"));
        let nanos = self.u32();
        DateTime::from_timestamp(secs, nanos).expect("an archived time is in range")
    }

    fn str(&mut self) -> &'a str {
        let n = self.u32() as usize;
        std::str::from_utf8(self.take(n)).expect("an archived text is UTF-8")
    }

    fn skip_record(&mut self) {
        let n = self.u32() as usize;
        self.at += n;
    }

    /// Decodes the next record. The archive holds only events that were
    /// decoded when folded in, so a failure here is a bug, not bad input.
    fn record(&mut self) -> StoredEvent {
        let _len = self.u32();
        let position = self.u64();
        let version = self.u64();
        let schema_version = self.u32();
        let recorded_at = self.time();
        let occurred_at = OccurredAt::from_datetime(self.time());
        let id = Uuid::from_bytes(self.take(16).try_into().expect("16 bytes"));
        let stream = self.str().to_owned();
        let recorded_by = self.str().to_owned();
        let programme = ProgrammeId::parse(self.str())
            .unwrap_or_else(|m| panic!("archived event {position}: programme {m}"));
        let type_name = self.str();
        let data: serde_json::Value = serde_json::from_str(self.str())
            .unwrap_or_else(|m| panic!("archived event {position}: data {m}"));
        let event = Event::from_parts(type_name, &data)
            .unwrap_or_else(|m| panic!("archived event {position}: {m}"));
        StoredEvent {
            position,
            stream,
            version,
            schema_version,
            recorded_at,
            recorded_by,
            event: NewEvent {
                id,
                programme,
                occurred_at,
                event,
            },
        }
    }
}
