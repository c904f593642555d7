/* SPDX-License-Identifier: MIT */
/*
 * The bpftape subcommands.  Each takes argv with argv[0] = the subcommand
 * name and returns the process exit code: 0 ok, 1 runtime failure, 2 usage.
 * Every one handles --help (to stdout, exit 0).
 */
#ifndef BPFTAPE_COMMANDS_H
#define BPFTAPE_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_folded(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_record(int argc, char **argv);

#endif
