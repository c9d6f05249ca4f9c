//! The SLA policy of each case priority: everyone reads them, admins set them. A new
//! policy applies to cases opened (or given a new priority) from then on; open cases
//! keep the deadlines they were given.

use serde_json::json;

use super::model::{policies, SlaPolicy};
use crate::kernel::audit::{self, Entry};
use crate::kernel::reads::read_as;
use crate::kernel::{Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// A policy's columns, as [`view`] reads them.
pub(super) const COLUMNS: &str =
    "priority, first_response_hours::float8, resolution_hours::float8, \
     escalate_to_team, warn_before_hours::float8, escalation_action";

const ORDER: &str = "order by array_position(array['low', 'normal', 'high', 'urgent'], priority)";

pub(super) fn view(row: &tokio_postgres::Row) -> SlaPolicy {
    SlaPolicy {
        priority: row.get(0),
        first_response_hours: row.get(1),
        resolution_hours: row.get(2),
        escalate_to_team: row.get(3),
        warn_before_hours: row.get(4),
        escalation_action: row.get(5),
    }
}

fn select() -> String {
    format!("select {COLUMNS} from case_sla_policies {ORDER}")
}

pub async fn get(db: &TenantDb, principal: &Principal) -> Result<Vec<SlaPolicy>, DomainError> {
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&select(), &[])]).await?;
    Ok(results[0].iter().map(view).collect())
}

/// Replaces the four policies (admins). Every team named must exist. Audited.
pub async fn put(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: Vec<SlaPolicy>,
) -> Result<Vec<SlaPolicy>, DomainError> {
    let new = policies(input)?;
    actor.require(Role::Admin)?;
    let teams: Vec<String> = new
        .iter()
        .filter_map(|p| p.escalate_to_team.clone())
        .collect();
    let known: i64 = tx
        .query_one(
            "select count(distinct name) from teams where name = any($1)",
            &[&teams],
        )
        .await?
        .get(0);
    let mut wanted = teams.clone();
    wanted.sort();
    wanted.dedup();
    if known != wanted.len() as i64 {
        return Err(DomainError::invalid(
            "escalate_to_team must name an existing team",
        ));
    }
    let old: Vec<SlaPolicy> = tx.query(&select(), &[]).await?.iter().map(view).collect();
    let priorities: Vec<&str> = new.iter().map(|p| p.priority.as_str()).collect();
    let first: Vec<f64> = new.iter().map(|p| p.first_response_hours).collect();
    let resolution: Vec<f64> = new.iter().map(|p| p.resolution_hours).collect();
    let escalation: Vec<Option<String>> = new.iter().map(|p| p.escalate_to_team.clone()).collect();
    let warning: Vec<Option<f64>> = new.iter().map(|p| p.warn_before_hours).collect();
    let actions: Vec<&str> = new.iter().map(|p| p.escalation_action.as_str()).collect();
    tx.execute(
        "update case_sla_policies p set first_response_hours = n.first::numeric, \
             resolution_hours = n.resolution::numeric, escalate_to_team = n.team, \
             warn_before_hours = n.warn::numeric, escalation_action = n.action \
         from unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::float8[], $6::text[]) \
              as n(priority, first, resolution, team, warn, action) \
         where p.priority = n.priority",
        &[
            &priorities,
            &first,
            &resolution,
            &escalation,
            &warning,
            &actions,
        ],
    )
    .await
    .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "case_sla_policies",
            entity_id: None,
            changes: json!({"old": old, "new": new}),
        },
    )
    .await?;
    Ok(new)
}
