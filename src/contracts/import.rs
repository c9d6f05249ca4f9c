//! Bringing existing contracts in from files: each file becomes a draft contract with
//! the file attached, and once the attachment's text has been read (a job, never the
//! request), the draft's body is that text and its counterparty the one existing
//! account the text names, if exactly one. The fill reacts to the attachment's
//! `attachment.text_extracted` event in that event's transaction; a draft someone has
//! edited in the meantime is left as they made it.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{ContractView, CreateContract, UpdateContract, CONTRACT_TARGET, MAX_BODY_CHARS};
use super::service;
use crate::attachments::service::Uploaded;
use crate::attachments::{self, AttachmentView};
use crate::kernel::target::Target;
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{unit, Actor, DomainError, Origin, Principal};
use crate::tenancy::scoped::TenantTx;

/// The most files one import takes.
pub const MAX_FILES: usize = 50;

/// A file of an import and the draft made from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedFile {
    pub filename: String,
    pub contract_id: Uuid,
    /// The file, attached to the draft; its text's state is
    /// `GET /api/v1/attachments/{id}/text`.
    pub attachment_id: Uuid,
}

/// Makes a draft of `contract_type` from `file` (in the store, not yet recorded) and
/// attaches the file to it, in `tx`; the file's guard is kept once `tx` commits.
pub async fn start(
    tx: &TenantTx,
    principal: &Principal,
    origin: &Origin,
    file: &Uploaded,
    contract_type: &str,
) -> Result<(ContractView, AttachmentView), DomainError> {
    let title = file
        .filename
        .rsplit_once('.')
        .map_or(file.filename.as_str(), |(stem, _)| stem)
        .trim()
        .to_owned();
    let draft = CreateContract {
        title: if title.is_empty() {
            file.filename.clone()
        } else {
            title
        },
        contract_type: contract_type.to_owned(),
        value: None,
        currency: None,
        counterparty_id: None,
        owner_id: None,
        start_date: None,
        end_date: None,
        auto_renew: false,
        renewal_notice_days: None,
        tags: vec!["imported".into()],
        metadata: None,
        body: String::new(),
        text_language: None,
    };
    let contract = service::insert_contract(tx, principal, origin, draft).await?;
    let actor = Actor::resolve(tx, principal).await?;
    let target = Target {
        kind: &CONTRACT_TARGET,
        id: contract.id,
    };
    let attached = attachments::service::record(tx, &actor, origin, target, file).await?;
    let now = unit::now(tx);
    tx.execute(
        "insert into contract_imports (contract_id, attachment_id, created_at, updated_at) \
         values ($1, $2, $3, $3)",
        &[&contract.id, &attached.id, &now],
    )
    .await?;
    Ok((contract, attached))
}

pub fn react_to(reactions: &mut Reactions) {
    reactions
        .on("attachment.text_extracted", fill_from_text)
        .on("attachment.text_failed", give_up)
        .on("attachment.text_unsupported", give_up);
}

/// The draft imported from this attachment, if one waits for its text (locked).
async fn waiting(tx: &TenantTx, attachment: Uuid) -> Result<Option<Uuid>, DomainError> {
    Ok(tx
        .query_opt(
            "select contract_id from contract_imports \
             where attachment_id = $1 and state = 'pending' for update",
            &[&attachment],
        )
        .await?
        .map(|row| row.get(0)))
}

async fn settle(tx: &TenantTx, contract: Uuid, state: &str) -> Result<(), DomainError> {
    tx.execute(
        "update contract_imports set state = $2, updated_at = $3 where contract_id = $1",
        &[&contract, &state, &unit::now(tx)],
    )
    .await?;
    Ok(())
}

fn fill_from_text<'a>(
    tx: &'a TenantTx,
    actor: &'a Actor,
    origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(attachment) = event.entity_id else {
            return Ok(());
        };
        let Some(contract) = waiting(tx, attachment).await? else {
            return Ok(());
        };
        let current = service::lock_editable_contract(tx, actor, contract).await;
        let current = match current {
            Ok(current)
                if current.version == 1 && current.body.as_deref().is_none_or(str::is_empty) =>
            {
                current
            }
            // Edited, moved on from draft, or gone: what people did stands.
            _ => return settle(tx, contract, "superseded").await,
        };
        let text: String = attachments::reading::text_of(tx, attachment)
            .await?
            .chars()
            .take(MAX_BODY_CHARS)
            .collect();
        let counterparty = named_counterparty(tx, &text).await?;
        let patch = UpdateContract {
            body: Some(text),
            counterparty_id: counterparty.map(Some),
            ..UpdateContract::default()
        };
        service::update(tx, actor, origin, contract, current.version, patch).await?;
        settle(tx, contract, "filled").await
    })
}

fn give_up<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(attachment) = event.entity_id else {
            return Ok(());
        };
        match waiting(tx, attachment).await? {
            Some(contract) => settle(tx, contract, "failed").await,
            None => Ok(()),
        }
    })
}

/// The one counterparty whose name the text holds (case aside), if exactly one does.
async fn named_counterparty(tx: &TenantTx, text: &str) -> Result<Option<Uuid>, DomainError> {
    let rows = tx
        .query(
            "select id from counterparties \
             where char_length(name) >= 3 and strpos(lower($1), lower(name)) > 0 limit 2",
            &[&text],
        )
        .await?;
    Ok(match rows.as_slice() {
        [only] => Some(only.get(0)),
        _ => None,
    })
}
