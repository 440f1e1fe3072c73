/* SPDX-License-Identifier: MIT */
/* MinHash signatures, the shingling mode of a text, the LSH banding, and grouping: exact
 * properties and estimates against Jaccard similarities computed exactly from the shingles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/minhash.h"
#include "dedup/near_groups.h"

struct set {
    uint64_t h[4096];
    size_t n;
};

static void collect(void *ud, uint64_t h)
{
    struct set *s = ud;
    assert_true(s->n < 4096);
    s->h[s->n++] = h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The distinct shingles of text, sorted. */
static void shingle_set(const char *text, struct set *s)
{
    size_t k = 0;
    s->n = 0;
    minhash_shingles(text, strlen(text), minhash_mode_of(text, strlen(text)), collect, s);
    qsort(s->h, s->n, sizeof(s->h[0]), cmp_u64);
    for (size_t i = 0; i < s->n; i++)
        if (k == 0 || s->h[k - 1] != s->h[i])
            s->h[k++] = s->h[i];
    s->n = k;
}

static double exact_jaccard(const char *a, const char *b)
{
    static struct set x, y;
    size_t i = 0, k = 0, both = 0;

    shingle_set(a, &x);
    shingle_set(b, &y);
    while (i < x.n && k < y.n) {
        if (x.h[i] == y.h[k]) {
            both++;
            i++;
            k++;
        } else if (x.h[i] < y.h[k]) {
            i++;
        } else {
            k++;
        }
    }
    return (double)both / (double)(x.n + y.n - both);
}

static double estimate(const char *a, const char *b)
{
    struct minhash_sig x, y;
    minhash_sign(a, strlen(a), &x);
    minhash_sign(b, strlen(b), &y);
    return minhash_similarity(&x, &y);
}

/* "p0 p1 ... p(n-1)" of words prefix0, prefix1, ... starting at `from`. */
static void words(char *out, size_t size, const char *prefix, int from, int n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s%d", i ? " " : "", prefix, from + i);
}

static void identical_texts(void **state)
{
    (void)state;
    assert_true(estimate("the quick brown fox jumps over the lazy dog",
                         "the quick brown fox jumps over the lazy dog") == 1.0);
    assert_true(estimate("机器学习是人工智能的一个分支", "机器学习是人工智能的一个分支") == 1.0);
}

static void disjoint_texts(void **state)
{
    static char a[8192], b[8192];
    (void)state;
    words(a, sizeof(a), "alpha", 0, 200);
    words(b, sizeof(b), "beta", 0, 200);
    assert_true(exact_jaccard(a, b) == 0.0);
    assert_true(estimate(a, b) <= 0.03);
}

/* A of words t0..t99; B of t0..t59 and u0..u39: 99 word pairs each, 59 shared, so the Jaccard
 * similarity is 59/139 exactly; the estimate is within 0.1 of it (3 standard deviations). */
static void known_jaccard(void **state)
{
    static char a[8192], b[8192], tail[4096];
    double j;
    (void)state;
    words(a, sizeof(a), "t", 0, 100);
    words(b, sizeof(b), "t", 0, 60);
    words(tail, sizeof(tail), "u", 0, 40);
    strcat(b, " ");
    strcat(b, tail);
    j = exact_jaccard(a, b);
    assert_true(j == 59.0 / 139.0);
    assert_true(estimate(a, b) > j - 0.1 && estimate(a, b) < j + 0.1);
}

/* Chinese: character 3-grams, so an edit of one character in 40 keeps most shingles. */
static void chinese_edit(void **state)
{
    const char *a =
        "深度学习模型在自然语言处理任务中表现出色，尤其是在机器翻译和文本摘要方面取得了显著进展";
    const char *b =
        "深度学习模型在自然语言处理任务中表现出色，特别是在机器翻译和文本摘要方面取得了显著进展";
    double j = exact_jaccard(a, b), s = estimate(a, b);
    (void)state;
    assert_int_equal(minhash_mode_of(a, strlen(a)), MINHASH_CHARS);
    assert_true(j > 0.8 && j < 0.95);
    assert_true(s > j - 0.1 && s < j + 0.1);
}

