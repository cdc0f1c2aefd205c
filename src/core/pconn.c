/* pconn: generic helpers over struct pconn. */
#include "core/pconn.h"

#include <errno.h>

int pconn_ctl_default(struct pconn *pc, int op, void *arg)
{
    return pc->inner ? pconn_ctl(pc->inner, op, arg) : -ENOTSUP;
}
