/* SPDX-License-Identifier: MIT */
/*
 * MinHash signatures and LSH banding (see minhash.h).
 *
 * DESIGN
 * - Shingles are byte spans of the normalised text: MINHASH_CHAR_N code points, or
 *   MINHASH_WORD_N words with the single space between them. A span is hashed with FNV-1a and
 *   finished with a 64-bit mixer, so nearby spans get unrelated hashes.
 * - The K hash functions are multiply-shift: (a_i * x + b_i) >> 32 over 64-bit words, with a_i
 *   odd; the constants come from a fixed splitmix64 stream, so signatures are the same on every
 *   machine and run (they are stored). One multiply and one add per function and shingle, in a
 *   loop the compiler vectorises.
 * - Input is trusted to be valid UTF-8 (the store holds nothing else); a stray byte counts as
 *   one code point.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/minhash.h"
#include "util/grow.h"
#include "util/banned.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t span_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return mix64(h ^ len);
}

/* The permutations' constants, made once (the first signature) from a fixed seed. */
static struct {
    uint64_t a[MINHASH_K], b[MINHASH_K];
} perm;

static void perm_fill(void)
{
    uint64_t state = 0x48657475u; /* fixed: stored signatures depend on it */

    for (int i = 0; i < MINHASH_K; i++) {
        perm.a[i] = splitmix64(&state) | 1;
        perm.b[i] = splitmix64(&state);
    }
}

static void perm_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, perm_fill);
}

/* ---- code points and modes ---- */

/* The length of the UTF-8 sequence starting at s[i] (1 for a stray byte), its code point in *cp. */
static size_t utf8_next(const char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    uint32_t v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;

    if (i + n > len)
        n = 1;
    for (size_t k = 1; k < n; k++)
        v = (v << 6) | ((unsigned char)s[i + k] & 0x3f);
    *cp = v;
    return n;
}

static bool spaceless_script(uint32_t c)
{
    return (c >= 0x3040 && c <= 0x30ff) ||   /* hiragana, katakana */
           (c >= 0x3400 && c <= 0x9fff) ||   /* CJK ideographs, extension A */
           (c >= 0xf900 && c <= 0xfaff) ||   /* CJK compatibility ideographs */
           (c >= 0x20000 && c <= 0x3ffff) || /* CJK extensions B and later */
           (c >= 0x0e00 && c <= 0x0eff) ||   /* Thai, Lao */
           (c >= 0x1000 && c <= 0x109f) ||   /* Myanmar */
           (c >= 0x1780 && c <= 0x17ff);     /* Khmer */
}

enum minhash_mode minhash_mode_of(const char *text, size_t len)
{
    size_t letters = 0, spaceless = 0, words = 0;
    bool in_word = false;
    uint32_t c;

    for (size_t i = 0; i < len; i += utf8_next(text, len, i, &c)) {
        utf8_next(text, len, i, &c);
        if (c == ' ') {
            in_word = false;
            continue;
        }
        letters++;
        spaceless += spaceless_script(c);
        if (!in_word)
            words++;
        in_word = true;
    }
    if (spaceless * 4 >= letters && spaceless > 0)
        return MINHASH_CHARS;
    return words > MINHASH_WORD_N ? MINHASH_WORDS : MINHASH_CHARS;
}

/* ---- shingles ---- */

/* Character shingles: a window of MINHASH_CHAR_N code-point offsets over the text. */
static size_t char_shingles(const char *text, size_t len, minhash_shingle_cb cb, void *ud)
{
    size_t start[MINHASH_CHAR_N + 1], n = 0, count = 0;
    uint32_t c;

    for (size_t i = 0; i <= len; i += i < len ? utf8_next(text, len, i, &c) : 1) {
        if (n == MINHASH_CHAR_N + 1) {
            memmove(start, start + 1, MINHASH_CHAR_N * sizeof(*start));
            n--;
        }
        start[n++] = i;
        if (n == MINHASH_CHAR_N + 1) {
            cb(ud, span_hash(text + start[0], i - start[0]));
            count++;
        }
    }
    if (count == 0 && len > 0) {
        cb(ud, span_hash(text, len));
        count = 1;
    }
    return count;
}

/* Word shingles: MINHASH_WORD_N words and the spaces between them. */
static size_t word_shingles(const char *text, size_t len, minhash_shingle_cb cb, void *ud)
{
    size_t start[MINHASH_WORD_N], n = 0, count = 0, i = 0;

    while (i < len) {
        size_t end;
        while (i < len && text[i] == ' ')
            i++;
        if (i == len)
            break;
        if (n == MINHASH_WORD_N) {
            memmove(start, start + 1, (MINHASH_WORD_N - 1) * sizeof(*start));
            n--;
        }
        start[n++] = i;
        for (end = i; end < len && text[end] != ' '; end++)
            ;
        if (n == MINHASH_WORD_N) {
            cb(ud, span_hash(text + start[0], end - start[0]));
            count++;
        }
        i = end;
    }
    if (count == 0 && n > 0) {
        while (len > 0 && text[len - 1] == ' ')
            len--;
        cb(ud, span_hash(text + start[0], len - start[0]));
        count = 1;
    }
    return count;
}

