use tocsin_store::slo::{FEATURE, GateOverrideRow};

use crate::on_both;

#[tokio::test]
async fn gate_overrides_are_kept_in_order_per_slo() {
    on_both("slo_overrides", |store| async move {
        store.migrate(&FEATURE).await.unwrap();
        store.migrate(&FEATURE).await.unwrap();
        let row = |slo: &str, at: i64, expires: Option<i64>| GateOverrideRow {
            slo: slo.to_owned(),
            created_by: "alice".to_owned(),
            reason: format!("hotfix at {at}"),
            created_at: at,
            expires_at: expires,
        };
        store
            .slo()
            .insert_override(&row("api", 2_000, None))
            .await
            .unwrap();
        store
            .slo()
            .insert_override(&row("api", 1_000, Some(5_000)))
            .await
            .unwrap();
        store
            .slo()
            .insert_override(&row("web", 1_500, None))
            .await
            .unwrap();
        let api = store.slo().list_overrides("api").await.unwrap();
        assert_eq!(
            api,
            vec![row("api", 1_000, Some(5_000)), row("api", 2_000, None)]
        );
        assert_eq!(store.slo().list_overrides("none").await.unwrap(), vec![]);
    })
    .await;
}
