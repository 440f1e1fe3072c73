// The LLM judge's rating where samples are reviewed: beside a person's in the list and in a
// sample's detail, always labelled as the judge's and never merged into the person's (the
// samples page's styles hold its look, so that page loads one stylesheet).
import { t } from "../i18n.js";
import { html } from "../lib.js";
import { RatingBadge } from "./rating.js";

// The judge's rating in a list: a small "Judge" label before its stars or badge.
export function JudgeBadge({ rating }) {
    if (!rating || rating.value === null || rating.value === undefined) return null;
    return html`<span class="judge-badge" title=${t("judge.ratingTitle")}>
        <span class="judge-label">${t("judge.short")}</span><${RatingBadge} rating=${rating} />
    </span>`;
}

// The judge's rating in a sample's detail, read-only (its reasoning is among the intermediate
// outputs).
export function JudgeSection({ run, task }) {
    const r = run.judge_rating;
    if (!r) return null;
    const reqs = task.requirements || [];
    const byReq = r.requirement_ratings || {};
    return html`<section class="judge-section" aria-labelledby="sd-judge-title">
        <h3 id="sd-judge-title">${t("judge.detailTitle")}</h3>
        <p class="hint">${t("judge.detailHint")}</p>
        <dl class="judge-ratings">
            <div><dt>${t("judge.overall")}</dt><dd><${RatingBadge} rating=${r} /></dd></div>
            ${reqs.filter((q) => byReq[q.id]).map((q) => html`<div key=${q.id}>
                <dt>${q.name}</dt><dd><${RatingBadge} rating=${byReq[q.id]} /></dd></div>`)}
        </dl>
    </section>`;
}
