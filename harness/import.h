/* import.h - merging the runs of another kbench database into this one (`kbench import`), so
 * machines that each ran a shard of a suite (a Slurm job array) end up in one database.
 *
 * Runs are keyed by uuid: a run already present is left as it is (its tags are merged), so
 * importing the same file twice adds nothing. Machines are matched by fingerprint. Every child
 * row of a new run is copied: cases, samples, statistics, counters, accuracy and tags, with ids
 * renumbered. The whole import is one transaction: it lands entirely or not at all.
 *
 * The source is checked first, read-only, as store_open does (not SQLite, corrupt, another
 * program's database, a newer schema than this kbench knows): such a file is refused and
 * neither database is changed. An older source is read as it is (columns it lacks stay NULL).
 */
#ifndef KB_IMPORT_H
#define KB_IMPORT_H

#include <stddef.h>

struct import_counts {
    int runs_added, runs_present;  /* new runs; runs whose uuid the target already had */
    int machines_added;
    long cases, samples;           /* rows copied */
    int tags_added;
};

/* Imports source into target (created and migrated if need be). Returns 0, or -1 with a message
 * in err naming the file and the problem; on -1 the target is unchanged. */
int import_database(const char *target, const char *source, struct import_counts *counts, char *err,
                    size_t errlen);

#endif
