//! UUIDv7 identifiers with a phantom type so an org id can't be passed where a key id is expected.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use uuid::timestamp::Timestamp;
use uuid::timestamp::context::{ContextV7, ThreadLocalContext};

thread_local! {
    static V7: ContextV7 = const { ContextV7::new() };
}

/// A new UUIDv7 from this thread's own clock sequence: ordered within the thread, unique
/// across threads by its random bits, and free of the process-wide lock behind
/// `Uuid::now_v7` (which the two HTTP workers of the proxy contended for twice per request).
pub fn uuid_v7() -> Uuid {
    Uuid::new_v7(Timestamp::now(ThreadLocalContext::new(&V7)))
}

/// A typed UUIDv7 id. `T` is a marker type such as [`OrgMarker`].
pub struct Id<T> {
    uuid: Uuid,
    _marker: PhantomData<fn() -> T>,
}

macro_rules! markers {
    ($($marker:ident => $alias:ident),* $(,)?) => {
        $(
            #[doc = concat!("Marker for [`", stringify!($alias), "`].")]
            #[derive(Debug)]
            pub enum $marker {}
            #[doc = concat!("A typed id (", stringify!($marker), ").")]
            pub type $alias = Id<$marker>;
        )*
    };
}

markers! {
    OrgMarker => OrgId,
    TeamMarker => TeamId,
    ProjectMarker => ProjectId,
    UserMarker => UserId,
    ProviderKeyMarker => ProviderKeyId,
    VirtualKeyMarker => VirtualKeyId,
    EventMarker => EventId,
    BudgetMarker => BudgetId,
    RequestMarker => RequestId,
}

impl<T> Id<T> {
    /// A new time-ordered id.
    pub fn new() -> Self {
        Self::from_uuid(uuid_v7())
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self {
            uuid,
            _marker: PhantomData,
        }
    }

    /// The underlying UUID.
    pub const fn uuid(&self) -> Uuid {
        self.uuid
    }
}

impl<T> Default for Id<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<T> Eq for Id<T> {}
impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uuid)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uuid)
    }
}

/// The input was not a UUID.
#[derive(Debug, thiserror::Error)]
#[error("not a valid id (expected a UUID)")]
pub struct ParseIdError;

impl<T> FromStr for Id<T> {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self::from_uuid)
            .map_err(|_| ParseIdError)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.uuid.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Uuid::deserialize(d).map(Self::from_uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_time_ordered() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert_eq!(a.uuid().get_version_num(), 7);
        assert!(a <= b);
    }

    #[test]
    fn thread_local_v7_ids_are_ordered_in_a_thread_and_unique_across_threads() {
        let mine: Vec<Uuid> = (0..1000).map(|_| uuid_v7()).collect();
        assert!(mine.iter().all(|u| u.get_version_num() == 7));
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "ordered within a thread"
        );
        let theirs: Vec<Uuid> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).map(|_| uuid_v7()).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let all: std::collections::HashSet<Uuid> = mine.iter().chain(&theirs).copied().collect();
        assert_eq!(all.len(), 5000, "no id repeats across threads");
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let a = ProviderKeyId::new();
        let b: ProviderKeyId = a.to_string().parse().unwrap();
        assert_eq!(a, b);
        assert!("not-a-uuid".parse::<ProviderKeyId>().is_err());
    }
}
