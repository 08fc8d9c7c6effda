//! [`StoreFactory`]: how the suite gets fresh stores.

use std::future::Future;

use futures_util::future::LocalBoxFuture;
use sessions_core::SessionStore;

/// Makes a fresh store for each case (some cases need two). Implemented for any
/// `Fn() -> impl Future<Output = impl SessionStore>` closure.
///
/// ```
/// use sessions_memstore::MemoryStore;
/// use sessions_test::StoreFactory;
///
/// fn takes(_: impl StoreFactory) {}
/// takes(|| async { MemoryStore::new() });
/// ```
pub trait StoreFactory: Clone + 'static {
    /// The store type made.
    type Store: SessionStore;

    /// Makes a store.
    fn make(&self) -> LocalBoxFuture<'static, Self::Store>;
}

impl<F, Fut, S> StoreFactory for F
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = S> + 'static,
    S: SessionStore,
{
    type Store = S;

    fn make(&self) -> LocalBoxFuture<'static, S> {
        Box::pin(self())
    }
}
