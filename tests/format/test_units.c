/* SPDX-License-Identifier: MIT */
/* The command-line unit parser: durations and sizes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tape/units.h"

static void test_units__durations(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tape_parse_duration_ns("10", &v), 0);
	assert_int_equal(v, 10000000000ull);
	assert_int_equal(tape_parse_duration_ns("10s", &v), 0);
	assert_int_equal(v, 10000000000ull);
	assert_int_equal(tape_parse_duration_ns("500ms", &v), 0);
	assert_int_equal(v, 500000000ull);
	assert_int_equal(tape_parse_duration_ns("1.5s", &v), 0);
	assert_int_equal(v, 1500000000ull);
	assert_int_equal(tape_parse_duration_ns("250us", &v), 0);
	assert_int_equal(v, 250000ull);
	assert_int_equal(tape_parse_duration_ns("2m", &v), 0);
	assert_int_equal(v, 120000000000ull);
	assert_int_equal(tape_parse_duration_ns("10abc", &v), -EINVAL);
	assert_int_equal(tape_parse_duration_ns("", &v), -EINVAL);
	assert_int_equal(tape_parse_duration_ns("-1s", &v), -EINVAL);
	assert_int_equal(tape_parse_duration_ns("s", &v), -EINVAL);
	assert_int_equal(tape_parse_duration_ns("1e30h", &v), -ERANGE);
	assert_int_equal(tape_parse_duration_ns("nan", &v), -EINVAL);
	assert_int_equal(tape_parse_duration_ns("99999999999999999999h", &v), -ERANGE);
	assert_int_equal(tape_parse_duration_ns("3", &v), 0);
	assert_int_equal(v, 3000000000ull);
}

static void test_units__sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tape_parse_size("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(tape_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(tape_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(tape_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(tape_parse_size("8MiB", &v), 0);
	assert_int_equal(v, 8ull << 20);
	assert_int_equal(tape_parse_size("10abc", &v), -EINVAL);
	assert_int_equal(tape_parse_size("M", &v), -EINVAL);
	assert_int_equal(tape_parse_size(" 4k", &v), -EINVAL);
	assert_int_equal(tape_parse_size("4KX", &v), -EINVAL);
	assert_int_equal(tape_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(tape_parse_size("99999999999T", &v), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units__durations),
	    cmocka_unit_test(test_units__sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
