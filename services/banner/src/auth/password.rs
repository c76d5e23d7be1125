//! The admin account and its password check.
//!
//! The password is never kept in memory as text. It comes in one of two ways:
//!
//! - `BANNER_ADMIN_PASSWORD_HASH`: an **argon2 hash** (a PHC string such as
//!   `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), used as it is. argon2 is slow and
//!   memory-hungry *on purpose*: checking one guess costs tens of milliseconds and the megabytes
//!   the hash names (19 MiB above), which is nothing for one sign-in and a lot for an attacker
//!   who stole the hash and tries millions of guesses offline. That memory stays with the
//!   process after the first check (the allocator keeps it for reuse).
//! - `BANNER_ADMIN_PASSWORD_FILE`: the password itself, the way Kubernetes and docker hand out
//!   secrets. Whoever can read this process's memory can read that file too, so an offline-proof
//!   hash would protect nothing here; the service keeps only an HMAC-SHA256 of the password
//!   under a random key made at start, and drops the text. Checking is then cheap in time and
//!   memory. Guessing online is what the sign-in rate limit (`rate_limit`) is for.
//!
//! Either way the comparison runs in constant time, so the answer's timing tells nothing about
//! how close a guess was.

use std::fmt;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest admin user name, in characters.
pub const MAX_USER_CHARS: usize = 64;

/// The one admin account: a user name and what its password is checked against.
#[derive(Clone)]
pub struct AdminAccount {
    user: String,
    check: PasswordCheck,
}

/// What a password is checked against (see the module doc for why there are two).
#[derive(Clone)]
enum PasswordCheck {
    /// An argon2 hash given by the operator.
    Argon2(Box<PasswordHash>),
    /// HMAC-SHA256 of the password under a key made at start.
    Keyed { key: [u8; 32], mac: Vec<u8> },
}

fn keyed_mac(key: &[u8; 32], password: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC takes a key of any length, so this cannot happen.
        unreachable!("HMAC accepts 32-byte keys")
    });
    mac.update(password.as_bytes());
    mac
}

/// An argon2id hash of `password` with a fresh salt, as a PHC string for
/// `BANNER_ADMIN_PASSWORD_HASH`.
pub fn argon2_phc(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

impl AdminAccount {
    /// Whether `user` can be a user name: not empty, short, no control characters, and no `:`
    /// (HTTP Basic authentication sends `user:password`, split at the first colon).
    pub fn check_user(user: &str) -> Result<(), String> {
        if user.is_empty() {
            return Err("must not be empty".into());
        }
        if user.chars().count() > MAX_USER_CHARS {
            return Err(format!("must be at most {MAX_USER_CHARS} characters"));
        }
        if user.chars().any(|c| c.is_control() || c == ':') {
            return Err("must not contain ':' or control characters".into());
        }
        Ok(())
    }

    /// The account of `user`, whose password hashes to `phc` (an argon2 PHC string).
    pub fn from_hash(user: String, phc: &str) -> Result<Self, String> {
        Self::check_user(&user)?;
        let hash = PasswordHash::new(phc.trim())
            .map_err(|e| format!("expected an argon2 PHC string ($argon2id$v=19$...): {e}"))?;
        let known = [
            argon2::ARGON2ID_IDENT,
            argon2::ARGON2I_IDENT,
            argon2::ARGON2D_IDENT,
        ];
        if !known.contains(&hash.algorithm) || hash.salt.is_none() || hash.hash.is_none() {
            return Err("expected an argon2 PHC string ($argon2id$v=19$...)".into());
        }
        Ok(Self {
            user,
            check: PasswordCheck::Argon2(Box::new(hash)),
        })
    }

    /// The account of `user` with `password`, kept as a keyed MAC (see the module doc).
    pub fn from_password(user: String, password: &str) -> Result<Self, String> {
        Self::check_user(&user)?;
        if password.is_empty() {
            return Err("the password is empty".into());
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| format!("no randomness for the password key: {e}"))?;
        let mac = keyed_mac(&key, password).finalize().into_bytes().to_vec();
        Ok(Self {
            user,
            check: PasswordCheck::Keyed { key, mac },
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether `user` and `password` are this account's. Slow on purpose with an argon2 hash
    /// (see the module doc): call it where blocking a thread is fine.
    ///
    /// The password is checked even when the user name is wrong, so that a wrong name takes as
    /// long as a wrong password and the timing does not reveal which user names exist.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let password_ok = match &self.check {
            PasswordCheck::Argon2(hash) => Argon2::default()
                .verify_password(password.as_bytes(), hash.as_ref())
                .is_ok(),
            PasswordCheck::Keyed { key, mac } => keyed_mac(key, password).verify_slice(mac).is_ok(),
        };
        password_ok && user == self.user
    }
}

/// Shows the user name only: the hash stays out of logs.
impl fmt::Debug for AdminAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAccount")
            .field("user", &self.user)
            .field("hash", &"<hidden>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_user_and_password_pass_and_nothing_else_does() {
        let account = AdminAccount::from_password("admin".into(), "s3cret!").expect("hashable");
        assert!(account.verify("admin", "s3cret!"));
        assert!(!account.verify("admin", "s3cret"));
        assert!(!account.verify("Admin", "s3cret!"));
        assert!(!account.verify("root", "s3cret!"));
        assert!(!account.verify("admin", ""));
    }

    #[test]
    fn an_argon2_hash_is_verified() {
        let phc = argon2_phc("pw").expect("hashable");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let account = AdminAccount::from_hash("admin".into(), &phc).expect("a valid hash");
        assert!(account.verify("admin", "pw"));
        assert!(!account.verify("admin", "pw2"));
        assert!(!account.verify("root", "pw"));
    }

    #[test]
    fn strings_that_are_not_argon2_hashes_are_refused() {
        for phc in [
            "",
            "pw",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA",
        ] {
            assert!(
                AdminAccount::from_hash("admin".into(), phc).is_err(),
                "{phc}"
            );
        }
    }

    #[test]
    fn user_names_are_checked() {
        assert!(AdminAccount::check_user("admin").is_ok());
        assert!(AdminAccount::check_user("").is_err());
        assert!(AdminAccount::check_user("a:b").is_err());
        assert!(AdminAccount::check_user("a\nb").is_err());
        assert!(AdminAccount::check_user(&"x".repeat(65)).is_err());
    }
}
