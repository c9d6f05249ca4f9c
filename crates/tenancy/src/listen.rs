//! `LISTEN` on a session of its own: the registry cache, the job runner and the
//! notification streams each hold one. Always on a direct connection, never a pooled
//! one (a transaction pooler would hand the session to someone else).

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::pool::DatabaseUrl;
use super::TenancyError;

/// A live `LISTEN`: payloads arrive on `notifications`, which closes when the
/// connection is lost. Dropping it closes the session.
pub struct Listening {
    pub notifications: mpsc::UnboundedReceiver<String>,
    // Dropping the client would end the session.
    _client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Connects to `url` (as `application_name` when given, so operators can tell the
/// session apart) and listens on `channel`, a fixed identifier.
pub async fn listen(
    url: &DatabaseUrl,
    application_name: Option<&str>,
    channel: &str,
) -> Result<Listening, TenancyError> {
    let mut config = url.config().clone();
    if let Some(name) = application_name {
        config.application_name(name);
    }
    let (client, mut connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| url.unreachable(&e))?;
    let (tx, notifications) = mpsc::unbounded_channel();
    let channel_name = channel.to_owned();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, channel = %channel_name, "listener connection failed");
                    break;
                }
            }
        }
    });
    let listening = Listening {
        notifications,
        _client: client,
        driver,
    };
    listening
        ._client
        .batch_execute(&format!("listen {channel}"))
        .await?;
    Ok(listening)
}
