/* mailbox: the thread-safe inbox of one worker (internal to core/).
 *
 * Other threads (main, helpers, other workers) post messages; the worker runs them in loop
 * context when its eventfd fires. The mailbox is refcounted so that a helper thread finishing a
 * job after its worker has exited can still post safely: posting to a dead mailbox fails and the
 * poster disposes of the message itself.
 */
#ifndef GOST_CORE_MAILBOX_H
#define GOST_CORE_MAILBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct mbox_msg {
    struct mbox_msg *next;
    void (*run)(struct mbox_msg *m);  /* on the worker, loop context; disposes of m */
    void (*drop)(struct mbox_msg *m); /* mailbox died before delivery; disposes of m */
};

struct mailbox {
    pthread_mutex_t mu;
    struct mbox_msg *head, *tail;
    int evfd; /* eventfd the worker polls; closed when the last ref goes */
    atomic_int refs;
    bool dead;
};

/* A new mailbox with one reference. NULL with errno on failure (eventfd). */
struct mailbox *mailbox_new(void);
void mailbox_ref(struct mailbox *mb);
void mailbox_unref(struct mailbox *mb);

/* Queue m and wake the worker. 0, or -EPIPE if the mailbox is dead (m not taken). */
int mailbox_post(struct mailbox *mb, struct mbox_msg *m);

/* Wake the worker without a message (async-signal-safe). */
void mailbox_kick(struct mailbox *mb);

/* Worker side: reset the eventfd and run every queued message. */
void mailbox_drain(struct mailbox *mb);

/* Worker side, at exit: mark dead and drop every queued message. */
void mailbox_kill(struct mailbox *mb);

#endif
