/* SPDX-License-Identifier: MIT */
/* The judge's prompt (every requirement with its id, name, instruction and rating type; the
 * scales; the guidance; the sample in the user turn) and Kiln's rating types and values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "judge/judge.h"
#include "judge/rubric.h"

static const char requirements[] =
    "[{\"id\": \"r-tone\", \"name\": \"Tone\", \"description\": \"\", \"instruction\": \"Polite "
    "throughout\", \"priority\": 2, \"type\": \"five_star\"},"
    "{\"id\": \"r-len\", \"name\": \"Length\", \"description\": \"Short\", \"instruction\": "
    "\"At most three sentences\", \"priority\": 1, \"type\": \"pass_fail\"},"
    "{\"id\": \"r-safe\", \"name\": \"Safety\", \"description\": \"\", \"instruction\": "
    "\"No harmful advice\", \"priority\": 3, \"type\": \"pass_fail_critical\"}]";

static void test_prompt(void **state)
{
    struct task t = {.id = "111111111111",
                     .instruction = "Answer the customer's question.",
                     .requirements = requirements};
    struct judge_model m = {"openai", "gpt-x", "Be strict about length.", false};
    struct buf sys, user;
    (void)state;

    buf_init(&sys, 1 << 20);
    buf_init(&user, 1 << 20);
    assert_int_equal(judge_prompt(&t, &m, "Where is my order?", "It ships today.", &sys, &user), 0);
    assert_non_null(strstr(sys.data, "Answer the customer's question."));
    assert_non_null(strstr(sys.data, "<requirement id=\"r-tone\">\nname: Tone\n"));
    assert_non_null(strstr(sys.data, "what to check: Polite throughout\nrating type: five_star"));
    assert_non_null(strstr(sys.data, "<requirement id=\"r-len\">\nname: Length\ndescription: "
                                     "Short\nwhat to check: At most three sentences\nrating "
                                     "type: pass_fail, 1 (pass) or 0 (fail)"));
    assert_non_null(strstr(sys.data, "rating type: pass_fail_critical, 1 (pass), 0 (fail) or -1"));
    assert_non_null(strstr(sys.data, "<additional_instructions>\nBe strict about length.\n"));
    /* the system turn is the same for every sample: nothing of this one is in it */
    assert_null(strstr(sys.data, "Where is my order?"));
    assert_non_null(strstr(user.data, "<input>\nWhere is my order?\n</input>"));
    assert_non_null(strstr(user.data, "<output>\nIt ships today.\n</output>"));
    buf_done(&sys);
    buf_done(&user);

    /* no guidance: no additional instructions */
    m.guidance = NULL;
    buf_init(&sys, 1 << 20);
    buf_init(&user, 1 << 20);
    assert_int_equal(judge_prompt(&t, &m, "a", "b", &sys, &user), 0);
    assert_null(strstr(sys.data, "additional_instructions"));
    buf_done(&sys);
    buf_done(&user);
}

static void test_rubric(void **state)
{
    struct task t = {.id = "111111111111", .requirements = requirements};
    struct judge_rubric rb;
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(judge_rubric_load(&t, &rb, &e), 0);
    assert_int_equal(rb.n, 3);
    assert_string_equal(rb.reqs[1].id, "r-len");
    assert_int_equal(rb.reqs[1].type, RATING_PASS_FAIL);
    assert_int_equal(rb.reqs[2].type, RATING_PASS_FAIL_CRITICAL);
    assert_ptr_equal(judge_rubric_find(&rb, "r-safe"), &rb.reqs[2]);
    assert_null(judge_rubric_find(&rb, "r-none"));
    judge_rubric_done(&rb);

    t.requirements = "{\"not\": \"a list\"}";
    assert_int_equal(judge_rubric_load(&t, &rb, &e), HE_INTERNAL);
}

static void test_rating_values(void **state)
{
    (void)state;
    /* Kiln: five_star 1..5, pass_fail 1.0 / 0.0, pass_fail_critical 1.0 / 0.0 / -1.0 */
    assert_true(rating_value_ok(RATING_FIVE_STAR, 1) && rating_value_ok(RATING_FIVE_STAR, 5));
    assert_false(rating_value_ok(RATING_FIVE_STAR, 0) || rating_value_ok(RATING_FIVE_STAR, 6) ||
                 rating_value_ok(RATING_FIVE_STAR, 2.5));
    assert_true(rating_value_ok(RATING_PASS_FAIL, 1) && rating_value_ok(RATING_PASS_FAIL, 0));
    assert_false(rating_value_ok(RATING_PASS_FAIL, -1) || rating_value_ok(RATING_PASS_FAIL, 5));
    assert_true(rating_value_ok(RATING_PASS_FAIL_CRITICAL, -1));
    assert_false(rating_value_ok(RATING_PASS_FAIL_CRITICAL, 2));
    assert_int_equal(rating_type_parse("pass_fail_critical"), RATING_PASS_FAIL_CRITICAL);
    assert_int_equal(rating_type_parse("custom"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt),
        cmocka_unit_test(test_rubric),
        cmocka_unit_test(test_rating_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
