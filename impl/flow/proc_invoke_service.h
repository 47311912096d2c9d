/* InvokeService at run time: what a scenario's timed actions (and tests) do
 * to a running InvokeService processor's dependency (proc_invoke_service.c).
 *
 * Unless its "Service" names a dependency registered with the engine
 * (weir_flow_engine_service_register), the processor calls a simulated
 * dependency (invoke.h's weir_flow_simdep) configured by its properties
 * ("Latency", "Error Rate", "Seed"). These
 * calls degrade it to another error rate and latency, and restore it to what
 * the properties say, while FlowFiles flow: the circuit breaker in front of
 * it then opens, tries, and closes by itself. A processor restarted (stopped
 * and started, or a parameter swap) starts healthy again.
 *
 * Threading: the engine's node, from its events (a scenario action's timer).
 */
#ifndef WEIR_FLOW_PROC_INVOKE_SERVICE_H
#define WEIR_FLOW_PROC_INVOKE_SERVICE_H

#include <stdint.h>

#include "core/err.h"
#include "flow/engine.h"
#include "flow/invoke.h"

/* The processor type's name in flow files. */
#define WEIR_FLOW_INVOKE_SERVICE_TYPE "InvokeService"

/* Degrades the dependency of the InvokeService processor named `processor`:
 * from now on a call fails with probability error_rate (0..1) and answers
 * after latency_ns (with the same +-50 % spread as "Latency"). Calls already
 * made keep what they drew. WEIR_E_NOENT: no such processor; WEIR_E_INVAL:
 * not an InvokeService, or a value out of range; WEIR_E_AGAIN: the
 * processor is not running; WEIR_E_UNSUPPORTED: it calls a service
 * registered with the engine (weir_flow_engine_service_register), not a
 * simulated one. */
WEIR_MUST_CHECK int weir_flow_invoke_service_set_health(weir_flow_engine *e, const char *processor,
                                                        double error_rate, int64_t latency_ns);

/* Gives the dependency back the health its properties describe. Same
 * errors as weir_flow_invoke_service_set_health. */
WEIR_MUST_CHECK int weir_flow_invoke_service_restore(weir_flow_engine *e, const char *processor);

/* The running processor's invoker (its counters, and its breaker through
 * weir_flow_invoker_breaker), or NULL when the processor is unknown, not an
 * InvokeService or not running. Valid until the processor stops. */
weir_flow_invoker *weir_flow_invoke_service_invoker(weir_flow_engine *e, const char *processor);

#endif
