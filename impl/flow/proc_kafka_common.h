/* What ConsumeKafka and PublishKafka share: their properties turned into
 * the Kafka clients' settings (weir_consumer_config, weir_producer_config),
 * the "Kafka Brokers" and topic name checks, the key encodings of NiFi's
 * "Key Attribute Encoding", the provenance transit URI, a consumer's
 * leaving of its group after its processor stopped, ConsumeKafka's
 * counters (back pressure: pauses, fetches), and Kafka client
 * settings given as dynamic properties under their Kafka names
 * ("auto.offset.reset: earliest", "linger.ms: 20"), mapped to the clients'
 * config fields by one table per client (as NiFi passes dynamic properties
 * to the Kafka client).
 *
 * Every check that fails records its reason through weir_flow_ctx_fail,
 * naming the property, and returns WEIR_E_INVAL.
 */
#ifndef WEIR_FLOW_PROC_KAFKA_COMMON_H
#define WEIR_FLOW_PROC_KAFKA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/consumer.h"
#include "client/producer.h"
#include "core/err.h"
#include "flow/processor.h"

#define WEIR_FLOW_KAFKA_BROKERS "Kafka Brokers"
#define WEIR_FLOW_KAFKA_KEY_ENCODING "Key Attribute Encoding"

/* NiFi's Key Attribute Encoding values, and the choice list (NULL-ended). */
typedef enum weir_flow_kafka_key_enc {
    WEIR_FLOW_KAFKA_KEY_UTF8 = 0, /* "utf-8": the key bytes as they are */
    WEIR_FLOW_KAFKA_KEY_HEX,      /* "hex": two lower-case hex digits per byte */
    WEIR_FLOW_KAFKA_KEY_NONE,     /* "do-not-add": no kafka.key attribute */
} weir_flow_kafka_key_enc;
extern const char *const weir_flow_kafka_key_encodings[];

/* The encoding a Key Attribute Encoding value names (a checked choice). */
weir_flow_kafka_key_enc weir_flow_kafka_key_encoding(const char *value);

/* Checks "host:port[,host:port]..." (ports 1..65535) in property `name`. */
WEIR_MUST_CHECK int weir_flow_kafka_brokers_check(weir_flow_ctx *ctx, const char *name,
                                                  const char *value);

/* Checks one topic name against Kafka's rule (1..249 of [A-Za-z0-9._-], not
 * "." or ".."), naming property `name` on failure. */
WEIR_MUST_CHECK int weir_flow_kafka_topic_check(weir_flow_ctx *ctx, const char *name,
                                                const char *topic, size_t len);

/* "kafka://<first broker of bootstrap>/<topic>", malloc'd; NULL when out of
 * memory. The caller frees it. */
char *weir_flow_kafka_transit_uri(const char *bootstrap, const char *topic, size_t topic_len);

/* Lower-case hex of src[0..len) into dst (2 * len + 1 bytes, NUL-ended). */
void weir_flow_kafka_hex_encode(const uint8_t *src, size_t len, char *dst);

/* Bytes of a hex string into dst (len / 2 bytes): 0, or WEIR_E_INVAL for an
 * odd length or a non-hex digit. */
WEIR_MUST_CHECK int weir_flow_kafka_hex_decode(const char *src, size_t len, uint8_t *dst);

/* A copy of the property's value evaluated without a FlowFile (malloc'd,
 * "" when unset); NULL when out of memory or the evaluation failed (the
 * reason is then the ctx's last error). */
char *weir_flow_kafka_prop_dup(weir_flow_ctx *ctx, const char *name);

/* Splits the comma-separated topic list of property `name` (spaces around
 * names ignored), checking each: malloc'd copies in topics[0..*count_out),
 * at most max. On failure the names made so far are there for the caller
 * to free. */
WEIR_MUST_CHECK int weir_flow_kafka_topics_split(weir_flow_ctx *ctx, const char *name,
                                                 const char *list, char **topics, int32_t max,
                                                 int32_t *count_out);

/* ---- the clients' settings ---- */

