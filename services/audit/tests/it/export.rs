//! Export: CSV and NDJSON content, and one million entries streamed with flat memory.

use std::time::Instant;

use futures::StreamExt as _;
use keyward_proto::v1::{ExportAuditRequest, QueryAuditRequest};
use sqlx::Executor;
use uuid::Uuid;

use crate::harness::{Client, fill, rig, start};

fn export_req(org: Uuid, format: &str) -> ExportAuditRequest {
    ExportAuditRequest {
        query: Some(QueryAuditRequest {
            org_id: org.to_string(),
            ..QueryAuditRequest::default()
        }),
        format: format.into(),
    }
}

async fn export_all(client: &Client, org: Uuid, format: &str) -> String {
    let mut s = client
        .clone()
        .export(export_req(org, format))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend(chunk.unwrap().data);
    }
    String::from_utf8(out).unwrap()
}

/// This process's resident set size in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn export_writes_csv_and_ndjson_newest_first() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let org = Uuid::now_v7();
    fill(&rig.audit, org, 12, 12).await;

    let csv = export_all(&svc.client, org, "csv").await;
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 13);
    assert!(
        lines[0].starts_with("org_id,seq,event_id,occurred_at,recorded_at,actor_kind,actor_id")
    );
    assert!(lines[1].starts_with(&format!("{org},12,")));
    // JSON with commas and quotes survives CSV quoting.
    assert!(lines[1].contains("\"{\"\"i\"\":11}\""), "{}", lines[1]);

    let nd = export_all(&svc.client, org, "ndjson").await;
    let rows: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0]["seq"], 12);
    assert_eq!(rows[11]["seq"], 1);
    assert_eq!(rows[0]["after_json"], "{\"i\":11}");
    assert_eq!(rows[11]["prev_hash"], "0".repeat(64));

    let mut c = svc.client.clone();
    let err = c.export(export_req(org, "xml")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = c.export(export_req(Uuid::nil(), "csv")).await;
    assert!(
        err.is_ok(),
        "an org without entries exports just the header"
    );
}

#[tokio::test]
async fn exporting_a_million_entries_streams_with_flat_memory() {
    const N: i64 = 1_000_000;
    let rig = rig().await;
    let svc = start(&rig).await;
    let org = Uuid::now_v7();
    // Build the rows server-side: export reads rows, it does not care how they were chained.
    let started = Instant::now();
    let mut admin = rig.tp.db.admin().await;
    admin.execute("SET synchronous_commit = off").await.unwrap();
    sqlx::query(
        "INSERT INTO audit.entries (org_id, seq, format, event_id, occurred_at, recorded_at, \
         actor_kind, actor_id, subject_id, action, resource_type, resource_id, outcome, reason, \
         request_id, service, before_json, after_json, prev_hash, hash) \
         SELECT $1, g, 1, ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, now(), now(), \
         2, 'vault', NULL, 'provider_key.resolve', 'provider_key', 'pk_' || (g % 1000), 'success', '', \
         'req-' || g, 'vault', '', '', sha256(int8send(g - 1)), sha256(int8send(g)) \
         FROM generate_series(1, $2) g",
    )
    .bind(org)
    .bind(N)
    .execute(&mut admin)
    .await
    .unwrap();
    // What autovacuum would do after such a load; page plans rely on current statistics.
    admin.execute("ANALYZE audit.entries").await.unwrap();
    eprintln!("built {N} rows in {:?}", started.elapsed());

    // Warm up (connections, code paths), then measure.
    let warm = Uuid::now_v7();
    fill(&rig.audit, warm, 3000, 1000).await;
    assert_eq!(
        export_all(&svc.client, warm, "csv").await.lines().count(),
        3001
    );
    let base = rss_kib();
    let started = Instant::now();
    let mut stream = svc
        .client
        .clone()
        .export(export_req(org, "csv"))
        .await
        .unwrap()
        .into_inner();
    let (mut bytes, mut lines, mut peak) = (0u64, 0u64, base);
    let mut chunks = 0u64;
    while let Some(chunk) = stream.next().await {
        let data = chunk.unwrap().data;
        bytes += data.len() as u64;
        lines += data.iter().filter(|b| **b == b'\n').count() as u64;
        chunks += 1;
        if chunks.is_multiple_of(16) {
            peak = peak.max(rss_kib());
        }
    }
    peak = peak.max(rss_kib());
    eprintln!(
        "exported {lines} lines, {} MiB in {:?}; RSS {} MiB before, peak {} MiB",
        bytes >> 20,
        started.elapsed(),
        base >> 10,
        peak >> 10
    );
    assert_eq!(lines, N as u64 + 1, "header + every entry");
    let growth_mib = (peak.saturating_sub(base)) >> 10;
    assert!(bytes > 200 << 20, "the export is large ({bytes} bytes)");
    assert!(
        growth_mib < 48,
        "memory stays flat: grew {growth_mib} MiB while streaming {} MiB",
        bytes >> 20
    );
}
