// SPDX-License-Identifier: MIT
/*
 * Recorder unit tests that need no privileges: probe specs, tracefs format parsing (on real format
 * texts copied from a 6.x kernel) and stack dedup.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rec_int.h"

static void test_rec_spec__parse_valid(void **state)
{
	struct rec_spec s;
	char err[256];

	assert_int_equal(rec_spec__parse("profile", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_PROFILE);
	assert_int_equal(s.hz, 99);
	assert_int_equal(s.stacks, REC_STACK_K | REC_STACK_U);
	assert_int_equal(rec_spec__parse("profile:hz:997", &s, err, sizeof(err)), 0);
	assert_int_equal(s.hz, 997);
	assert_int_equal(rec_spec__parse("t:syscalls:sys_enter_getppid", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_TRACEPOINT);
	assert_string_equal(s.cat, "syscalls");
	assert_string_equal(s.name, "sys_enter_getppid");
	assert_int_equal(s.stacks, 0);
	assert_int_equal(rec_spec__parse("tracepoint:block:*,stack", &s, err, sizeof(err)), 0);
	assert_string_equal(s.cat, "block");
	assert_string_equal(s.name, "*");
	assert_int_equal(s.stacks, REC_STACK_K | REC_STACK_U);
	assert_int_equal(rec_spec__parse("t:sched:sched_switch,kstack", &s, err, sizeof(err)), 0);
	assert_int_equal(s.stacks, REC_STACK_K);
	assert_int_equal(rec_spec__parse("raw_syscalls:sys_enter", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_TRACEPOINT);
	assert_string_equal(s.cat, "raw_syscalls");
	assert_string_equal(s.name, "sys_enter");
	assert_int_equal(rec_spec__parse("kprobe:do_sys_open", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_KPROBE);
	assert_int_equal(rec_spec__parse("kr:vfs_read", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_KRETPROBE);
	assert_int_equal(rec_spec__parse("u:/bin/bash:readline", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_UPROBE);
	assert_int_equal(rec_spec__parse("usdt:/usr/lib/x.so:prov:probe", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_USDT);
	assert_int_equal(rec_spec__parse("offcpu", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, REC_SPEC_OFFCPU);
}

static void test_rec_spec__parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",		"bogus:x:y",	"t:sched",	  "t:sched:a:b", "tracepoint::x",
	    "t:a b:c",	"profile:hz:0", "profile:hz:abc", "profile:99x", "profile:khz:9",
	    "kprobe:",	"u:/bin/sh",	"usdt:/x:p",	  "offcpu:x",	 "t:sched:x,bogus",
	    "t:a;rm:b",
	};
	struct rec_spec s;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(rec_spec__parse(bad[i], &s, err, sizeof(err)), -EINVAL);
		/* one line naming the spec */
		assert_non_null(strstr(err, "probe spec"));
		assert_null(strchr(err, '\n'));
	}
}

static const char exec_format[] =
    "name: sched_process_exec\n"
    "ID: 365\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
    "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->old_pid\n";

static const char sys_enter_format[] =
    "name: sys_enter\n"
    "ID: 443\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n"
    "\n"
    "print fmt: \"NR %ld\", REC->id\n";

static void test_rec_tp_format__parse(void **state)
{
	struct rec_tp_layout l;
	char err[256];

	assert_int_equal(rec_tp_format__parse(exec_format, &l, err, sizeof(err)), 0);
	assert_int_equal(l.id, 365);
	assert_int_equal(l.fixed_size, 20);
	assert_int_equal(l.n_loc, 1);
	assert_int_equal(l.loc_off[0], 8);
	assert_int_equal(l.loc_rel[0], 0);

	assert_int_equal(rec_tp_format__parse(sys_enter_format, &l, err, sizeof(err)), 0);
	assert_int_equal(l.id, 443);
	assert_int_equal(l.fixed_size, 64);
	assert_int_equal(l.n_loc, 0);

	assert_int_not_equal(rec_tp_format__parse("name: x\nformat:\n", &l, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "ID"));
	assert_int_not_equal(rec_tp_format__parse("ID: 5\n\tfield:int x;\toffset:zz;\tsize:4;\n",
						  &l, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "bad field"));
}

static void test_rec_stacks__dedup(void **state)
{
	struct rec_stacks *st;
	uint64_t a[3] = {0x1000, 0x2000, 0x3000}, b[3] = {0x1000, 0x2000, 0x3001};
	uint32_t id1, id2, id3, id4;
	bool n1, n2, n3, n4;

	assert_int_equal(rec_stacks__new(&st), 0);
	assert_int_equal(rec_stacks__intern(st, false, a, 3, &id1, &n1), 0);
	assert_true(n1);
	assert_true(id1 >= 1);
	assert_int_equal(rec_stacks__intern(st, false, a, 3, &id2, &n2), 0);
	assert_false(n2);
	assert_int_equal(id1, id2);
	assert_int_equal(rec_stacks__intern(st, false, b, 3, &id3, &n3), 0);
	assert_true(n3);
	assert_int_not_equal(id3, id1);
	/* the same frames as a kernel stack are a different stack */
	assert_int_equal(rec_stacks__intern(st, true, a, 3, &id4, &n4), 0);
	assert_true(n4);
	assert_int_not_equal(id4, id1);
	/* a prefix is a different stack */
	assert_int_equal(rec_stacks__intern(st, false, a, 2, &id4, &n4), 0);
	assert_true(n4);

	/* many stacks: growth keeps every id stable */
	uint64_t ips[4];
	uint32_t ids[5000];
	for (uint32_t i = 0; i < 5000; i++) {
		ips[0] = i;
		ips[1] = i * 7;
		ips[2] = 0xffffffff81000000ull + i;
		ips[3] = 42;
		assert_int_equal(rec_stacks__intern(st, true, ips, 4, &ids[i], &n1), 0);
		assert_true(n1);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		ips[0] = i;
		ips[1] = i * 7;
		ips[2] = 0xffffffff81000000ull + i;
		ips[3] = 42;
		assert_int_equal(rec_stacks__intern(st, true, ips, 4, &id1, &n1), 0);
		assert_false(n1);
		assert_int_equal(id1, ids[i]);
	}
	assert_true(rec_stacks__count(st) == 5004);
	rec_stacks__free(st);
	rec_stacks__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rec_spec__parse_valid),
	    cmocka_unit_test(test_rec_spec__parse_rejects),
	    cmocka_unit_test(test_rec_tp_format__parse),
	    cmocka_unit_test(test_rec_stacks__dedup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