static void modes(void **state)
{
    const char *en = "a sentence written with spaces between its words";
    const char *mixed = "我们使用 python 和 pytorch 训练了一个中文文本分类模型";
    (void)state;
    assert_int_equal(minhash_mode_of(en, strlen(en)), MINHASH_WORDS);
    assert_int_equal(minhash_mode_of(mixed, strlen(mixed)), MINHASH_CHARS);
    /* too few words for one word shingle: characters */
    assert_int_equal(minhash_mode_of("hello", 5), MINHASH_CHARS);
}

static void encode_decode(void **state)
{
    struct minhash_sig s, t;
    unsigned char bytes[MINHASH_SIG_BYTES];
    (void)state;
    minhash_sign("round trip of a signature", 25, &s);
    minhash_encode(&s, bytes);
    assert_true(minhash_decode(bytes, sizeof(bytes), &t));
    assert_memory_equal(&s, &t, sizeof(s));
    assert_false(minhash_decode(bytes, sizeof(bytes) - 1, &t));
}

/* The banding datasketch picks for 128 permutations at 0.8 with its default weights (9 bands
 * of 13 rows), and the one weighted towards recall that candidates verified exactly use. */
static void banding(void **state)
{
    struct lsh_params p = lsh_params_for(0.8, 0.5);
    (void)state;
    assert_int_equal(p.bands, 9);
    assert_int_equal(p.rows, 13);
    p = lsh_params_for(0.8, LSH_FN_WEIGHT);
    assert_int_equal(p.bands, 16);
    assert_int_equal(p.rows, 8);
}

static int member(void *ud, int64_t cluster, int64_t id, double similarity)
{
    char *out = ud;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%lld:%lld:%.2f ", (long long)cluster, (long long)id,
             similarity);
    return 0;
}

/* A copy with one word changed (Jaccard 97/101) joins the text's group; a text sharing half its
 * words (in the same bucket, but below the threshold) and an unrelated one stay out. The group
 * is numbered from its smallest id and each member's similarity is to that first member. */
static void groups(void **state)
{
    static char a[8192], copy[8192], half[8192], other[8192], tail[4096];
    const char *texts[] = {a, other, copy, half};
    const int64_t ids[] = {30, 7, 12, 40};
    struct near_groups *g = near_groups_new(0.8, NULL, NULL);
    int64_t slots[4];
    char out[256] = "";
    (void)state;
    words(a, sizeof(a), "t", 0, 100);
    words(copy, sizeof(copy), "t", 0, 50);
    strcat(copy, " changed ");
    words(tail, sizeof(tail), "t", 51, 49);
    strcat(copy, tail);
    words(half, sizeof(half), "t", 0, 50);
    words(tail, sizeof(tail), "u", 0, 50);
    strcat(half, " ");
    strcat(half, tail);
    words(other, sizeof(other), "z", 0, 100);
    for (int i = 0; i < 4; i++) {
        struct minhash_sig sig;
        minhash_sign(texts[i], strlen(texts[i]), &sig);
        slots[i] = near_groups_add(g, ids[i], &sig, texts[i], strlen(texts[i]));
        assert_true(slots[i] >= 0);
    }
    assert_int_equal(near_groups_add(g, 30, NULL, NULL, 0), slots[0]);
    near_groups_bucket(g, slots, 4);
    assert_int_equal(near_groups_clusters(g, member, out), 0);
    assert_string_equal(out, "1:12:1.00 1:30:0.96 ");
    near_groups_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_texts), cmocka_unit_test(disjoint_texts),
        cmocka_unit_test(known_jaccard),   cmocka_unit_test(chinese_edit),
        cmocka_unit_test(modes),           cmocka_unit_test(encode_decode),
        cmocka_unit_test(banding),         cmocka_unit_test(groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
