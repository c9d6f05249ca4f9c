//! Real time: notifications pushed to open Server-Sent-Event streams. The notifier
//! publishes each new notification once, to Redis pub/sub when `REDIS_URL` is set and
//! otherwise with `pg_notify` in its own transaction (so only committed ones are
//! heard); every server instance subscribes with one connection ([`Hub::listen`]) and
//! hands each message to the streams of its recipient in this process.
//!
//! A stream that falls behind is closed rather than buffered without bound; so are all
//! of them when the subscription connection is lost (what was published meanwhile was
//! not heard), and no stream opens again until the subscription is back: a stream open
//! while nothing is heard would miss messages and later carry its client's
//! `Last-Event-ID` past them. Either way the browser reconnects with `Last-Event-ID`
//! and the stream replays what it missed from the stored notifications, so nothing is
//! lost.
//!
//! Browsers' `EventSource` cannot send an `Authorization` header: a client trades its
//! token for a single-use ticket that lives [`TICKET_TTL`] (`notification_stream_tickets`,
//! in the tenant's schema, so another tenant's host never knows it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::tokens::{Claims, ACCESS_TOKEN_TTL_SECS};
use crate::kernel::{unit, Actor, DomainError, Principal};
use crate::tenancy::pool::DatabaseUrl;
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The pub/sub channel (PostgreSQL and Redis alike).
pub const CHANNEL: &str = "pactum_notifications";

/// How long a stream ticket may wait to be used.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Tries at publishing one batch to Redis (about 8 seconds in all).
const PUBLISH_ATTEMPTS: u32 = 6;

/// Messages a stream may have waiting before it is closed as too slow.
const STREAM_BACKLOG: usize = 64;

/// Notifications replayed after a reconnect, at most; beyond, the client is told to
/// reload its inbox.
pub const REPLAY_LIMIT: i64 = 1000;

/// How new notifications reach other instances.
#[derive(Clone)]
pub enum Fanout {
    /// `pg_notify` in the notifier's transaction; instances `LISTEN` on a direct session.
    Postgres(DatabaseUrl),
    /// `PUBLISH` after the notifier commits; instances `SUBSCRIBE`.
    Redis {
        url: String,
        publisher: redis::aio::ConnectionManager,
    },
}

/// What travels on the channel: who it is for and the notification as the stream
/// sends it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Published {
    pub tenant: Uuid,
    pub recipient: Uuid,
    pub id: i64,
    /// The notification's JSON, as the inbox lists it.
    pub data: Box<serde_json::value::RawValue>,
}

