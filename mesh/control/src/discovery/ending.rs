//! How a stream ends: either half may end it, and the inbound half may say why.
//!
//! The two halves of a stream run apart (the inbound one in its own task, the outbound one
//! when tonic polls it), so they share one [`Ending`]. The inbound half cancels it when the
//! proxy closes its side or sends something refused (then with the status the proxy gets);
//! the outbound half cancels it when tonic drops it (the connection closed), which stops the
//! inbound task.

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;
use tonic::Status;

/// The end of one stream, shared by its two halves.
#[derive(Debug, Default)]
pub struct Ending {
    pub token: CancellationToken,
    status: Mutex<Option<Status>>,
}

impl Ending {
    /// Ends the stream with no error.
    pub fn end(&self) {
        self.token.cancel();
    }

    /// Ends the stream with `status`, the error the proxy receives.
    pub fn fail(&self, status: Status) {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = Some(status);
        self.token.cancel();
    }

    /// The status given to [`fail`](Self::fail), once.
    pub fn take_status(&self) -> Option<Status> {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
