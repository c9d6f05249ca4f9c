//! What can be done on the pipeline without HTTP: writes take a tenant transaction,
//! who acts and where from, and leave committing to their caller; reads take the
//! tenant's handle and the caller, and check the role in the same round trip.

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use crate::contracts::CreateContract;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::{name_order, Filter};
use crate::kernel::reads::{lock_row, read_as};
use crate::kernel::validate::{self, Amount, Currency};
use crate::kernel::{Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::templates;
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The tenant's pipeline, in order.
pub async fn stages(db: &TenantDb, principal: &Principal) -> Result<Vec<Stage>, DomainError> {
    let sql = format!("select {STAGE_COLUMNS} from pipeline_stages order by position, key");
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &[])]).await?;
    Ok(results[0].iter().map(Stage::from).collect())
}

/// Replaces the pipeline (managers): stages kept by key keep their deals; a stage that
/// still holds deals cannot go (409 `stage_in_use`, with the counts). Audited.
pub async fn replace_stages(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    pipeline: Pipeline,
) -> Result<Vec<Stage>, DomainError> {
    let stages = pipeline.checked()?;
    actor.require(Role::Manager)?;
    tx.execute("lock table pipeline_stages in exclusive mode", &[])
        .await
        .map_err(DomainError::database)?;
    let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
    let held = tx
        .query(
            "select stage, count(*) from opportunities where not (stage = any($1)) \
             group by stage order by stage",
            &[&keys],
        )
        .await
        .map_err(DomainError::database)?;
    if !held.is_empty() {
        let counts: BTreeMap<String, i64> = held.iter().map(|r| (r.get(0), r.get(1))).collect();
        return Err(DomainError::refused(
            Refusal::Conflict,
            "stage_in_use",
            "stages that still hold opportunities cannot be removed: move them first",
            json!({"stages": counts}),
        ));
    }
    let old: Vec<Stage> = tx
        .query(
            &format!("select {STAGE_COLUMNS} from pipeline_stages order by position, key"),
            &[],
        )
        .await
        .map_err(DomainError::database)?
        .iter()
        .map(Stage::from)
        .collect();
    tx.execute(
        "delete from pipeline_stages where not (key = any($1))",
        &[&keys],
    )
    .await
    .map_err(DomainError::write)?;
    for (position, stage) in stages.iter().enumerate() {
        tx.execute(
            "insert into pipeline_stages (key, label, position, probability, outcome) \
             values ($1, $2, $3, $4, $5) on conflict (key) do update set label = excluded.label, \
             position = excluded.position, probability = excluded.probability, outcome = excluded.outcome",
            &[
                &stage.key,
                &stage.label,
                &(position as i32 + 1),
                &stage.probability,
                &stage.outcome,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "pipeline",
            entity_id: None,
            changes: json!({"stages": {"old": old, "new": stages}}),
        },
    )
    .await?;
    Ok(stages)
}

/// A stage's outcome, or a 400 naming the stages there are.
async fn outcome_of(tx: &TenantTx, stage: &str) -> Result<String, DomainError> {
    let row = tx
        .query_opt(
            "select outcome from pipeline_stages where key = $1",
            &[&stage],
        )
        .await
        .map_err(DomainError::database)?;
    row.map(|r| r.get(0)).ok_or_else(|| {
        DomainError::invalid(format!(
            "stage {:?} is not a stage of the pipeline; see GET /api/v1/pipeline/stages",
            validate::truncate(stage, 60)
        ))
    })
}

/// Checks, in one round trip, an active owner, an account and contacts that exist.
async fn check_references(
    tx: &TenantTx,
    owner: Option<Uuid>,
    account: Option<Uuid>,
    contacts: &[Uuid],
) -> Result<(), DomainError> {
    let row = tx
        .query_one(
            "select ($1::uuid is null or exists(select 1 from users where id = $1 and active)), \
                    ($2::uuid is null or exists(select 1 from counterparties where id = $2)), \
                    (select count(*) from contacts where id = any($3)) = cardinality($3)",
            &[&owner, &account, &contacts],
        )
        .await
        .map_err(DomainError::database)?;
    if !row.get::<_, bool>(0) {
        return Err(DomainError::invalid(
            "owner_id is not an active user of this tenant",
        ));
    }
    if !row.get::<_, bool>(1) {
        return Err(DomainError::invalid("account_id names no counterparty"));
    }
    if !row.get::<_, bool>(2) {
        return Err(DomainError::invalid("contact_ids names no contact"));
    }
    Ok(())
}

fn contact_ids(values: &[Uuid]) -> Result<Vec<Uuid>, DomainError> {
    validate::distinct_ids(values, 10, "contacts on an opportunity")
}

/// Creates an opportunity (members and up), owned by its creator unless another active
/// user is named, at the pipeline's first open stage unless one is named. Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewOpportunity,
) -> Result<OpportunityView, DomainError> {
    let name = validate::text("name", &input.name, 300)?;
    let amount = Amount::parse("amount", input.amount.as_deref().unwrap_or("0"))?;
    let currency = Currency::parse(&input.currency)?;
    let next_step = validate::optional_text("next_step", input.next_step.as_deref(), 500)?;
    let contacts = contact_ids(&input.contact_ids)?;
    actor.require(Role::Member)?;
    let owner = input.owner_id.or(actor.user_id());
    check_references(tx, owner, Some(input.account_id), &contacts).await?;
    let stage = match input.stage {
        Some(stage) => stage,
        None => tx
            .query_one(
                "select key from pipeline_stages where outcome = 'open' order by position, key limit 1",
                &[],
            )
            .await
            .map_err(DomainError::database)?
            .get(0),
    };
    let outcome = outcome_of(tx, &stage).await?;
    if outcome == "lost" {
        return Err(DomainError::invalid("a new opportunity cannot start lost"));
    }
    let id: Uuid = tx
        .query_one(
            "insert into opportunities (name, account_id, stage, amount, currency, expected_close_date, \
             owner_id, next_step, closed_at, created_by) \
             values ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, \
                     case when $9 then $10::timestamptz end, $11) returning id",
            &[
                &name,
                &input.account_id,
                &stage,
                &amount,
                &currency,
                &input.expected_close_date,
                &owner,
                &next_step,
                &(outcome != "open"),
                &crate::kernel::unit::now(tx),
                &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?
        .get(0);
    link_contacts(tx, id, &contacts).await?;
    let view = read(tx, id).await?;
    audit::record_whole(tx, actor, origin, "create", "opportunity", view.id, &view).await?;
    Ok(view)
}

async fn link_contacts(tx: &TenantTx, id: Uuid, contacts: &[Uuid]) -> Result<(), DomainError> {
    tx.execute(
        "delete from opportunity_contacts where opportunity_id = $1 and not (contact_id = any($2))",
        &[&id, &contacts],
    )
    .await
    .map_err(DomainError::write)?;
    tx.execute(
        "insert into opportunity_contacts (opportunity_id, contact_id) \
         select $1, unnest($2::uuid[]) on conflict do nothing",
        &[&id, &contacts],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(())
}

/// Changes an opportunity: its owner or creator, or a manager. Moving it to a won or
/// lost stage closes it (a lost one needs a reason), back to an open one reopens it.
/// Audited as `stage_changed` when the stage moved, else as an update.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateOpportunity,
) -> Result<OpportunityView, DomainError> {
    actor.require(Role::Member)?;
    let old = lock(tx, id).await?;
    if !(actor.may_edit(old.owner_id) || actor.may_edit(old.created_by)) {
        return Err(DomainError::Forbidden(
            "members may change only opportunities they own or created".into(),
        ));
    }
    let name = match &patch.name {
        Some(n) => validate::text("name", n, 300)?,
        None => old.name.clone(),
    };
    let amount = match &patch.amount {
        Some(a) => Amount::parse("amount", a)?,
        None => Amount::from_stored(old.amount.clone()),
    };
    let currency = match &patch.currency {
        Some(c) => Currency::parse(c)?,
        None => Currency::from_stored(old.currency.clone()),
    };
    let next_step = match &patch.next_step {
        None => old.next_step.clone(),
        Some(v) => validate::optional_text("next_step", v.as_deref(), 500)?,
    };
    let close = match patch.expected_close_date {
        None => old.expected_close_date,
        Some(date) => date.map(|d| d.0),
    };
    let owner = patch.owner_id.unwrap_or(old.owner_id);
    let contacts = match &patch.contact_ids {
        Some(list) => contact_ids(list)?,
        None => old.contact_ids.clone(),
    };
    let stage = patch.stage.clone().unwrap_or_else(|| old.stage.clone());
    let outcome = outcome_of(tx, &stage).await?;
    let reason = match &patch.lost_reason {
        Some(reason) => reason.clone(),
        None => old.lost_reason.clone(),
    };
    let lost_reason = lost_reason(&outcome, reason.as_deref())?;
    check_references(
        tx,
        owner.filter(|o| Some(*o) != old.owner_id),
        None,
        &contacts,
    )
    .await?;
    tx.execute(
        "update opportunities set name = $2, stage = $3, amount = $4::text::numeric, currency = $5, \
         expected_close_date = $6, owner_id = $7, next_step = $8, lost_reason = $9, \
         closed_at = case when not $10 then null when closed_at is null or stage <> $3 then $11 \
                          else closed_at end, \
         updated_at = $11 where id = $1",
        &[
            &old.id,
            &name,
            &stage,
            &amount,
            &currency,
            &close,
            &owner,
            &next_step,
            &lost_reason,
            &(outcome != "open"),
            &crate::kernel::unit::now(tx),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    link_contacts(tx, old.id, &contacts).await?;
    let new = read(tx, old.id).await?;
    let action = if new.stage != old.stage {
        "stage_changed"
    } else {
        "update"
    };
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action,
            entity: "opportunity",
            entity_id: Some(new.id),
            changes: changed_fields(
                &serde_json::to_value(&old).unwrap_or_default(),
                &serde_json::to_value(&new).unwrap_or_default(),
                &["updated_at"],
            ),
        },
    )
    .await?;
    Ok(new)
}

/// Wins a deal: moves it to a won stage and, when asked, drafts its contract from a
/// template with the deal's and the account's fields as variables, in the same
/// transaction, so the contract's approvals start from there. Its owner or creator,
/// or a manager. Audited as `won` (and the contract as created and generated).
pub async fn win(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: WinOpportunity,
) -> Result<Won, DomainError> {
    actor.require(Role::Member)?;
    let old = lock(tx, id).await?;
    if !(actor.may_edit(old.owner_id) || actor.may_edit(old.created_by)) {
        return Err(DomainError::Forbidden(
            "members may win only opportunities they own or created".into(),
        ));
    }
    if old.contract_id.is_some() {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "already_won",
            "this opportunity has its contract already",
            json!({"contract_id": old.contract_id}),
        ));
    }
    let stage = match input.stage {
        Some(stage) => stage,
        None => tx
            .query_one(
                "select key from pipeline_stages where outcome = 'won' order by position, key limit 1",
                &[],
            )
            .await
            .map_err(DomainError::database)?
            .get(0),
    };
    if outcome_of(tx, &stage).await? != "won" {
        return Err(DomainError::invalid(format!(
            "stage {:?} is not a won stage",
            validate::truncate(&stage, 60)
        )));
    }
    let now = crate::kernel::unit::now(tx);
    tx.execute(
        "update opportunities set stage = $2, lost_reason = null, \
         closed_at = case when stage = $2 and closed_at is not null then closed_at else $3 end, \
         updated_at = $3 where id = $1",
        &[&old.id, &stage, &now],
    )
    .await
    .map_err(DomainError::write)?;
    let contract = match input.contract {
        None => None,
        Some(request) => {
            let known = deal_variables(tx, &old).await?;
            let title = request.title.unwrap_or_else(|| old.name.clone());
            // A deal of no amount drafts a contract without a value.
            let priced = old.amount.bytes().any(|b| (b'1'..=b'9').contains(&b));
            let value = priced.then(|| old.amount.clone());
            let contract = CreateContract::for_deal(
                title,
                value.clone(),
                value.map(|_| old.currency.clone()),
                old.account_id,
            );
            let generate = templates::GenerateRequest {
                variables: request.variables,
                contract,
            };
            let created = templates::service::generate_with(
                tx,
                actor,
                origin,
                request.template_id,
                &known,
                generate,
            )
            .await?;
            tx.execute(
                "update opportunities set contract_id = $2 where id = $1",
                &[&old.id, &created.id],
            )
            .await
            .map_err(DomainError::write)?;
            Some(created)
        }
    };
    let new = read(tx, old.id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "won",
            entity: "opportunity",
            entity_id: Some(new.id),
            changes: json!({"stage": {"old": old.stage, "new": new.stage},
                            "contract_id": new.contract_id}),
        },
    )
    .await?;
    Ok(Won {
        opportunity: new,
        contract,
    })
}

