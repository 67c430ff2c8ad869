use tocsin_store::oncall::{Advance, EscalationRow, FEATURE, NewPage, ObjectRow, OverrideRow};

use crate::on_both;

fn escalation(id: &str, key: &str) -> EscalationRow {
    EscalationRow {
        id: id.to_owned(),
        key: key.to_owned(),
        policy: "p".to_owned(),
        page: r#"{"title":"t"}"#.to_owned(),
        state: "active".to_owned(),
        generation: 0,
        step: 0,
        repeat_no: 0,
        next_at: Some(1_000),
        started_at: 1_000,
        acked_by: None,
        acked_at: None,
        ack_expires_at: None,
        resolved_at: None,
    }
}

fn advance(from: (i64, i64, i64), step: i64, next_at: i64) -> Advance {
    Advance {
        from,
        step,
        repeat_no: 0,
        next_at: Some(next_at),
        state: "active".to_owned(),
    }
}

fn inbox_page(user: &str) -> NewPage {
    NewPage {
        user_id: user.to_owned(),
        contact: "inbox".to_owned(),
    }
}

#[tokio::test]
async fn objects_and_overrides_round_trip() {
    on_both("oncall_objects", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        store.migrate(&FEATURE).await.unwrap();
        let repo = store.oncall();
        let mut user = ObjectRow {
            kind: "user".into(),
            id: "alice".into(),
            body: r#"{"id":"alice","time_zone":"UTC"}"#.into(),
            updated_at: 1,
            updated_by: "api".into(),
        };
        repo.put_object(&user).await.unwrap();
        user.body = r#"{"id":"alice","time_zone":"Asia/Tokyo"}"#.into();
        repo.put_object(&user).await.unwrap();
        assert_eq!(repo.list_objects().await.unwrap(), vec![user.clone()]);
        assert!(repo.delete_object("user", "alice").await.unwrap());
        assert!(!repo.delete_object("user", "alice").await.unwrap());

        let o = OverrideRow {
            id: "o1".into(),
            schedule: "primary".into(),
            user_id: "bob".into(),
            replaces: Some("alice".into()),
            starts_at: 10,
            ends_at: 20,
            created_by: "carol".into(),
            created_at: 5,
        };
        repo.insert_override(&o).await.unwrap();
        assert_eq!(repo.list_overrides().await.unwrap(), vec![o]);
        assert!(repo.delete_override("o1").await.unwrap());
        assert!(repo.list_overrides().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_key_holds_one_open_escalation_until_resolved() {
    on_both("oncall_keys", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        let repo = store.oncall();
        let (first, created) = repo.start_escalation(&escalation("e1", "k")).await.unwrap();
        assert!(created);
        let (held, created) = repo.start_escalation(&escalation("e2", "k")).await.unwrap();
        assert!(!created);
        assert_eq!(held, first);
        assert_eq!(repo.due_escalations(999).await.unwrap(), vec![]);
        assert_eq!(
            repo.due_escalations(1_000).await.unwrap(),
            vec![first.clone()]
        );
        let resolved = repo.resolve("k", 2_000).await.unwrap().unwrap();
        assert_eq!(resolved.state, "resolved");
        assert_eq!(resolved.resolved_at, Some(2_000));
        assert!(repo.resolve("k", 2_000).await.unwrap().is_none());
        assert!(repo.active_escalation("k").await.unwrap().is_none());
        let (_, created) = repo.start_escalation(&escalation("e3", "k")).await.unwrap();
        assert!(created, "a resolved key can start again");
        assert_eq!(repo.list_escalations(true, 10).await.unwrap().len(), 1);
        assert_eq!(repo.list_escalations(false, 10).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_step_is_taken_once_with_its_pages() {
    on_both("oncall_steps", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        let repo = store.oncall();
        repo.start_escalation(&escalation("e1", "k")).await.unwrap();
        let pages = [inbox_page("alice"), inbox_page("alice"), inbox_page("bob")];
        let rr = [("p".to_owned(), 0, 1)];
        let taken = repo
            .take_step("e1", &advance((0, 0, 0), 1, 5_000), &pages, &rr, 1_000)
            .await
            .unwrap()
            .unwrap();
        // The unique key folds the duplicate page.
        let users: Vec<&str> = taken.iter().map(|p| p.user_id.as_str()).collect();
        assert_eq!(users, ["alice", "bob"]);
        assert!(taken.iter().all(|p| p.status == "pending"));
        assert_eq!(repo.round_robin_next("p", 0).await.unwrap(), 1);
        assert_eq!(repo.round_robin_next("p", 1).await.unwrap(), 0);
        // A second writer with the same starting position loses.
        let again = repo
            .take_step("e1", &advance((0, 0, 0), 1, 5_000), &pages, &[], 1_000)
            .await
            .unwrap();
        assert!(again.is_none());
        assert_eq!(repo.pending_pages().await.unwrap().len(), 2);
        repo.finish_page(taken[0].id, "sent", 1_001, None)
            .await
            .unwrap();
        repo.finish_page(taken[1].id, "failed", 1_002, Some("boom"))
            .await
            .unwrap();
        assert!(repo.pending_pages().await.unwrap().is_empty());
        let all = repo.pages(0, 10_000, Some("e1")).await.unwrap();
        assert_eq!(all[1].error.as_deref(), Some("boom"));
        assert!(
            repo.pages(0, 10_000, Some("other"))
                .await
                .unwrap()
                .is_empty()
        );

        repo.insert_inbox("alice", taken[0].id, "e1", "t", "b", None, 1_000)
            .await
            .unwrap();
        repo.insert_inbox("alice", taken[0].id, "e1", "t", "b", None, 1_000)
            .await
            .unwrap();
        let inbox = repo.inbox("alice", true, 10).await.unwrap();
        assert_eq!(inbox.len(), 1, "one inbox item per page");
        assert!(repo.mark_read(inbox[0].id, 1_500).await.unwrap());
        assert!(repo.inbox("alice", true, 10).await.unwrap().is_empty());

        // Acknowledged: nothing due until the expiry, which restarts a new generation.
        let acked = repo
            .ack("k", "alice", 2_000, Some(9_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (acked.state.as_str(), acked.next_at),
            ("acked", Some(9_000))
        );
        assert_eq!(
            repo.inbox_item(inbox[0].id)
                .await
                .unwrap()
                .unwrap()
                .acked_at,
            Some(2_000)
        );
        assert!(repo.due_escalations(8_999).await.unwrap().is_empty());
        assert!(
            repo.take_step("e1", &advance((0, 1, 0), 2, 9_000), &[], &[], 3_000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !repo.expire_ack("e1", 8_000, 9_000).await.unwrap(),
            "wrong expiry"
        );
        assert!(repo.expire_ack("e1", 9_000, 9_000).await.unwrap());
        let row = repo.escalation("e1").await.unwrap().unwrap();
        assert_eq!(
            (row.state.as_str(), row.generation, row.step),
            ("active", 1, 0)
        );
    })
    .await;
}
