//! The process-wide client: [`init`] installs it, the [`ClientGuard`] shuts it down, and
//! [`flush`] and [`stats`] reach it from anywhere.

use super::Client;
use crate::context::Context;
use crate::options::ClientOptions;
use crate::transport::{HttpTransport, Stats, TransportStats, UreqClient};
use crate::{Dsn, Error};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

static GLOBAL: RwLock<Option<Arc<Client>>> = RwLock::new(None);

/// The global client, if [`init`] ran with a DSN.
pub(crate) fn global() -> Option<Arc<Client>> {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Keeps the SDK running; dropping it flushes queued events (at most `shutdown_timeout`) and
/// uninstalls the client.
#[must_use = "dropping the guard at once shuts the SDK down"]
#[derive(Debug)]
pub struct ClientGuard {
    client: Option<Arc<Client>>,
}

impl ClientGuard {
    /// True when a DSN was configured and events are being sent.
    pub fn is_enabled(&self) -> bool {
        self.client.is_some()
    }

    /// Waits until captured events are delivered (or dropped and counted) and the offline cache
    /// is empty, at most `timeout`; see [`flush`](crate::flush).
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client.as_ref().is_none_or(|c| c.flush(timeout))
    }

    /// The transport's counters.
    pub fn stats(&self) -> TransportStats {
        self.client.as_ref().map(|c| c.stats()).unwrap_or_default()
    }

    /// Shuts the SDK down as dropping the guard does, and returns the final counters: what was
    /// sent, and every event that was not, by reason. Events still queued when
    /// `shutdown_timeout` ran out are counted as `network_error` and reported to the server in
    /// a last client report sent within the same timeout.
    ///
    /// ```
    /// let guard = watchpost::init(watchpost::ClientOptions::new()).expect("valid options");
    /// // ... the program runs ...
    /// let stats = guard.close();
    /// if stats.dropped_total() > 0 {
    ///     eprintln!("Sentry: {} events were not delivered: {:?}", stats.dropped_total(), stats.dropped);
    /// }
    /// ```
    pub fn close(mut self) -> TransportStats {
        self.shut_down().unwrap_or_default()
    }

    fn shut_down(&mut self) -> Option<TransportStats> {
        let client = self.client.take()?;
        client.shutdown();
        let mut g = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
        if g.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client)) {
            *g = None;
        }
        drop(g);
        let stats = client.stats();
        *CLOSED_STATS.lock().unwrap_or_else(PoisonError::into_inner) = Some(stats.clone());
        Some(stats)
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The final counters of the last client shut down, read by [`stats`] once no client is
/// installed.
static CLOSED_STATS: std::sync::Mutex<Option<TransportStats>> = std::sync::Mutex::new(None);

/// Starts the SDK: completes the options from the `SENTRY_*` variables (see
/// [`ClientOptions::apply_env`]), validates them, installs the client and, with the `panic`
/// feature, the panic hook.
///
/// Without a DSN the SDK stays off: capture calls return
/// [`CaptureOutcome::Disabled`](crate::CaptureOutcome::Disabled).
/// Keep the returned guard alive for the life of the program.
///
/// ```
/// let _guard = watchpost::init(watchpost::ClientOptions::new()).expect("valid Sentry options");
/// ```
pub fn init(options: ClientOptions) -> Result<ClientGuard, Error> {
    let Some(client) = build_client(options)? else {
        return Ok(ClientGuard { client: None });
    };
    let client = Arc::new(client);
    #[cfg(feature = "panic")]
    crate::integrations::panic::install();
    *GLOBAL.write().unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
    Ok(ClientGuard {
        client: Some(client),
    })
}

/// Builds the client `init` would install, without installing it: options completed from the
/// environment (unless `use_env(false)`) and validated, the HTTP transport set up.
/// `Ok(None)` when there is no DSN.
pub(crate) fn build_client(options: ClientOptions) -> Result<Option<Client>, Error> {
    let options = if options.use_env {
        options.apply_env()?
    } else {
        options
    };
    options.validate()?;
    let Some(dsn_str) = options.dsn.as_deref() else {
        return Ok(None);
    };
    let dsn: Dsn = dsn_str.parse().map_err(|source| Error::InvalidDsn {
        dsn: crate::options::mask_dsn(dsn_str),
        source,
    })?;
    let http = options.http_client.clone().unwrap_or_else(|| {
        Arc::new(UreqClient::new(
            options.http_timeout,
            options.connect_timeout,
            options.pool_max_connections,
        ))
    });
    let stats = Arc::new(Stats::default());
    let transport = Arc::new(HttpTransport::new(&dsn, http, &options, stats.clone()));
    Ok(Some(Client::with_transport(options, transport, stats)))
}

/// Waits until events captured so far are delivered (or dropped and counted) and the offline
/// cache, if configured, is empty; at most `timeout`. True when nothing is left waiting (or
/// there is nothing to wait for); false when events are still queued or cached, for example
/// while the server is unreachable.
pub fn flush(timeout: Duration) -> bool {
    Context::current().client().is_none_or(|c| c.flush(timeout))
}

/// The transport's counters (sent, retried, dropped by reason, queue depth) of the current
/// client; once the client has been shut down (its guard dropped or closed), its final counters.
pub fn stats() -> TransportStats {
    match Context::current().client() {
        Some(c) => c.stats(),
        None => CLOSED_STATS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default(),
    }
}
