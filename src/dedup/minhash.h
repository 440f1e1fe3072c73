/* SPDX-License-Identifier: MIT */
/*
 * MinHash signatures of texts and the LSH banding that finds near-duplicate candidates.
 *
 * A text (already normalised: case folded, whitespace collapsed to single spaces) becomes a set
 * of shingles: word 2-grams for space-separated text, character 3-grams for text written without
 * spaces (Chinese, Japanese, Thai...); minhash_mode_of says which, from the share of code points
 * in scripts written without spaces. Each shingle is hashed once to 64 bits; the signature keeps,
 * for each of MINHASH_K hash functions h_i(x) = (a_i x + b_i) >> 32 (multiply-shift, a_i odd),
 * the smallest value over the shingles. Two signatures agree at a position with probability the
 * Jaccard similarity of the two shingle sets.
 *
 * Pure functions, no allocation: any thread.
 */
#ifndef HETU_DEDUP_MINHASH_H
#define HETU_DEDUP_MINHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MINHASH_K         128
#define MINHASH_WORD_N    2 /* words per shingle, space-separated text */
#define MINHASH_CHAR_N    3 /* code points per shingle, text without spaces */
#define MINHASH_SIG_BYTES (MINHASH_K * 4)
/* What a stored signature was made with: a signature of other params is made again. */
#define MINHASH_PARAMS "minhash1 k128 w2 c3"

enum minhash_mode { MINHASH_WORDS, MINHASH_CHARS };

struct minhash_sig {
    uint32_t v[MINHASH_K];
};

/*
 * Characters when at least a quarter of the text's non-space code points belong to scripts
 * written without spaces (CJK ideographs, kana, Thai, Lao, Khmer, Myanmar), or when the text
 * holds fewer than MINHASH_WORD_N + 1 words; words otherwise.
 */
enum minhash_mode minhash_mode_of(const char *text, size_t len);

/* Calls cb with the 64-bit hash of each shingle of text (repeats included); the number of
 * shingles. A text shorter than one shingle is one shingle; an empty text has none. */
typedef void (*minhash_shingle_cb)(void *ud, uint64_t h);
size_t minhash_shingles(const char *text, size_t len, enum minhash_mode mode, minhash_shingle_cb cb,
                        void *ud);

/* The signature of a normalised text (every value UINT32_MAX for an empty text). */
void minhash_sign(const char *text, size_t len, struct minhash_sig *ret);

/* The estimated Jaccard similarity: the share of positions where a and b agree. */
double minhash_similarity(const struct minhash_sig *a, const struct minhash_sig *b);

/*
 * The shingles of a normalised text as a set: sorted, distinct 32-bit hashes in a malloc'd
 * array (*ret NULL for none); their number, or -1 when out of memory. For exact Jaccard
 * similarities (minhash_jaccard) of the few pairs LSH makes candidates.
 */
long minhash_shingle_set(const char *text, size_t len, uint32_t **ret);
double minhash_jaccard(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

/* Signatures as stored: MINHASH_K little-endian 32-bit values. */
void minhash_encode(const struct minhash_sig *s, unsigned char out[MINHASH_SIG_BYTES]);
bool minhash_decode(const void *data, size_t len, struct minhash_sig *ret);

/*
 * LSH: `bands` bands of `rows` values each (bands * rows <= MINHASH_K). Two texts of Jaccard s
 * share a band key with probability 1 - (1 - s^rows)^bands.
 */
struct lsh_params {
    int bands, rows;
};

/*
 * The banding for a threshold in (0, 1]: the one with the smallest weighted sum of the
 * false-positive probability mass below the threshold and the false-negative mass above it, as
 * datasketch picks it (its weights are (1 - fn_weight, fn_weight), by default 0.5 each). Where
 * candidates are verified exactly, a false positive costs one comparison and a false negative a
 * missed duplicate: LSH_FN_WEIGHT.
 */
#define LSH_FN_WEIGHT 0.95
struct lsh_params lsh_params_for(double threshold, double fn_weight);

/* The key of band `band` of s (rows values from band * rows). */
int64_t lsh_band_key(const struct minhash_sig *s, int band, int rows);

#endif
