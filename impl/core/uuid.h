/* A 128-bit UUID as 16 raw bytes (most significant first): Kafka's UUID wire
 * type (proto/wire.h) and a FlowFile's uuid (flow/flowfile.h) share it. A
 * value, not a view. All zeroes is "no id" (Kafka's Uuid.ZERO_UUID). */
#ifndef WEIR_CORE_UUID_H
#define WEIR_CORE_UUID_H

#include <stdint.h>

typedef struct weir_uuid {
    uint8_t b[16];
} weir_uuid;

#define WEIR_UUID_ZERO ((weir_uuid){{0}})

#endif
