/* The provenance repository: what happened to every FlowFile (notes/FLOW.md
 * §1.6; NiFi's ProvenanceEventRecord, WriteAheadProvenanceRepository).
 *
 * An event names one FlowFile (its uuid), a type, the component that caused
 * it, and for FORK / JOIN / CLONE the parent and child uuids:
 *   FORK   flowfile = the parent, parents = {parent}, children = the new ones
 *   JOIN   flowfile = the child, parents = the merged ones, children = {child}
 *   CLONE  flowfile = the original, parents = {original}, children = {clone}
 * The repository numbers events from 1 in the order recorded (the event id)
 * and stamps their time (weir_wall_ms) when the caller left it 0.
 *
 * Storage: append-only files `<dir>/<20-digit first event id>.prov`, rolled
 * at file_bytes_max; the oldest are deleted beyond storage_bytes_max
 * (retention). Each file:
 *   "WPV2" | u64 first event id | WEIR_PROV_TYPE_COUNT x u64 counts of all
 *   events before this file (so totals survive retention) | u32 header CRC-32C |
 *   records: uvarint payload length | u32 CRC-32C of payload | payload
 *   payload: u8 type | varlong time_ms minus the previous event's (the first:
 *     minus 0) | uuid (16) | uvarint size | uvarint parent count, parents (16
 *     each) | uvarint child count, children | component, relationship,
 *     details, each a string field
 *   string field: uvarint tag: 0 = ""; 2n + 1 = n bytes follow; 2k + 2 = the
 *     file's dictionary entry k. Written-out strings of 1..255 bytes enter the
 *     dictionary (entries 0, 1, ... in file order) until it holds 4096.
 * A record's event id is the file's first id plus its position in the file,
 * so a file is read from its start. Component and relationship names repeat
 * from event to event; the dictionary writes each once per file
 * (provenance_codec.c encodes and decodes the records).
 * Events are buffered and written by weir_prov_flush (the session commit
 * calls it) or when the buffer fills; fsync only when cfg.sync. On open the
 * last file is scanned and a torn tail cut (reported); a bad record in an
 * older file is WEIR_E_CORRUPT naming the file and offset.
 *
 * Memory mode (dir NULL): the same records, encoded straight into memory
 * segments of file_bytes_max, with the same retention, but with a CRC of 0
 * (memory neither tears nor rots); nothing survives the process.
 *
 * Queries scan the stored events (no index): the lineage of a FlowFile is
 * every event of the FlowFile, of its ancestors (through parents, then their
 * parents...) and of its descendants (through children), in (time, id)
 * order. Counts per type are kept in memory for all events ever recorded
 * (conservation: CREATE + RECEIVE + FORK/JOIN/CLONE children = SEND + DROP +
 * EXPIRE + queued).
 *
 * Threading: one node's event callbacks only.
 */
#ifndef WEIR_FLOW_PROVENANCE_H
#define WEIR_FLOW_PROVENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"
#include "flow/flowfile.h"

typedef enum weir_prov_type {
    WEIR_PROV_CREATE = 0,
    WEIR_PROV_RECEIVE = 1,
    WEIR_PROV_SEND = 2,
    WEIR_PROV_FORK = 3,
    WEIR_PROV_JOIN = 4,
    WEIR_PROV_CLONE = 5,
    WEIR_PROV_CONTENT_MODIFIED = 6,
    WEIR_PROV_ATTRIBUTES_MODIFIED = 7,
    WEIR_PROV_ROUTE = 8,
    WEIR_PROV_DROP = 9,
    WEIR_PROV_EXPIRE = 10,
    WEIR_PROV_TYPE_COUNT = 11,
} weir_prov_type;

/* "CREATE", "RECEIVE", ... (NiFi's names); "?" out of range. */
const char *weir_prov_type_name(weir_prov_type type);

/* The reverse, exact upper-case match. WEIR_E_INVAL otherwise. */
WEIR_MUST_CHECK int weir_prov_type_parse(const char *name, weir_prov_type *out);

/* One event. Strings are NUL-terminated; NULL means "" when recording and is
 * never returned by a query. */
typedef struct weir_prov_event {
    uint64_t id;     /* set by the repository */
    int64_t time_ms; /* wall; 0 when recording = now */
    weir_prov_type type;
    weir_uuid flowfile;
    uint64_t size; /* content bytes at the event */
    const weir_uuid *parents;
    uint32_t parent_count;
    const weir_uuid *children;
    uint32_t child_count;
    const char *component;    /* the processor's name */
    const char *relationship; /* ROUTE: where to; else "" */
    const char *details;      /* free text: transit URI for SEND/RECEIVE, reason */
} weir_prov_event;

/* Settings. NiFi setting → field:
 *   nifi.provenance.repository.max.storage.size (10 GB) → storage_bytes_max (weir: 1 GiB)
 *   nifi.provenance.repository.rollover.size (100 MB)   → file_bytes_max (weir: 16 MiB) */