/// The variables a won deal offers a template.
async fn deal_variables(
    tx: &TenantTx,
    deal: &OpportunityView,
) -> Result<BTreeMap<String, String>, DomainError> {
    let row = tx
        .query_one(
            "select a.name, a.email, a.website, a.billing_address, a.shipping_address, \
                    (select c.name from contacts c where c.id = any($2) order by c.id limit 1), \
                    (select c.emails[1] from contacts c where c.id = any($2) order by c.id limit 1), \
                    (select u.display_name from users u where u.id = $3) \
             from counterparties a where a.id = $1",
            &[&deal.account_id, &deal.contact_ids, &deal.owner_id],
        )
        .await
        .map_err(DomainError::database)?;
    let mut known = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            known.insert(name.to_owned(), value);
        }
    };
    put("opportunity_name", Some(deal.name.clone()));
    put("amount", Some(deal.amount.clone()));
    put("currency", Some(deal.currency.clone()));
    put(
        "expected_close_date",
        deal.expected_close_date.map(|d| d.to_string()),
    );
    for (i, name) in [
        "account_name",
        "account_email",
        "account_website",
        "billing_address",
        "shipping_address",
        "contact_name",
        "contact_email",
        "owner_name",
    ]
    .into_iter()
    .enumerate()
    {
        put(name, row.get(i));
    }
    Ok(known)
}

