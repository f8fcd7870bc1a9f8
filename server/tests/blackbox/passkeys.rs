//! Passkeys end to end, on SQLite and PostgreSQL, with a real software
//! authenticator (webauthn-authenticator-rs's `SoftPasskey`: P-256 keys,
//! signed authenticator data, client data for the origin it is given):
//! registration, username-less sign-in in both modes, a passkey as the
//! second step of a password sign-in and as step-up, rename and removal —
//! and the answers that must be refused (replayed, for another user, from
//! another origin, for another challenge).

use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse};

use crate::common::{Backend, GOOD_PASSWORD, REFRESH_COOKIE, SignedIn, TestApp, assert_error, bare_client, set_cookie};

const EMAIL: &str = "ada@example.com";
use crate::common::SESSION_COOKIE;

/// A server whose public origin is `http://localhost:<port>`: browsers (and
/// webauthn-rs) want a domain name for a relying party.
async fn spawn(backend: Backend, flags: &[&str]) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("--public-origin=http://localhost:{port}");
    let mut all = vec!["--access-ttl-secs=3600", origin.as_str()];
    all.extend_from_slice(flags);
    TestApp::spawn_unlimited(backend, &all).await
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.state.settings.public_origin).unwrap()
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = bare_client().post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn options(response: reqwest::Response) -> (String, Value) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    (
        body["ceremony_id"].as_str().unwrap().to_string(),
        body["public_key"].clone(),
    )
}

/// A phone or laptop holding passkeys. The software authenticator cannot
/// store discoverable credentials, so this remembers what a resident-key
/// authenticator would: each credential id with its user handle, to answer
/// a request that lists no credentials (and to fill `userHandle`, which a
/// discoverable credential returns and signatures do not cover).
struct Device {
    authenticator: SoftPasskey,
    origin: Url,
    held: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Device {
    fn new(origin: Url) -> Device {
        // `true`: it claims user verification (a PIN or a fingerprint).
        Device {
            authenticator: SoftPasskey::new(true),
            origin,
            held: Vec::new(),
        }
    }

    /// `navigator.credentials.create` on the options' `public_key`.
    fn create(&mut self, public_key: &Value) -> Value {
        let mut request: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).expect("creation options");
        let selection = request.public_key.authenticator_selection.as_mut().unwrap();
        assert!(selection.require_resident_key, "a discoverable credential is asked for");
        // The software authenticator refuses resident keys; `held` stands in.
        selection.require_resident_key = false;
        let user_handle = request.public_key.user.id.clone();
        let credential = self
            .authenticator
            .do_registration(self.origin.clone(), request)
            .expect("the authenticator creates a credential");
        self.held.push((credential.raw_id.to_vec(), user_handle));
        serde_json::to_value(&credential).unwrap()
    }

    /// `navigator.credentials.get` on the options' `public_key`, with the
    /// first credential held (the only one, in these tests).
    fn get(&mut self, public_key: &Value) -> Value {
        let mut request: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).expect("request options");
        let (id, user_handle) = self.held.first().cloned().expect("a passkey on the device");
        if request.public_key.allow_credentials.is_empty() {
            request.public_key.allow_credentials = vec![AllowCredentials {
                type_: "public-key".into(),
                id: id.clone(),
                transports: None,
            }];
        }
        let mut credential: PublicKeyCredential = self
            .authenticator
            .do_authentication(self.origin.clone(), request)
            .expect("the authenticator signs");
        credential.response.user_handle = Some(user_handle);
        serde_json::to_value(&credential).unwrap()
    }
}

