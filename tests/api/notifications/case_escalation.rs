//! A breached case escalated by reassigning it, through the server and a manual clock:
//! the policy that says so, refused without a team to reassign to, and the case given
//! to the team's member with the fewest active cases but its own assignee, who is told.

use super::cases::{once_set, policies, team, urgent_case};
use super::*;

#[tokio::test]
async fn a_breached_case_goes_to_the_least_busy_member_of_the_team_when_the_policy_says_so() {
    // Tuesday 1 December 2026, 09:00 UTC, on the default calendar (09:00-17:00 UTC).
    let mut org = org(
        at("2026-12-01T09:00:00Z"),
        1,
        &[],
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("mark", "member"),
            ("xena", "member"),
        ],
    )
    .await;
    team(&org, "support-leads", &["lena", "mark", "xena"]).await;

    // Reassigning needs a team to reassign to, and only two actions exist.
    let policies_path = "/api/v1/case-sla-policies";
    let (_, before) = org.call(0, None, Method::GET, policies_path, None).await;
    assert!(before["policies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["escalation_action"] == "notify"));
    let mut teamless = policies(None);
    teamless["policies"][0]["escalation_action"] = json!("reassign");
    let mut unknown = policies(Some("support-leads"));
    unknown["policies"][0]["escalation_action"] = json!("shout");
    for bad in [teamless, unknown] {
        let (status, answer) = org
            .call(0, None, Method::PUT, policies_path, Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {answer}");
    }
    let (_, unchanged) = org.call(0, None, Method::GET, policies_path, None).await;
    assert_eq!(unchanged, before);
    // Urgent cases are reassigned; high ones only told to the team.
    let mut reassigning = policies(Some("support-leads"));
    reassigning["policies"][0]["escalation_action"] = json!("reassign");
    let (status, set) = org
        .call(0, None, Method::PUT, policies_path, Some(reassigning))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");

    // Lena holds the urgent case and a high one; Mark three cases, Xena four (low
    // ones, which escalate to nobody).
    let [lena, mark] = ["lena", "mark"].map(|who| org.people[who].0.clone());
    let xena = org.people["xena"].0.clone();
    let urgent = urgent_case(&org, json!({"assignee_id": lena})).await;
    let open = |who: &str, priority: &str| {
        json!({"subject": "Plant slow", "account_id": urgent["account_id"],
               "priority": priority, "assignee_id": who})
    };
    let high = created(&org, "olive", "/api/v1/cases", open(&lena, "high")).await;
    for (who, n) in [(&mark, 3), (&xena, 4)] {
        for _ in 0..n {
            created(&org, "olive", "/api/v1/cases", open(who, "low")).await;
        }
    }

    // 10:00:01: the urgent case's first response is late. It goes to the member with
    // the fewest active cases but its own assignee (Lena, with two): Mark, with three
    // before Xena's four.
    org.advance_to(at("2026-12-01T10:00:01Z"));
    org.relogin().await;
    let urgent_path = format!("/api/v1/cases/{}", urgent["id"].as_str().unwrap());
    let escalated = once_set(&org, &urgent_path, "escalated_at").await;
    assert_eq!(escalated["assignee_id"], mark.as_str(), "{escalated}");
    // Mark was told of his own three cases already: wait for the urgent one's.
    let about_urgent = |items: &[Value], kind: &str| {
        items
            .iter()
            .any(|n| n["type"] == kind && n["entity_id"] == urgent["id"])
    };
    org.inbox_until("mark", "the urgent case assigned and escalated", |items| {
        about_urgent(items, "case_assigned") && about_urgent(items, "case_escalated")
    })
    .await;
    // Lena, who held it, is told of the breach (and, in the team, of the escalation).
    org.inbox_until("lena", "the urgent case's breach", |items| {
        about_urgent(items, "case_sla_breached")
    })
    .await;
    let reassigned = count(
        &org,
        &format!(
            "select count(*) from t_acme.audit_logs where action = 'escalated' \
             and changes ->> 'reassigned_to' = '{mark}'"
        ),
    )
    .await;
    assert_eq!(reassigned, 1);

    // 13:00:01: the high case's first response is late: the team is told, and Lena
    // keeps it.
    org.advance_to(at("2026-12-01T13:00:01Z"));
    org.relogin().await;
    let high_path = format!("/api/v1/cases/{}", high["id"].as_str().unwrap());
    let kept = once_set(&org, &high_path, "escalated_at").await;
    assert_eq!(kept["assignee_id"], lena.as_str(), "{kept}");
}
