//! Work on any record: tasks (assignee, due time, priority, status, a reminder and an
//! overdue notice as timers through the notifier), a log of calls, meetings, emails and
//! notes, and one timeline per account gathering the events of everything that belongs
//! to it. Tasks and entries hang off records as comments do ([`crate::kernel::target`]);
//! when a record is deleted, its `deleted` event removes what hung off it
//! ([`forget_target`], registered by `app` for every kind).

pub mod log;
pub mod model;
pub mod reminders;
pub mod routes;
pub mod tasks;
pub mod timeline;

use crate::kernel::unit::{ReactionFuture, Recorded};
use crate::kernel::{Actor, Origin};
use crate::tenancy::scoped::TenantTx;
use routes::*;

pub use model::{ActivityView, NewActivity, NewTask, TaskView, UpdateTask};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // The export before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_tasks)
        .service(list_tasks)
        .service(create_task)
        .service(get_task)
        .service(update_task)
        .service(delete_task)
        .service(list_activities)
        .service(create_activity)
        .service(get_activity)
        .service(delete_activity)
        .service(account_timeline);
}

/// A record was deleted: its tasks (with their timers) and logged activities go with it,
/// in the deleting transaction.
pub fn forget_target<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(kind) = crate::kernel::target::deleted_kind(event.event_type) else {
            return Ok(());
        };
        let Some(id) = event.entity_id else {
            return Ok(());
        };
        let removed: Vec<uuid::Uuid> = tx
            .query(
                "delete from tasks where target_kind = $1 and target_id = $2 returning id",
                &[&kind, &id],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        reminders::cancel(tx, &removed).await?;
        tx.execute(
            "delete from activities where target_kind = $1 and target_id = $2",
            &[&kind, &id],
        )
        .await?;
        Ok(())
    })
}
