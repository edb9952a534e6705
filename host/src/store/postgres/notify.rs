//! LISTEN/NOTIFY between hosts: a host with more queued work than workers
//! announces it, and idle hosts wake at once to take some; an operator's
//! cancel of a running execution reaches the host that runs it. Best
//! effort: the listener reconnects by itself, and the dispatcher polls for
//! work as well, so a lost notification delays work and never loses it (a
//! lost cancel lets the execution run to its end).

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel hosts announce queued work on; the payload is the
/// announcing host's id.
pub const WORK_CHANNEL: &str = "wolfe_work";

/// The channel cancels of running executions go out on: `tenant/id`.
pub const CANCEL_CHANNEL: &str = "wolfe_cancel";

/// Where announced cancels go: (tenant, id).
pub type Cancels = tokio::sync::mpsc::UnboundedSender<(String, String)>;

/// How long the listener waits before reconnecting after losing the server.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Listens on [`WORK_CHANNEL`] for as long as the process runs, waking
/// `work` for every announcement another host makes.
pub fn listen(
    config: tokio_postgres::Config,
    host_id: String,
    work: Arc<Notify>,
    cancels: Cancels,
) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen_once(&config, &host_id, &work, &cancels).await {
                tracing::debug!(error = %e, "work announcements: connection lost; reconnecting");
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    });
}

async fn listen_once(
    config: &tokio_postgres::Config,
    host_id: &str,
    work: &Notify,
    cancels: &Cancels,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // The connection is driven here rather than spawned: its messages are
    // the notifications.
    let listen = format!("LISTEN {WORK_CHANNEL}; LISTEN {CANCEL_CHANNEL}");
    let listening = client.batch_execute(&listen);
    tokio::pin!(listening);
    let mut subscribed = false;
    loop {
        tokio::select! {
            done = &mut listening, if !subscribed => {
                done?;
                subscribed = true;
                // Anything announced while this host was not listening.
                work.notify_one();
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CANCEL_CHANNEL => {
                    if let Some((tenant, id)) = n.payload().split_once('/') {
                        let _ = cancels.send((tenant.to_string(), id.to_string()));
                    }
                }
                Some(Ok(AsyncMessage::Notification(n))) if n.payload() != host_id => {
                    work.notify_one();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}
