//! Second factors and step-up: TOTP enrolment and removal, recovery codes,
//! the second step of a sign-in, and the fresh authentication sensitive
//! actions need. The rules are in `core::factors`; every use of a factor is
//! counted once by the store's conditional updates.

use latchkey_types::{MfaStatus, RecoveryCodes, TotpEnrolment};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::access::Principal;
use super::client::ClientInfo;
use super::engine::{Engine, event_by};
use super::error::{AuthError, AuthResult};
use super::rate::AddressBudget;
use super::sessions::{SignedIn, StartAudit};
use crate::core::clock::from_ms;
use crate::core::factors;
use crate::core::secrets::{hash_token, random_token};
use crate::store::accounts::Entrant;
use crate::store::audit::Event;
use crate::store::factors::{FactorProof, NewChallenge, Reauth};
use crate::store::passkeys::{PasskeyUse, Purpose};
use crate::store::sessions::SessionKind;
use crate::store::users::UserRecord;

/// How long the step between a right password and a code may take.
pub const CHALLENGE_TTL_SECS: u64 = 300;

/// A second factor as the user typed it, checked against the account.
pub(crate) enum Checked {
    /// The account has no second factor.
    NotEnrolled,
    Proof(OwnedProof),
    /// Wrong, used already, or missing.
    Wrong,
}

pub(crate) enum OwnedProof {
    Totp {
        step: i64,
    },
    RecoveryCode {
        code_hash: String,
    },
    /// A passkey's answer, checked: the ceremony to use up and the
    /// passkey's new state.
    Passkey {
        ceremony_hash: String,
        purpose: Purpose,
        credential_id: String,
        passkey: String,
        challenge_hash: Option<String>,
    },
}

impl OwnedProof {
    pub(crate) fn as_proof(&self) -> FactorProof<'_> {
        match self {
            OwnedProof::Totp { step } => FactorProof::Totp { step: *step },
            OwnedProof::RecoveryCode { code_hash } => FactorProof::RecoveryCode { code_hash },
            OwnedProof::Passkey {
                ceremony_hash,
                purpose,
                credential_id,
                passkey,
                challenge_hash,
            } => FactorProof::Passkey(PasskeyUse {
                ceremony_hash,
                purpose: *purpose,
                credential_id,
                passkey,
                challenge_hash: challenge_hash.as_deref(),
            }),
        }
    }

    fn method(&self) -> &'static str {
        match self {
            OwnedProof::Totp { .. } => "totp",
            OwnedProof::RecoveryCode { .. } => "recovery_code",
            OwnedProof::Passkey { .. } => "passkey",
        }
    }
}

/// What a TOTP secret is sealed for: this user's factor and nothing else.
fn seal_context(user_id: Uuid) -> String {
    format!("totp:{user_id}")
}

