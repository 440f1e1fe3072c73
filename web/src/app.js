// The application shell: the top bar (brand, navigation, language, sign-out), the task frame
// (breadcrumb and tabs) around a task's pages, and the page the location names. Pages are
// modules loaded on first visit; each exports a default component taking
// {params, query, project, task} (project and task on a task's pages).
import { apiKey, onUnauthorized, setApiKey } from "./api.js";
import { Toasts } from "./components/toast.js";
import { ErrorNote, Loading } from "./components/status.js";
import { loadTask, onTaskForgotten } from "./data.js";
import { LOCALES, setLocale, t, useLocale } from "./i18n.js";
import { html, useEffect, useRef, useState } from "./lib.js";
import { compile, Link, navigate, useLocation } from "./router.js";
import { loadedPage, loadPage, routes, TASK_TABS, taskHref } from "./routes.js";

const compiled = routes.map((r) => ({ ...r, match: compile(r.pattern) }));

function resolve(path) {
    for (const r of compiled) {
        const params = r.match(path);
        if (params) return { route: r, params };
    }
    return null;
}

function LanguageSwitch() {
    const locale = useLocale();
    return html`<label class="lang">
        <span class="visually-hidden">${t("shell.language")}</span>
        <select value=${locale} onChange=${(ev) => setLocale(ev.currentTarget.value)}>
            ${LOCALES.map((l) => html`<option value=${l.id} lang=${l.id}>${l.label}</option>`)}
        </select>
    </label>`;
}

function TopBar({ path }) {
    const signedIn = Boolean(apiKey());
    const current = (href) => (href === "/" ? path === "/" || path.startsWith("/projects")
        : path.startsWith(href)) ? "page" : undefined;
    return html`<header class="topbar">
        <${Link} href="/" class="brand">
            <span class="logo" aria-hidden="true">H</span><span>Hetu</span>
        </${Link}>
        <nav aria-label=${t("shell.nav")} class="mainnav">
            <${Link} href="/" aria-current=${current("/")}>${t("shell.projects")}</${Link}>
            <${Link} href="/providers" aria-current=${current("/providers")}>${t("shell.providers")}</${Link}>
            <a href="/docs">${t("shell.apiDocs")}</a>
        </nav>
        <div class="topbar-end">
            <${LanguageSwitch} />
            ${signedIn && html`<button type="button" class="btn small ghost"
                onClick=${() => { setApiKey(null); navigate("/signin"); }}>${t("shell.signOut")}</button>`}
        </div>
    </header>`;
}

// Breadcrumb and tabs of a task's pages; loads the project and task for the page.
function TaskFrame({ params, tab, children }) {
    const [state, setState] = useState({ loading: true });
    const [version, setVersion] = useState(0);
    useEffect(() => onTaskForgotten((p, task) => {
        if (p === params.p && (!task || task === params.t)) setVersion((v) => v + 1);
    }), [params.p, params.t]);
    useEffect(() => {
        let live = true;
        setState((s) => ({ ...s, loading: !s.task || s.task.id !== params.t }));
        loadTask(params.p, params.t).then(
            (v) => live && setState({ ...v, loading: false }),
            (error) => live && setState({ error, loading: false }),
        );
        return () => (live = false);
    }, [params.p, params.t, version]);
    if (state.error) return html`<${ErrorNote} error=${state.error} />`;
    if (state.loading) return html`<${Loading} />`;
    const { project, task } = state;
    return html`<nav aria-label=${t("shell.breadcrumb")} class="breadcrumb">
            <ol>
                <li><${Link} href="/">${t("shell.projects")}</${Link}></li>
                <li><${Link} href=${`/projects/${encodeURIComponent(project.id)}`}>${project.name}</${Link}></li>
                <li aria-current="page">${task.name}</li>
            </ol>
        </nav>
        <nav aria-label=${t("shell.taskNav")} class="tabs">
            ${TASK_TABS.map((x) => html`<${Link} href=${taskHref(params.p, params.t, x.path)}
                aria-current=${x.id === tab ? "page" : undefined}>${t(x.label)}</${Link}>`)}
        </nav>
        ${children({ project, task })}`;
}

function Page({ route, params, query }) {
    const [mod, setMod] = useState(() => loadedPage(route.page)?.default ?? null);
    const [error, setError] = useState(null);
    useEffect(() => {
        let live = true;
        setError(null);
        loadPage(route.page).then((m) => live && setMod(() => m.default), (e) => live && setError(e));
        return () => (live = false);
    }, [route.page]);
    if (error) return html`<${ErrorNote} error=${error} />`;
    if (!mod) return html`<${Loading} />`;
    const Comp = mod;
    if (!route.tab) return html`<${Comp} params=${params} query=${query} />`;
    return html`<${TaskFrame} params=${params} tab=${route.tab}>
        ${(ctx) => html`<${Comp} params=${params} query=${query} ...${ctx} />`}
    </${TaskFrame}>`;
}

function NotFound({ path }) {
    return html`<section class="page"><h1>${t("shell.notFound")}</h1>
        <p>${t("shell.notFoundText", { path })}</p>
        <p><${Link} href="/">${t("shell.backHome")}</${Link}></p></section>`;
}

export function App() {
    useLocale(); // every text follows the language
    const loc = useLocation();
    const main = useRef(null);
    useEffect(() => onUnauthorized(() => {
        if (location.pathname !== "/signin")
            navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
    }), []);
    const found = resolve(loc.path);
    if (found) {
        // start the page's module and its task together, before anything draws
        loadPage(found.route.page).catch(() => {});
        if (found.route.tab) loadTask(found.params.p, found.params.t).catch(() => {});
    }
    return html`<a class="skip-link" href="#main">${t("shell.skip")}</a>
        <${TopBar} path=${loc.path} />
        <main id="main" ref=${main} tabindex="-1">
            ${found
                ? html`<${Page} key=${found.route.page} route=${found.route} params=${found.params}
                    query=${loc.query} />`
                : html`<${NotFound} path=${loc.path} />`}
        </main>
        <${Toasts} />`;
}
