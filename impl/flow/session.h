/* The process session (NiFi's ProcessSession): a processor's unit of work.
 *
 * A session takes FlowFiles from the processor's incoming connections (in
 * each queue's prioritizer order), creates, clones, forks and joins
 * FlowFiles, writes content (a new claim in the content repository: content
 * is never changed in place), changes attributes, and routes each FlowFile
 * it holds to one relationship or removes it. Nothing is visible outside the
 * session until commit, which is atomic:
 *   1. every change becomes write-ahead-log records, appended and fsync'd
 *      once (when the engine has repositories), in one frame with the other
 *      sessions of its commit group (engine.h);
 *   2. provenance events are written;
 *   3. FlowFiles are offered to the queues of their relationship's
 *      connections (a copy per extra connection: NiFi's CLONE); a
 *      relationship that is auto-terminated, or has no connection,
 *      drops them (DROP event);
 *   4. content claims nothing refers to any more are released.
 * Rollback undoes everything: FlowFiles taken go back to their queues at
 * their places (same queue date and index), attributes and content as they
 * were, new claims released, no provenance event: "a rollback leaves no
 * trace". A session may overshoot a connection's back-pressure threshold:
 * thresholds are soft limits, checked before a trigger, never at commit.
 *
 * FlowFile handles: every weir_flowfile * a session hands out stays valid
 * until the session commits or rolls back, and may be changed only through
 * this session. Changes are made in place on the session's working copy; the
 * session keeps what it needs to undo them.
 *
 * Rules (checked at commit; a broken rule fails the commit with
 * WEIR_E_INVAL, and the caller rolls back): every FlowFile the session holds
 * at commit was transferred or removed; a removed FlowFile is not used again;
 * a relationship index is one of the processor's.
 *
 * Threading: a session is used from its engine's node only. The engine
 * reuses sessions: hot-path calls allocate nothing in steady state.
 */
#ifndef WEIR_FLOW_SESSION_H
#define WEIR_FLOW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/processor.h"

typedef struct weir_flowfile weir_flowfile;
typedef struct weir_flow_session weir_flow_session;

/* ---- taking FlowFiles ---- */

/* The next FlowFile from the processor's incoming connections (connections
 * taken in turn, each in its prioritizer order; penalized FlowFiles are
 * skipped), or NULL when there is none. */
weir_flowfile *weir_flow_session_get(weir_flow_session *s);

/* Up to max FlowFiles into out[]; returns how many (0 when none). The same
 * order as repeated weir_flow_session_get. */
size_t weir_flow_session_get_batch(weir_flow_session *s, weir_flowfile **out, size_t max);

/* How many FlowFiles the processor's incoming connections hold now, not
 * counting those penalized. */
uint64_t weir_flow_session_queued(const weir_flow_session *s);

/* ---- making FlowFiles ---- */

/* A new FlowFile with no content and the core attributes (uuid, filename,
 * path, entryDate, lineageStartDate): provenance CREATE at commit. NULL when
 * out of memory. */
weir_flowfile *weir_flow_session_create(weir_flow_session *s);

/* Same, but the FlowFile came from outside (ConsumeKafka, ListenHTTP):
 * provenance RECEIVE with details (e.g. "kafka://topic/3@42"), counted as
 * received, not created. */
weir_flowfile *weir_flow_session_receive(weir_flow_session *s, const char *transit_uri);

/* A child of parent (NiFi's create(parent)): parent's attributes with a new
 * uuid, no content, same lineage start; FORK at commit (all children of one
 * parent in one session in one event). */
weir_flowfile *weir_flow_session_create_child(weir_flow_session *s, weir_flowfile *parent);

/* A child of several parents (NiFi's create(Collection)): the attributes
 * all parents share, a new uuid, the earliest lineage start; JOIN at
 * commit. count >= 1. */
weir_flowfile *weir_flow_session_create_joined(weir_flow_session *s, weir_flowfile *const *parents,
                                               size_t count);

/* A copy of ff (attributes and the same content claim, a new uuid): CLONE at
 * commit. */
weir_flowfile *weir_flow_session_clone(weir_flow_session *s, weir_flowfile *ff);

/* Hands a FlowFile this session holds to another open session of the same
 * processor (MergeContent's bins): from then on only `to` may touch it; its
 * pending provenance and undo information move with it. */
WEIR_MUST_CHECK int weir_flow_session_migrate(weir_flow_session *from, weir_flow_session *to,
                                              weir_flowfile *ff);

/* ---- content ---- */

/* Replaces ff's content with the concatenation of iov[0..count): a new
 * claim. CONTENT_MODIFIED at commit (unless ff is new in this session). */
WEIR_MUST_CHECK int weir_flow_session_writev(weir_flow_session *s, weir_flowfile *ff,
                                             const weir_iov *iov, int count);
WEIR_MUST_CHECK int weir_flow_session_write(weir_flow_session *s, weir_flowfile *ff,
                                            const void *data, size_t len);

