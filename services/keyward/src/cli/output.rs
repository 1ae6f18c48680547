//! What the CLI prints: aligned tables by default, JSON with `--json`.

use std::io::Write as _;

use serde_json::Value;

/// Writes a line to stdout (a closed pipe, as in `| head`, is not an error).
pub fn line(text: &str) {
    let _closed = writeln!(std::io::stdout().lock(), "{text}");
}

/// Writes a line to stderr (prompts, notes, errors).
pub fn note(text: &str) {
    let _closed = writeln!(std::io::stderr().lock(), "{text}");
}

/// A cell of a JSON value as text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Prints `rows` (JSON objects) as a table of `columns` (`path.to.field`), or as JSON.
pub fn table(rows: &[Value], columns: &[&str], json: bool) {
    if json {
        line(&serde_json::to_string_pretty(rows).unwrap_or_default());
        return;
    }
    let get = |row: &Value, col: &str| -> String {
        cell(
            col.split('.')
                .fold(row, |v, k| v.get(k).unwrap_or(&Value::Null)),
        )
    };
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| get(r, c)).collect())
        .collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt = |vals: Vec<String>| -> String {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    line(&fmt(columns.iter().map(|c| c.to_uppercase()).collect()));
    for row in cells {
        line(&fmt(row));
    }
    if rows.is_empty() {
        note("(none)");
    }
}

/// Prints one object as `field  value` lines, or as JSON.
pub fn object(v: &Value, json: bool) {
    if json {
        line(&serde_json::to_string_pretty(v).unwrap_or_default());
        return;
    }
    if let Value::Object(m) = v {
        let w = m.keys().map(String::len).max().unwrap_or(0);
        for (k, val) in m {
            line(&format!("{k:<w$}  {}", cell(val)));
        }
    }
}