/// Adds a passkey to the signed-in account; returns the answer.
async fn add_passkey(app: &TestApp, token: &str, device: &mut Device, name: &str) -> Value {
    let (ceremony, public_key) = options(post(app, "/api/me/mfa/passkeys/options", Some(token), json!({})).await).await;
    let credential = device.create(&public_key);
    let response = post(
        app,
        "/api/me/mfa/passkeys",
        Some(token),
        json!({ "ceremony_id": ceremony, "name": name, "credential": credential }),
    )
    .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// A username-less sign-in's answer: the ceremony and the signed assertion.
async fn passkey_answer(app: &TestApp, device: &mut Device) -> Value {
    let (ceremony, public_key) = options(post(app, "/api/auth/passkey/options", None, json!({})).await).await;
    assert_eq!(
        public_key["allowCredentials"],
        json!([]),
        "no address, no credential list"
    );
    assert_eq!(public_key["userVerification"], "required");
    json!({ "ceremony_id": ceremony, "credential": device.get(&public_key) })
}

async fn mfa_status(app: &TestApp, token: &str) -> Value {
    app.get_with_bearer("/api/me/mfa", token).await.json().await.unwrap()
}

async fn a_passkey_signs_in_without_an_address_in_both_modes(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let mut phone = Device::new(origin(&app));

    let (_, public_key) =
        options(post(&app, "/api/me/mfa/passkeys/options", Some(&ada.access_token), json!({})).await).await;
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(public_key["user"]["name"], EMAIL);

    let added = add_passkey(&app, &ada.access_token, &mut phone, "  Phone  ").await;
    assert_eq!(added["passkey"]["name"], "Phone", "trimmed");
    let codes = added["recovery_codes"]["codes"]
        .as_array()
        .expect("first factor: recovery codes");
    assert_eq!(codes.len(), 10);
    let status = mfa_status(&app, &ada.access_token).await;
    assert_eq!(status["passkeys"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["passkeys"][0]["name"], "Phone");
    assert!(status["passkeys"][0]["last_used_at"].is_null());
    assert_eq!(status["recovery_codes_left"], 10);

    // JWT mode: the answer alone signs in; the token is Ada's.
    let answer = passkey_answer(&app, &mut phone).await;
    let response = post(&app, "/api/auth/passkey/login", None, answer.clone()).await;
    let signed_in = SignedIn::from_response(response).await;
    let me: Value = app
        .get_with_bearer("/api/me", &signed_in.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], EMAIL);
    assert!(app.refresh_with(&signed_in.refresh).await.status().is_success());

    // The same answer again: its ceremony is used up.
    assert_error(
        post(&app, "/api/auth/passkey/login", None, answer).await,
        400,
        "invalid_token",
    )
    .await;

    // Session mode: the same passkey, a session cookie.
    let answer = passkey_answer(&app, &mut phone).await;
    let response = post(&app, "/api/session/passkey/login", None, answer).await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response, SESSION_COOKIE).is_some(), "a session cookie");
    assert!(set_cookie(&response, REFRESH_COOKIE).is_none());

    let status = mfa_status(&app, &ada.access_token).await;
    assert!(!status["passkeys"][0]["last_used_at"].is_null(), "{status}");
    let logins = app
        .state
        .db
        .audit_events(50, None, Some("login.succeeded"), Some(ada.body.user.id))
        .await
        .unwrap();
    let by_passkey = logins
        .iter()
        .filter(|e| e.detail.as_ref().is_some_and(|d| d["factor"] == "passkey"))
        .count();
    assert_eq!(by_passkey, 2);
}

