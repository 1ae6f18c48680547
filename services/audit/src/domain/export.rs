//! Export as CSV or NDJSON, streamed: pages are read from Postgres with a keyset cursor only as
//! the consumer pulls chunks, so memory stays flat whatever the number of entries.

use std::collections::VecDeque;

use futures::Stream;
use keyward_proto::v1::actor::Kind;
use serde::Serialize;

use crate::error::{AuditError, Result};
use crate::model::{Cursor, Filter, StoredEntry};
use crate::store::Store;

/// Entries read per round trip.
const PAGE: i64 = 1_000;
/// A chunk is sent once it holds at least this many bytes (gRPC messages stay far below 4 MiB).
const CHUNK: usize = 256 * 1024;

/// The export file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl ExportFormat {
    /// `"csv"` or `"ndjson"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "ndjson" | "jsonl" => Ok(Self::Ndjson),
            _ => Err(AuditError::invalid("format must be \"csv\" or \"ndjson\"")),
        }
    }
}

/// The columns of an export, in CSV order.
const COLUMNS: [&str; 21] = [
    "org_id",
    "seq",
    "event_id",
    "occurred_at",
    "recorded_at",
    "actor_kind",
    "actor_id",
    "actor_email",
    "actor_ip",
    "subject_readable",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "reason",
    "request_id",
    "service",
    "before_json",
    "after_json",
    "prev_hash",
    "hash",
];

/// One exported entry.
#[derive(Serialize)]
struct Row<'a> {
    org_id: String,
    seq: u64,
    event_id: String,
    occurred_at: String,
    recorded_at: String,
    actor_kind: &'static str,
    actor_id: &'a str,
    actor_email: Option<&'a str>,
    actor_ip: Option<&'a str>,
    subject_readable: bool,
    action: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    outcome: &'a str,
    reason: &'a str,
    request_id: &'a str,
    service: &'a str,
    before_json: &'a str,
    after_json: &'a str,
    prev_hash: String,
    hash: String,
}

impl<'a> Row<'a> {
    fn new(e: &'a StoredEntry) -> Self {
        let c = &e.chained;
        let ts = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        Row {
            org_id: c.org_id.to_string(),
            seq: c.seq,
            event_id: c.event_id.to_string(),
            occurred_at: ts(c.occurred_at),
            recorded_at: ts(c.recorded_at),
            actor_kind: Kind::try_from(c.actor_kind)
                .map_or("KIND_UNSPECIFIED", |k| k.as_str_name()),
            actor_id: e.actor_id(),
            actor_email: e.personal.email.as_deref(),
            actor_ip: e.personal.ip.as_deref(),
            subject_readable: e.subject_readable(),
            action: &c.action,
            resource_type: &c.resource_type,
            resource_id: &c.resource_id,
            outcome: &c.outcome,
            reason: &c.reason,
            request_id: &c.request_id,
            service: &c.service,
            before_json: &c.before_json,
            after_json: &c.after_json,
            prev_hash: hex::encode(&e.prev_hash),
            hash: hex::encode(&e.hash),
        }
    }

    fn csv(&self, out: &mut Vec<u8>) {
        let seq = self.seq.to_string();
        // Ids, times, hashes and enums never need quoting; only free text is checked.
        let fields: [(&str, bool); 21] = [
            (&self.org_id, false),
            (&seq, false),
            (&self.event_id, false),
            (&self.occurred_at, false),
            (&self.recorded_at, false),
            (self.actor_kind, false),
            (self.actor_id, true),
            (self.actor_email.unwrap_or_default(), true),
            (self.actor_ip.unwrap_or_default(), true),
            (
                if self.subject_readable {
                    "true"
                } else {
                    "false"
                },
                false,
            ),
            (self.action, true),
            (self.resource_type, true),
            (self.resource_id, true),
            (self.outcome, true),
            (self.reason, true),
            (self.request_id, true),
            (self.service, true),
            (self.before_json, true),
            (self.after_json, true),
            (&self.prev_hash, false),
            (&self.hash, false),
        ];
        csv_record(out, &fields);
    }
}

/// Writes one CSV record (RFC 4180), quoting the free-text fields that need it.
fn csv_record(out: &mut Vec<u8>, fields: &[(&str, bool)]) {
    for (i, (f, free_text)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if *free_text && f.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            out.push(b'"');
            out.extend_from_slice(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(f.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

struct State {
    store: Store,
    filter: Filter,
    format: ExportFormat,
    cursor: Option<Cursor>,
    pending: VecDeque<StoredEntry>,
    started: bool,
    exhausted: bool,
}

/// The entries matching `filter`, newest first, as a stream of encoded chunks.
pub fn export(
    store: Store,
    filter: Filter,
    format: ExportFormat,
) -> impl Stream<Item = Result<Vec<u8>>> + Send + 'static {
    let state = State {
        store,
        filter,
        format,
        cursor: None,
        pending: VecDeque::new(),
        started: false,
        exhausted: false,
    };
    futures::stream::try_unfold(state, |mut st| async move {
        let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
        if !st.started {
            st.started = true;
            if st.format == ExportFormat::Csv {
                csv_record(&mut buf, &COLUMNS.map(|c| (c, false)));
            }
        }
        loop {
            if buf.len() >= CHUNK {
                return Ok(Some((buf, st)));
            }
            if let Some(e) = st.pending.pop_front() {
                let row = Row::new(&e);
                match st.format {
                    ExportFormat::Csv => row.csv(&mut buf),
                    ExportFormat::Ndjson => {
                        serde_json::to_writer(&mut buf, &row)
                            .map_err(|e| AuditError::Internal(format!("export encoding: {e}")))?;
                        buf.push(b'\n');
                    }
                }
                continue;
            }
            if st.exhausted {
                return Ok((!buf.is_empty()).then_some((buf, st)));
            }
            let page = st.store.page(&st.filter, st.cursor, PAGE).await?;
            st.exhausted = i64::try_from(page.len()).unwrap_or(0) < PAGE;
            st.cursor = page
                .last()
                .and_then(|e| i64::try_from(e.chained.seq).ok())
                .map(|before_seq| Cursor { before_seq });
            st.pending = page.into();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let mut out = Vec::new();
        let fields = ["a", "b,c", "say \"hi\"", "x\ny", ""].map(|f| (f, true));
        csv_record(&mut out, &fields);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\r\n"
        );
    }

    #[test]
    fn formats_parse() {
        assert_eq!(ExportFormat::parse("CSV").unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse("ndjson").unwrap(), ExportFormat::Ndjson);
        assert!(ExportFormat::parse("xml").is_err());
    }
}
