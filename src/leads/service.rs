//! What can be done to leads without HTTP: writes take a tenant transaction, who acts
//! and where from, and leave committing to their caller; reads take the tenant's
//! handle and the caller, and check the role in the same round trip.

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use crate::counterparties::{self, NewContact, NewCounterparty};
use crate::kernel::audit::{self, Entry};
use crate::kernel::letters::fold_case;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::{lock_held, read_as, require_active_user};
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::pipeline::{self, NewOpportunity};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The checked contact fields of a lead.
struct Fields {
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    source: Option<String>,
}

fn fields(
    email: Option<&str>,
    phone: Option<&str>,
    website: Option<&str>,
    source: Option<&str>,
) -> Result<Fields, DomainError> {
    let phone = match validate::optional_text("phone", phone, 50)? {
        Some(p) => counterparties::model::phones(&[p])?.pop(),
        None => None,
    };
    Ok(Fields {
        email: counterparties::model::email(email)?,
        phone,
        website: validate::optional_text("website", website, 500)?,
        source: validate::optional_text("source", source, 50)?.map(|s| fold_case(&s)),
    })
}

/// Creates a lead (members and up), owned by its creator unless another active user
/// is named. Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewLead,
) -> Result<LeadView, DomainError> {
    let name = validate::text("name", &input.name, 200)?;
    let company = validate::optional_text("company", input.company.as_deref(), 300)?;
    let Fields {
        email,
        phone,
        website,
        source,
    } = fields(
        input.email.as_deref(),
        input.phone.as_deref(),
        input.website.as_deref(),
        input.source.as_deref(),
    )?;
    let status = status(input.status.as_deref().unwrap_or("new"))?;
    let lost_reason = pipeline::model::lost_reason(
        if status == "lost" { "lost" } else { "open" },
        input.lost_reason.as_deref(),
    )?;
    let score = score(input.score.unwrap_or(0))?;
    let notes = validate::optional_text("notes", input.notes.as_deref(), 10_000)?;
    actor.require(Role::Member)?;
    let owner = input.owner_id.or(actor.user_id());
    require_active_user(tx, "owner_id", owner).await?;
    let row = tx
        .query_one(
            &format!(
                "insert into leads (name, company, email, phone, website, source, status, lost_reason, \
                 owner_id, score, notes, created_by) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {COLUMNS}"
            ),
            &[
                &name, &company, &email, &phone, &website, &source, &status, &lost_reason, &owner,
                &score, &notes, &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = LeadView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "lead", view.id, &view).await?;
    Ok(view)
}

/// A lead that may still change: its owner or creator, or a manager, and not yet
/// converted (409 `lead_converted`).
async fn lock_open(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<LeadView, DomainError> {
    let lead: LeadView = lock_held(
        tx,
        actor,
        &format!("select {COLUMNS} from leads where id = $1 for update"),
        id,
        "lead",
        |lead: &LeadView| vec![lead.owner_id, lead.created_by],
        "members may change only leads they own or created",
    )
    .await?;
    if lead.status == "converted" {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "lead_converted",
            "a converted lead is read-only; change what it became instead",
            json!({"account_id": lead.account_id, "contact_id": lead.contact_id,
                   "opportunity_id": lead.opportunity_id}),
        ));
    }
    Ok(lead)
}

