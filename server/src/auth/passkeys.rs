//! Passkeys (WebAuthn, via webauthn-rs): registration from the security
//! page, username-less sign-in, a passkey as the second step of a password
//! sign-in, and as a step-up. Every ceremony's state is kept in the
//! database (any replica can finish it) and used up by the transaction that
//! acts on the answer.
//!
//! The relying party is `LATCHKEY_PUBLIC_ORIGIN`: its host is the RP id,
//! the origin the only one accepted. An origin whose host is an IP address
//! cannot have passkeys (browsers refuse it), so the routes then answer 404.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_types::{PasskeyAdded, PasskeyAssertion, PasskeyInfo, PasskeyOptions, PasskeyRegistration};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration as RegistrationState,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::access::Principal;
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use super::factors::{Checked, OwnedProof};
use super::rate::AddressBudget;
use super::sessions::{SignedIn, StartAudit};
use crate::core::clock::from_ms;
use crate::core::factors;
use crate::core::secrets::{hash_token, random_token};
use crate::store::StoreError;
use crate::store::accounts::Entrant;
use crate::store::audit::Event;
use crate::store::factors::Reauth;
use crate::store::passkeys::{AddOutcome, MAX_PASSKEYS, NewCeremony, NewPasskey, PasskeyRow, PasskeyUse, Purpose};
use crate::store::sessions::SessionKind;

/// How long a ceremony's answer may take (the browser's own timeout is
/// shorter).
pub const CEREMONY_TTL_SECS: i64 = 300;

/// The relying party for `public_origin`; `None` when its host is not a
/// domain name (passkeys are then off, and the server says so at start).
pub fn relying_party(public_origin: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_origin).ok()?;
    let rp_id = origin.domain()?.to_string();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Latchkey")
        .build()
        .ok()
}

/// A passkey's or an API key's name as the user typed it: trimmed, 1–64
/// characters, no control characters.
pub fn short_name(raw: &str) -> AuthResult<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 64 || name.chars().any(char::is_control) {
        return Err(AuthError::field(
            "name",
            "must be 1 to 64 characters, without control characters",
        ));
    }
    Ok(name.to_string())
}

fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A stored value that does not parse is corruption, never a guess.
fn stored<T: DeserializeOwned>(what: &str, json: &str) -> AuthResult<T> {
    serde_json::from_str(json).map_err(|_| AuthError::Store(StoreError::Corrupt(format!("a stored {what}"))))
}

fn to_json(value: &impl Serialize) -> AuthResult<String> {
    serde_json::to_string(value).map_err(|err| AuthError::Store(StoreError::Corrupt(format!("serialising: {err}"))))
}

/// The browser's answer, in the shape webauthn-rs reads (`toJSON()` of a
/// `PublicKeyCredential`).
fn answer<T: DeserializeOwned>(credential: &serde_json::Value) -> AuthResult<T> {
    T::deserialize(credential)
        .map_err(|_| AuthError::field("credential", "is not a WebAuthn answer (PublicKeyCredential.toJSON())"))
}

fn info(row: &PasskeyRow) -> AuthResult<PasskeyInfo> {
    let passkey: Passkey = stored("passkey", &row.passkey)?;
    let id = Uuid::parse_str(&row.id).map_err(|_| AuthError::Store(StoreError::Corrupt("a passkey id".into())))?;
    Ok(PasskeyInfo {
        id,
        name: row.name.clone(),
        created_at: from_ms(row.created_at),
        last_used_at: row.last_used_at.map(from_ms),
        backed_up: Credential::from(passkey).backup_state,
    })
}

impl Engine {
    /// The second factors of these users, for the admin list.
    pub async fn admin_factor_statuses(
        &self,
        users: &[Uuid],
    ) -> AuthResult<std::collections::HashMap<Uuid, latchkey_types::MfaStatus>> {
        self.db
            .factor_summaries(users)
            .await?
            .into_iter()
            .map(|(id, f)| {
                let status = latchkey_types::MfaStatus {
                    totp_enabled_at: f.totp_confirmed_at.map(from_ms),
                    totp_last_used_at: f.totp_last_used_at.map(from_ms),
                    recovery_codes_left: u32::try_from(f.codes_left).unwrap_or_default(),
                    passkeys: f.passkeys.iter().map(info).collect::<AuthResult<_>>()?,
                };
                Ok((id, status))
            })
            .collect()
    }

