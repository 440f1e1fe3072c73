// The one message catalogue: each part holds one area's messages, keyed "area.name", in every
// language. A part is {en: {...}, "zh-CN": {...}} with the same keys in both (a test checks).
import core from "./core.js";
import generate from "./generate.js";
import pipeline from "./pipeline.js";
import projects from "./projects.js";
import providers from "./providers.js";
import samples from "./samples.js";
import stats from "./stats.js";
import topics from "./topics.js";
import transfer from "./transfer.js";

const parts = [core, generate, pipeline, projects, providers, samples, stats, topics, transfer];

export const catalogue = { en: {}, "zh-CN": {} };
for (const part of parts)
    for (const lang of Object.keys(catalogue)) Object.assign(catalogue[lang], part[lang]);
