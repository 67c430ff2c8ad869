use super::*;

use Status::{Acknowledged, Cancelled, Closed, Mitigated, Resolved, Triage};

#[test]
fn lifecycle_table() {
    // (from, to, allowed)
    let table = [
        (Triage, Acknowledged, true),
        (Triage, Mitigated, true),
        (Triage, Resolved, true),
        (Triage, Cancelled, true),
        (Triage, Closed, false),
        (Triage, Triage, false),
        (Acknowledged, Mitigated, true),
        (Acknowledged, Resolved, true),
        (Acknowledged, Cancelled, true),
        (Acknowledged, Triage, false),
        (Acknowledged, Acknowledged, false),
        (Acknowledged, Closed, false),
        (Mitigated, Resolved, true),
        (Mitigated, Acknowledged, false),
        (Mitigated, Cancelled, false),
        (Mitigated, Closed, false),
        (Resolved, Closed, true),
        (Resolved, Acknowledged, false),
        (Resolved, Resolved, false),
        (Resolved, Cancelled, false),
        (Closed, Triage, false),
        (Closed, Resolved, false),
        (Cancelled, Triage, false),
        (Cancelled, Closed, false),
    ];
    for (from, to, allowed) in table {
        assert_eq!(
            check_transition(1, from, to).is_ok(),
            allowed,
            "{from} → {to}"
        );
    }
    // Every pair not listed is checked against next() too: the table and next() agree.
    for from in Status::ALL {
        for to in Status::ALL {
            assert_eq!(
                check_transition(1, from, to).is_ok(),
                from.next().contains(&to)
            );
        }
    }
}

#[test]
fn transition_errors_name_the_current_status() {
    let msg = |from, to| {
        check_transition(42, from, to)
            .expect_err("invalid")
            .to_string()
    };
    assert_eq!(
        msg(Resolved, Acknowledged),
        "INC-42 is resolved; it cannot become acknowledged (from resolved it can become closed)"
    );
    assert_eq!(
        msg(Acknowledged, Acknowledged),
        "INC-42 is acknowledged; it cannot become acknowledged (it is already acknowledged)"
    );
    assert_eq!(
        msg(Closed, Triage),
        "INC-42 is closed; it cannot become triage (closed is final)"
    );
    assert_eq!(
        msg(Triage, Closed),
        "INC-42 is triage; it cannot become closed (from triage it can become acknowledged, mitigated, resolved, cancelled)"
    );
}

fn row(opened: i64) -> IncidentRow {
    IncidentRow {
        id: 3,
        title: "t".to_owned(),
        service: "s".to_owned(),
        severity: "SEV2".to_owned(),
        status: "triage".to_owned(),
        source_kind: "manual".to_owned(),
        open_key: Some("manual:x".to_owned()),
        opened_at: opened,
        updated_at: opened,
        ..IncidentRow::default()
    }
}

#[test]
fn timestamps_must_not_go_back() {
    let mut r = row(10_000);
    let current = Incident::from_row(&r).expect("valid row");
    let err = apply_transition(&mut r, &current, Acknowledged, 9_999)
        .expect_err("before opening")
        .to_string();
    assert_eq!(
        err,
        "INC-3: becoming acknowledged at 1970-01-01T00:00:09.999Z is before the incident was triage at 1970-01-01T00:00:10Z; timestamps must not go back"
    );
    apply_transition(&mut r, &current, Acknowledged, 20_000).expect("valid");
    assert_eq!(r.acknowledged_at, Some(20_000));
    assert_eq!(r.open_key.as_deref(), Some("manual:x"));
    let current = Incident::from_row(&r).expect("valid row");
    assert!(apply_transition(&mut r.clone(), &current, Resolved, 15_000).is_err());
    apply_transition(&mut r, &current, Resolved, 20_000).expect("same instant is fine");
    assert_eq!(r.status, "resolved");
    assert_eq!(r.open_key, None, "a resolved incident frees its open key");
}

#[test]
fn ids_severities_and_roles_parse() {
    assert_eq!(parse_id("INC-42").expect("id"), 42);
    assert_eq!(parse_id("7").expect("id"), 7);
    assert!(parse_id("INC-").is_err());
    assert!(parse_id("-3").is_err());
    assert!(parse_id("INC-0").is_err());
    assert_eq!(Severity::parse("critical"), Some(Severity::Sev1));
    assert_eq!(Severity::parse("sev2"), Some(Severity::Sev2));
    assert_eq!(Severity::parse("warning"), Some(Severity::Sev3));
    assert_eq!(Severity::parse("info"), Some(Severity::Sev4));
    assert_eq!(Severity::parse("urgent"), None);
    assert_eq!(Role::parse("IC"), Some(Role::Commander));
    assert_eq!(Role::parse("comms"), Some(Role::Communications));
    assert_eq!(Role::parse("boss"), None);
}

#[test]
fn unknown_stored_status_is_a_decode_error() {
    let mut r = row(0);
    r.status = "exploded".to_owned();
    let err = Incident::from_row(&r).expect_err("bad status").to_string();
    assert!(err.contains("status \"exploded\" of incident 3"), "{err}");
}
