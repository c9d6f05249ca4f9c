//! Unit tests of [`super`]: pure logic, no database.

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn hours(start: &str, end: &str) -> Option<QuietHours> {
    Some(QuietHours {
        start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
        end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
    })
}

fn resolved(own: Value, defaults: Value) -> Resolved {
    Resolved {
        own: serde_json::from_value(own).unwrap(),
        defaults: serde_json::from_value(defaults).unwrap(),
    }
}

#[test]
fn quiet_hours_over_midnight_end_the_next_morning_in_the_users_zone() {
    let paris = Tz::Europe__Paris;
    // 23:30 in Paris (UTC+1 in winter): quiet until 07:00 Paris the next day.
    assert_eq!(
        quiet_until(at("2026-12-01T22:30:00Z"), paris, hours("22:00", "07:00")),
        Some(at("2026-12-02T06:00:00Z"))
    );
    // 05:00 Paris: quiet until 07:00 the same day.
    assert_eq!(
        quiet_until(at("2026-12-02T04:00:00Z"), paris, hours("22:00", "07:00")),
        Some(at("2026-12-02T06:00:00Z"))
    );
    // Noon: not quiet.
    assert_eq!(
        quiet_until(at("2026-12-02T11:00:00Z"), paris, hours("22:00", "07:00")),
        None
    );
    // A daytime window.
    assert_eq!(
        quiet_until(at("2026-12-02T12:30:00Z"), paris, hours("13:00", "14:00")),
        Some(at("2026-12-02T13:00:00Z"))
    );
    assert_eq!(quiet_until(at("2026-12-02T12:30:00Z"), paris, None), None);
}

#[test]
fn digest_windows_end_at_the_next_local_hour_or_the_next_local_morning() {
    let tokyo = Tz::Asia__Tokyo; // UTC+9
    assert_eq!(
        digest_window_end(at("2026-12-01T10:20:00Z"), tokyo, Digest::Hourly),
        Some(at("2026-12-01T11:00:00Z"))
    );
    // 19:20 Tokyo: the next 08:00 Tokyo is 23:00 UTC the same day.
    assert_eq!(
        digest_window_end(at("2026-12-01T10:20:00Z"), tokyo, Digest::Daily),
        Some(at("2026-12-01T23:00:00Z"))
    );
    // 07:00 Tokyo: 08:00 the same morning.
    assert_eq!(
        digest_window_end(at("2026-11-30T22:00:00Z"), tokyo, Digest::Daily),
        Some(at("2026-11-30T23:00:00Z"))
    );
    assert_eq!(
        digest_window_end(at("2026-12-01T10:20:00Z"), tokyo, Digest::Off),
        None
    );
}

#[test]
fn a_users_choice_beats_the_tenants_which_beats_the_built_in_one() {
    let r = resolved(
        json!({"channels": {"email": {"*": false, "mentioned": true}}}),
        json!({"channels": {"email": {"contract_updated": false}, "in_app": {"contract_updated": false}}}),
    );
    assert!(!r.wants("email", "approval_approved"), "user's * off");
    assert!(r.wants("email", "mentioned"), "user's type on");
    assert!(!r.wants("in_app", "contract_updated"), "tenant default");
    assert!(r.wants("in_app", "mentioned"), "built-in: inbox on");
    assert!(!r.wants("chat", "mentioned"), "no chat without a webhook");
}

#[test]
fn critical_types_reach_the_inbox_and_email_whatever_is_muted() {
    let r = resolved(
        json!({"channels": {"email": {"*": false}, "in_app": {"*": false}}}),
        json!({"channels": {"email": {"approval_requested": false}}}),
    );
    assert!(r.wants("email", "approval_requested"));
    assert!(r.wants("in_app", "approval_overdue"));
    assert!(!r.wants("email", "approval_approved"));
}

#[tokio::test]
async fn muting_a_critical_type_is_refused_by_name() {
    let own: UserPreferences =
        serde_json::from_value(json!({"channels": {"email": {"approval_requested": false}}}))
            .unwrap();
    let error = own.check(false).await.unwrap_err().to_string();
    assert!(error.contains("approval_requested"), "{error}");
    let own: UserPreferences =
        serde_json::from_value(json!({"channels": {"pager": {"*": true}}})).unwrap();
    assert!(own.check(false).await.is_err());
    let own: UserPreferences =
        serde_json::from_value(json!({"channels": {"email": {"nonsense": true}}})).unwrap();
    assert!(own.check(false).await.is_err());
}

#[test]
fn digests_hold_non_critical_email_and_quiet_hours_push_it_further() {
    let r = resolved(
        json!({"time_zone": "UTC", "digest": "hourly", "quiet_hours": {"start": "22:00", "end": "07:00"}}),
        json!({}),
    );
    // Non-critical email at 21:10 waits for the 22:00 window end, which is quiet.
    assert_eq!(
        r.schedule("email", "mentioned", at("2026-12-01T21:10:00Z")),
        Err(at("2026-12-02T07:00:00Z"))
    );
    // Critical email at 21:10 goes at once.
    assert_eq!(
        r.schedule("email", "approval_requested", at("2026-12-01T21:10:00Z")),
        Ok(at("2026-12-01T21:10:00Z"))
    );
    // Critical email at 23:00 waits for the morning.
    assert_eq!(
        r.schedule("email", "approval_requested", at("2026-12-01T23:00:00Z")),
        Ok(at("2026-12-02T07:00:00Z"))
    );
}