impl Engine {
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.now() / 1000).unwrap_or_default()
    }

    /// A confirmed factor's secret, opened; `None` without one.
    async fn totp_secret(&self, user_id: Uuid) -> AuthResult<Option<(Vec<u8>, Option<i64>)>> {
        let Some(row) = self.db.totp_factor(user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_none() {
            return Ok(None);
        }
        let secret = self
            .vault
            .open_bytes(&seal_context(user_id), &row.sealed_secret)
            .ok_or_else(|| crate::store::StoreError::Corrupt(format!("the TOTP secret of {user_id} does not open")))?;
        Ok(Some((secret.to_vec(), row.last_step)))
    }

    /// Checks a typed code against the account's factors: a TOTP code (for
    /// a step newer than the last used) or the shape of a recovery code (its
    /// use is counted in the transaction that follows).
    pub(crate) async fn check_factor(&self, user_id: Uuid, code: Option<&str>) -> AuthResult<Checked> {
        if self.db.second_factor_methods(user_id).await?.is_empty() {
            return Ok(Checked::NotEnrolled);
        }
        let Some(code) = code else {
            return Ok(Checked::Wrong);
        };
        if factors::is_totp_code(code) {
            let Some((secret, last_step)) = self.totp_secret(user_id).await? else {
                return Ok(Checked::Wrong);
            };
            return Ok(match factors::accept_code(&secret, code, self.unix_secs(), last_step) {
                Some(step) => Checked::Proof(OwnedProof::Totp { step }),
                None => Checked::Wrong,
            });
        }
        Ok(match factors::recovery_code_hash(code) {
            Some(code_hash) => Checked::Proof(OwnedProof::RecoveryCode { code_hash }),
            None => Checked::Wrong,
        })
    }

    async fn audit_factor_failure(&self, user_id: Uuid, session_id: Option<Uuid>, client: &ClientInfo, why: &str) {
        let ip = client.ip_string();
        let mut event = event_by(client, &ip, Event::SecondFactorFailed, Some(user_id), session_id);
        event.detail = Some(serde_json::json!({ "reason": why }));
        self.audit(event).await;
    }

    /// After a right password: if the account has a second factor (the
    /// `methods` read with it), the sign-in stops here with a challenge
    /// (`MfaRequired`); otherwise nothing happens.
    pub(crate) async fn challenge_if_enrolled(
        &self,
        user: &UserRecord,
        methods: Vec<&'static str>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        if methods.is_empty() {
            return Ok(());
        }
        let challenge = random_token();
        let id_hash = hash_token(challenge.expose_secret());
        let now = self.now();
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::LoginSecondFactorRequired, Some(user.id), None);
        self.db
            .create_challenge(
                NewChallenge {
                    id_hash: &id_hash,
                    user_id: user.id,
                    kind,
                    password_hash: &user.password_hash,
                    expires_at: now + CHALLENGE_TTL_SECS as i64 * 1000,
                },
                now,
                audit,
            )
            .await?;
        Err(AuthError::MfaRequired {
            challenge,
            expires_in: CHALLENGE_TTL_SECS,
            methods,
        })
    }

    /// The second step of a sign-in: the challenge and a code (or a
    /// passkey's answer) start the session of the kind the challenge was
    /// made for. Wrong codes count against the account like wrong
    /// passwords; the challenge survives a typo but not its five minutes,
    /// and is used up by the session.
    pub async fn complete_second_factor(
        &self,
        challenge: &str,
        answer: FactorAnswer<'_>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> AuthResult<SignedIn> {
        self.limit_address(client, AddressBudget::SignIn).await?;
        let challenge_hash = hash_token(challenge);
        let Some(user_id) = self.db.peek_challenge(&challenge_hash, kind, self.now()).await? else {
            return Err(AuthError::InvalidChallenge);
        };
        let user = self.db.find_user(user_id).await?.ok_or(AuthError::InvalidChallenge)?;
        let bucket = self.limit_account(&user.stored_email()?, client, Some(user.id)).await?;
        let checked = match answer {
            FactorAnswer::Code(code) => self.check_factor(user.id, Some(code)).await?,
            FactorAnswer::Passkey(assertion) => {
                self.check_passkey(user.id, assertion, Purpose::SecondFactor, Some(&challenge_hash))
                    .await?
            }
        };
        let proof = match checked {
            Checked::Proof(proof) => proof,
            Checked::Wrong | Checked::NotEnrolled => {
                let why = match answer {
                    FactorAnswer::Code(_) => "wrong_code",
                    FactorAnswer::Passkey(_) => "passkey_rejected",
                };
                self.audit_factor_failure(user.id, None, client, why).await;
                return Err(AuthError::InvalidCode);
            }
        };
        let entrant = Entrant::SecondFactor {
            challenge_hash: &challenge_hash,
            proof: proof.as_proof(),
        };
        let audit = StartAudit {
            event: Event::LoginSucceeded,
            detail: Some(serde_json::json!({
                "factor": proof.method(),
                "mode": super::sessions::mode_name(kind),
            })),
        };
        match self.start_session(entrant, kind, client, Some(&bucket), audit).await {
            Err(AuthError::AccountChanged) => {
                // The code or the challenge was used by a racing request,
                // or the account changed: nothing was done.
                self.audit_factor_failure(user.id, None, client, "used").await;
                Err(AuthError::InvalidCode)
            }
            other => other,
        }
    }

    /// Sensitive actions call this first: the session's last full
    /// authentication must be within `LATCHKEY_REAUTH_SECS`.
    pub async fn require_recent_auth(&self, auth: &Principal) -> AuthResult<()> {
        let at = self
            .db
            .session_authenticated_at(auth.session_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if self.now() - at > self.settings.reauth.as_millis() as i64 {
            return Err(AuthError::ReauthRequired);
        }
        Ok(())
    }

    /// A fresh full authentication for this session: the password, and a
    /// code when the account has a second factor. Rate limited like a
    /// sign-in.
    pub async fn reauthenticate(
        &self,
        auth: &Principal,
        password: &str,
        code: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let user = self.current_user(auth).await?;
        self.limit_account(&user.stored_email()?, client, Some(user.id)).await?;
        let ip = client.ip_string();
        let refuse = |why: &'static str| {
            let mut event = event_by(client, &ip, Event::ReauthFailed, Some(user.id), Some(auth.session_id));
            event.detail = Some(serde_json::json!({ "reason": why }));
            event
        };
        if !self.hasher.verify(password, Some(&user.password_hash)).await? {
            self.audit(refuse("wrong_password")).await;
            return Err(AuthError::field("password", "is not your current password"));
        }
        let proof = match self.check_factor(user.id, code).await? {
            Checked::NotEnrolled => None,
            Checked::Proof(proof) => Some(proof),
            Checked::Wrong => {
                self.audit(refuse("wrong_code")).await;
                return Err(code_needed());
            }
        };
        let audit = event_by(
            client,
            &ip,
            Event::Reauthenticated,
            Some(user.id),
            Some(auth.session_id),
        );
        let reauth = Reauth {
            session_id: auth.session_id,
            user_id: user.id,
            expected_hash: &user.password_hash,
            proof: proof.as_ref().map(OwnedProof::as_proof),
        };
        if !self.db.reauthenticate(reauth, self.now(), audit).await? {
            return Err(AuthError::field("code", "that code was used already"));
        }
        Ok(())
    }

    /// The caller's second factors.
    pub async fn mfa_status(&self, auth: &Principal) -> AuthResult<MfaStatus> {
        let confirmed = self
            .db
            .totp_factor(auth.user_id)
            .await?
            .filter(|f| f.confirmed_at.is_some());
        let passkeys = self.passkey_list(auth.user_id).await?;
        let left = if confirmed.is_some() || !passkeys.is_empty() {
            self.db.recovery_codes_left(auth.user_id).await?
        } else {
            0
        };
        Ok(MfaStatus {
            totp_enabled_at: confirmed.as_ref().and_then(|f| f.confirmed_at).map(from_ms),
            totp_last_used_at: confirmed.as_ref().and_then(|f| f.last_used_at).map(from_ms),
            recovery_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
            passkeys,
        })
    }

    /// Starts an authenticator-app enrolment (a recent authentication
    /// needed): a new secret, sealed; it counts once a code confirms it.
    pub async fn begin_totp(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<TotpEnrolment> {
        self.require_recent_auth(auth).await?;
        let user = self.current_user(auth).await?;
        let secret = factors::new_secret();
        let sealed = self.vault.seal_bytes(&seal_context(user.id), &secret);
        let ip = client.ip_string();
        let audit = event_by(
            client,
            &ip,
            Event::TotpEnrolmentStarted,
            Some(user.id),
            Some(auth.session_id),
        );
        if !self.db.begin_totp(user.id, &sealed, self.now(), audit).await? {
            return Err(AuthError::FactorExists);
        }
        let otpauth_uri = factors::otpauth_uri(&secret, &user.email)
            .ok_or_else(|| crate::store::StoreError::Corrupt("an otpauth URI for a valid secret".into()))?;
        let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
            .map(|qr| {
                qr.render::<qrcode::render::svg::Color>()
                    .min_dimensions(200, 200)
                    .quiet_zone(true)
                    .build()
            })
            .unwrap_or_default();
        Ok(TotpEnrolment {
            secret: factors::secret_base32(&secret),
            otpauth_uri,
            qr_svg,
        })
    }

    /// Confirms the enrolment with a code from the app; answers the ten
    /// recovery codes, shown this once.
    pub async fn confirm_totp(&self, auth: &Principal, code: &str, client: &ClientInfo) -> AuthResult<RecoveryCodes> {
        self.require_recent_auth(auth).await?;
        let user = self.current_user(auth).await?;
        let Some(row) = self.db.totp_factor(user.id).await?.filter(|f| f.confirmed_at.is_none()) else {
            return Err(AuthError::NotFound("There is no authenticator enrolment to confirm."));
        };
        let secret = self
            .vault
            .open_bytes(&seal_context(user.id), &row.sealed_secret)
            .ok_or_else(|| {
                crate::store::StoreError::Corrupt(format!("the TOTP secret of {} does not open", user.id))
            })?;
        let Some(step) = factors::accept_code(&secret, code, self.unix_secs(), None) else {
            self.audit_factor_failure(user.id, Some(auth.session_id), client, "wrong_enrolment_code")
                .await;
            return Err(AuthError::field("code", "is not the code the app shows now"));
        };
        let codes = factors::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|(_, hash)| hash.clone()).collect();
        let ip = client.ip_string();
        let audit = event_by(client, &ip, Event::TotpEnabled, Some(user.id), Some(auth.session_id));
        if !self.db.confirm_totp(user.id, step, &hashes, self.now(), audit).await? {
            return Err(AuthError::AccountChanged);
        }
        Ok(shown(codes))
    }

    /// Removes the authenticator app and the recovery codes (a recent
    /// authentication needed); every other session ends.
    pub async fn disable_totp(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<()> {
        self.require_recent_auth(auth).await?;
        let ip = client.ip_string();
        let audit = event_by(
            client,
            &ip,
            Event::TotpDisabled,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        let removed = self
            .db
            .remove_totp(auth.user_id, Some(auth.session_id), self.now(), audit)
            .await?;
        if !self.publish(removed) {
            return Err(AuthError::NotFound("There is no authenticator app to remove."));
        }
        Ok(())
    }

    /// Ten new recovery codes in place of the old (a recent authentication
    /// needed); every other session ends.
    pub async fn regenerate_recovery_codes(&self, auth: &Principal, client: &ClientInfo) -> AuthResult<RecoveryCodes> {
        self.require_recent_auth(auth).await?;
        let codes = factors::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|(_, hash)| hash.clone()).collect();
        let ip = client.ip_string();
        let audit = event_by(
            client,
            &ip,
            Event::RecoveryCodesRegenerated,
            Some(auth.user_id),
            Some(auth.session_id),
        );
        let replaced = self
            .db
            .replace_recovery_codes(auth.user_id, &hashes, Some(auth.session_id), self.now(), audit)
            .await?;
        if !self.publish(replaced) {
            return Err(AuthError::NotFound(
                "Recovery codes come with a second factor; set up an authenticator app or a passkey first.",
            ));
        }
        Ok(shown(codes))
    }
}