typedef struct weir_prov_config {
    uint64_t file_bytes_max;    /* 16 MiB */
    uint64_t storage_bytes_max; /* 1 GiB; 0 = unlimited */
    size_t buffer_bytes;        /* written when this much is buffered: 256 KiB */
    bool sync;                  /* fsync at flush: false (NiFi does not either) */
} weir_prov_config;

void weir_prov_config_default(weir_prov_config *cfg);

typedef struct weir_prov_repo weir_prov_repo;

/* What weir_prov_open found. */
typedef struct weir_prov_recovery {
    int files;
    uint64_t events; /* events stored */
    uint64_t next_id;
    bool cut; /* a torn tail was removed */
    char cut_file[64];
    uint64_t cut_offset;
    const char *cut_reason; /* static text */
} weir_prov_recovery;

/* Opens (creating) dir, or a memory repository when dir is NULL. report may
 * be NULL. WEIR_E_CORRUPT with why naming the file and offset (see above). */
WEIR_MUST_CHECK int weir_prov_open(weir_env *env, const char *dir, const weir_prov_config *cfg,
                                   weir_prov_recovery *report, weir_prov_repo **out, char *why,
                                   size_t why_size);

/* Flushes and frees; freed even on error. */
WEIR_MUST_CHECK int weir_prov_close(weir_prov_repo *repo);

/* Frees without writing (the process "crashed"): buffered events are lost. */
void weir_prov_abandon(weir_prov_repo *repo);

/* Records *ev (copied; id and, when 0, time set by the repository) into the
 * buffer; *id_out (may be NULL) is its id. WEIR_E_INVAL for a type out of
 * range; I/O errors from a write the full buffer caused (the event is then
 * not recorded). */
WEIR_MUST_CHECK int weir_prov_record(weir_prov_repo *repo, const weir_prov_event *ev,
                                     uint64_t *id_out);

/* Strings that recur from event to event (processor and relationship
 * names, fixed details) may be interned once and then given by handle to
 * weir_prov_record_names, which does no string work per event. Handle 0 is
 * "" (and what NULL or "" intern to); the same text always gives the same
 * handle. Handles stay valid while the repository is open. WEIR_E_INVAL
 * beyond WEIR_PROV_NAMES_MAX names; WEIR_E_NOMEM. */
typedef uint32_t weir_prov_name;
#define WEIR_PROV_NAMES_MAX 65536u

WEIR_MUST_CHECK int weir_prov_intern(weir_prov_repo *repo, const char *s, weir_prov_name *out);

/* weir_prov_record with component, relationship and details given as
 * handles of this repository (ev's string fields are not read). */
WEIR_MUST_CHECK int weir_prov_record_names(weir_prov_repo *repo, const weir_prov_event *ev,
                                           weir_prov_name component, weir_prov_name relationship,
                                           weir_prov_name details, uint64_t *id_out);

/* Events of one type for ffs[0..count) in that order, each with no parents
 * or children, the FlowFile's uuid and size, and the same time (0: now) and
 * names: the same records as that many weir_prov_record_names calls, made
 * without repeating the work they share. On an error the events before the
 * failing one are recorded. */
WEIR_MUST_CHECK int weir_prov_record_ffs(weir_prov_repo *repo, weir_prov_type type, int64_t time_ms,
                                         weir_prov_name component, weir_prov_name relationship,
                                         weir_prov_name details, const weir_flowfile *const *ffs,
                                         size_t count);

/* Shorthand: an event of ff with no parents or children. */
WEIR_MUST_CHECK int weir_prov_record_ff(weir_prov_repo *repo, weir_prov_type type,
                                        const weir_flowfile *ff, const char *component,
                                        const char *relationship, const char *details);

/* Writes buffered events (and fsyncs when cfg.sync). */
WEIR_MUST_CHECK int weir_prov_flush(weir_prov_repo *repo);

/* Events recorded of each type, ever (across restarts and retention). */
uint64_t weir_prov_count(const weir_prov_repo *repo, weir_prov_type type);

/* The id the next event gets. */
uint64_t weir_prov_next_id(const weir_prov_repo *repo);

/* A query result: events in (time, id) order; the strings and uuid arrays
 * live in the list. Free with weir_prov_events_free (safe on a zeroed list). */
typedef struct weir_prov_events {
    weir_prov_event *events;
    size_t count;
    void *mem; /* private */
} weir_prov_events;

void weir_prov_events_free(weir_prov_events *list);

/* Every stored event (buffered ones included) of uuid's lineage (above). */
WEIR_MUST_CHECK int weir_prov_lineage(weir_prov_repo *repo, const weir_uuid *uuid,
                                      weir_prov_events *out);

/* Every stored event naming uuid as its FlowFile, in id order. */
WEIR_MUST_CHECK int weir_prov_events_of(weir_prov_repo *repo, const weir_uuid *uuid,
                                        weir_prov_events *out);

/* Calls fn for every stored event in id order (the event and its strings are
 * valid during the call only) until fn returns non-zero, which is returned. */
WEIR_MUST_CHECK int weir_prov_scan(weir_prov_repo *repo,
                                   int (*fn)(const weir_prov_event *ev, void *arg), void *arg);

#endif
