// A task's definition as a form: name, description, instruction, thinking instruction, the
// requirements its outputs are rated against (as Kiln's TaskRequirement: name, instruction,
// priority 0-3, rating type) and the input and output JSON schemas. The schemas are checked as
// JSON here first (with the line and column of the error); everything else is the server's to
// judge, and its message shows under the field it names.
import { t } from "../i18n.js";
import { html, useEffect, useMemo, useRef, useState } from "../lib.js";
import { Field } from "./form.js";
import { ErrorNote } from "./status.js";

export const RATING_TYPES = ["five_star", "pass_fail", "pass_fail_critical"];
const PRIORITIES = [0, 1, 2, 3];
const SCHEMAS = ["input_json_schema", "output_json_schema"];
let keys = 0;

function pretty(text) {
    if (!text) return "";
    try {
        return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
        return text;
    }
}

function formOf(task) {
    return {
        name: task?.name || "",
        description: task?.description || "",
        instruction: task?.instruction || "",
        thinking_instruction: task?.thinking_instruction || "",
        requirements: (task?.requirements || []).map((r) => ({ ...r, key: ++keys })),
        input_json_schema: pretty(task?.input_json_schema),
        output_json_schema: pretty(task?.output_json_schema),
    };
}

// The body PATCH and POST take: empty optional texts become null, requirements keep their ids.
export function taskBody(form) {
    return {
        name: form.name.trim(),
        description: form.description,
        instruction: form.instruction,
        thinking_instruction: form.thinking_instruction.trim() ? form.thinking_instruction : null,
        requirements: form.requirements.map(({ key, ...r }) => ({
            ...r, name: r.name.trim(), priority: Number(r.priority),
        })),
        input_json_schema: form.input_json_schema.trim() ? form.input_json_schema : null,
        output_json_schema: form.output_json_schema.trim() ? form.output_json_schema : null,
    };
}

// The offset of the first JSON syntax error in s (browsers' JSON.parse messages do not all say
// where), or s.length when the text ends too soon.
function syntaxOffset(s) {
    let i = 0;
    const fail = () => {
        throw i;
    };
    const ws = () => {
        while (i < s.length && " \t\n\r".includes(s[i])) i++;
    };
    const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    function string() {
        for (i++; i < s.length; i++) {
            if (s[i] === '"') return i++;
            if (s[i] === "\\") i++;
            else if (s[i] < " ") fail();
        }
        fail();
    }
    function list(close, item) {
        i++;
        ws();
        if (s[i] === close) return i++;
        for (;;) {
            item();
            ws();
            if (s[i] === close) return i++;
            if (s[i] !== ",") fail();
            i++;
        }
    }
    function value() {
        ws();
        if (s[i] === "{")
            return list("}", () => {
                ws();
                if (s[i] !== '"') fail();
                string();
                ws();
                if (s[i] !== ":") fail();
                i++;
                value();
            });
        if (s[i] === "[") return list("]", value);
        if (s[i] === '"') return string();
        for (const word of ["true", "false", "null"]) if (s.startsWith(word, i)) return (i += word.length);
        number.lastIndex = i;
        const m = number.exec(s);
        if (!m) fail();
        i += m[0].length;
    }
    try {
        value();
        ws();
        return i < s.length ? i : s.length;
    } catch (at) {
        if (typeof at !== "number") throw at;
        return at;
    }
}

// Where JSON.parse stops, as {line, column} (1-based), or null when the text parses.
export function jsonSyntaxError(text) {
    try {
        JSON.parse(text);
        return null;
    } catch {
        const before = text.slice(0, syntaxOffset(text)).split("\n");
        return { line: before.length, column: before[before.length - 1].length + 1 };
    }
}

function schemaProblem(form) {
    for (const field of SCHEMAS) {
        if (!form[field].trim()) continue;
        const where = jsonSyntaxError(form[field]);
        if (where) return { field, message: t("task.jsonError", where), local: true };
    }
    return null;
}

// The attributes tying a control to its hint and message (Field hands both over).
const attrs = (describedBy, invalid) => ({
    "aria-describedby": describedBy, "aria-invalid": invalid ? "true" : undefined,
});

function Requirement({ req, index, error, onChange, onRemove }) {
    const base = `requirements[${index}]`;
    const set = (k) => (ev) => onChange({ ...req, [k]: ev.currentTarget.value });
    return html`<fieldset class="requirement">
        <legend>${t("task.requirementN", { n: index + 1 })}</legend>
        <button type="button" class="icon-btn requirement-remove" onClick=${onRemove}
            aria-label=${t("task.removeRequirement", { n: index + 1 })}>✕</button>
        <div class="requirement-row">
            <${Field} label=${t("common.name")} name=${`${base}.name`} error=${error}>
                ${(id, d, inv) => html`<input id=${id} type="text" value=${req.name} ...${attrs(d, inv)}
                    onInput=${set("name")} />`}
            </${Field}>
            <${Field} label=${t("task.ratingType")} name=${`${base}.type`} error=${error}>
                ${(id, d, inv) => html`<select id=${id} value=${req.type} ...${attrs(d, inv)} onChange=${set("type")}>
                    ${RATING_TYPES.map((x) => html`<option value=${x}>${t(`task.type.${x}`)}</option>`)}
                </select>`}
            </${Field}>
            <${Field} label=${t("task.priority")} name=${`${base}.priority`} error=${error}>
                ${(id, d, inv) => html`<select id=${id} value=${String(req.priority)} ...${attrs(d, inv)}
                    onChange=${set("priority")}>
                    ${PRIORITIES.map((p) => html`<option value=${String(p)}>${t(`task.priority.${p}`)}</option>`)}
                </select>`}
            </${Field}>
        </div>
        <${Field} label=${t("task.requirementInstruction")} name=${`${base}.instruction`} error=${error}>
            ${(id, d, inv) => html`<textarea id=${id} rows="2" value=${req.instruction} ...${attrs(d, inv)}
                placeholder=${t("task.requirementPlaceholder")} onInput=${set("instruction")}></textarea>`}
        </${Field}>
    </fieldset>`;
}