/// What answers a sign-in challenge.
#[derive(Clone, Copy)]
pub enum FactorAnswer<'a> {
    /// A TOTP code or a recovery code.
    Code(&'a str),
    Passkey(&'a latchkey_types::PasskeyAssertion),
}

/// 422 on `code`: the account has a second factor and the code was
/// missing, wrong or used.
pub(crate) fn code_needed() -> AuthError {
    AuthError::field(
        "code",
        "enter the code from your authenticator app (or an unused recovery code)",
    )
}

impl Engine {
    /// An administrator removes a user's second factors (audited); every
    /// session of the user ends.
    pub async fn admin_reset_factors(&self, admin: &Principal, user_id: Uuid, client: &ClientInfo) -> AuthResult<()> {
        self.require_recent_auth(admin).await?;
        let ip = client.ip_string();
        let mut audit = event_by(
            client,
            &ip,
            Event::AdminFactorsReset,
            Some(admin.user_id),
            Some(admin.session_id),
        );
        audit.user_id = Some(user_id);
        let keep = (user_id == admin.user_id).then_some(admin.session_id);
        let removed = self.db.remove_all_factors(user_id, keep, self.now(), audit).await?;
        if !self.publish(removed) {
            return Err(AuthError::NotFound("This user has no second factor."));
        }
        Ok(())
    }
}

pub(crate) fn shown(codes: Vec<(SecretString, String)>) -> RecoveryCodes {
    RecoveryCodes {
        codes: codes
            .into_iter()
            .map(|(code, _)| code.expose_secret().to_string())
            .collect(),
    }
}
