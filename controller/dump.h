/* Prints a controller's Raft log for operators and tests: one line per
 * entry "index term type length crc32c", after the snapshot it starts from.
 * Opening runs the store's recovery (a torn tail is truncated), so use it on
 * a stopped controller. */
#ifndef CAIRN_DUMP_H
#define CAIRN_DUMP_H

#include <stdio.h>

/* Returns the process exit status: 0, or 1 with a message on stderr. */
int dump_metadata_log(const char *dir, FILE *out);

#endif
