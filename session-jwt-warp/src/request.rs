//! Where the filters inside [`Sessions::wrap`](crate::Sessions::wrap) find
//! their request's session.
//!
//! Warp gives filters no per-request storage they can write: request
//! extensions are read-only to filters, and a filter cannot run code around
//! another filter's future (the `Filter` trait is sealed), so a
//! `tokio::task_local!` cannot be scoped around the route tree either. What
//! a task-local would do is done here by hand: the wrapper registers the
//! request's [`LazySession`] under the task that runs the request, and the
//! filters look it up under the task they run in, which is the same one
//! (every filter of a request is polled inside the one future
//! `warp::serve` or `warp::test` drives).
//!
//! `warp::serve` runs each HTTP/1 connection in a task of its own and hyper
//! serves that connection's requests one after the other; each HTTP/2
//! stream is a task of its own. So a task runs at most one wrapped request
//! at a time. Outside a tokio task (`#[tokio::test]`'s body, `block_on`)
//! the thread stands for the task. If two wrapped requests do run in one
//! task at once (a test joining two `warp::test` requests, a tree wrapped
//! twice), the filters refuse with [`Error::Ambiguous`] (500) rather than
//! guess.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use session_jwt_core::LazySession;

use crate::error::Error;

/// What runs a request: a tokio task, or a thread outside any task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Runner {
    Task(tokio::task::Id),
    Thread(ThreadId),
}

impl Runner {
    fn current() -> Self {
        match tokio::task::try_id() {
            Some(id) => Self::Task(id),
            None => Self::Thread(std::thread::current().id()),
        }
    }
}

/// The wrapped requests in flight, by what runs them. Looked up several
/// times a request: hashed with foldhash, as the keys are tokio's task ids
/// (or threads), never a client's input.
type Requests = HashMap<Runner, Runs, foldhash::fast::RandomState>;

/// The wrapped requests one runner has in flight: one, but for a test or a
/// tree wrapped twice. A request registers without allocating.
#[derive(Debug)]
enum Runs {
    One(Arc<LazySession>),
    /// Two or more, which the filters refuse to choose between.
    Many(Vec<Arc<LazySession>>),
}

#[derive(Debug, Default)]
pub(crate) struct InFlight {
    requests: Mutex<Requests>,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `lazy` as the session of the request the current task runs,
    /// until the returned guard is dropped.
    pub(crate) fn register(self: &Arc<Self>, lazy: Arc<LazySession>) -> Registered {
        let runner = Runner::current();
        match self.lock().entry(runner) {
            Entry::Vacant(entry) => {
                entry.insert(Runs::One(lazy.clone()));
            }
            Entry::Occupied(mut entry) => {
                let runs = entry.get_mut();
                match runs {
                    Runs::One(other) => *runs = Runs::Many(vec![other.clone(), lazy.clone()]),
                    Runs::Many(list) => list.push(lazy.clone()),
                }
            }
        }
        Registered {
            in_flight: self.clone(),
            runner,
            lazy,
        }
    }

    /// The session of the request the current task runs.
    pub(crate) fn current(&self) -> Result<Arc<LazySession>, Error> {
        match self.lock().get(&Runner::current()) {
            Some(Runs::One(lazy)) => Ok(lazy.clone()),
            None => Err(Error::NotWrapped),
            Some(Runs::Many(_)) => {
                tracing::error!("{}", Error::Ambiguous);
                Err(Error::Ambiguous)
            }
        }
    }
}

/// A request's registration; dropping it (the request finished, or its
/// future was dropped) removes it.
#[derive(Debug)]
pub(crate) struct Registered {
    in_flight: Arc<InFlight>,
    runner: Runner,
    lazy: Arc<LazySession>,
}

impl Registered {
    pub(crate) fn lazy(&self) -> &LazySession {
        &self.lazy
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut requests = self.in_flight.lock();
        let Entry::Occupied(mut entry) = requests.entry(self.runner) else {
            return;
        };
        match entry.get_mut() {
            Runs::One(lazy) if Arc::ptr_eq(lazy, &self.lazy) => {
                entry.remove();
            }
            Runs::One(_) => {}
            Runs::Many(list) => {
                list.retain(|l| !Arc::ptr_eq(l, &self.lazy));
                if let [last] = &list[..] {
                    *entry.get_mut() = Runs::One(last.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use session_jwt_core::time::OffsetDateTime;
    use session_jwt_core::{Key, SessionJwt};

    use super::*;

    fn lazy() -> Arc<LazySession> {
        let engine = SessionJwt::builder()
            .with_key(Key::hmac("a test secret of at least thirty-two bytes").unwrap())
            .unwrap()
            .build()
            .unwrap();
        Arc::new(engine.lazy([], OffsetDateTime::now_utc()))
    }

    fn current_is(in_flight: &InFlight, expected: &Arc<LazySession>) -> bool {
        in_flight
            .current()
            .is_ok_and(|lazy| Arc::ptr_eq(&lazy, expected))
    }

    #[test]
    fn registrations_in_one_runner_are_refused_until_one_is_left() {
        let in_flight = Arc::new(InFlight::default());
        assert!(matches!(in_flight.current(), Err(Error::NotWrapped)));
        let (a, b, c) = (lazy(), lazy(), lazy());

        let first = in_flight.register(a.clone());
        assert!(current_is(&in_flight, &a));
        let second = in_flight.register(b.clone());
        let third = in_flight.register(c.clone());
        assert!(matches!(in_flight.current(), Err(Error::Ambiguous)));
        // Dropped out of order: the one left is the one still registered.
        drop(second);
        assert!(matches!(in_flight.current(), Err(Error::Ambiguous)));
        drop(first);
        assert!(current_is(&in_flight, &c));
        drop(third);
        assert!(matches!(in_flight.current(), Err(Error::NotWrapped)));
        assert!(in_flight.lock().is_empty());

        // Another thread is another runner.
        let _here = in_flight.register(a.clone());
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(matches!(in_flight.current(), Err(Error::NotWrapped)));
                let _there = in_flight.register(b.clone());
                assert!(current_is(&in_flight, &b));
            });
        });
        assert!(current_is(&in_flight, &a));
    }
}
