/* mailbox: cross-thread messages to a worker, woken through an eventfd. */
#include "core/mailbox.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/xmalloc.h"

struct mailbox *mailbox_new(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct mailbox *mb = xcalloc(1, sizeof *mb);
    pthread_mutex_init(&mb->mu, NULL);
    mb->evfd = fd;
    atomic_init(&mb->refs, 1);
    return mb;
}

void mailbox_ref(struct mailbox *mb)
{
    atomic_fetch_add_explicit(&mb->refs, 1, memory_order_relaxed);
}

void mailbox_unref(struct mailbox *mb)
{
    if (atomic_fetch_sub_explicit(&mb->refs, 1, memory_order_acq_rel) != 1)
        return;
    close(mb->evfd);
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

void mailbox_kick(struct mailbox *mb)
{
    uint64_t one = 1;
    ssize_t rc = write(mb->evfd, &one, sizeof one);
    (void)rc; /* EAGAIN only when the counter is saturated: the worker is woken anyway */
}

int mailbox_post(struct mailbox *mb, struct mbox_msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&mb->mu);
    if (mb->dead) {
        pthread_mutex_unlock(&mb->mu);
        return -EPIPE;
    }
    bool was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    pthread_mutex_unlock(&mb->mu);
    if (was_empty)
        mailbox_kick(mb);
    return 0;
}

static struct mbox_msg *mailbox_take(struct mailbox *mb, bool kill)
{
    pthread_mutex_lock(&mb->mu);
    struct mbox_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    if (kill)
        mb->dead = true;
    pthread_mutex_unlock(&mb->mu);
    return m;
}

void mailbox_drain(struct mailbox *mb)
{
    uint64_t v;
    ssize_t rc = read(mb->evfd, &v, sizeof v);
    (void)rc;
    /* Messages posted after the take find the list empty and kick again: none is stranded. */
    struct mbox_msg *m = mailbox_take(mb, false);
    while (m) {
        struct mbox_msg *next = m->next;
        m->run(m);
        m = next;
    }
}

void mailbox_kill(struct mailbox *mb)
{
    struct mbox_msg *m = mailbox_take(mb, true);
    while (m) {
        struct mbox_msg *next = m->next;
        m->drop(m);
        m = next;
    }
}
