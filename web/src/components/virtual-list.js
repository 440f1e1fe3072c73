// A list of any length with fixed-height rows: only the rows in view, plus a few either side
// (overscan), are in the DOM, so 100,000 rows scroll as smoothly as 100. The list scrolls in
// its own box; the rows sit in a spacer as tall as all of them.
//
//   <${VirtualList} count=${n} rowHeight=${48} renderRow=${(i) => html`...`}
//       onRange=${(first, last) => ...} reveal=${selectedIndex} label="Samples" />
//
// renderRow(i) answers one row (it gets its position from the list); onRange(first, last) is
// called with the rows in view after each scroll (a page can fetch more as the end nears);
// reveal scrolls the row of that index into view when it changes. A sticky header (headerHeight
// pixels tall) may sit above the rows.
import { html, useEffect, useLayoutEffect, useRef, useState } from "../lib.js";

export function VirtualList({ count, rowHeight, renderRow, onRange, reveal, overscan = 6,
                              label, rowcount, class: cls, header, headerHeight = 0 }) {
    const box = useRef(null);
    const [view, setView] = useState({ top: 0, height: 0 });
    const frame = useRef(0);

    const kept = useRef(0); // the scroll offset, put back when the box was hidden and shows again

    useLayoutEffect(() => {
        const el = box.current;
        const measure = () => {
            if (el.clientHeight > 0 && el.scrollTop === 0 && kept.current > 0) el.scrollTop = kept.current;
            setView({ top: el.scrollTop, height: el.clientHeight });
        };
        measure();
        const ro = new ResizeObserver(measure);
        ro.observe(el);
        return () => {
            ro.disconnect();
            cancelAnimationFrame(frame.current);
        };
    }, []);

    function onScroll() {
        if (frame.current) return;
        frame.current = requestAnimationFrame(() => {
            frame.current = 0;
            const el = box.current;
            if (!el || el.clientHeight === 0) return;
            kept.current = el.scrollTop;
            setView({ top: el.scrollTop, height: el.clientHeight });
        });
    }

    const firstVisible = Math.floor(Math.max(0, view.top - headerHeight) / rowHeight);
    const lastVisible = Math.min(count - 1,
        Math.ceil(Math.max(0, view.top + view.height - headerHeight) / rowHeight) - 1);
    const first = Math.max(0, firstVisible - overscan);
    const last = Math.min(count - 1, lastVisible + overscan);

    useEffect(() => {
        if (onRange && view.height > 0) onRange(firstVisible, lastVisible);
    }, [firstVisible, lastVisible, count, view.height > 0]); // eslint-disable-line

    useEffect(() => {
        const el = box.current;
        if (reveal === null || reveal === undefined || reveal < 0 || !el) return;
        // rows start below the sticky header, which covers the top of the box
        const top = headerHeight + reveal * rowHeight;
        if (top < el.scrollTop + headerHeight) el.scrollTop = top - headerHeight;
        else if (top + rowHeight > el.scrollTop + el.clientHeight)
            el.scrollTop = top + rowHeight - el.clientHeight;
    }, [reveal, rowHeight]); // eslint-disable-line

    const rows = [];
    for (let i = first; i <= last; i++) rows.push(renderRow(i));
    return html`<div class=${`vlist ${cls || ""}`} ref=${box} onScroll=${onScroll} role="table"
            aria-label=${label} aria-rowcount=${rowcount ?? count + (header ? 1 : 0)}>
        ${header}
        <div class="vlist-spacer" role="rowgroup" style=${`height:${count * rowHeight}px`}>
            <div class="vlist-window" style=${`transform:translateY(${first * rowHeight}px)`}>
                ${rows}
            </div>
        </div>
    </div>`;
}