    fn webauthn(&self) -> AuthResult<&Webauthn> {
        self.webauthn.as_deref().ok_or(AuthError::NotFound(
            "Passkeys are off on this server: LATCHKEY_PUBLIC_ORIGIN needs a domain name (not an IP address).",
        ))
    }

    /// Stores a ceremony's state and answers its options.
    async fn new_ceremony(
        &self,
        purpose: Purpose,
        user_id: Option<Uuid>,
        challenge_hash: Option<&str>,
        state: &impl Serialize,
        public_key: &impl Serialize,
    ) -> AuthResult<PasskeyOptions> {
        let ceremony_id = random_token();
        let state = to_json(state)?;
        let now = self.now();
        self.db
            .create_ceremony(
                NewCeremony {
                    id_hash: &hash_token(ceremony_id.expose_secret()),
                    purpose,
                    user_id,
                    challenge_hash,
                    state: &state,
                    expires_at: now + CEREMONY_TTL_SECS * 1000,
                },
                now,
            )
            .await?;
        Ok(PasskeyOptions {
            ceremony_id: ceremony_id.expose_secret().to_string(),
            public_key: serde_json::to_value(public_key)
                .map_err(|err| AuthError::Store(StoreError::Corrupt(format!("options: {err}"))))?,
        })
    }

    /// The user's passkeys as the API shows them.
    pub(crate) async fn passkey_list(&self, user_id: Uuid) -> AuthResult<Vec<PasskeyInfo>> {
        self.db.passkeys(user_id).await?.iter().map(info).collect()
    }

    async fn stored_passkeys(&self, user_id: Uuid) -> AuthResult<Vec<(PasskeyRow, Passkey)>> {
        self.db
            .passkeys(user_id)
            .await?
            .into_iter()
            .map(|row| {
                let passkey = stored("passkey", &row.passkey)?;
                Ok((row, passkey))
            })
            .collect()
    }

