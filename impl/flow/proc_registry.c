/* The registry of built-in processor types (processor.h), and the
 * pass-through type that group ports run as. */
#include <stdio.h>
#include <string.h>

#include "flow/engine_internal.h"

extern const weir_flow_processor_type weir_flow_proc_duplicate;
extern const weir_flow_processor_type weir_flow_proc_generate;
extern const weir_flow_processor_type weir_flow_proc_update_attribute;
extern const weir_flow_processor_type weir_flow_proc_route_on_attribute;
extern const weir_flow_processor_type weir_flow_proc_log_attribute;
extern const weir_flow_processor_type weir_flow_proc_replace_text;
extern const weir_flow_processor_type weir_flow_proc_split_text;
extern const weir_flow_processor_type weir_flow_proc_merge_content;
extern const weir_flow_processor_type weir_flow_proc_put_file;
extern const weir_flow_processor_type weir_flow_proc_consume_kafka;
extern const weir_flow_processor_type weir_flow_proc_publish_kafka;
extern const weir_flow_processor_type weir_flow_proc_invoke_service;

/* In name order. */
const weir_flow_processor_type *const weir_flow_builtin_types[] = {
    &weir_flow_proc_consume_kafka,
    &weir_flow_proc_duplicate,          &weir_flow_proc_generate,
    &weir_flow_proc_invoke_service,
    &weir_flow_proc_log_attribute,      &weir_flow_proc_merge_content,
    &weir_flow_proc_publish_kafka,
    &weir_flow_proc_put_file,           &weir_flow_proc_replace_text,
    &weir_flow_proc_route_on_attribute, &weir_flow_proc_split_text,
    &weir_flow_proc_update_attribute,   NULL,
};

const weir_flow_processor_type *weir_flow_builtin_find(const char *name)
{
    for (size_t i = 0; weir_flow_builtin_types[i] != NULL; i++) {
        if (strcmp(weir_flow_builtin_types[i]->name, name) == 0) {
            return weir_flow_builtin_types[i];
        }
    }
    return NULL;
}

int weir_flow_processor_type_check(const weir_flow_processor_type *type, char *why, size_t why_size)
{
    if (type == NULL || type->name == NULL || type->name[0] == '\0' || type->on_trigger == NULL) {
        snprintf(why, why_size, "a processor type needs a name and on_trigger");
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; type->relationships != NULL && type->relationships[i].name != NULL; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(type->relationships[i].name, type->relationships[j].name) == 0) {
                snprintf(why, why_size, "%s: relationship '%s' declared twice", type->name,
                         type->relationships[i].name);
                return WEIR_E_INVAL;
            }
        }
    }
    for (size_t i = 0; type->properties != NULL && type->properties[i].name != NULL; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(type->properties[i].name, type->properties[j].name) == 0) {
                snprintf(why, why_size, "%s: property '%s' declared twice", type->name,
                         type->properties[i].name);
                return WEIR_E_INVAL;
            }
        }
    }
    return 0;
}

/* ---- ports: everything in goes out, unchanged ---- */

static const weir_flow_relationship_desc port_rels[] = {
    {.name = WEIR_FLOW_PORT_RELATIONSHIP,
     .description = "everything that enters the port",
     .optional = true},
    {0},
};

static int port_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    (void)ctx;
    weir_flowfile *ffs[256];
    size_t n = weir_flow_session_get_batch(s, ffs, sizeof ffs / sizeof ffs[0]);
    for (size_t i = 0; i < n; i++) {
        weir_flow_session_transfer(s, ffs[i], 0);
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_port = {
    .name = WEIR_FLOW_PORT_TYPE,
    .description = "An input or output port of a process group: passes FlowFiles on.",
    .relationships = port_rels,
    .on_trigger = port_trigger,
};
