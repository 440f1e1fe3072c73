// Client-side routes over the History API. The server answers index.html for every path that
// is not the API's, so a reload or a shared link opens the same page.
import { html, useEffect, useState } from "./lib.js";

const listeners = new Set();

function current() {
    return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function navigate(href, { replace = false } = {}) {
    if (href === location.pathname + location.search) return;
    history[replace ? "replaceState" : "pushState"](null, "", href);
    const loc = current();
    for (const fn of listeners) fn(loc);
}

addEventListener("popstate", () => {
    const loc = current();
    for (const fn of listeners) fn(loc);
});

// The current {path, query}; re-renders on navigation.
export function useLocation() {
    const [loc, setLoc] = useState(current);
    useEffect(() => {
        listeners.add(setLoc);
        return () => listeners.delete(setLoc);
    }, []);
    return loc;
}

// Replaces the query string (a page's filters) without adding a history entry.
export function setQuery(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
        if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
    const s = q.toString();
    navigate(location.pathname + (s ? `?${s}` : ""), { replace: true });
}

// Compiles "/projects/:p/tasks/:t" into a matcher answering {p, t} or null.
export function compile(pattern) {
    const names = [];
    const re = new RegExp(
        "^" +
            pattern.replace(/:(\w+)/g, (m, name) => {
                names.push(name);
                return "([^/]+)";
            }) +
            "/?$",
    );
    return (path) => {
        const m = re.exec(path);
        if (!m) return null;
        const params = {};
        names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
        return params;
    };
}

// An <a> that navigates in the page (a modified click still opens a new tab).
export function Link({ href, children, ...rest }) {
    function onClick(ev) {
        if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey ||
            ev.altKey)
            return;
        ev.preventDefault();
        navigate(href);
    }
    return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}
