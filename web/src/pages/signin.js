// Sign-in when the server requires API keys: the key is tried on GET /api/projects, kept in
// sessionStorage (it goes when the tab closes) and the user goes on to where they were headed.
import { api, setApiKey } from "../api.js";
import { Field } from "../components/form.js";
import { useTitle } from "../components/status.js";
import { t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { navigate } from "../router.js";

await loadStyle("projects");

// Only a path inside the app: never another origin.
function safeNext(next) {
    return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/signin")
        ? next : "/";
}

export default function SignIn({ query }) {
    useTitle(t("signin.title"));
    const [key, setKey] = useState("");
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);

    async function submit(ev) {
        ev.preventDefault();
        const value = key.trim();
        if (!value) return setError({ field: "key", message: t("signin.empty") });
        setBusy(true);
        setError(null);
        setApiKey(value);
        try {
            await api("GET", "/api/projects");
            navigate(safeNext(query.get("next")), { replace: true });
        } catch (err) {
            setApiKey(null);
            setError({ field: "key", message: err.message, status: err.status });
            setBusy(false);
        }
    }

    return html`<section class="page signin-page">
        <div class="card signin-card">
            <div class="signin-mark" aria-hidden="true">H</div>
            <h1>${t("signin.title")}</h1>
            <p class="muted">${t("signin.lead")}</p>
            <form onSubmit=${submit} novalidate>
                <${Field} label=${t("signin.key")} name="key" error=${error} hint=${t("signin.hint")}>
                    ${(id, d, inv) => html`<input id=${id} type="password" value=${key} autofocus
                        autocomplete="current-password" spellcheck="false" placeholder="hetu_…"
                        aria-describedby=${d} aria-invalid=${inv ? "true" : undefined}
                        onInput=${(ev) => setKey(ev.currentTarget.value)} />`}
                </${Field}>
                <button type="submit" class="btn primary block" disabled=${busy}>
                    ${busy ? t("signin.checking") : t("signin.submit")}</button>
            </form>
            <p class="muted small signin-foot">${t("signin.foot")}</p>
        </div>
    </section>`;
}