async fn answers_that_do_not_check_out_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    let mut phone = Device::new(origin(&app));
    add_passkey(&app, &ada.access_token, &mut phone, "Phone").await;

    // Ada's passkey claiming to be Bob's (the user handle is not signed).
    let mut answer = passkey_answer(&app, &mut phone).await;
    answer["credential"]["response"]["userHandle"] = json!(b64(bob.body.user.id.as_bytes()));
    assert_error(
        post(&app, "/api/auth/passkey/login", None, answer).await,
        401,
        "invalid_credentials",
    )
    .await;

    // Signed on another origin (a look-alike page under the same RP id):
    // the client data names it, and the server accepts only its own.
    let mut phished = Device {
        authenticator: std::mem::replace(&mut phone.authenticator, SoftPasskey::new(true)),
        origin: Url::parse("https://login.localhost").unwrap(),
        held: phone.held.clone(),
    };
    let answer = passkey_answer(&app, &mut phished).await;
    assert_error(
        post(&app, "/api/auth/passkey/login", None, answer).await,
        401,
        "invalid_credentials",
    )
    .await;
    phone.authenticator = phished.authenticator;

    // A ceremony that was never issued, and a credential that is not one.
    let mut answer = passkey_answer(&app, &mut phone).await;
    let real_ceremony = answer["ceremony_id"].clone();
    answer["ceremony_id"] = json!("not-a-ceremony");
    assert_error(
        post(&app, "/api/auth/passkey/login", None, answer.clone()).await,
        400,
        "invalid_token",
    )
    .await;
    answer["ceremony_id"] = real_ceremony;
    let mut garbled = answer.clone();
    garbled["credential"] = json!({ "id": 1 });
    assert_error(
        post(&app, "/api/auth/passkey/login", None, garbled).await,
        422,
        "validation_failed",
    )
    .await;
    // A forged signature.
    let mut forged = answer.clone();
    forged["credential"]["response"]["signature"] = json!(b64(&[0u8; 70]));
    assert_error(
        post(&app, "/api/auth/passkey/login", None, forged).await,
        401,
        "invalid_credentials",
    )
    .await;
    // The ceremony survived the refusals: the real answer still works once.
    SignedIn::from_response(post(&app, "/api/auth/passkey/login", None, answer).await).await;

    // A registration ceremony is Ada's: Bob cannot finish it, and the same
    // credential cannot be added twice.
    let (ceremony, public_key) =
        options(post(&app, "/api/me/mfa/passkeys/options", Some(&ada.access_token), json!({})).await).await;
    let mut laptop = Device::new(origin(&app));
    let credential = laptop.create(&public_key);
    let body = json!({ "ceremony_id": ceremony, "name": "Laptop", "credential": credential });
    assert_error(
        post(&app, "/api/me/mfa/passkeys", Some(&bob.access_token), body.clone()).await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(
        post(&app, "/api/me/mfa/passkeys", Some(&ada.access_token), body.clone())
            .await
            .status(),
        201
    );
    assert_error(
        post(&app, "/api/me/mfa/passkeys", Some(&ada.access_token), body).await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(
        mfa_status(&app, &ada.access_token).await["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(mfa_status(&app, &bob.access_token).await["passkeys"], json!([]));
    // A bad name changes nothing.
    let (ceremony, public_key) =
        options(post(&app, "/api/me/mfa/passkeys/options", Some(&ada.access_token), json!({})).await).await;
    let credential = Device::new(origin(&app)).create(&public_key);
    let body = json!({ "ceremony_id": ceremony, "name": " ", "credential": credential });
    let error = assert_error(
        post(&app, "/api/me/mfa/passkeys", Some(&ada.access_token), body).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(error["fields"]["name"].is_array(), "{error}");
    assert_eq!(
        mfa_status(&app, &ada.access_token).await["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn a_passkey_is_a_second_factor_and_a_step_up(backend: Backend) {
    let app = spawn(backend, &["--reauth-secs=600"]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    let mut phone = Device::new(origin(&app));
    let added = add_passkey(&app, &ada.access_token, &mut phone, "Phone").await;
    let passkey_id = added["passkey"]["id"].as_str().unwrap().to_string();
    let codes: Vec<String> = added["recovery_codes"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();

    // A password alone no longer signs in: a challenge a passkey answers.
    let challenge = |app: &TestApp| {
        let app_url = app.url("/api/auth/login");
        async move {
            let response = bare_client()
                .post(app_url)
                .json(&json!({ "email": EMAIL, "password": GOOD_PASSWORD }))
                .send()
                .await
                .unwrap();
            let body = assert_error(response, 401, "mfa_required").await;
            assert_eq!(body["mfa"]["methods"], json!(["passkey", "recovery_code"]));
            body["mfa"]["challenge_id"].as_str().unwrap().to_string()
        }
    };
    let first = challenge(&app).await;
    let second = challenge(&app).await;
    let (ceremony, public_key) = options(
        post(
            &app,
            "/api/auth/mfa/passkey/options",
            None,
            json!({ "challenge_id": first }),
        )
        .await,
    )
    .await;
    assert_eq!(
        public_key["allowCredentials"].as_array().unwrap().len(),
        1,
        "the account's passkey"
    );
    let answer = json!({ "ceremony_id": ceremony, "credential": phone.get(&public_key) });
    // The answer belongs to the first challenge, not the second.
    assert_error(
        post(
            &app,
            "/api/auth/mfa/verify",
            None,
            json!({ "challenge_id": second, "passkey": answer }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    // Neither a code nor a passkey, or both: 422.
    assert_error(
        post(&app, "/api/auth/mfa/verify", None, json!({ "challenge_id": first })).await,
        422,
        "validation_failed",
    )
    .await;
    let signed_in = SignedIn::from_response(
        post(
            &app,
            "/api/auth/mfa/verify",
            None,
            json!({ "challenge_id": first, "passkey": answer }),
        )
        .await,
    )
    .await;
    assert_error(
        post(
            &app,
            "/api/auth/mfa/verify",
            None,
            json!({ "challenge_id": first, "passkey": answer }),
        )
        .await,
        400,
        "invalid_token",
    )
    .await;
    // A recovery code also answers (session mode here).
    let response = post(
        &app,
        "/api/session/login",
        None,
        json!({ "email": EMAIL, "password": GOOD_PASSWORD }),
    )
    .await;
    let session_challenge = assert_error(response, 401, "mfa_required").await["mfa"]["challenge_id"].clone();
    let response = post(
        &app,
        "/api/session/mfa/verify",
        None,
        json!({ "challenge_id": session_challenge, "code": codes[0] }),
    )
    .await;
    assert_eq!(response.status(), 200);

    // Step-up: past LATCHKEY_REAUTH_SECS removal needs a fresh proof; the
    // passkey alone is one.
    app.clock.advance(std::time::Duration::from_secs(601));
    let remove = |token: String| {
        let url = app.url(&format!("/api/me/mfa/passkeys/{passkey_id}"));
        async move { bare_client().delete(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_error(remove(signed_in.access_token.clone()).await, 401, "reauth_required").await;
    let (ceremony, public_key) = options(
        post(
            &app,
            "/api/me/reauth/passkey/options",
            Some(&signed_in.access_token),
            json!({}),
        )
        .await,
    )
    .await;
    let answer = json!({ "ceremony_id": ceremony, "credential": phone.get(&public_key) });
    let response = post(
        &app,
        "/api/me/reauth/passkey",
        Some(&signed_in.access_token),
        answer.clone(),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_error(
        post(&app, "/api/me/reauth/passkey", Some(&signed_in.access_token), answer).await,
        400,
        "invalid_token",
    )
    .await;

    // Rename (no step-up needed), then remove: Ada's other sessions end.
    let response = bare_client()
        .patch(app.url(&format!("/api/me/mfa/passkeys/{passkey_id}")))
        .bearer_auth(&signed_in.access_token)
        .json(&json!({ "name": "Old phone" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        mfa_status(&app, &signed_in.access_token).await["passkeys"][0]["name"],
        "Old phone"
    );
    assert_eq!(remove(signed_in.access_token.clone()).await.status(), 204);
    assert_error(
        app.get_with_bearer("/api/me", &ada.access_token).await,
        401,
        "invalid_token",
    )
    .await;
    let status = mfa_status(&app, &signed_in.access_token).await;
    assert_eq!(status["passkeys"], json!([]));
    assert_eq!(status["recovery_codes_left"], 0, "no factor left, no codes: {status}");
    // A password alone signs in again.
    app.login(EMAIL, GOOD_PASSWORD).await;
    let removed = app
        .state
        .db
        .audit_events(10, None, Some("mfa.passkey_removed"), Some(ada.body.user.id))
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
}

async fn admins_see_and_reset_passkeys_and_one_counts_as_their_second_factor(backend: Backend) {
    let app = spawn(backend, &["--require-mfa-for-admins=true"]).await;
    app.register(EMAIL, GOOD_PASSWORD).await;
    sqlx::query("UPDATE users SET role = 'admin'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let admin = app.login(EMAIL, GOOD_PASSWORD).await;
    assert_error(
        app.get_with_bearer("/api/admin/users", &admin.access_token).await,
        403,
        "forbidden",
    )
    .await;
    let mut admin_key = Device::new(origin(&app));
    add_passkey(&app, &admin.access_token, &mut admin_key, "Admin key").await;
    assert_eq!(
        app.get_with_bearer("/api/admin/users", &admin.access_token)
            .await
            .status(),
        200
    );

    let bob = app.register("bob@example.com", GOOD_PASSWORD).await;
    let mut bobs_phone = Device::new(origin(&app));
    add_passkey(&app, &bob.access_token, &mut bobs_phone, "Bob's phone").await;
    let list: Value = app
        .get_with_bearer("/api/admin/users?q=bob", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    let factors = &list["users"][0]["factors"];
    assert_eq!(factors["passkeys"][0]["name"], "Bob's phone", "{list}");
    assert!(factors["totp_enabled_at"].is_null());
    assert_eq!(factors["recovery_codes_left"], 10);

    let reset = bare_client()
        .delete(app.url(&format!("/api/admin/users/{}/mfa", bob.body.user.id)))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_error(
        app.get_with_bearer("/api/me", &bob.access_token).await,
        401,
        "invalid_token",
    )
    .await;
    // The passkey no longer signs Bob in; his password alone does.
    let answer = passkey_answer(&app, &mut bobs_phone).await;
    assert_error(
        post(&app, "/api/auth/passkey/login", None, answer).await,
        401,
        "invalid_credentials",
    )
    .await;
    let bob = app.login("bob@example.com", GOOD_PASSWORD).await;
    let status = mfa_status(&app, &bob.access_token).await;
    assert_eq!(status["passkeys"], json!([]), "{status}");
    assert_eq!(status["recovery_codes_left"], 0);
}

async fn passkeys_are_off_without_a_domain_name(backend: Backend) {
    let app = TestApp::spawn_unlimited(backend, &[]).await;
    let ada = app.register(EMAIL, GOOD_PASSWORD).await;
    assert_error(
        post(&app, "/api/auth/passkey/options", None, json!({})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        post(&app, "/api/me/mfa/passkeys/options", Some(&ada.access_token), json!({})).await,
        404,
        "not_found",
    )
    .await;
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

crate::both_backends!(
    a_passkey_signs_in_without_an_address_in_both_modes,
    answers_that_do_not_check_out_are_refused_and_change_nothing,
    a_passkey_is_a_second_factor_and_a_step_up,
    admins_see_and_reset_passkeys_and_one_counts_as_their_second_factor,
    passkeys_are_off_without_a_domain_name,
);
