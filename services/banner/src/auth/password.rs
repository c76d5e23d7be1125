//! The admin account and its password check.
//!
//! The password is never kept in memory as text: the service holds an **argon2 hash** of it (a
//! PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`). Given as
//! `BANNER_ADMIN_PASSWORD_HASH`, the hash is used as it is; given as a file
//! (`BANNER_ADMIN_PASSWORD_FILE`, the way Kubernetes and docker hand out secrets), the password
//! is hashed once at start and the text dropped.
//!
//! argon2 is slow and memory-hungry *on purpose*: checking one guess costs tens of milliseconds
//! and megabytes, which is nothing for one sign-in and a lot for an attacker trying millions.
//! Verifying recomputes the hash and compares the results in constant time, so the answer's
//! timing tells nothing about how close a guess was.

use std::fmt;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// The longest admin user name, in characters.
pub const MAX_USER_CHARS: usize = 64;

/// The one admin account: a user name and the argon2 hash of its password.
#[derive(Clone)]
pub struct AdminAccount {
    user: String,
    hash: PasswordHash,
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
        Ok(Self { user, hash })
    }

    /// The account of `user` with `password`, hashed now with a fresh random salt.
    pub fn from_password(user: String, password: &str) -> Result<Self, String> {
        Self::check_user(&user)?;
        if password.is_empty() {
            return Err("the password is empty".into());
        }
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| format!("cannot hash the password: {e}"))?;
        Ok(Self { user, hash })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The hash as a PHC string, as `BANNER_ADMIN_PASSWORD_HASH` takes it.
    pub fn phc(&self) -> String {
        self.hash.to_string()
    }

    /// Whether `user` and `password` are this account's. Slow on purpose (see the module doc):
    /// call it where blocking a thread is fine.
    ///
    /// The password is checked even when the user name is wrong, so that a wrong name takes as
    /// long as a wrong password and the timing does not reveal which user names exist.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let password_ok = Argon2::default()
            .verify_password(password.as_bytes(), &self.hash)
            .is_ok();
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
    fn a_hash_round_trips_through_its_phc_string() {
        let account = AdminAccount::from_password("admin".into(), "pw").expect("hashable");
        let phc = account.phc();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let again = AdminAccount::from_hash("admin".into(), &phc).expect("a valid hash");
        assert!(again.verify("admin", "pw"));
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
