/* SPDX-License-Identifier: MIT */
/*
 * bpftape import: the trace into its SQLite database (docs/SCHEMA.md).
 * Other commands import on first use; this one forces it and reports.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpftape import [-o DB] [--no-symbols] [--no-dwarf] [-d DIR]... TRACE\n\n"
		"Loads TRACE into a SQLite database (schema: docs/SCHEMA.md), symbolizing\n"
		"stacks.  Other commands do this on first use and reuse the database while\n"
		"the trace is unchanged; import always rebuilds it.\n\n"
		"  -o, --output DB       database path (default TRACE.db, or a cache\n"
		"                        directory when that is not writable)\n"
		"      --no-symbols      keep raw addresses only\n"
		"      --no-dwarf        function names only (no file:line, no inlines)\n"
		"  -d, --debug-dir DIR   where to look for debug files (repeatable)\n"
		"  -q, --quiet           no summary\n"
		"  -h, --help            this help\n\n"
		"Examples:\n"
		"  bpftape import trace.tape\n"
		"  bpftape import -o /tmp/t.db trace.tape && sqlite3 /tmp/t.db .tables\n");
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"no-symbols", no_argument, NULL, 'S'},
	    {"no-dwarf", no_argument, NULL, 'W'},
	    {"debug-dir", required_argument, NULL, 'd'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct ana_import_opts io = {0};
	struct ana_import_stats st;
	const char *dirs[16];
	const char *out = NULL;
	char path[4096], err[1024];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'S':
			io.no_symbols = 1;
			break;
		case 'W':
			io.no_dwarf = 1;
			break;
		case 'd':
			if (io.n_debug_dirs == sizeof(dirs) / sizeof(dirs[0])) {
				ana_err("too many --debug-dir");
				return 2;
			}
			dirs[io.n_debug_dirs++] = optarg;
			io.debug_dirs = dirs;
			break;
		case 'q':
			io.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (out)
		snprintf(path, sizeof(path), "%s", out);
	else if (ana_default_db_path(argv[optind], path, sizeof(path))) {
		ana_err("cannot find a place for the database of '%s'", argv[optind]);
		return 1;
	}
	if (ana_import(argv[optind], path, &io, &st, err, sizeof(err))) {
		ana_err("%s", err);
		return 1;
	}
	if (!io.quiet) {
		printf("imported %s into %s: %" PRIu64 " events, %" PRIu64 " stacks (%" PRIu64
		       " frames), %" PRIu64 " process records, %" PRIu64 " mappings in %.3f s"
		       " (%.0f events/s)\n",
		       argv[optind], path, st.events, st.stacks, st.frames, st.procs, st.mmaps,
		       st.seconds, st.seconds > 0 ? (double)st.events / st.seconds : 0.0);
		if (st.bad_chunks)
			printf("damaged trace: %" PRIu64 " bad chunks, %" PRIu64
			       " bytes skipped (see the stats table)\n",
			       st.bad_chunks, st.bytes_skipped);
	}
	return 0;
}
