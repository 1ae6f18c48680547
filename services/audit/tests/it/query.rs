//! Query: filters, cursor pagination newest first, clear errors, caller identity.

use keyward_proto::v1::{PageRequest, QueryAuditRequest, TimeRange, VerifyRequest};
use uuid::Uuid;

use crate::harness::{client_as, fill, rig, start};

fn req(org: Uuid) -> QueryAuditRequest {
    QueryAuditRequest {
        org_id: org.to_string(),
        ..QueryAuditRequest::default()
    }
}

#[tokio::test]
async fn query_filters_and_pages_newest_first() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let (org, other) = (Uuid::now_v7(), Uuid::now_v7());
    fill(&rig.audit, org, 45, 20).await;
    fill(&rig.audit, other, 5, 5).await;
    let mut c = svc.client.clone();

    // Pages of 10, newest first, every entry exactly once.
    let mut seqs = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut r = req(org);
        r.page = Some(PageRequest {
            page_size: 10,
            cursor: cursor.clone(),
        });
        let resp = c.query(r).await.unwrap().into_inner();
        assert!(resp.entries.len() <= 10);
        seqs.extend(resp.entries.iter().map(|e| e.seq));
        cursor = resp.page.unwrap().next_cursor;
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seqs, (1..=45).rev().collect::<Vec<u64>>());

    // Filters combine; `fill` makes every fifth event denied and resource ids pk_0..pk_6.
    let mut r = req(org);
    r.outcome = Some("denied".into());
    r.resource_id = Some("pk_0".into());
    let got = c.query(r).await.unwrap().into_inner().entries;
    let want: Vec<u64> = (0..45u64)
        .filter(|i| i % 5 == 0 && i % 7 == 0)
        .map(|i| i + 1)
        .rev()
        .collect();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), want);
    for e in &got {
        let ev = e.event.as_ref().unwrap();
        assert_eq!(
            (ev.outcome.as_str(), ev.resource_id.as_str()),
            ("denied", "pk_0")
        );
        assert_eq!(ev.org_id, org.to_string());
    }
    let mut r = req(org);
    r.actor_id = Some("vault".into());
    r.action = Some("provider_key.resolve".into());
    r.page = Some(PageRequest {
        page_size: 1000,
        cursor: String::new(),
    });
    assert_eq!(c.query(r).await.unwrap().into_inner().entries.len(), 45);
    let mut r = req(org);
    r.action = Some("nothing.like.this".into());
    assert!(c.query(r).await.unwrap().into_inner().entries.is_empty());
    let mut r = req(org);
    r.range = Some(TimeRange {
        from: Some(keyward_proto::time::from_unix_micros(0)),
        to: Some(keyward_proto::time::from_unix_micros(1)),
    });
    assert!(c.query(r).await.unwrap().into_inner().entries.is_empty());

    // Bad input: a clear InvalidArgument naming the field.
    let bad = [
        QueryAuditRequest {
            org_id: "acme".into(),
            ..QueryAuditRequest::default()
        },
        QueryAuditRequest::default(),
        QueryAuditRequest {
            outcome: Some("maybe".into()),
            ..req(org)
        },
        QueryAuditRequest {
            page: Some(PageRequest {
                page_size: 10,
                cursor: "garbage".into(),
            }),
            ..req(org)
        },
        QueryAuditRequest {
            page: Some(PageRequest {
                page_size: 5000,
                cursor: String::new(),
            }),
            ..req(org)
        },
    ];
    for (r, field) in bad
        .into_iter()
        .zip(["org_id", "org_id", "outcome", "cursor", "page_size"])
    {
        let err = c.query(r).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{field}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    let err = c
        .verify(VerifyRequest {
            org_id: org.to_string(),
            from_seq: 9,
            to_seq: 3,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    // A range inside the chain verifies on its own.
    let r = c
        .verify(VerifyRequest {
            org_id: org.to_string(),
            from_seq: 10,
            to_seq: 20,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.ok && r.checked == 11, "{r:?}");

    // Only the gateway and operators may call; others are refused.
    let mut gw = client_as(&rig, "api-gateway");
    assert!(gw.query(req(org)).await.is_ok());
    let mut vault = client_as(&rig, "vault");
    assert_eq!(
        vault.query(req(org)).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
}