// <TaskEditor task=${task} onSave=${(body) => api(...)} submitLabel=... onCancel=... />
// onSave answers a promise; a rejection with an ApiError shows under its field.
export function TaskEditor({ task, onSave, submitLabel, onCancel, compact }) {
    const initial = useMemo(() => formOf(task), [task]);
    const [form, setForm] = useState(initial);
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const root = useRef(null);
    useEffect(() => {
        setForm(initial);
        setError(null);
    }, [initial]);
    const dirty = JSON.stringify(taskBody(form)) !== JSON.stringify(taskBody(initial));
    const set = (k) => (ev) => setForm({ ...form, [k]: ev.currentTarget.value });

    function focusInvalid() {
        requestAnimationFrame(() => root.current?.querySelector("[aria-invalid='true']")?.focus());
    }

    async function submit(ev) {
        ev.preventDefault();
        const local = schemaProblem(form);
        setError(local);
        if (local) return focusInvalid();
        setBusy(true);
        try {
            await onSave(taskBody(form));
        } catch (err) {
            setError(err);
            focusInvalid();
        } finally {
            setBusy(false);
        }
    }

    function setRequirement(i, req) {
        const list = form.requirements.slice();
        list[i] = req;
        setForm({ ...form, requirements: list });
    }

    function addRequirement() {
        const req = { key: ++keys, name: "", instruction: "", priority: 2, type: "five_star" };
        setForm({ ...form, requirements: [...form.requirements, req] });
    }

    const shown = ["name", "description", "instruction", "thinking_instruction", ...SCHEMAS];
    const unplaced = error && !(shown.includes(error.field) ||
        /^requirements\[\d+\]\.(name|instruction|priority|type)$/.test(error.field || ""));

    return html`<form ref=${root} class=${compact ? "task-editor compact" : "task-editor"} onSubmit=${submit}
            novalidate>
        <div class="task-editor-grid">
            <${Field} label=${t("task.name")} name="name" error=${error}>
                ${(id, d, inv) => html`<input id=${id} type="text" value=${form.name} ...${attrs(d, inv)}
                    autocomplete="off" onInput=${set("name")} />`}
            </${Field}>
            <${Field} label=${t("common.description")} name="description" error=${error}
                hint=${t("task.descriptionHint")}>
                ${(id, d, inv) => html`<input id=${id} type="text" value=${form.description} ...${attrs(d, inv)}
                    autocomplete="off" onInput=${set("description")} />`}
            </${Field}>
        </div>
        <${Field} label=${t("task.instruction")} name="instruction" error=${error} hint=${t("task.instructionHint")}>
            ${(id, d, inv) => html`<textarea id=${id} rows="5" value=${form.instruction} ...${attrs(d, inv)}
                onInput=${set("instruction")}></textarea>`}
        </${Field}>
        <${Field} label=${t("task.thinking")} name="thinking_instruction" error=${error}
            hint=${t("task.thinkingHint")}>
            ${(id, d, inv) => html`<textarea id=${id} rows="3" value=${form.thinking_instruction}
                ...${attrs(d, inv)} onInput=${set("thinking_instruction")}></textarea>`}
        </${Field}>

        <section class="requirements" aria-labelledby="req-heading">
            <div class="section-head">
                <h3 id="req-heading">${t("task.requirements")}</h3>
                <span class="muted">${t("task.requirementsHint")}</span>
            </div>
            ${form.requirements.length === 0 && html`<p class="muted requirements-empty">${t("task.noRequirements")}</p>`}
            ${form.requirements.map((req, i) => html`<${Requirement} key=${req.key} req=${req} index=${i}
                error=${error} onChange=${(r) => setRequirement(i, r)}
                onRemove=${() => setForm({ ...form, requirements: form.requirements.filter((x) => x !== req) })} />`)}
            <button type="button" class="btn small" onClick=${addRequirement}>＋ ${t("task.addRequirement")}</button>
        </section>

        <section class="schemas" aria-labelledby="schema-heading">
            <div class="section-head">
                <h3 id="schema-heading">${t("task.schemas")}</h3>
                <span class="muted">${t("task.schemasHint")}</span>
            </div>
            <div class="schema-grid">
                ${SCHEMAS.map((f) => html`<${Field} label=${t(`task.${f}`)} name=${f} error=${error}
                        hint=${t("task.schemaHint")}>
                    ${(id, d, inv) => html`<textarea id=${id} class="code" rows="10" spellcheck="false"
                        value=${form[f]} ...${attrs(d, inv)} placeholder='{"type": "object", "properties": {…}}'
                        onInput=${set(f)}></textarea>`}
                </${Field}>`)}
            </div>
        </section>

        ${unplaced && html`<${ErrorNote} error=${error} />`}
        <div class=${dirty || onCancel ? "actions editor-actions dirty" : "actions editor-actions"}>
            ${onCancel && html`<button type="button" class="btn" onClick=${onCancel}>${t("common.cancel")}</button>`}
            ${!onCancel && dirty && html`<button type="button" class="btn"
                onClick=${() => { setForm(initial); setError(null); }}>${t("task.discard")}</button>`}
            <button type="submit" class="btn primary" disabled=${busy || (!onCancel && !dirty)}>
                ${busy ? t("common.saving") : submitLabel}</button>
        </div>
    </form>`;
}
