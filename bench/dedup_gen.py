#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The labelled set of bench/dedup.sh: base texts in English and Chinese made of sentences from
word lists (50 to 500 characters), and copies of each edited at known rates by insertions,
deletions and swaps of words (English) or characters (Chinese). For every pair inside a family
(a base and its copies) the true Jaccard similarity over the same shingles as src/dedup/minhash.c
(word 2-grams for space-separated text, character 3-grams for text without spaces, chosen per
text the same way) is computed exactly. Texts are written already normalised (lower case, single
spaces), so the server's normalisation leaves them as they are.

Writes DIR/docs.tsv ("id<TAB>family<TAB>edit rate<TAB>text", rate 0 for a base) and
DIR/pairs.tsv ("id_a<TAB>id_b<TAB>jaccard"). Deterministic for a seed.
"""

import argparse
import random

EN_WORDS = """
the of and to in is was for on that with as by at from it an be this which or are not but have
has had were their they one all been more its also can would new other two some time there when
first into after most only over such these many about data model training system language text
learning network results method based using used between each than through both during while
where under high large small number research work study group high quality sample task output
input user value level process information data set test evaluation performance accuracy error
rate function feature example question answer document sentence word paper approach problem
solution design analysis service server client request response memory storage database query
index record file stream buffer thread queue worker job batch import export format schema field
city river mountain forest ocean village market garden kitchen window station bridge harbor
morning evening winter summer autumn spring weather rain snow wind cloud light shadow color
people child family friend teacher doctor student writer farmer driver artist worker neighbor
walk run read write speak listen build carry open close begin finish travel return follow
quickly slowly carefully quietly early late often never always sometimes together almost nearly
red green blue yellow bright dark warm cold heavy light simple complex ancient modern local
because although however therefore meanwhile instead otherwise finally suddenly perhaps indeed
""".split()

ZH_WORDS = """
我们 他们 今天 明天 昨天 时间 地方 学校 老师 学生 朋友 家庭 工作 公司 城市 国家 世界 历史
文化 经济 社会 科学 技术 研究 方法 问题 结果 数据 模型 训练 语言 文本 系统 网络 学习 机器
人工 智能 计算 分析 设计 开发 测试 评估 性能 质量 准确 错误 信息 知识 能力 发展 变化 影响
重要 主要 不同 相同 简单 复杂 快速 缓慢 美丽 安静 热闹 温暖 寒冷 春天 夏天 秋天 冬天 天气
下雨 下雪 阳光 月亮 星星 山区 河流 森林 大海 村庄 市场 花园 厨房 窗户 车站 桥梁 港口 早上
晚上 中午 孩子 父母 医生 作家 农民 司机 艺术 邻居 走路 跑步 阅读 写作 说话 听到 建设 打开
关闭 开始 结束 旅行 回来 跟随 认真 仔细 经常 总是 有时 一起 几乎 因为 虽然 但是 所以 然后
突然 也许 确实 已经 正在 可以 应该 需要 希望 觉得 知道 认为 发现 提供 使用 进行 通过 关于
由于 对于 以及 或者 并且 如果 那么 这个 那个 一些 很多 非常 比较 更加 最近 未来 过去 现在
""".split()

SPACELESS = [(0x3040, 0x30ff), (0x3400, 0x9fff), (0xf900, 0xfaff), (0x20000, 0x3ffff),
             (0x0e00, 0x0eff), (0x1000, 0x109f), (0x1780, 0x17ff)]
WORD_N, CHAR_N = 2, 3
RATES = [0.01, 0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20, 0.30]


def spaceless(c):
    o = ord(c)
    return any(lo <= o <= hi for lo, hi in SPACELESS)


def chars_mode(text):
    """minhash_mode_of: characters when a quarter of the non-space code points are of scripts
    written without spaces, or when there are too few words."""
    letters = [c for c in text if c != " "]
    sl = sum(1 for c in letters if spaceless(c))
    if sl > 0 and sl * 4 >= len(letters):
        return True
    return len(text.split()) <= WORD_N


def shingles(text):
    if chars_mode(text):
        cps = list(text)
        if len(cps) < CHAR_N:
            return {text} if text else set()
        return {"".join(cps[i:i + CHAR_N]) for i in range(len(cps) - CHAR_N + 1)}
    words = text.split()
    if len(words) < WORD_N:
        return {" ".join(words)}
    return {" ".join(words[i:i + WORD_N]) for i in range(len(words) - WORD_N + 1)}


def jaccard(a, b):
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


def english(rng, lo, hi):
    out = []
    while True:
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(6, 16))]
        words[-1] += "."
        cand = " ".join(out + words)
        if len(cand) > hi:
            break
        out += words
        if len(cand) >= lo and rng.random() < 0.3:
            break
    return " ".join(out) if len(" ".join(out)) >= lo else english(rng, lo, hi)


def chinese(rng, lo, hi):
    out = ""
    while True:
        s = "".join(rng.choice(ZH_WORDS) for _ in range(rng.randint(4, 12)))
        s += rng.choice("，。。；")
        if len(out + s) > hi:
            break
        out += s
        if len(out) >= lo and rng.random() < 0.3:
            break
    return out if len(out) >= lo else chinese(rng, lo, hi)


def edit(rng, text, rate):
    """Edits a share `rate` of the units (words, or characters for Chinese): each edit an
    insertion, a deletion or a swap of two neighbours, at random places."""
    zh = chars_mode(text)
    units = list(text) if zh else text.split()
    n = max(1, round(rate * len(units)))
    for _ in range(n):
        op = rng.choice("ids")
        i = rng.randrange(len(units))
        if op == "i":
            units.insert(i, rng.choice("".join(ZH_WORDS)) if zh else rng.choice(EN_WORDS))
        elif op == "d" and len(units) > 2:
            del units[i]
        elif i + 1 < len(units):
            units[i], units[i + 1] = units[i + 1], units[i]
    return "".join(units) if zh else " ".join(units)


def choose_n(rng):
    """How the shingle sizes were chosen: for each n, the mean exact Jaccard of copies at small
    edit rates, the share of them at or above 0.8, and the largest Jaccard between two unrelated
    texts. Characters: 3, the largest n that keeps every copy with 2% of edits at or above 0.8
    (n = 5 keeps 73%), unrelated texts near 0 (n = 2: up to 0.1). Words: 2, the smallest n that
    keeps word order (single words let unrelated texts share up to 0.18; n = 3 drops most copies
    of short texts below 0.8 at one edit)."""
    zh = [chinese(rng, 50, 300) for _ in range(300)]
    en = [english(rng, 50, 500) for _ in range(300)]

    def units(t, n, words):
        u = t.split() if words else list(t)
        return {" ".join(u[i:i + n]) for i in range(len(u) - n + 1)}

    def jac(a, b, n, words):
        x, y = units(a, n, words), units(b, n, words)
        return len(x & y) / len(x | y)

    for label, bases, words, sizes in (("chars", zh, False, (2, 3, 4, 5)),
                                       ("words", en, True, (1, 2, 3))):
        for n in sizes:
            row = []
            for rate in (0.01, 0.02, 0.05, 0.10):
                r2 = random.Random(1)
                js = [jac(b, edit(r2, b, rate), n, words) for b in bases]
                row.append("%g%%: mean %.3f, %d%% >= 0.8" % (
                    rate * 100, sum(js) / len(js), 100 * sum(j >= 0.8 for j in js) // len(js)))
            far = max(jac(bases[i], bases[i + 1], n, words) for i in range(0, len(bases) - 1, 2))
            print("dedup: %s n=%d: %s; unrelated at most %.3f" % (label, n, "; ".join(row), far))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--families", type=int, default=5000)
    ap.add_argument("--copies", type=int, default=3, help="edited copies of each base")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--choose-n", action="store_true",
                    help="print the measurement behind the shingle sizes and stop")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if a.choose_n:
        choose_n(rng)
        return
    n_id = 0
    with open(a.dir + "/docs.tsv", "w", encoding="utf-8") as docs, \
            open(a.dir + "/pairs.tsv", "w", encoding="utf-8") as pairs:
        for fam in range(a.families):
            zh = fam % 2 == 1
            base = chinese(rng, 50, 300) if zh else english(rng, 50, 500)
            family = [(n_id, base, 0.0)]
            n_id += 1
            for _ in range(a.copies):
                rate = rng.choice(RATES)
                family.append((n_id, edit(rng, base, rate), rate))
                n_id += 1
            for i, text, rate in family:
                docs.write("%d\t%d\t%g\t%s\n" % (i, fam, rate, text))
            for x in range(len(family)):
                for y in range(x + 1, len(family)):
                    pairs.write("%d\t%d\t%.6f\n" % (family[x][0], family[y][0],
                                                    jaccard(family[x][1], family[y][1])))


if __name__ == "__main__":
    main()
