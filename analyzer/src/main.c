/* SPDX-License-Identifier: MIT */
/*
 * bpftape: the analyzer's entry point.  Subcommands come from one static
 * table (git's commands[]); each gets argv with argv[0] = its name.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "commands.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"info", cmd_info, "host, time range, counts, sizes and losses of a trace (--check)"},
    {"import", cmd_import, "load a trace into a SQLite database"},
    {"sql", cmd_sql, "run an SQL query on the trace database"},
    {"events", cmd_events, "time-ordered listing of events with decoded fields"},
    {"hist", cmd_hist, "log2 or linear histogram of a field, a latency or a query"},
    {"folded", cmd_folded, "stacks in folded format for flamegraph.pl, inferno, speedscope"},
    {"flamegraph", cmd_flamegraph, "a self-contained SVG flame graph"},
    {"symbolize", cmd_symbolize, "addresses of an ELF file to function, file:line"},
    {"export", cmd_export, "events as CSV or Chrome trace JSON (Perfetto)"},
    {"record", cmd_record, "record a trace (runs bpftape-record)"},
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: bpftape [--version] [--help] COMMAND [ARGS]\n\n"
		     "Analyze bpftape trace files.  Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "   %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'bpftape COMMAND --help' describes one command.\n"
		     "Example: bpftape record -o trace.tape -- ./app; bpftape folded trace.tape > "
		     "out.folded\n");
}

int main(int argc, char **argv)
{
	size_t i;

	/* no global allocation statistics: they cost a mutex per allocation,
	 * and nothing here reads them */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bpftape %s\n", BPFTAPE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "bpftape: '%s' is not a bpftape command. See 'bpftape --help'.\n", argv[1]);
	return 2;
}
