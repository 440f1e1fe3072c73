// The topic tree as WAI-ARIA's tree pattern: role=tree/treeitem/group, one tab stop (the
// focused item), arrow keys to move, open and close, Home/End, Enter or Space to select.
// Expansion is lazy: only open nodes' children are drawn, and a node with very many children
// draws them a page at a time, so a tree of 10,000 topics stays quick. A search query keeps the
// matching topics and their ancestors, opened.
import { getLocale, t } from "../i18n.js";
import { html, useEffect, useLayoutEffect, useMemo, useRef, useState } from "../lib.js";

const PAGE = 200; // children drawn per node before "show more"

// GET .../topics's nested JSON -> {root, nodes} with each node {id, key, name, path, count,
// parent, depth, children, size}: id numbers the node for the page's element ids, key (its path
// as JSON) names it across reloads, size counts the topics under it.
export function indexTree(json) {
    const nodes = [];
    const walk = (n, parent, depth) => {
        const node = {
            id: nodes.length, key: JSON.stringify(n.path || []), name: n.name, path: n.path || [],
            count: n.sample_count || 0,
            parent, depth, children: [], size: 0,
        };
        nodes.push(node);
        for (const c of n.children || []) {
            const child = walk(c, node, depth + 1);
            node.children.push(child);
            node.size += 1 + child.size;
        }
        return node;
    };
    const root = walk(json, null, 1);
    return { root, nodes };
}

export function leavesOf(tree) {
    return tree.nodes.filter((n) => n.children.length === 0);
}

export function findPath(tree, path) {
    let node = tree.root;
    for (const name of path) {
        node = node.children.find((c) => c.name === name);
        if (!node) return null;
    }
    return node;
}

// {keep, open}: the ids of the matches and their ancestors, and of the ancestors alone.
function searchSets(tree, query) {
    const q = query.trim().toLocaleLowerCase();
    if (!q) return null;
    const keep = new Set();
    const open = new Set();
    const matches = new Set();
    for (const n of tree.nodes) {
        if (!n.name.toLocaleLowerCase().includes(q)) continue;
        matches.add(n.id);
        keep.add(n.id);
        for (let a = n.parent; a && !open.has(a.id); a = a.parent) {
            open.add(a.id);
            keep.add(a.id);
        }
    }
    return { keep, open, matches };
}

// The items drawn, in order: {node, level, posinset, setsize} or {more: parent, left, level}.
function visibleItems(tree, isOpen, childrenOf, limits) {
    const out = [];
    const walk = (node, level, posinset, setsize) => {
        out.push({ node, level, posinset, setsize });
        if (!isOpen(node)) return;
        const kids = childrenOf(node);
        const limit = limits.get(node.key) || PAGE;
        kids.slice(0, limit).forEach((k, i) => walk(k, level + 1, i + 1, kids.length));
        if (kids.length > limit) out.push({ more: node, left: kids.length - limit, level: level + 1 });
    };
    walk(tree.root, 1, 1, 1);
    return out;
}

let uid = 0;

