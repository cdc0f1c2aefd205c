/* build: typed config → runtime objects (DESIGN §6 step 3): chains, then services (listener
 * instances, handler, router, forwarder). Main thread, after sched_init (listeners are created
 * per worker). Every problem is a positioned error in errs; nothing is half-built on failure. */
#ifndef GOST_SERVICE_BUILD_H
#define GOST_SERVICE_BUILD_H

#include <stddef.h>

#include "config/cfg_err.h"
#include "config/types.h"

struct chain;
struct service;

struct build {
    const struct cfg *cfg; /* borrowed: must outlive the build */
    struct chain **chains;
    size_t n_chains;
    struct service **services;
    size_t n_services;
};

/* 0 and *out, or -EINVAL with errors in errs. */
int build_all(const struct cfg *cfg, struct build **out, struct cfg_errs *errs);
/* Frees everything (after sched_run returned, or if the workers never ran). NULL-safe. */
void build_free(struct build *b);

#endif
