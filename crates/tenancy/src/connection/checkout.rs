//! What a request holds while it has a connection, the queue of the requests that
//! wait for any connection (a connection that comes back wakes the oldest of them),
//! and the count of checkouts by the connection that served them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use deadpool::managed;

/// A connection taken from the [`super::RequestPool`] (as [`super::Connection`]); it
/// goes back when dropped, and then wakes the oldest request waiting for any connection.
pub struct Checkout<M: managed::Manager> {
    /// Always present; an `Option` only so that `Drop` can return it first.
    object: Option<managed::Object<M>>,
    overflow: Arc<Overflow>,
}

impl<M: managed::Manager> Checkout<M> {
    pub(super) fn new(object: managed::Object<M>, overflow: &Arc<Overflow>) -> Self {
        Self {
            object: Some(object),
            overflow: Arc::clone(overflow),
        }
    }

    /// Takes the connection out of the pool for good (a broken one): its slot opens a
    /// new one for the next request.
    pub fn take(mut this: Self) -> M::Type {
        managed::Object::take(this.object.take().expect("a pooled connection"))
    }
}

impl<M: managed::Manager> std::ops::Deref for Checkout<M> {
    type Target = M::Type;

    fn deref(&self) -> &M::Type {
        self.object.as_ref().expect("a pooled connection")
    }
}

impl<M: managed::Manager> std::ops::DerefMut for Checkout<M> {
    fn deref_mut(&mut self) -> &mut M::Type {
        self.object.as_mut().expect("a pooled connection")
    }
}

impl<M: managed::Manager> Drop for Checkout<M> {
    fn drop(&mut self) {
        // Back in its slot first (taken out, in `take`), so the request woken finds it.
        drop(self.object.take());
        self.overflow.connection_back();
    }
}

/// The requests that wait for whichever connection comes back first, oldest first:
/// those of a tenant whose home connection already has the home queue limit waiting, or
/// whose schema is warm on half the connections or more (a busy tenant, or one of few),
/// and those that name no tenant. Waiting for one particular other connection instead
/// put a request behind a slow one while others stood idle (one busy tenant's p99 was
/// 2.2 times the pool's without tenant affinity; see docs/benchmarks.md, "The request
/// path against the build before events and jobs"). A connection that comes back
/// serves its own slot's waiters (its tenants) first, and else the oldest request here.
#[derive(Default)]
pub(super) struct Overflow {
    /// Entries in `queue`, read without the lock on every connection's return.
    queued: AtomicUsize,
    /// A wake-up for each waiting request; a request that found a connection after it
    /// queued leaves its entry behind, closed, and the next return skips it.
    queue: Mutex<VecDeque<tokio::sync::oneshot::Sender<()>>>,
}

/// One request's place in the [`Overflow`] queue. A wake-up it received and did not use
/// (it found a connection by itself meanwhile, or was cancelled) is passed to the next
/// request, so a connection that came back never sits idle while others wait.
pub(super) struct Turn<'a> {
    overflow: &'a Overflow,
    /// The pool's count of waiting requests.
    waiting: &'a AtomicUsize,
    /// Its entry in the queue, while it has one.
    woken: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Woken, and not yet served or queued again.
    holds_wake: bool,
}

impl<'a> Turn<'a> {
    pub(super) fn new(overflow: &'a Overflow, waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self {
            overflow,
            waiting,
            woken: None,
            holds_wake: false,
        }
    }

    /// Takes a place: at the back the first time, at the head once it has been woken
    /// (it was the oldest).
    pub(super) fn queue(&mut self) {
        let front = self.holds_wake;
        self.holds_wake = false;
        self.woken = Some(self.overflow.enqueue(front));
    }

    pub(super) async fn wait(&mut self) {
        if let Some(woken) = self.woken.as_mut() {
            let _ = woken.await;
        }
        self.woken = None;
        self.holds_wake = true;
    }

    /// Its wake-up, if it had one, was used; one that reached its entry in the queue
    /// meanwhile was not.
    pub(super) fn served<C>(mut self, connection: C) -> C {
        self.holds_wake = false;
        self.pass_on_unused_wake();
        connection
    }

    fn pass_on_unused_wake(&mut self) {
        let received = match self.woken.take() {
            Some(mut woken) => woken.try_recv().is_ok(),
            None => false,
        };
        if std::mem::take(&mut self.holds_wake) || received {
            self.overflow.connection_back();
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        self.pass_on_unused_wake();
    }
}

impl Overflow {
    fn enqueue(&self, front: bool) -> tokio::sync::oneshot::Receiver<()> {
        let (wake, woken) = tokio::sync::oneshot::channel();
        let mut queue = self.queue.lock().expect("overflow queue");
        if front {
            queue.push_front(wake);
        } else {
            queue.push_back(wake);
        }
        self.queued.store(queue.len(), Ordering::Release);
        woken
    }

    /// Wakes the oldest request still waiting, if any.
    fn connection_back(&self) {
        if self.queued.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut queue = self.queue.lock().expect("overflow queue");
        while let Some(wake) = queue.pop_front() {
            if wake.send(()).is_ok() {
                break;
            }
        }
        self.queued.store(queue.len(), Ordering::Release);
    }
}

/// Which connection served a checkout, for [`super::RequestPool::checkouts`].
#[derive(Clone, Copy)]
pub(super) enum Place {
    Home,
    /// Not the tenant's home, and its backend had not served the schema: it builds the
    /// schema's catalog entries and plans.
    Elsewhere,
    /// Not the tenant's home, but its backend had served the schema.
    WarmElsewhere,
    /// A unit of work on `public` only.
    NoTenant,
    /// A pool of one slot (tenant affinity off, behind a transaction pooler, or one
    /// connection in all): no tenant has a home.
    Shared,
}

#[derive(Default)]
pub(super) struct Checkouts([AtomicU64; 5]);

impl Checkouts {
    pub(super) fn count<M: managed::Manager>(
        &self,
        place: Place,
        connection: Checkout<M>,
    ) -> Checkout<M> {
        self.0[place as usize].fetch_add(1, Ordering::Relaxed);
        connection
    }

    pub(super) fn snapshot(&self) -> CheckoutCounts {
        let read = |place: Place| self.0[place as usize].load(Ordering::Relaxed);
        CheckoutCounts {
            home: read(Place::Home),
            elsewhere: read(Place::Elsewhere),
            warm_elsewhere: read(Place::WarmElsewhere),
            no_tenant: read(Place::NoTenant),
            shared: read(Place::Shared),
        }
    }
}

/// Checkouts since the pool was built, by the connection that served them. Those
/// `elsewhere` are what spreads tenants over every backend's catalog caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckoutCounts {
    pub home: u64,
    /// Another tenant's home, which had not served the schema.
    pub elsewhere: u64,
    /// Another tenant's home, which had served the schema before.
    pub warm_elsewhere: u64,
    pub no_tenant: u64,
    /// In a pool without homes.
    pub shared: u64,
}