/// Deletes an opportunity (managers). Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Manager)?;
    let old = lock(tx, id).await?;
    tx.execute("delete from opportunities where id = $1", &[&old.id])
        .await
        .map_err(DomainError::write)?;
    audit::record_whole(tx, actor, origin, "delete", "opportunity", old.id, &old).await
}

/// What an opportunity list is narrowed to.
#[derive(Default)]
pub struct OpportunityFilter<'a> {
    pub q: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub owner_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    /// `open`, `won` or `lost`.
    pub outcome: Option<&'a str>,
}

/// A page of opportunities by name, narrowed by `filter`.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &OpportunityFilter<'_>,
    page: &PageRequest,
) -> Result<Page<OpportunityView>, DomainError> {
    if filter
        .outcome
        .is_some_and(|o| !matches!(o, "open" | "won" | "lost"))
    {
        return Err(DomainError::invalid("outcome must be open, won or lost"));
    }
    let mut w = Filter::new();
    w.push_some(validate::like_pattern(filter.q)?, |n| {
        format!("o.name ilike ${n}")
    });
    w.push_some(filter.stage.map(str::to_owned), |n| {
        format!("o.stage = ${n}")
    });
    w.push_some(filter.owner_id, |n| format!("o.owner_id = ${n}"));
    w.push_some(filter.account_id, |n| format!("o.account_id = ${n}"));
    w.push_some(filter.outcome.map(str::to_owned), |n| {
        format!("o.stage in (select key from pipeline_stages where outcome = ${n})")
    });
    let order = name_order("o.name", "o.id");
    w.after_name(&order, page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS}, lower(o.name) from opportunities o{} \
         order by {order} limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    Ok(Page::<OpportunityView>::by_lowered_name(
        &results[0],
        page,
        |view| view.id,
    ))
}

/// One opportunity.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<OpportunityView, DomainError> {
    let sql = format!("select {COLUMNS} from opportunities o where o.id = $1");
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &[&id])]).await?;
    results[0]
        .first()
        .map(OpportunityView::from)
        .ok_or(DomainError::Missing("opportunity"))
}

async fn read(tx: &TenantTx, id: Uuid) -> Result<OpportunityView, DomainError> {
    let row = tx
        .query_one(
            &format!("select {COLUMNS} from opportunities o where o.id = $1"),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?;
    Ok(OpportunityView::from(&row))
}

async fn lock(tx: &TenantTx, id: Uuid) -> Result<OpportunityView, DomainError> {
    lock_row(
        tx,
        &format!("select {COLUMNS} from opportunities o where o.id = $1 for update of o"),
        id,
        "opportunity",
    )
    .await
}