/* ConsumeKafka's consumer: "Offset Reset", "Honor Transactions"
 * (read_committed), then the dynamic Kafka settings (so they win). Offsets
 * are committed by the processor, never automatically. bootstrap and
 * group_id are used, not copied. */
WEIR_MUST_CHECK int weir_flow_kafka_consumer_config(weir_flow_ctx *ctx, const char *bootstrap,
                                                    const char *group_id,
                                                    weir_consumer_config *cfg);

/* PublishKafka's producer: "Delivery Guarantee" (acks), "Max Request Size",
 * idempotence with acks all, then the dynamic Kafka settings; with "Use
 * Transactions" (acks all only) a transactional.id of "Transactional Id
 * Prefix" + the processor's name, malloc'd into *txn_id_out (NULL
 * otherwise; the caller frees it, also on failure). */
WEIR_MUST_CHECK int weir_flow_kafka_producer_config(weir_flow_ctx *ctx, const char *bootstrap,
                                                    weir_producer_config *cfg,
                                                    bool *transactions_out, char **txn_id_out);

/* Closes the consumer (it leaves its group: LeaveGroup) and, once that is
 * over or after 10 s, frees it and then cb_ctx, its callbacks' context
 * (which must ignore callbacks until then). From an env event, never from
 * inside a consumer callback; the env must live on. */
void weir_flow_kafka_consumer_retire(weir_env *env, weir_consumer *c, void *cb_ctx);

/* ---- ConsumeKafka's counters ---- */

typedef struct weir_flow_consume_kafka_stats {
    uint64_t fetches;     /* Fetch requests its consumer sent */
    uint64_t pauses;      /* times the full buffer paused the assigned partitions */
    uint64_t handed_back; /* records that found no room and were seeked back to */
    bool paused;          /* paused now */
} weir_flow_consume_kafka_stats;

/* The counters of a running ConsumeKafka since it was scheduled (for tests
 * and status pages). Returns false, with *out zeroed, when ctx is not a
 * ConsumeKafka or it is not running. */
bool weir_flow_consume_kafka_stats_get(const weir_flow_ctx *ctx,
                                       weir_flow_consume_kafka_stats *out);

/* ---- Kafka client settings as dynamic properties ---- */

typedef enum weir_flow_kafka_kind {
    WEIR_FLOW_KAFKA_INT32 = 0,    /* int32_t field, >= min */
    WEIR_FLOW_KAFKA_BOOL,         /* bool field: true / false */
    WEIR_FLOW_KAFKA_STRING,       /* const char * field (the client copies it) */
    WEIR_FLOW_KAFKA_OFFSET_RESET, /* weir_offset_reset field: earliest / latest / none */
    WEIR_FLOW_KAFKA_ISOLATION,    /* bool read_committed: read_committed / read_uncommitted */
} weir_flow_kafka_kind;

typedef struct weir_flow_kafka_setting {
    const char *name; /* Kafka's: "fetch.max.wait.ms"; NULL ends a table */
    weir_flow_kafka_kind kind;
    size_t offset; /* of the field in the client's config struct */
    int32_t min;   /* WEIR_FLOW_KAFKA_INT32 only */
} weir_flow_kafka_setting;

/* weir_consumer_config's and weir_producer_config's settings (proc_kafka_common.c). */
extern const weir_flow_kafka_setting weir_flow_kafka_consumer_settings[];
extern const weir_flow_kafka_setting weir_flow_kafka_producer_settings[];

/* Sets cfg's fields from the processor's dynamic properties, each looked up
 * in table by its name. An unknown name or a bad value fails naming the
 * property. String values point into ctx's properties: use them before
 * on_schedule returns. */
WEIR_MUST_CHECK int weir_flow_kafka_settings_apply(weir_flow_ctx *ctx,
                                                   const weir_flow_kafka_setting *table, void *cfg);

/* Whether the processor sets `name` as a dynamic property. */
bool weir_flow_kafka_setting_given(const weir_flow_ctx *ctx, const char *name);

#endif