/* Gives dst the same content as src (a reference to src's claim, no bytes
 * copied): GenerateFlowFile writes a batch's data once. Both are held by s.
 * Counts as a content change of dst. */
WEIR_MUST_CHECK int weir_flow_session_copy_content(weir_flow_session *s, weir_flowfile *dst,
                                                   const weir_flowfile *src);

/* Gives dst the bytes [offset, offset + size) of src's content, sharing
 * src's claim (SplitText's splits). offset + size <= src's size. */
WEIR_MUST_CHECK int weir_flow_session_copy_content_range(weir_flow_session *s, weir_flowfile *dst,
                                                         const weir_flowfile *src, uint64_t offset,
                                                         uint64_t size);

/* Reads up to len bytes of ff's content from offset into buf; *got_out is
 * less than len only at the end of the content. */
WEIR_MUST_CHECK int weir_flow_session_read(weir_flow_session *s, const weir_flowfile *ff,
                                           uint64_t offset, void *buf, size_t len, size_t *got_out);

/* All of ff's content: *data_out stays valid until the session commits or
 * rolls back (it points into the content repository's memory or into a
 * session buffer). */
WEIR_MUST_CHECK int weir_flow_session_read_all(weir_flow_session *s, const weir_flowfile *ff,
                                               const uint8_t **data_out, size_t *len_out);

/* Content size in bytes. */
uint64_t weir_flow_session_size(const weir_flowfile *ff);

/* ---- attributes ---- */

/* An attribute's value, or NULL. The pointer is valid until the attribute
 * changes or the session ends. */
const char *weir_flow_session_attr(const weir_flowfile *ff, const char *key);

/* Sets (adds or replaces) / removes an attribute; ATTRIBUTES_MODIFIED at
 * commit unless ff is new. "uuid" cannot be changed (WEIR_E_INVAL).
 * Strings are copied. */
WEIR_MUST_CHECK int weir_flow_session_put_attr(weir_flow_session *s, weir_flowfile *ff,
                                               const char *key, const char *value);
WEIR_MUST_CHECK int weir_flow_session_put_attr_n(weir_flow_session *s, weir_flowfile *ff,
                                                 const char *key, const char *value,
                                                 size_t value_len);
WEIR_MUST_CHECK int weir_flow_session_remove_attr(weir_flow_session *s, weir_flowfile *ff,
                                                  const char *key);

/* ---- routing and endings ---- */

/* Routes ff to relationship rel_index of the processor (weir_flow_ctx_rel).
 * A later transfer in the same session replaces an earlier one. */
void weir_flow_session_transfer(weir_flow_session *s, weir_flowfile *ff, int rel_index);

/* Routes ff back to the queue it came from (NiFi's transfer(ff) with no
 * relationship); only for FlowFiles taken with get. */
void weir_flow_session_transfer_back(weir_flow_session *s, weir_flowfile *ff);

/* Ends ff's life: DROP at commit, its claim released when nothing else
 * refers to it. */
void weir_flow_session_remove(weir_flow_session *s, weir_flowfile *ff);

/* Hides ff from every processor for the processor's penalty duration once
 * it is back in a queue. */
void weir_flow_session_penalize(weir_flow_session *s, weir_flowfile *ff);

/* Records that ff's content left the flow (PutFile, PublishKafka): SEND at
 * commit; a FlowFile removed after a SEND in the same session counts as
 * sent, not dropped. */
void weir_flow_session_send(weir_flow_session *s, weir_flowfile *ff, const char *transit_uri);

/* Records a ROUTE event for ff with a reason ("matched rule X"). */
void weir_flow_session_route_event(weir_flow_session *s, weir_flowfile *ff, const char *details);

/* ---- ending the session ---- */

/* Commits, as described above; with a write-ahead log the frame is
 * durable when this returns 0 (sessions the engine gathered for a group
 * commit go into the same frame), so a processor may ack its source
 * (a Kafka offset commit) right after. A processor that returns 0 from
 * on_trigger without committing lets the engine commit its session in a
 * group instead (engine.h "Group commit"): cheaper, durable only later. On
 * an error nothing was applied: the session is as it was before the call,
 * and the caller rolls back. After 0 the session is empty and may be used
 * again. */
WEIR_MUST_CHECK int weir_flow_session_commit(weir_flow_session *s);

/* Undoes everything (see above); penalize also penalizes the FlowFiles
 * taken (NiFi's rollback(true)). Always succeeds; the session is empty and
 * may be used again. */
void weir_flow_session_rollback(weir_flow_session *s, bool penalize);

/* Frees a session from weir_flow_ctx_session_open, rolling back first if
 * it holds anything. */
void weir_flow_session_close(weir_flow_session *s);

/* FlowFiles the session holds now (taken, created, not yet committed). */
size_t weir_flow_session_held(const weir_flow_session *s);

/* The processor this session belongs to. */
weir_flow_ctx *weir_flow_session_ctx(const weir_flow_session *s);

#endif
