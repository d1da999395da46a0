//! Small types that say what things are.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// A user's immutable `sub`. Users are keyed by it, never by username.
    Sub
);
id_type!(
    /// The `origin_jti` shared by a refresh token and every token minted from it: one session.
    OriginJti
);
id_type!(
    /// A Cognito app client id.
    ClientId
);

/// Milliseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EpochMs(pub u64);

impl EpochMs {
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        EpochMs(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn from_secs(s: u64) -> Self {
        EpochMs(s.saturating_mul(1000))
    }

    /// Whole seconds, rounded down.
    pub fn secs(self) -> u64 {
        self.0 / 1000
    }

    pub fn plus_secs(self, s: u64) -> Self {
        EpochMs(self.0.saturating_add(s.saturating_mul(1000)))
    }
}

/// A sign-out cutoff: tokens minted before it are revoked.
pub type Cutoff = EpochMs;

/// What a token is for, from its `token_use` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenUse {
    Access,
    Id,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

/// Who recorded a sign-out, kept on the item for audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    SelfService,
    Revoke,
    Logout,
    Admin,
    IncidentResponse,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::SelfService => "self-service",
            Source::Revoke => "revoke",
            Source::Logout => "logout",
            Source::Admin => "admin",
            Source::IncidentResponse => "incident-response",
        }
    }
}
