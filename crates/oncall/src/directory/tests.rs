#![allow(clippy::unwrap_used, reason = "test code")]

use super::*;

fn testdata(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn the_good_fixture_loads_with_everything_cross_checked() {
    let dir =
        Directory::from_files(&[("team.good.yml".into(), testdata("team.good.yml"))]).unwrap();
    assert_eq!(dir.users.len(), 4);
    assert_eq!(dir.user("alice").unwrap().display_name(), "Alice Liddell");
    assert_eq!(
        dir.team_members("sre").unwrap(),
        ["alice", "bob", "chen", "dana"]
    );
    let policy = dir.policy("sre-default").unwrap();
    assert_eq!(policy.repeat, 2);
    assert_eq!(policy.steps[0].delay, std::time::Duration::from_secs(300));
    assert_eq!(
        policy.steps[2].targets,
        [Target::RoundRobin(vec!["chen".into(), "dana".into()])]
    );
    assert_eq!(
        dir.service("checkout").unwrap().slos,
        ["checkout-availability"]
    );
    assert_eq!(dir.schedule("primary").unwrap().layers.len(), 3);
    assert!(dir.smtp.is_some());
}

/// Every bad fixture and the exact error it must produce, location included.
const BAD: &[(&str, &str)] = &[
    (
        "unknown_field.bad.yml",
        "unknown_field.bad.yml:4:5: unknown field `timezone`, expected one of id, name, time_zone, contacts",
    ),
    (
        "unknown_member.bad.yml",
        "unknown_member.bad.yml:4:5: team \"sre\": member \"bob\" is not a user; define it under users",
    ),
    (
        "unknown_schedule.bad.yml",
        "unknown_schedule.bad.yml:4:5: escalation policy \"p\": steps[0]: target schedule \"primary\" is not defined; add it under schedules",
    ),
    (
        "bad_zone.bad.yml",
        "bad_zone.bad.yml:2:5: schedule \"s\": layers[0] (\"main\"): unknown time zone \"Europe/Lndon\"",
    ),
    (
        "bad_handoff.bad.yml",
        "bad_handoff.bad.yml:4:5: schedule \"s\": layers[0] (\"main\"): handoff: \"9am\" is not a time like 09:00",
    ),
    (
        "custom_without_length.bad.yml",
        "custom_without_length.bad.yml:4:5: schedule \"s\": layers[0] (\"main\"): a custom rotation needs shift_length, like 12h or 3d",
    ),
    (
        "duplicate_user.bad.yml",
        "duplicate_user.bad.yml:4:5: user \"a\" is already defined at duplicate_user.bad.yml:3:5; ids must be unique",
    ),
    (
        "unknown_policy.bad.yml",
        "unknown_policy.bad.yml:2:5: service \"checkout\": escalation_policy \"nope\" is not defined; add it under escalation_policies",
    ),
    (
        "bad_contact.bad.yml",
        "bad_contact.bad.yml:2:5: user \"a\": webhook contact: \"ftp://x\" is not an http:// or https:// URL",
    ),
];

#[test]
fn bad_fixtures_fail_with_their_exact_errors() {
    let mut wrong = Vec::new();
    for (file, expected) in BAD {
        let err = Directory::from_files(&[((*file).to_owned(), testdata(file))]).unwrap_err();
        let text = err.to_string();
        if !text.starts_with(expected) {
            wrong.push(format!("{file}:\n  got      {text}\n  expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn files_win_over_api_objects_and_api_objects_are_checked_too() {
    let mut builder = DirectoryBuilder::new();
    builder
        .add_file("f.yml", "users:\n  - {id: a, time_zone: UTC}\n")
        .unwrap();
    builder
        .add_api(Kind::User, r#"{"id":"a","time_zone":"Asia/Tokyo"}"#)
        .unwrap();
    builder
        .add_api(Kind::User, r#"{"id":"b","time_zone":"Asia/Tokyo"}"#)
        .unwrap();
    builder
        .add_api(Kind::Team, r#"{"id":"t","members":["a","b"]}"#)
        .unwrap();
    let dir = builder.build().unwrap();
    assert_eq!(dir.user("a").unwrap().spec.time_zone, "UTC");
    assert_eq!(dir.user("b").unwrap().spec.time_zone, "Asia/Tokyo");
    assert_eq!(dir.shadowed(), [(Kind::User, "a".to_owned())]);
    assert!(dir.origin(Kind::User, "a").unwrap().is_file());
    assert_eq!(dir.origin(Kind::Team, "t"), Some(&Origin::Api));

    let mut builder = DirectoryBuilder::new();
    builder
        .add_api(Kind::Team, r#"{"id":"t","members":["ghost"]}"#)
        .unwrap();
    let err = builder.build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "api:team/t: team \"t\": member \"ghost\" is not a user; define it under users"
    );
    let err = DirectoryBuilder::new()
        .add_api(Kind::User, r#"{"id":"x","tz":"UTC"}"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `tz`"), "{err}");
}
