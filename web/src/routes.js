// The interface's pages: a path pattern, the module in pages/ that draws it (loaded when first
// visited, so the first load carries only the shell) and, for a task's pages, the tab it
// belongs to. Two patterns with one page share one mounted component (a list and its detail).
import { loadStyle } from "./lib.js";

export const TASK = "/projects/:p/tasks/:t";

export const routes = [
    { pattern: "/", page: "projects" },
    { pattern: "/signin", page: "signin" },
    { pattern: "/providers", page: "providers" },
    { pattern: "/projects/:p", page: "project" },
    { pattern: TASK, tab: "overview", page: "task" },
    { pattern: `${TASK}/topics`, tab: "topics", page: "topics" },
    { pattern: `${TASK}/generate`, tab: "generate", page: "generate" },
    { pattern: `${TASK}/pipeline`, tab: "pipeline", page: "pipeline" },
    { pattern: `${TASK}/samples`, tab: "samples", page: "samples" },
    { pattern: `${TASK}/samples/:run`, tab: "samples", page: "samples" },
    { pattern: `${TASK}/import`, tab: "import", page: "import" },
    { pattern: `${TASK}/jobs`, tab: "jobs", page: "jobs" },
    { pattern: `${TASK}/jobs/:job`, tab: "jobs", page: "jobs" },
    { pattern: `${TASK}/export`, tab: "export", page: "export" },
    { pattern: `${TASK}/stats`, tab: "stats", page: "stats" },
];

// The tabs of a task, in order; each is the path under the task and a message key.
export const TASK_TABS = [
    { id: "overview", path: "", label: "tabs.overview" },
    { id: "topics", path: "/topics", label: "tabs.topics" },
    { id: "generate", path: "/generate", label: "tabs.generate" },
    { id: "pipeline", path: "/pipeline", label: "tabs.pipeline" },
    { id: "samples", path: "/samples", label: "tabs.samples" },
    { id: "import", path: "/import", label: "tabs.import" },
    { id: "jobs", path: "/jobs", label: "tabs.jobs" },
    { id: "export", path: "/export", label: "tabs.export" },
    { id: "stats", path: "/stats", label: "tabs.stats" },
];

export function taskHref(p, t, tab = "") {
    return `/projects/${encodeURIComponent(p)}/tasks/${encodeURIComponent(t)}${tab}`;
}

// A page's module, imported once; loadedPage answers it at once when it has arrived, so a page
// visited before draws without a loading frame. The modules the page imports and the styles it
// loads are asked for at the same moment as the page itself (index.html lists them per page,
// from the build), rather than one level of imports after another.
const pages = new Map();
const loaded = new Map();
let manifest;

function prefetch(page) {
    if (manifest === undefined) {
        const meta = document.querySelector('meta[name="hetu-page-modules"]');
        try {
            manifest = meta ? JSON.parse(meta.content) : {};
        } catch {
            manifest = {};
        }
    }
    const own = manifest[page];
    if (!own) return;
    for (const path of own.js) {
        const link = document.createElement("link");
        link.rel = "modulepreload";
        link.href = new URL(`../${path}`, import.meta.url).href;
        document.head.append(link);
    }
    for (const path of own.css) loadStyle(path.replace(/^styles\/|\.css$/g, "")).catch(() => {});
}

export function loadPage(page) {
    if (!pages.has(page)) {
        prefetch(page);
        const p = import(`./pages/${page}.js`).then((m) => {
            loaded.set(page, m);
            return m;
        });
        p.catch(() => pages.delete(page));
        pages.set(page, p);
    }
    return pages.get(page);
}

export function loadedPage(page) {
    return loaded.get(page);
}