impl Fanout {
    /// In the notifier's transaction: PostgreSQL delivers at commit, or never.
    pub async fn publish_in(&self, tx: &TenantTx, messages: &[String]) -> Result<(), DomainError> {
        if let Self::Postgres(_) = self {
            if !messages.is_empty() {
                tx.execute(
                    "select pg_notify($1, m) from unnest($2::text[]) as m",
                    &[&CHANNEL, &messages],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// After the notifier's commit. A failure is retried for a few seconds, which spans
    /// a Redis restart (the connection manager reconnects); an instance whose own
    /// subscription is down meanwhile has closed its streams and refuses new ones until
    /// it is back, and its clients then replay from the store.
    pub async fn publish_after(&self, messages: &[String]) {
        if let Self::Redis { publisher, .. } = self {
            if messages.is_empty() {
                return;
            }
            let mut pipe = redis::pipe();
            for message in messages {
                pipe.cmd("PUBLISH").arg(CHANNEL).arg(message).ignore();
            }
            let mut delay = Duration::from_millis(100);
            for attempt in 1..=PUBLISH_ATTEMPTS {
                let mut connection = publisher.clone();
                match pipe.query_async::<()>(&mut connection).await {
                    Ok(()) => return,
                    Err(error) if attempt == PUBLISH_ATTEMPTS => {
                        tracing::warn!(%error, "publishing notifications to Redis failed; streams catch up when they reconnect");
                    }
                    Err(_) => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
        }
    }
}

/// One notification on its way to a stream.
pub struct Live {
    pub id: i64,
    pub frame: bytes::Bytes,
}

/// An SSE frame for one notification.
pub fn frame(id: i64, data: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!("id: {id}\nevent: notification\ndata: {data}\n\n"))
}

type Key = (Uuid, Uuid);

/// The streams of one user in this process, each with its id.
type UserStreams = Vec<(u64, mpsc::Sender<Arc<Live>>)>;

/// The open streams of this process, by tenant and user.
pub struct Hub {
    streams: Mutex<HashMap<Key, UserStreams>>,
    next: AtomicU64,
    /// Whether this process hears the channel, and the token its streams end by; one
    /// lock, so a stream is either opened while subscribed (and ended with the
    /// subscription) or refused.
    gate: Mutex<Gate>,
    /// Follows `gate.subscribed`, for streams waiting to open.
    subscribed: tokio::sync::watch::Sender<bool>,
    stopped: CancellationToken,
}

struct Gate {
    subscribed: bool,
    /// Cancelled when the process stops (streams end so graceful shutdown is quick), or
    /// replaced when the subscription is lost (streams end so clients catch up).
    closing: CancellationToken,
}

/// A stream's place in the hub; leaving is dropping it.
pub struct Subscription {
    hub: Arc<Hub>,
    key: Key,
    id: u64,
    pub receiver: mpsc::Receiver<Arc<Live>>,
    pub closing: CancellationToken,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut streams = self.hub.streams.lock().expect("hub");
        if let Some(list) = streams.get_mut(&self.key) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                streams.remove(&self.key);
            }
        }
    }
}

impl Hub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            streams: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            gate: Mutex::new(Gate {
                subscribed: false,
                closing: CancellationToken::new(),
            }),
            subscribed: tokio::sync::watch::Sender::new(false),
            stopped: CancellationToken::new(),
        })
    }

    /// A place for a stream of `user`, or `None` while this process does not hear the
    /// channel: a stream open then would miss what is published meanwhile, and its
    /// client's `Last-Event-ID` would later pass over it for good.
    pub fn subscribe(self: &Arc<Self>, tenant: Uuid, user: Uuid) -> Option<Subscription> {
        let gate = self.gate.lock().expect("hub");
        if !gate.subscribed {
            return None;
        }
        let (sender, receiver) = mpsc::channel(STREAM_BACKLOG);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.streams
            .lock()
            .expect("hub")
            .entry((tenant, user))
            .or_default()
            .push((id, sender));
        Some(Subscription {
            hub: self.clone(),
            key: (tenant, user),
            id,
            receiver,
            closing: gate.closing.clone(),
        })
    }

    /// Waits, at most `limit`, until this process hears the channel.
    pub async fn wait_subscribed(&self, limit: Duration) -> bool {
        let mut subscribed = self.subscribed.subscribe();
        let heard = tokio::time::timeout(limit, subscribed.wait_for(|on| *on))
            .await
            .is_ok_and(|waited| waited.is_ok());
        heard
    }

    /// The subscription is up: streams may open.
    fn subscription_up(&self) {
        self.gate.lock().expect("hub").subscribed = true;
        self.subscribed.send_replace(true);
    }

    /// Open streams in this process.
    pub fn open_streams(&self) -> usize {
        self.streams
            .lock()
            .expect("hub")
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Hands one published message to its recipient's streams here.
    pub fn dispatch(&self, payload: &str) {
        let Ok(published) = serde_json::from_str::<Published>(payload) else {
            tracing::warn!("a malformed message on the notification channel was ignored");
            return;
        };
        let live = Arc::new(Live {
            id: published.id,
            frame: frame(published.id, published.data.get()),
        });
        let mut streams = self.streams.lock().expect("hub");
        if let Some(list) = streams.get_mut(&(published.tenant, published.recipient)) {
            // A full stream is dropped: its client reconnects and replays.
            list.retain(|(_, sender)| sender.try_send(live.clone()).is_ok());
        }
    }

    /// The subscription is down: ends every open stream (their clients reconnect and
    /// replay once it is back) and refuses new ones until then.
    fn close_all(&self) {
        let old = {
            let mut gate = self.gate.lock().expect("hub");
            gate.subscribed = false;
            std::mem::replace(&mut gate.closing, CancellationToken::new())
        };
        self.subscribed.send_replace(false);
        old.cancel();
    }

    /// Ends every stream for good: the process is stopping.
    pub fn stop(&self) {
        self.stopped.cancel();
        self.close_all();
    }

    /// Subscribes to the channel until [`Hub::stop`], reconnecting after a loss. Returns
    /// once the first subscription was tried.
    pub async fn listen(self: &Arc<Self>, fanout: Fanout) {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let hub = self.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                let result = match &fanout {
                    Fanout::Postgres(url) => hub.listen_postgres(url, &mut ready).await,
                    Fanout::Redis { url, .. } => hub.listen_redis(url, &mut ready).await,
                };
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                if hub.stopped.is_cancelled() {
                    return;
                }
                if let Err(error) = result {
                    tracing::warn!(%error, "the notification subscription was lost; streams reconnect");
                }
                hub.close_all();
                tokio::select! {
                    _ = hub.stopped.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(5), ready_rx).await;
    }

    async fn listen_postgres(
        &self,
        url: &DatabaseUrl,
        ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> anyhow::Result<()> {
        let mut listening =
            crate::tenancy::listen::listen(url, Some("pactum-notification-listener"), CHANNEL)
                .await?;
        self.subscription_up();
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        loop {
            tokio::select! {
                _ = self.stopped.cancelled() => return Ok(()),
                message = listening.notifications.recv() => match message {
                    Some(payload) => self.dispatch(&payload),
                    None => anyhow::bail!("the notification listener connection closed"),
                },
            }
        }
    }

    async fn listen_redis(
        &self,
        url: &str,
        ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> anyhow::Result<()> {
        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        self.subscription_up();
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                _ = self.stopped.cancelled() => return Ok(()),
                message = messages.next() => match message {
                    Some(message) => match message.get_payload::<String>() {
                        Ok(payload) => self.dispatch(&payload),
                        Err(error) => tracing::warn!(%error, "an unreadable Redis message was ignored"),
                    },
                    None => anyhow::bail!("the Redis subscription closed"),
                },
            }
        }
    }
}

