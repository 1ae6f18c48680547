//! Encodes event rows in COPY's text format (tab-separated, `\N` for NULL, backslash escapes).

use std::fmt::Write as _;

use crate::event::EventRow;

/// The staging table's columns, in the order [`encode`] writes them.
pub const COLUMNS: &str = "event_id, ts, org_id, team_id, project_id, user_id, virtual_key_id, \
    provider_key_id, provider, model, input_tokens, output_tokens, cached_input_tokens, \
    cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, latency_ms, http_status, \
    status, request_id, endpoint, streamed, cost_micros, priced";

/// Appends `rows` to `buf`, one line each.
pub fn encode(rows: &[EventRow], buf: &mut String) {
    for r in rows {
        // Writing to a String cannot fail.
        let _ = write!(
            buf,
            "{}\t{}\t{}\t",
            r.event_id,
            r.ts.format("%Y-%m-%d %H:%M:%S%.6f+00"),
            r.org_id
        );
        for id in [
            r.team_id,
            r.project_id,
            r.user_id,
            r.virtual_key_id,
            r.provider_key_id,
        ] {
            match id {
                Some(id) => {
                    let _ = write!(buf, "{id}\t");
                }
                None => buf.push_str("\\N\t"),
            }
        }
        escape(&r.provider, buf);
        buf.push('\t');
        escape(&r.model, buf);
        let _ = write!(
            buf,
            "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
            r.input_tokens,
            r.output_tokens,
            r.cached_input_tokens,
            r.cache_write_5m_tokens,
            r.cache_write_1h_tokens,
            r.reasoning_tokens,
            r.latency_ms,
            r.http_status
        );
        escape(&r.status, buf);
        buf.push('\t');
        escape(&r.request_id, buf);
        buf.push('\t');
        escape(&r.endpoint, buf);
        let _ = writeln!(
            buf,
            "\t{}\t{}\t{}",
            if r.streamed { 't' } else { 'f' },
            r.cost_micros,
            if r.priced { 't' } else { 'f' }
        );
    }
}

/// COPY text-format escaping: backslash, tab, newline and carriage return.
fn escape(s: &str, buf: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_separators() {
        let mut out = String::new();
        escape("a\tb\\c\nd\re", &mut out);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re");
    }
}
