// Choosing a model: the provider (from GET /api/providers, configured ones first) and the
// model's name, typed or picked from the provider's known models. The choice is {provider,
// model_name}, as the API names them, and is remembered per purpose in localStorage.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { html, loadStyle, useEffect, useState } from "../lib.js";
import { fieldId } from "./form.js";

await loadStyle("model-picker");

let providersLoad = null;

// The providers list, fetched once per page load; null when the server cannot say.
export function loadProviders() {
    if (!providersLoad) {
        providersLoad = api("GET", "/api/providers").then(
            (r) => r.providers || [],
            () => {
                providersLoad = null;
                return null;
            },
        );
    }
    return providersLoad;
}

function stored(key) {
    try {
        const v = JSON.parse(localStorage.getItem(key) || "null");
        if (v && typeof v.provider === "string" && typeof v.model_name === "string") return v;
    } catch {
        /* a damaged entry is forgotten */
    }
    return { provider: "", model_name: "" };
}

// [choice, setChoice] for one purpose ("input", "output", ...), kept across visits.
export function useModelChoice(purpose) {
    const key = `hetu.model.${purpose}`;
    const [choice, setChoice] = useState(() => stored(key));
    const set = (next) => {
        setChoice(next);
        localStorage.setItem(key, JSON.stringify(next));
    };
    return [choice, set];
}

export function modelChosen(choice) {
    return Boolean(choice && choice.provider.trim() && choice.model_name.trim());
}

export function ModelPicker({ value, onChange, legend, error }) {
    const [providers, setProviders] = useState(undefined);
    const [ids] = useState(() => ({
        provider: fieldId("provider"), model: fieldId("model_name"), list: fieldId("models"),
    }));
    useEffect(() => {
        let live = true;
        loadProviders().then((list) => live && setProviders(list));
        return () => (live = false);
    }, []);
    const sorted = providers
        ? [...providers].sort((a, b) => Number(b.configured) - Number(a.configured))
        : null;
    // a first visit starts on the first configured provider and its first known model
    useEffect(() => {
        if (!sorted || value.provider) return;
        const first = sorted.find((p) => p.configured) || sorted[0];
        if (first) onChange({ provider: first.name, model_name: first.models?.[0]?.name || "" });
    }, [providers]); // eslint-disable-line react-hooks/exhaustive-deps
    const current = sorted?.find((p) => p.name === value.provider);
    const models = current?.models || [];
    const providerError = error?.field === "provider" ? error.message : null;
    const modelError = error?.field === "model_name" ? error.message : null;
    const known = sorted && (!value.provider || current);
    return html`<fieldset class="model-picker">
        <legend>${legend || t("model.legend")}</legend>
        <div class="model-picker-row">
            <div class=${providerError ? "field invalid" : "field"}>
                <label for=${ids.provider}>${t("model.provider")}</label>
                ${sorted && known
                    ? html`<select id=${ids.provider} value=${value.provider}
                        onChange=${(ev) => {
                            const p = sorted.find((x) => x.name === ev.currentTarget.value);
                            onChange({ provider: ev.currentTarget.value,
                                model_name: p?.models?.[0]?.name || value.model_name });
                        }}>
                        ${sorted.map((p) => html`<option value=${p.name}>${p.configured
                            ? p.name : t("model.notConfigured", { name: p.name })}</option>`)}
                    </select>`
                    : html`<input id=${ids.provider} type="text" value=${value.provider}
                        autocomplete="off" spellcheck="false"
                        onInput=${(ev) => onChange({ ...value, provider: ev.currentTarget.value })} />`}
                ${providerError && html`<p class="field-error">${providerError}</p>`}
            </div>
            <div class=${modelError ? "field invalid" : "field"}>
                <label for=${ids.model}>${t("model.name")}</label>
                <input id=${ids.model} type="text" list=${models.length ? ids.list : undefined}
                    value=${value.model_name} autocomplete="off" spellcheck="false"
                    placeholder=${t("model.placeholder")}
                    onInput=${(ev) => onChange({ ...value, model_name: ev.currentTarget.value })} />
                ${models.length > 0 && html`<datalist id=${ids.list}>
                    ${models.map((m) => html`<option value=${m.name}>${m.model_id}</option>`)}
                </datalist>`}
                ${modelError && html`<p class="field-error">${modelError}</p>`}
            </div>
        </div>
    </fieldset>`;
}