/// A freshly issued stream ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamTicket {
    /// Pass as `?ticket=` to `GET /api/v1/notifications/stream`, once.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
    /// The stream's URL with the ticket, relative to this host.
    pub stream_url: String,
}

/// The access token behind a stream, shown when it opened or when its ticket was asked
/// for: the stream lives no longer than the token would be honoured, ending at its
/// expiry by the server's clock, at its logout, or when its session ends (the user's
/// password changes, or the user is deactivated or deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub expires_at: DateTime<Utc>,
    /// The user, with the token's id and session generation when they are known.
    pub principal: Principal,
}

impl Credential {
    pub fn of(claims: &Claims) -> Self {
        let exp = i64::try_from(claims.exp).unwrap_or(i64::MAX);
        Self {
            expires_at: DateTime::from_timestamp(exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC),
            principal: Principal::Session {
                user: claims.sub,
                generation: claims.generation,
                token: claims.jti,
            },
        }
    }

    /// The user the stream is for.
    pub fn user(&self) -> Uuid {
        self.principal.user_id().unwrap_or_else(Uuid::nil)
    }
}

/// Whether the stream's token has expired by the server's clock: judged before anything
/// is read, and the reason sent to the client as `event: reauthenticate`, so it asks
/// for a new token or ticket rather than reconnecting with the one that no longer holds.
pub fn credential_expired(credential: &Credential, now: DateTime<Utc>) -> Option<&'static str> {
    (now >= credential.expires_at).then_some("token_expired")
}

/// The stream's user (`$1`): active, their session generation, and whether the token
/// behind the stream (`$2`) was logged out.
const STANDING_SQL: &str = "select u.active, u.session_generation, \
        exists(select 1 from revoked_access_tokens r where r.token_id = $2) \
    from users u where u.id = $1";

/// Why the stream's token no longer holds in the tenant's schema, if it does not: it
/// was logged out (`token_revoked`), or its session ended (`session_ended`: the user
/// deactivated or deleted, or their password changed). A database that cannot answer
/// ends nothing (the token's own expiry still bounds the stream).
pub async fn session_lost(db: &TenantDb, credential: &Credential) -> Option<&'static str> {
    let principal = &credential.principal;
    let (user, token) = (principal.user_id(), principal.token_id());
    let row = match db.read(&[(STANDING_SQL, &[&user, &token])]).await {
        Ok(mut results) => results.pop().and_then(|mut rows| rows.pop()),
        Err(error) => {
            tracing::warn!(%error, "stream: cannot check its session now; it goes on");
            return None;
        }
    };
    let Some(row) = row else {
        return Some("session_ended");
    };
    let (active, generation, logged_out): (bool, i32, bool) = (row.get(0), row.get(1), row.get(2));
    if logged_out {
        Some("token_revoked")
    } else if !active
        || principal
            .session_generation()
            .is_some_and(|g| g != generation)
    {
        Some("session_ended")
    } else {
        None
    }
}

