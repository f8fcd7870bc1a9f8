//! Form plumbing shared by every page: a labelled field that shows the
//! server's `fields` errors next to it, a summary alert (with the
//! `Retry-After` countdown when rate-limited), and a submit button that is
//! disabled while submitting, while cooling down and before hydration (a
//! form submitted natively would send the password nowhere useful).

use latchkey_types::FieldErrors;
use leptos::prelude::*;

use super::cooldown::Cooldown;
use crate::api::ApiFailure;

#[derive(Clone, Copy)]
pub struct FormState {
    busy: RwSignal<bool>,
    hydrated: RwSignal<bool>,
    failure: RwSignal<Option<ApiFailure>>,
    fields: RwSignal<FieldErrors>,
    cooldown: Cooldown,
}

impl FormState {
    pub fn new() -> Self {
        let hydrated = RwSignal::new(false);
        // Effects run only in the browser, once the form is live.
        Effect::new(move |_| hydrated.set(true));
        FormState {
            busy: RwSignal::new(false),
            hydrated,
            failure: RwSignal::new(None),
            fields: RwSignal::new(FieldErrors::new()),
            cooldown: Cooldown::new(),
        }
    }

    /// Starts a submission; false if one is already running.
    pub fn begin(&self) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.busy.set(true);
        self.failure.set(None);
        self.fields.set(FieldErrors::new());
        true
    }

    pub fn finish(&self, result: Result<(), ApiFailure>) {
        self.busy.set(false);
        if let Err(failure) = result {
            if let Some(secs) = failure.retry_after() {
                self.cooldown.start(secs);
            }
            self.fields.set(failure.fields());
            self.failure.set(Some(failure));
        }
    }

    /// Ends a submission the page refused before sending: each field shows
    /// its problems, as if the server had said them.
    pub fn refuse(&self, fields: FieldErrors) {
        self.busy.set(false);
        self.fields.set(fields);
    }

    /// Forgets the last submission's problems (the form was closed
    /// without sending it).
    pub fn clear(&self) {
        self.failure.set(None);
        self.fields.set(FieldErrors::new());
    }

    pub fn failure(&self) -> Option<ApiFailure> {
        self.failure.get()
    }

    pub fn errors(&self, field: &'static str) -> Signal<Vec<String>> {
        let fields = self.fields;
        Signal::derive(move || fields.with(|f| f.get(field).cloned().unwrap_or_default()))
    }

    pub fn busy(&self) -> bool {
        self.busy.get()
    }

    fn can_submit(&self) -> bool {
        self.hydrated.get() && !self.busy.get() && !self.cooldown.active()
    }
}

/// A labelled input. Problems read "<Label> <problem>.", linked to the
/// input with `aria-describedby` so screen readers announce them.
#[component]
pub fn TextField(
    label: &'static str,
    id: &'static str,
    value: RwSignal<String>,
    errors: Signal<Vec<String>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let has_errors = move || errors.with(|e| !e.is_empty());
    let has_hint = hint.is_some();
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if has_errors() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|text| view! { <p class="hint" id=hint_id>{text}</p> })}
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                required=required
                aria-invalid=move || has_errors().to_string()
                aria-describedby=described_by
                bind:value=value
            />
            <Show when=has_errors>
                <p class="field-error" id=error_id.clone()>
                    {move || {
                        errors.get().iter().map(|problem| format!("{label} {problem}.")).collect::<Vec<_>>().join(" ")
                    }}
                </p>
            </Show>
        </div>
    }
}

/// The summary of a failed submission, announced to screen readers.
#[component]
pub fn FormAlert(form: FormState) -> impl IntoView {
    move || {
        form.failure().map(|failure| {
            if failure.is(latchkey_types::ErrorCode::ReauthRequired) {
                // A sensitive action: confirm it is you, then it is sent again.
                return view! { <super::step_up::StepUp/> }.into_any();
            }
            let text = match failure.retry_after() {
                Some(_) if form.cooldown.active() => format!(
                    "Too many attempts. Please wait {} s before trying again.",
                    form.cooldown.seconds_left()
                ),
                Some(_) => "Too many attempts. You can try again now.".to_string(),
                None => failure.message(),
            };
            view! { <p class="alert" role="alert">{text}</p> }.into_any()
        })
    }
}

/// `testid` names the button for the end-to-end tests where its text
/// alone would be ambiguous.
#[component]
pub fn SubmitButton(
    form: FormState,
    label: &'static str,
    busy_label: &'static str,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    view! {
        <button type="submit" data-testid=testid disabled=move || !form.can_submit()
            aria-busy=move || form.busy().to_string()>
            {move || if form.busy() { busy_label } else { label }}
        </button>
    }
}

/// A success message, announced politely.
#[component]
pub fn Notice(message: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|text| view! { <p class="notice" role="status">{text}</p> })
    }
}