/// Changes a lead that is not converted: its owner or creator, or a manager. Audited
/// with the changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateLead,
) -> Result<LeadView, DomainError> {
    let old = lock_open(tx, actor, id).await?;
    let name = match &patch.name {
        Some(n) => validate::text("name", n, 200)?,
        None => old.name.clone(),
    };
    let company = match &patch.company {
        None => old.company.clone(),
        Some(c) => validate::optional_text("company", c.as_deref(), 300)?,
    };
    let pick = |patch: &Option<Option<String>>, old: &Option<String>| match patch {
        None => old.clone(),
        Some(value) => value.clone(),
    };
    let Fields {
        email,
        phone,
        website,
        source,
    } = fields(
        pick(&patch.email, &old.email).as_deref(),
        pick(&patch.phone, &old.phone).as_deref(),
        pick(&patch.website, &old.website).as_deref(),
        pick(&patch.source, &old.source).as_deref(),
    )?;
    let status = match &patch.status {
        Some(s) => status(s)?,
        None => old.status.clone(),
    };
    let lost_reason = pipeline::model::lost_reason(
        if status == "lost" { "lost" } else { "open" },
        pick(&patch.lost_reason, &old.lost_reason).as_deref(),
    )?;
    let score = score(patch.score.unwrap_or(old.score))?;
    let notes = match &patch.notes {
        None => old.notes.clone(),
        Some(n) => validate::optional_text("notes", n.as_deref(), 10_000)?,
    };
    let owner = patch.owner_id.unwrap_or(old.owner_id);
    if owner != old.owner_id {
        require_active_user(tx, "owner_id", owner).await?;
    }
    let row = tx
        .query_one(
            &format!(
                "update leads set name = $2, company = $3, email = $4, phone = $5, website = $6, \
                 source = $7, status = $8, lost_reason = $9, owner_id = $10, score = $11, notes = $12, \
                 updated_at = now() where id = $1 returning {COLUMNS}"
            ),
            &[
                &old.id, &name, &company, &email, &phone, &website, &source, &status, &lost_reason,
                &owner, &score, &notes,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let new = LeadView::from(&row);
    audit::record_update(tx, actor, origin, "lead", new.id, &old, &new).await?;
    Ok(new)
}

/// Deletes a lead that is not converted: its owner or creator, or a manager. Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    let old = lock_open(tx, actor, id).await?;
    tx.execute("delete from leads where id = $1", &[&old.id])
        .await
        .map_err(DomainError::write)?;
    audit::record_whole(tx, actor, origin, "delete", "lead", old.id, &old).await
}

/// Converts a lead, all in the caller's transaction: links the account given, or the
/// one whose website or email shares the lead's company domain, or the one named as
/// its company, or creates it; links the contact with the lead's email, or creates it
/// at the account; opens the opportunity with that contact. The lead becomes
/// read-only and names all three. Audited as `converted` (and each record made as
/// created).
pub async fn convert(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: ConvertLead,
) -> Result<Converted, DomainError> {
    let lead = lock_open(tx, actor, id).await?;
    if lead.status == "lost" {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "lead_lost",
            "a lost lead is not converted; reopen it first",
            json!({"lost_reason": lead.lost_reason}),
        ));
    }
    let company = lead.company.clone().unwrap_or_else(|| lead.name.clone());
    let (account, matched_by) = match input.account_id {
        Some(account) => {
            let known = counterparties::service::read(tx, account).await;
            if matches!(known, Err(DomainError::Missing(_))) {
                return Err(DomainError::invalid("account_id names no counterparty"));
            }
            (known?.id, "given")
        }
        None => match matching_account(tx, &lead, &company).await? {
            Some(found) => found,
            None => {
                let created = counterparties::service::create(
                    tx,
                    actor,
                    origin,
                    NewCounterparty {
                        name: company.clone(),
                        kind: Some(
                            if lead.company.is_some() {
                                "organisation"
                            } else {
                                "individual"
                            }
                            .into(),
                        ),
                        email: None,
                        website: lead.website.clone(),
                        billing_address: None,
                        shipping_address: None,
                        industry: None,
                        owner_id: lead.owner_id,
                        tags: Vec::new(),
                        parent_id: None,
                        notes: None,
                    },
                )
                .await?;
                (created.id, "created")
            }
        },
    };
    let existing: Option<Uuid> = match &lead.email {
        None => None,
        Some(email) => tx
            .query_opt(
                "select id from contacts where email_keys @> array[$1::text] \
                 order by created_at, id limit 1",
                &[&counterparties::model::email_key(email)],
            )
            .await
            .map_err(DomainError::database)?
            .map(|r| r.get(0)),
    };
    let contact = match existing {
        Some(contact) => {
            tx.execute(
                "insert into account_contacts (contact_id, counterparty_id) \
                 select $1, id from counterparties where id = $2 on conflict do nothing",
                &[&contact, &account],
            )
            .await
            .map_err(DomainError::write)?;
            contact
        }
        None => {
            counterparties::service::create_contact(
                tx,
                actor,
                origin,
                Some(account),
                NewContact {
                    name: lead.name.clone(),
                    emails: lead.email.iter().cloned().collect(),
                    phones: lead.phone.iter().cloned().collect(),
                    title: None,
                    role: None,
                    account_ids: Vec::new(),
                },
            )
            .await?
            .id
        }
    };
    let wanted = input.opportunity;
    let opportunity = pipeline::service::create(
        tx,
        actor,
        origin,
        NewOpportunity {
            name: wanted.name.unwrap_or_else(|| company.clone()),
            account_id: account,
            stage: wanted.stage,
            amount: wanted.amount,
            currency: wanted.currency,
            expected_close_date: wanted.expected_close_date,
            owner_id: lead.owner_id,
            contact_ids: vec![contact],
            next_step: None,
        },
    )
    .await?;
    let row = tx
        .query_one(
            &format!(
                "update leads set status = 'converted', converted_at = $2, account_id = $3, \
                 contact_id = $4, opportunity_id = $5, updated_at = $2 where id = $1 returning {COLUMNS}"
            ),
            &[
                &lead.id,
                &crate::kernel::unit::now(tx),
                &account,
                &contact,
                &opportunity.id,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let converted = LeadView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "converted",
            entity: "lead",
            entity_id: Some(converted.id),
            changes: json!({"account_id": account, "account_matched_by": matched_by,
                            "contact_id": contact, "opportunity_id": opportunity.id}),
        },
    )
    .await?;
    let account = counterparties::service::read(tx, account).await?;
    let contact = counterparties::service::read_contact(tx, contact).await?;
    Ok(Converted {
        lead: converted,
        account,
        account_matched_by: matched_by.to_owned(),
        contact,
        contact_existed: existing.is_some(),
        opportunity,
    })
}