/// The last frame of a stream whose credential ended.
pub fn reauthenticate_frame(reason: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!(
        "event: reauthenticate\ndata: {{\"reason\":\"{reason}\"}}\n\n"
    ))
}

fn hash(ticket: &str) -> String {
    let digest = Sha256::digest(ticket.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a single-use ticket for the caller's stream, asked for with `credential`.
pub async fn issue_ticket(
    tx: &TenantTx,
    actor: &Actor,
    credential: Credential,
) -> Result<StreamTicket, DomainError> {
    let user = actor.user_id().ok_or(DomainError::InvalidToken)?;
    let now = unit::now(tx);
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = now + chrono::Duration::from_std(TICKET_TTL).unwrap_or_default();
    // Tickets expired for a day go as new ones are made: the table stays small
    // without a sweeper.
    tx.execute(
        "delete from notification_stream_tickets where expires_at < $1",
        &[&(now - chrono::Duration::days(1))],
    )
    .await?;
    tx.execute(
        "insert into notification_stream_tickets \
             (ticket_hash, user_id, expires_at, created_at, token_id, token_expires_at, \
              session_generation) \
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &hash(&ticket),
            &user,
            &expires_at,
            &now,
            &credential.principal.token_id(),
            &credential.expires_at,
            &credential.principal.session_generation(),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(StreamTicket {
        stream_url: format!("/api/v1/notifications/stream?ticket={ticket}"),
        ticket,
        expires_at,
    })
}

/// Uses a ticket up: the token that asked for it, when it is unused, unexpired, of this
/// tenant, its user still active and that token's session not ended. A ticket made
/// before tickets kept their token stands for a token as old as the ticket.
pub async fn redeem_ticket(tx: &TenantTx, ticket: &str) -> Result<Credential, DomainError> {
    if ticket.is_empty() || ticket.len() > 100 {
        return Err(DomainError::InvalidToken);
    }
    let now = unit::now(tx);
    let row = tx
        .query_opt(
            "update notification_stream_tickets t set used_at = $2 from users u \
             where t.ticket_hash = $1 and t.used_at is null and t.expires_at > $2 \
               and u.id = t.user_id and u.active \
               and (t.session_generation is null or t.session_generation = u.session_generation) \
             returning t.user_id, t.token_id, t.token_expires_at, t.created_at, \
               t.session_generation",
            &[&hash(ticket), &now],
        )
        .await?
        .ok_or(DomainError::InvalidToken)?;
    let made: DateTime<Utc> = row.get(3);
    let lifetime = i64::try_from(ACCESS_TOKEN_TTL_SECS).unwrap_or(i64::MAX);
    let user: Uuid = row.get(0);
    Ok(Credential {
        expires_at: row
            .get::<_, Option<DateTime<Utc>>>(2)
            .unwrap_or(made + chrono::Duration::seconds(lifetime)),
        // A ticket made before tickets kept their token's session stands for its user.
        principal: match (row.get::<_, Option<Uuid>>(1), row.get::<_, Option<i32>>(4)) {
            (Some(token), Some(generation)) => Principal::Session {
                user,
                generation,
                token,
            },
            _ => Principal::User(user),
        },
    })
}

/// What a reconnecting stream missed: frames of the user's notifications after
/// `after`, oldest first, and whether there were more than [`REPLAY_LIMIT`].
pub async fn missed(
    tx: &TenantTx,
    user: Uuid,
    after: i64,
) -> Result<(Vec<(i64, bytes::Bytes)>, bool), DomainError> {
    let rows = tx
        .query(
            &format!(
                "select {} from notifications where recipient_id = $1 and id > $2 order by id limit $3",
                super::inbox::COLUMNS
            ),
            &[&user, &after, &(REPLAY_LIMIT + 1)],
        )
        .await?;
    let overflow = rows.len() as i64 > REPLAY_LIMIT;
    Ok((
        rows.iter()
            .take(REPLAY_LIMIT as usize)
            .map(|row| {
                let view = super::inbox::NotificationView::from(row);
                let data = serde_json::to_string(&view).unwrap_or_default();
                (view.id, frame(view.id, &data))
            })
            .collect(),
        overflow,
    ))
}