    /// Starts adding a passkey (a recent authentication needed): the
    /// browser is asked for a discoverable credential with user
    /// verification, not one of those the account has already.
    pub async fn begin_passkey_registration(&self, auth: &Principal) -> AuthResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        self.require_recent_auth(auth).await?;
        let user = self.current_user(auth).await?;
        let existing = self.stored_passkeys(user.id).await?;
        if existing.len() as i64 >= MAX_PASSKEYS {
            return Err(AuthError::Conflict(
                "This account has as many passkeys as it may; remove one first.",
            ));
        }
        let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
        let display = user.display_name.clone().unwrap_or_else(|| user.email.clone());
        let (mut options, state) = webauthn
            .start_passkey_registration(user.id, &user.email, &display, Some(exclude))
            .map_err(|err| AuthError::Store(StoreError::Corrupt(format!("passkey options: {err}"))))?;
        // A discoverable credential: sign-in needs no address typed.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.require_resident_key = true;
            selection.resident_key = Some(ResidentKeyRequirement::Required);
        }
        self.new_ceremony(Purpose::Register, Some(user.id), None, &state, &options.public_key)
            .await
    }

    /// Checks the browser's new credential and adds it. The account's first
    /// second factor also gets ten recovery codes, shown this once.
    pub async fn finish_passkey_registration(
        &self,
        auth: &Principal,
        body: &PasskeyRegistration,
        client: &ClientInfo,
    ) -> AuthResult<PasskeyAdded> {
        let webauthn = self.webauthn()?;
        self.require_recent_auth(auth).await?;
        let name = short_name(&body.name)?;
        let ceremony_hash = hash_token(&body.ceremony_id);
        let ceremony = self
            .db
            .peek_ceremony(&ceremony_hash, Purpose::Register, self.now())
            .await?
            .filter(|c| c.user_id.as_deref() == Some(auth.user_id.to_string().as_str()))
            .ok_or(AuthError::InvalidChallenge)?;
        let state: RegistrationState = stored("registration", &ceremony.state)?;
        let credential: RegisterPublicKeyCredential = answer(&body.credential)?;
        let passkey = match webauthn.finish_passkey_registration(&credential, &state) {
            Ok(passkey) => passkey,
            Err(err) => {
                tracing::info!(error = %err, "passkey registration refused");
                self.audit_passkey_failure(auth.user_id, Some(auth.session_id), client, "registration_rejected")
                    .await;
                return Err(AuthError::field(
                    "credential",
                    "the authenticator's answer does not check out",
                ));
            }
        };
        let codes = factors::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|(_, hash)| hash.clone()).collect();
        let id = Uuid::now_v7();
        let json = to_json(&passkey)?;
        let ip = client.ip_string();
        let mut audit = event_by(
            client,
            &ip,
            Event::PasskeyAdded,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        audit.detail = Some(serde_json::json!({ "passkey_id": id, "name": name }));
        let outcome = self
            .db
            .add_passkey(
                &ceremony_hash,
                NewPasskey {
                    id,
                    user_id: auth.user_id,
                    credential_id: &credential_id(passkey.cred_id().as_ref()),
                    name: &name,
                    passkey: &json,
                },
                &hashes,
                self.now(),
                audit,
            )
            .await?;
        match outcome {
            AddOutcome::Added { codes_stored } => Ok(PasskeyAdded {
                passkey: PasskeyInfo {
                    id,
                    name,
                    created_at: from_ms(self.now()),
                    last_used_at: None,
                    backed_up: Credential::from(passkey).backup_state,
                },
                recovery_codes: codes_stored.then(|| super::factors::shown(codes)),
            }),
            AddOutcome::CeremonyGone => Err(AuthError::InvalidChallenge),
            AddOutcome::Duplicate => Err(AuthError::Conflict("This passkey is registered already.")),
            AddOutcome::TooMany => Err(AuthError::Conflict(
                "This account has as many passkeys as it may; remove one first.",
            )),
        }
    }

    /// Renames one of the caller's passkeys.
    pub async fn rename_passkey(&self, auth: &Principal, id: Uuid, name: &str, client: &ClientInfo) -> AuthResult<()> {
        let name = short_name(name)?;
        let ip = client.ip_string();
        let mut audit = event_by(
            client,
            &ip,
            Event::PasskeyRenamed,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        audit.detail = Some(serde_json::json!({ "passkey_id": id, "name": name }));
        if !self
            .db
            .rename_passkey(auth.user_id, id, &name, self.now(), audit)
            .await?
        {
            return Err(AuthError::NotFound("There is no such passkey."));
        }
        Ok(())
    }

    /// Removes one of the caller's passkeys (a recent authentication
    /// needed); every other session ends.
    pub async fn remove_passkey(&self, auth: &Principal, id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        self.require_recent_auth(auth).await?;
        let ip = client.ip_string();
        let mut audit = event_by(
            client,
            &ip,
            Event::PasskeyRemoved,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        audit.detail = Some(serde_json::json!({ "passkey_id": id }));
        let removed = self
            .db
            .remove_passkey(auth.user_id, id, Some(auth.session_id), self.now(), audit)
            .await?;
        if !self.publish(removed) {
            return Err(AuthError::NotFound("There is no such passkey."));
        }
        Ok(())
    }

    /// Starts a username-less sign-in: the browser offers the passkeys it
    /// holds for this site.
    pub async fn begin_passkey_sign_in(&self, client: &ClientInfo) -> AuthResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        self.limit_address(client, AddressBudget::SignIn).await?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|err| AuthError::Store(StoreError::Corrupt(format!("passkey options: {err}"))))?;
        self.new_ceremony(Purpose::SignIn, None, None, &state, &options.public_key)
            .await
    }

    /// Finishes a username-less sign-in: the answer names the passkey and
    /// its user (the user handle, which must be the passkey's owner); a
    /// passkey with user verification is both factors, so the session
    /// starts at once.
    pub async fn passkey_sign_in(
        &self,
        body: &PasskeyAssertion,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<SignedIn> {
        let webauthn = self.webauthn()?;
        self.limit_address(client, AddressBudget::SignIn).await?;
        let ceremony_hash = hash_token(&body.ceremony_id);
        let ceremony = self
            .db
            .peek_ceremony(&ceremony_hash, Purpose::SignIn, self.now())
            .await?
            .ok_or(AuthError::InvalidChallenge)?;
        let credential: PublicKeyCredential = answer(&body.credential)?;
        let fail = |user: Option<Uuid>, why: &'static str| async move {
            let ip = client.ip_string();
            let mut event = event_by(client, &ip, Event::LoginFailed, user, None);
            event.detail = Some(serde_json::json!({ "reason": why, "factor": "passkey" }));
            self.audit(event).await;
            AuthError::InvalidCredentials
        };
        let Ok((user_id, raw_id)) = webauthn.identify_discoverable_authentication(&credential) else {
            return Err(fail(None, "passkey_without_user").await);
        };
        let Some(row) = self
            .db
            .passkey_by_credential(&credential_id(raw_id))
            .await?
            .filter(|row| row.user_id == user_id.to_string())
        else {
            return Err(fail(None, "unknown_passkey").await);
        };
        let mut passkey: Passkey = stored("passkey", &row.passkey)?;
        let state: DiscoverableAuthentication = stored("sign-in", &ceremony.state)?;
        let result = match webauthn.finish_discoverable_authentication_v2(&credential, state, &passkey) {
            Ok(result) => result,
            Err(err) => {
                tracing::info!(error = %err, "passkey sign-in refused");
                return Err(fail(Some(user_id), "passkey_rejected").await);
            }
        };
        passkey.update_credential(&result);
        let user = self.db.find_user(user_id).await?;
        match &user {
            Some(u) if u.is_disabled() => return Err(fail(Some(user_id), "account_disabled").await),
            Some(u) if self.settings.require_verified_email && u.email_verified_at.is_none() => {
                let ip = client.ip_string();
                let mut event = event_by(client, &ip, Event::LoginFailed, Some(user_id), None);
                event.detail = Some(serde_json::json!({ "reason": "email_unverified", "factor": "passkey" }));
                self.audit(event).await;
                return Err(AuthError::EmailUnverified);
            }
            Some(_) => {}
            None => return Err(fail(None, "unknown_passkey").await),
        }
        let json = to_json(&passkey)?;
        let entrant = Entrant::Passkey {
            user_id,
            used: PasskeyUse {
                ceremony_hash: &ceremony_hash,
                purpose: Purpose::SignIn,
                credential_id: &row.credential_id,
                passkey: &json,
                challenge_hash: None,
            },
        };
        let audit = StartAudit {
            event: Event::LoginSucceeded,
            detail: Some(serde_json::json!({
                "factor": "passkey",
                "mode": super::sessions::mode_name(kind),
            })),
        };
        match self.start_session(entrant, kind, client, None, audit).await {
            // The answer was used by a racing request, or the passkey
            // removed or the account disabled meanwhile.
            Err(AuthError::AccountChanged) => Err(AuthError::InvalidChallenge),
            other => other,
        }
    }

    /// A passkey ceremony for the second step of a password sign-in: the
    /// account's passkeys are the ones allowed.
    pub async fn begin_passkey_second_factor(
        &self,
        challenge: &str,
        client: &ClientInfo,
    ) -> AuthResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        self.limit_address(client, AddressBudget::SignIn).await?;
        let challenge_hash = hash_token(challenge);
        let user_id = self
            .db
            .peek_challenge_user(&challenge_hash, self.now())
            .await?
            .ok_or(AuthError::InvalidChallenge)?;
        self.begin_passkey_assertion(webauthn, user_id, Purpose::SecondFactor, Some(&challenge_hash))
            .await
    }

    /// A passkey ceremony for a step-up.
    pub async fn begin_passkey_reauth(&self, auth: &Principal) -> AuthResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        self.begin_passkey_assertion(webauthn, auth.user_id, Purpose::Reauth, None)
            .await
    }

    async fn begin_passkey_assertion(
        &self,
        webauthn: &Webauthn,
        user_id: Uuid,
        purpose: Purpose,
        challenge_hash: Option<&str>,
    ) -> AuthResult<PasskeyOptions> {
        let passkeys: Vec<Passkey> = self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if passkeys.is_empty() {
            return Err(AuthError::NotFound("This account has no passkey."));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|err| AuthError::Store(StoreError::Corrupt(format!("passkey options: {err}"))))?;
        self.new_ceremony(purpose, Some(user_id), challenge_hash, &state, &options.public_key)
            .await
    }

    /// Checks a passkey's answer to a ceremony made for `user_id` and
    /// `purpose` (and, for a second factor, this sign-in challenge). The
    /// use is counted by the transaction that follows.
    pub(crate) async fn check_passkey(
        &self,
        user_id: Uuid,
        body: &PasskeyAssertion,
        purpose: Purpose,
        challenge_hash: Option<&str>,
    ) -> AuthResult<Checked> {
        let webauthn = self.webauthn()?;
        let ceremony_hash = hash_token(&body.ceremony_id);
        let Some(ceremony) = self
            .db
            .peek_ceremony(&ceremony_hash, purpose, self.now())
            .await?
            .filter(|c| c.user_id.as_deref() == Some(user_id.to_string().as_str()))
            .filter(|c| c.challenge_hash.as_deref() == challenge_hash)
        else {
            return Ok(Checked::Wrong);
        };
        let credential: PublicKeyCredential = answer(&body.credential)?;
        let state: PasskeyAuthentication = stored("assertion", &ceremony.state)?;
        let result = match webauthn.finish_passkey_authentication(&credential, &state) {
            Ok(result) => result,
            Err(err) => {
                tracing::info!(error = %err, "passkey answer refused");
                return Ok(Checked::Wrong);
            }
        };
        let Some((row, mut passkey)) = self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .find(|(_, p)| p.cred_id() == result.cred_id())
        else {
            return Ok(Checked::Wrong);
        };
        passkey.update_credential(&result);
        Ok(Checked::Proof(OwnedProof::Passkey {
            ceremony_hash,
            purpose,
            credential_id: row.credential_id,
            passkey: to_json(&passkey)?,
            challenge_hash: challenge_hash.map(str::to_string),
        }))
    }

    /// A step-up with a passkey alone (it is both factors).
    pub async fn reauthenticate_with_passkey(
        &self,
        auth: &Principal,
        body: &PasskeyAssertion,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let user = self.current_user(auth).await?;
        self.limit_account(&user.stored_email()?, client, Some(user.id)).await?;
        // A used, expired or unknown ceremony: start another (400), not a
        // wrong answer.
        let live = self
            .db
            .peek_ceremony(&hash_token(&body.ceremony_id), Purpose::Reauth, self.now())
            .await?;
        if live.is_none() {
            return Err(AuthError::InvalidChallenge);
        }
        let ip = client.ip_string();
        let proof = match self.check_passkey(user.id, body, Purpose::Reauth, None).await? {
            Checked::Proof(proof) => proof,
            Checked::Wrong | Checked::NotEnrolled => {
                let mut event = event_by(client, &ip, Event::ReauthFailed, Some(user.id), Some(auth.session_id));
                event.detail = Some(serde_json::json!({ "reason": "passkey_rejected" }));
                self.audit(event).await;
                return Err(AuthError::field(
                    "credential",
                    "the passkey's answer does not check out",
                ));
            }
        };
        let mut audit = event_by(
            client,
            &ip,
            Event::Reauthenticated,
            Some(user.id),
            Some(auth.session_id),
        );
        audit.detail = Some(serde_json::json!({ "factor": "passkey" }));
        let reauth = Reauth {
            session_id: auth.session_id,
            user_id: user.id,
            expected_hash: &user.password_hash,
            proof: Some(proof.as_proof()),
        };
        if !self.db.reauthenticate(reauth, self.now(), audit).await? {
            return Err(AuthError::InvalidChallenge);
        }
        Ok(())
    }

    async fn audit_passkey_failure(&self, user_id: Uuid, session_id: Option<Uuid>, client: &ClientInfo, why: &str) {
        let ip = client.ip_string();
        let mut event = event_by(client, &ip, Event::SecondFactorFailed, Some(user_id), session_id);
        event.detail = Some(serde_json::json!({ "reason": why }));
        self.audit(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relying_party_needs_a_domain_name() {
        assert!(relying_party("http://localhost:3000").is_some());
        assert!(relying_party("https://auth.example.com").is_some());
        assert!(relying_party("http://127.0.0.1:3000").is_none());
        assert!(relying_party("http://[::1]:3000").is_none());
        assert!(relying_party("not an origin").is_none());
    }

    #[test]
    fn short_names_are_trimmed_and_bounded() {
        assert_eq!(short_name("  Laptop  ").unwrap(), "Laptop");
        assert_eq!(short_name(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in ["", "   ", "a\u{0}b", "line\nbreak"] {
            assert!(short_name(bad).is_err(), "{bad:?}");
        }
        assert!(short_name(&"x".repeat(65)).is_err());
    }
}