// expanded: a Set of node keys; selectedKey: the selected node's key.
export function TopicTree({ tree, query, selectedKey, onSelect, label, expanded, setExpanded }) {
    const [prefix] = useState(() => `tt${++uid}`);
    const [focusId, setFocusId] = useState(selectedKey ?? tree.root.key);
    const [limits, setLimits] = useState(() => new Map());
    const moved = useRef(false);
    const found = useMemo(() => searchSets(tree, query || ""), [tree, query]);
    // a search opens the matches' ancestors; closing one of those is remembered apart
    const [shut, setShut] = useState(() => new Set());
    useEffect(() => setShut(new Set()), [query]);
    const forced = (n) => Boolean(found && found.open.has(n.id));
    const isOpen = (n) => n.children.length > 0 &&
        (forced(n) ? !shut.has(n.key) : expanded.has(n.key));
    const childrenOf = (n) => (found && !found.matches.has(n.id)
        ? n.children.filter((c) => found.keep.has(c.id)) : n.children);
    const items = visibleItems(tree, isOpen, childrenOf, limits);
    const itemKey = (it) => (it.more ? `more:${it.more.key}` : it.node.key);
    const domId = (it) => `${prefix}-${it.more ? `m${it.more.id}` : it.node.id}`;
    const focusKey = items.some((it) => itemKey(it) === String(focusId)) ? String(focusId)
        : itemKey(items[0]);

    // focus follows the keyboard in the same frame (a key pressed next goes to the right item)
    useLayoutEffect(() => {
        if (!moved.current) return;
        moved.current = false;
        const it = items.find((x) => itemKey(x) === focusKey);
        if (it) document.getElementById(domId(it))?.focus();
    });

    const toggle = (n, open) => {
        const next = new Set(forced(n) ? shut : expanded);
        if (forced(n)) {
            if (open) next.delete(n.key);
            else next.add(n.key);
            return setShut(next);
        }
        if (open) next.add(n.key);
        else next.delete(n.key);
        setExpanded(next);
    };
    const showMore = (parent) => {
        const next = new Map(limits);
        next.set(parent.key, (limits.get(parent.key) || PAGE) + PAGE);
        setLimits(next);
    };
    const focusItem = (key) => {
        moved.current = true;
        setFocusId(key);
    };

    function onKeyDown(ev) {
        const i = items.findIndex((it) => itemKey(it) === focusKey);
        const it = items[i];
        if (!it) return;
        const n = it.node;
        let handled = true;
        switch (ev.key) {
        case "ArrowDown":
            if (i + 1 < items.length) focusItem(itemKey(items[i + 1]));
            break;
        case "ArrowUp":
            if (i > 0) focusItem(itemKey(items[i - 1]));
            break;
        case "Home":
            focusItem(itemKey(items[0]));
            break;
        case "End":
            focusItem(itemKey(items[items.length - 1]));
            break;
        case "ArrowRight":
            if (n && n.children.length && !isOpen(n)) toggle(n, true);
            else if (n && isOpen(n) && i + 1 < items.length) focusItem(itemKey(items[i + 1]));
            break;
        case "ArrowLeft":
            if (n && isOpen(n)) toggle(n, false);
            else if ((n || it.more) && (n ? n.parent : it.more)) focusItem((n ? n.parent : it.more).key);
            break;
        case "Enter":
        case " ":
            if (it.more) showMore(it.more);
            else onSelect(n);
            break;
        default:
            handled = false;
        }
        if (handled) ev.preventDefault();
    }

    // formatters are slow to make: one per drawing, and one label per distinct count
    const nf = new Intl.NumberFormat(getLocale());
    const labels = new Map();
    const samplesLabel = (n) => {
        if (!labels.has(n)) labels.set(n, t("tree.samples", { n }));
        return labels.get(n);
    };
    // a flat list: aria-level, aria-setsize and aria-posinset give the structure
    const drawn = items.map((it) => {
        const key = itemKey(it);
        const id = domId(it);
        const tab = key === focusKey ? 0 : -1;
        const depth = `--depth:${it.level - 1}`;
        if (it.more) {
            return html`<li role="treeitem" id=${id} key=${key} tabindex=${tab} aria-level=${it.level}
                class="tt-item tt-more" onClick=${() => { focusItem(key); showMore(it.more); }}>
                <div class="tt-row" style=${depth}>
                    <span class="tt-toggle" aria-hidden="true"></span>
                    <span class="tt-name">${t("tree.showMore", { n: it.left })}</span>
                </div>
            </li>`;
        }
        const n = it.node;
        const open = isOpen(n);
        const hit = found && found.matches.has(n.id);
        const chosen = n.key === selectedKey;
        return html`<li role="treeitem" id=${id} key=${key} tabindex=${tab}
            aria-level=${it.level} aria-setsize=${it.setsize} aria-posinset=${it.posinset}
            aria-expanded=${n.children.length ? String(open) : undefined}
            aria-selected=${String(chosen)}
            class=${`tt-item${chosen ? " selected" : ""}${hit ? " match" : ""}`}
            onClick=${() => { focusItem(key); onSelect(n); }}>
            <div class="tt-row" style=${depth}>
                <span class=${`tt-toggle${n.children.length ? "" : " leaf"}`} aria-hidden="true"
                    onClick=${(ev) => { ev.stopPropagation(); focusItem(key); if (n.children.length) toggle(n, !open); }}>
                    ${n.children.length ? (open ? "▾" : "▸") : "•"}</span>
                <span class="tt-name">${n.parent ? n.name : label}</span>
                <span class="tt-count">
                    <span aria-hidden="true">${nf.format(n.count)}</span>
                    <span class="visually-hidden">${samplesLabel(n.count)}</span>
                </span>
            </div>
        </li>`;
    });
    return html`<ul role="tree" class="topic-tree" aria-label=${t("tree.label")}
        onKeyDown=${onKeyDown}>${drawn}</ul>`;
}
