//! GDPR erasure: the subject's personal data becomes unreadable everywhere, and the chain still
//! verifies.

use futures::StreamExt as _;
use keyward_proto::v1::{
    EraseSubjectRequest, ExportAuditRequest, QueryAuditRequest, QueryAuditResponse,
};
use uuid::Uuid;

use crate::harness::{Client, event, rig, start, user_event, verify};

async fn query(client: &Client, org: Uuid, actor: Option<&str>) -> QueryAuditResponse {
    client
        .clone()
        .query(QueryAuditRequest {
            org_id: org.to_string(),
            actor_id: actor.map(str::to_string),
            ..QueryAuditRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn export_text(client: &Client, org: Uuid) -> String {
    let mut stream = client
        .clone()
        .export(ExportAuditRequest {
            query: Some(QueryAuditRequest {
                org_id: org.to_string(),
                ..QueryAuditRequest::default()
            }),
            format: "ndjson".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend(chunk.unwrap().data);
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn erasure_keeps_the_chain_valid_and_makes_personal_fields_unreadable() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let org = Uuid::now_v7();
    let mut batch = vec![
        user_event(org, "user-alice", "alice@example.com", "198.51.100.7"),
        event(org, 1),
        user_event(org, "user-bob", "bob@example.com", "203.0.113.9"),
    ];
    rig.audit.append(batch.clone()).await.unwrap();
    batch = vec![user_event(
        org,
        "user-alice",
        "alice@example.com",
        "198.51.100.8",
    )];
    rig.audit.append(batch).await.unwrap();

    // Before: readable, and found by actor id.
    let alice = query(&svc.client, org, Some("user-alice")).await.entries;
    assert_eq!(alice.len(), 2);
    let actor = alice[0].event.as_ref().unwrap().actor.as_ref().unwrap();
    assert_eq!(actor.id, "user-alice");
    assert_eq!(actor.email.as_deref(), Some("alice@example.com"));
    assert_eq!(actor.ip.as_deref(), Some("198.51.100.8"));
    assert!(alice.iter().all(|e| e.subject_readable));
    // Only a pseudonym is in the chain.
    let in_chain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM entries e WHERE e::text LIKE '%alice%' OR e::text LIKE '%198.51.100%'",
    )
    .fetch_one(rig.audit.store().pool())
    .await
    .unwrap();
    assert_eq!(in_chain, 0, "personal data never enters the hashed entries");

    let mut c = svc.client.clone();
    let erased = c
        .erase_subject(EraseSubjectRequest {
            org_id: org.to_string(),
            subject: "user-alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(erased.erased);

    let r = verify(&svc.client, org).await;
    assert!(r.ok && r.checked == 4, "the chain still verifies: {r:?}");

    // After: nothing links back to alice; bob is untouched.
    assert!(
        query(&svc.client, org, Some("user-alice"))
            .await
            .entries
            .is_empty()
    );
    let all = query(&svc.client, org, None).await.entries;
    assert_eq!(all.len(), 4);
    let unreadable: Vec<_> = all.iter().filter(|e| !e.subject_readable).collect();
    assert_eq!(unreadable.len(), 2);
    for e in unreadable {
        let a = e.event.as_ref().unwrap().actor.as_ref().unwrap();
        assert_eq!(
            (a.id.as_str(), a.email.as_ref(), a.ip.as_ref()),
            ("", None, None)
        );
    }
    let bob = query(&svc.client, org, Some("user-bob")).await.entries;
    assert_eq!(
        bob[0]
            .event
            .as_ref()
            .unwrap()
            .actor
            .as_ref()
            .unwrap()
            .email
            .as_deref(),
        Some("bob@example.com")
    );
    let exported = export_text(&svc.client, org).await;
    assert_eq!(exported.lines().count(), 4);
    assert!(
        !exported.contains("alice") && !exported.contains("198.51.100"),
        "{exported}"
    );
    assert!(exported.contains("bob@example.com"));

    // Not in the database either, in any table of the schema.
    let mut admin = rig.tp.db.admin().await;
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit.subjects s WHERE s::text LIKE '%alice%') \
              + (SELECT count(*) FROM audit.subject_data d WHERE d::text LIKE '%alice%' OR d::text LIKE '%198.51.100%') \
              + (SELECT count(*) FROM audit.entries e WHERE e::text LIKE '%alice%')",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(left, 0);

    // Erasing again finds nothing; a bad org id is a clear error.
    let again = c
        .erase_subject(EraseSubjectRequest {
            org_id: org.to_string(),
            subject: "user-alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.erased);
    let err = c
        .erase_subject(EraseSubjectRequest {
            org_id: "acme".into(),
            subject: "user-bob".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // A later event of the same person starts a new, unlinkable pseudonym.
    rig.audit
        .append(vec![user_event(
            org,
            "user-alice",
            "alice@example.com",
            "198.51.100.9",
        )])
        .await
        .unwrap();
    assert_eq!(
        query(&svc.client, org, Some("user-alice"))
            .await
            .entries
            .len(),
        1
    );
    assert!(verify(&svc.client, org).await.ok);
}