size_t minhash_shingles(const char *text, size_t len, enum minhash_mode mode, minhash_shingle_cb cb,
                        void *ud)
{
    return mode == MINHASH_WORDS ? word_shingles(text, len, cb, ud)
                                 : char_shingles(text, len, cb, ud);
}

/* ---- signatures ---- */

static void take_min(void *ud, uint64_t x)
{
    uint32_t *m = ud;
    for (int i = 0; i < MINHASH_K; i++) {
        uint32_t v = (uint32_t)((perm.a[i] * x + perm.b[i]) >> 32);
        m[i] = v < m[i] ? v : m[i];
    }
}

void minhash_sign(const char *text, size_t len, struct minhash_sig *ret)
{
    perm_init();
    for (int i = 0; i < MINHASH_K; i++)
        ret->v[i] = UINT32_MAX;
    minhash_shingles(text, len, minhash_mode_of(text, len), take_min, ret->v);
}

double minhash_similarity(const struct minhash_sig *a, const struct minhash_sig *b)
{
    int same = 0;
    for (int i = 0; i < MINHASH_K; i++)
        same += a->v[i] == b->v[i];
    return (double)same / MINHASH_K;
}

struct set {
    uint32_t *v;
    size_t n, cap;
    bool nomem;
};

static void set_add(void *ud, uint64_t h)
{
    struct set *s = ud;
    uint32_t *v;

    if (s->nomem)
        return;
    if (!(v = grow_array(s->v, &s->cap, s->n, sizeof(*v), 64))) {
        s->nomem = true;
        return;
    }
    s->v = v;
    s->v[s->n++] = (uint32_t)(h >> 32);
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

long minhash_shingle_set(const char *text, size_t len, uint32_t **ret)
{
    struct set s = {0};
    size_t k = 0;

    minhash_shingles(text, len, minhash_mode_of(text, len), set_add, &s);
    if (s.nomem) {
        free(s.v);
        return -1;
    }
    qsort(s.v, s.n, sizeof(*s.v), u32_cmp);
    for (size_t i = 0; i < s.n; i++)
        if (k == 0 || s.v[k - 1] != s.v[i])
            s.v[k++] = s.v[i];
    *ret = s.v;
    return (long)k;
}

double minhash_jaccard(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t i = 0, k = 0, both = 0;

    if (na + nb == 0)
        return 1.0;
    while (i < na && k < nb) {
        if (a[i] == b[k]) {
            both++;
            i++;
            k++;
        } else if (a[i] < b[k]) {
            i++;
        } else {
            k++;
        }
    }
    return (double)both / (double)(na + nb - both);
}

void minhash_encode(const struct minhash_sig *s, unsigned char out[MINHASH_SIG_BYTES])
{
    for (int i = 0; i < MINHASH_K; i++)
        for (int k = 0; k < 4; k++)
            out[i * 4 + k] = (unsigned char)(s->v[i] >> (8 * k));
}

bool minhash_decode(const void *data, size_t len, struct minhash_sig *ret)
{
    const unsigned char *p = data;

    if (!data || len != MINHASH_SIG_BYTES)
        return false;
    for (int i = 0; i < MINHASH_K; i++)
        ret->v[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
                    (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
    return true;
}

/* ---- LSH ---- */

/* The integral of f over [lo, hi] by the midpoint rule (the curves are smooth). */
static double integrate(double (*f)(double, int, int), double lo, double hi, int b, int r)
{
    const int steps = 200;
    double step = (hi - lo) / steps, sum = 0;
    for (int i = 0; i < steps; i++)
        sum += f(lo + (i + 0.5) * step, b, r);
    return sum * step;
}

static double false_positive(double s, int b, int r)
{
    return 1 - pow(1 - pow(s, r), b);
}

static double false_negative(double s, int b, int r)
{
    return pow(1 - pow(s, r), b);
}

struct lsh_params lsh_params_for(double threshold, double fn_weight)
{
    struct lsh_params best = {MINHASH_K, 1};
    double best_err = INFINITY;

    for (int b = 1; b <= MINHASH_K; b++) {
        for (int r = 1; b * r <= MINHASH_K; r++) {
            double err = (1 - fn_weight) * integrate(false_positive, 0, threshold, b, r) +
                         fn_weight * integrate(false_negative, threshold, 1, b, r);
            if (err < best_err) {
                best_err = err;
                best = (struct lsh_params){b, r};
            }
        }
    }
    return best;
}

int64_t lsh_band_key(const struct minhash_sig *s, int band, int rows)
{
    uint64_t h = mix64((uint64_t)band + 1);
    for (int i = band * rows; i < (band + 1) * rows; i++)
        h = mix64(h ^ s->v[i]);
    return (int64_t)(h >> 1); /* positive: the key is stored as an SQLite integer */
}