/// The one account a lead belongs to by its company domain, else by its company's
/// name; several sharing the domain is a 409 listing them (name the one with
/// `account_id`).
async fn matching_account(
    tx: &TenantTx,
    lead: &LeadView,
    company: &str,
) -> Result<Option<(Uuid, &'static str)>, DomainError> {
    if let Some(domain) = company_domain(lead.website.as_deref(), lead.email.as_deref()) {
        let rows = tx
            .query(
                "select id, name from counterparties \
                 where lower(regexp_replace(regexp_replace(coalesce(website, ''), '^[a-zA-Z][a-zA-Z0-9+.-]*://', ''), \
                                            '^www\\.|[/:?#].*$', '', 'g')) = $1 \
                    or lower(split_part(coalesce(email, ''), '@', 2)) = $1 \
                 order by lower(name) collate \"und-x-icu\", id limit 10",
                &[&domain],
            )
            .await
            .map_err(DomainError::database)?;
        match rows.len() {
            0 => {}
            1 => return Ok(Some((rows[0].get(0), "domain"))),
            _ => {
                let candidates: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| json!({"id": r.get::<_, Uuid>(0), "name": r.get::<_, String>(1)}))
                    .collect();
                return Err(DomainError::refused(
                    Refusal::Conflict,
                    "ambiguous_account",
                    format!("several accounts have the domain {domain}: name one with account_id"),
                    json!({"candidates": candidates}),
                ));
            }
        }
    }
    let by_name = tx
        .query_opt(
            "select id from counterparties where lower(name) = lower($1)",
            &[&company],
        )
        .await
        .map_err(DomainError::database)?;
    Ok(by_name.map(|r| (r.get(0), "name")))
}

/// What a lead list is narrowed to.
#[derive(Default)]
pub struct LeadFilter<'a> {
    pub q: Option<&'a str>,
    pub status: Option<&'a str>,
    pub owner_id: Option<Uuid>,
    pub source: Option<&'a str>,
}

/// A page of leads, newest first, narrowed by `filter`.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &LeadFilter<'_>,
    page: &PageRequest,
) -> Result<Page<LeadView>, DomainError> {
    if let Some(s) = filter.status {
        if s != "converted" {
            status(s)?;
        }
    }
    let mut w = Filter::new();
    w.push_some(validate::like_pattern(filter.q)?, |n| {
        format!("(name ilike ${n} or company ilike ${n} or email ilike ${n})")
    });
    w.push_some(filter.status.map(str::to_owned), |n| {
        format!("status = ${n}")
    });
    w.push_some(filter.owner_id, |n| format!("owner_id = ${n}"));
    w.push_some(filter.source.map(fold_case), |n| format!("source = ${n}"));
    w.after_newest("created_at, id", page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS} from leads{} order by created_at desc, id desc limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    let rows: Vec<LeadView> = results[0].iter().map(LeadView::from).collect();
    Ok(Page::keyset(rows, page, |lead| (lead.created_at, lead.id)))
}

/// One lead.
pub async fn get(db: &TenantDb, principal: &Principal, id: Uuid) -> Result<LeadView, DomainError> {
    let sql = format!("select {COLUMNS} from leads where id = $1");
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &[&id])]).await?;
    results[0]
        .first()
        .map(LeadView::from)
        .ok_or(DomainError::Missing("lead"))
}
