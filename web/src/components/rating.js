// Ratings in Kiln's three types: five_star (1..5), pass_fail (1 pass, 0 fail) and
// pass_fail_critical (1 pass, 0 fail, -1 critical). Each control is a radio group in a
// fieldset, so arrow keys move within it and a screen reader names the group and the choice.
import { t } from "../i18n.js";
import { html, useRef } from "../lib.js";

let uid = 0;

function Choice({ name, value, checked, onChange, label, cls, disabled, children }) {
    return html`<label class=${`rating-choice ${cls || ""}${checked ? " on" : ""}`} title=${label}>
        <input type="radio" class="visually-hidden" name=${name} value=${String(value)} checked=${checked}
            disabled=${disabled} aria-label=${label} onChange=${() => onChange(value)} />
        <span aria-hidden="true">${children}</span>
    </label>`;
}

function Stars({ name, value, onChange, disabled }) {
    const v = typeof value === "number" ? Math.round(value) : 0;
    return html`<span class="stars-input">
        ${[1, 2, 3, 4, 5].map((n) => html`<${Choice} key=${n} name=${name} value=${n} checked=${v === n}
            disabled=${disabled} cls=${n <= v ? "star lit" : "star"} onChange=${onChange}
            label=${t("samples.rating.stars", { n })}>★</${Choice}>`)}
    </span>`;
}

function PassFail({ name, value, onChange, critical, disabled }) {
    const opts = [
        { v: 1, label: t("samples.rating.pass"), cls: "pass", icon: "✓" },
        { v: 0, label: t("samples.rating.fail"), cls: "fail", icon: "✗" },
    ];
    if (critical) opts.push({ v: -1, label: t("samples.rating.critical"), cls: "critical", icon: "!" });
    return html`<span class="passfail-input">
        ${opts.map((o) => html`<${Choice} key=${o.v} name=${name} value=${o.v} checked=${value === o.v}
            disabled=${disabled} cls=${`pf ${o.cls}`} onChange=${onChange} label=${o.label}>
            ${o.icon} ${o.label}</${Choice}>`)}
    </span>`;
}

// A rating control: legend, the choices for the type, and a clear button when rated.
// value is the number stored (null when unrated); onChange(number | null).
export function RatingInput({ type, value, onChange, legend, hint, disabled, id }) {
    const name = useRef(null);
    name.current ||= `rating-${++uid}`; // one radio group name for the control's life
    const rated = value !== null && value !== undefined;
    return html`<fieldset class="rating-input" id=${id} data-rating-type=${type}>
        <legend>${legend}</legend>
        ${type === "five_star"
            ? html`<${Stars} name=${name.current} value=${value} onChange=${onChange} disabled=${disabled} />`
            : html`<${PassFail} name=${name.current} value=${value} onChange=${onChange} disabled=${disabled}
                critical=${type === "pass_fail_critical"} />`}
        ${rated && html`<button type="button" class="icon-btn clear" disabled=${disabled}
            onClick=${() => onChange(null)}>${t("samples.rating.clear")}</button>`}
        ${hint && html`<p class="hint">${hint}</p>`}
    </fieldset>`;
}

// A rating shown in a list: stars, or a pass/fail badge; "—" when unrated.
export function RatingBadge({ rating }) {
    if (!rating || rating.value === null || rating.value === undefined)
        return html`<span class="muted" aria-label=${t("samples.rating.none")}>—</span>`;
    if (rating.type === "five_star") {
        const v = Math.round(rating.value);
        return html`<span class="stars" role="img" aria-label=${t("samples.rating.stars", { n: v })}>
            ${"★".repeat(v)}<span class="dim">${"★".repeat(5 - v)}</span></span>`;
    }
    if (rating.value === 1) return html`<span class="badge ok">${t("samples.rating.pass")}</span>`;
    if (rating.value === -1) return html`<span class="badge danger">${t("samples.rating.critical")}</span>`;
    return html`<span class="badge warn">${t("samples.rating.fail")}</span>`;
}
