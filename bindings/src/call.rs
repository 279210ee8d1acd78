//! How every exported call runs: a panic below becomes [`InsiktError::Internal`] for
//! the caller (the store recovers its locks and stays usable), and long calls run on
//! a thread of their own so that the foreign side can await them without blocking
//! the thread that polls (Kotlin's dispatcher, Swift's executor).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{InsiktError, Result};

/// Runs a short call, turning a panic into the internal error.
pub(crate) fn call<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(panicked()))
}

/// Runs a long call on a thread of its own and waits for it without blocking.
///
/// Dropping the returned future (a cancelled coroutine or Swift task) releases the
/// caller at once. Work that has not started is skipped; work already under way in
/// core runs to its end and its answer is dropped, because core's long calls cannot
/// be interrupted yet (issue 10 gives them cancel tokens).
pub(crate) async fn background<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name("insikt-call".into())
        .spawn(move || {
            if !tx.is_canceled() {
                let _ = tx.send(call(f));
            }
        })
        .map_err(|_| InsiktError::Internal {
            reason: "no thread for the call".into(),
        })?;
    rx.await.unwrap_or_else(|_| Err(panicked()))
}

fn panicked() -> InsiktError {
    InsiktError::Internal {
        reason: "a panic in the core; the store stays usable".into(),
    }
}

/// Replaces the default panic report, which prints the panic's message — and a
/// message can quote text (a string sliced at the wrong place prints the string) —
/// with one that names only where it happened. Installed once, when the first store
/// opens.
pub(crate) fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!(
                "insikt: internal error (a panic at {at}); the call failed, the store stays usable"
            );
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_internal_error() {
        let r: Result<()> = call(|| panic!("boom"));
        assert!(matches!(r, Err(InsiktError::Internal { .. })));
    }

    #[test]
    fn background_calls_answer_and_contain_panics() {
        let ok = futures_executor_lite(background(|| Ok(7)));
        assert_eq!(ok.unwrap(), 7);
        let r: Result<()> = futures_executor_lite(background(|| panic!("boom")));
        assert!(matches!(r, Err(InsiktError::Internal { .. })));
    }

    /// Polls a future to completion on this thread (the foreign side does this).
    fn futures_executor_lite<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Wake, Waker};
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }
}
