/* scope.c: cancellation scopes (Trio's cancel scopes). Scopes form a tree:
 * a task's scopes nest, and the root scope of every child task hangs below
 * the scope its group was opened in. Cancelling a scope marks it and wakes
 * every parked task below it, except below shields; the mark stays
 * (level-triggered), so every later checkpoint under it fails too.
 *
 * The cancellation state of a task is never cached: a checkpoint walks its
 * scope chain up to the first shield, which is two or three pointer hops in
 * practice and cannot go stale. The loop only counts its cancelled scopes,
 * so that while there are none (nearly always) the walk is skipped. */
#include "internal.h"

#include <errno.h>

#define F_CANCELLED EDDY__SCOPE_CANCELLED
#define F_FIRED EDDY__SCOPE_FIRED
#define F_EXPLICIT EDDY__SCOPE_EXPLICIT
#define F_LINKED EDDY__SCOPE_LINKED
#define F_COUNTED EDDY__SCOPE_COUNTED

/* The loop counts its linked scopes that are cancelled (loop->ncancelled),
 * so that a checkpoint in a loop with none skips the walk. A scope is
 * counted once, when it is marked while linked, and uncounted when it is
 * unlinked. */
static void count_cancelled(eddy_scope *s) {
  eddy_loop *loop = eddy__loop();
  if (loop && (s->flags & F_LINKED) && !(s->flags & F_COUNTED)) {
    s->flags |= F_COUNTED;
    loop->ncancelled++;
    eddy__calm_loop_tls = NULL;
  }
}

void eddy__scope_link(eddy_scope *s, eddy_scope *parent, eddy_task *owner) {
  s->flags = (s->flags & ~F_COUNTED) | F_LINKED;
  s->parent = parent;
  s->owner = owner;
  eddy__list_init(&s->children);
  eddy__list_init(&s->sibling);
  if (parent) eddy__list_push_back(&parent->children, &s->sibling);
}

void eddy__scope_unlink(eddy_scope *s) {
  eddy_loop *loop = eddy__loop();
  if (loop && eddy__timer_armed(&s->timer)) eddy__timer_cancel(loop, &s->timer);
  if ((s->flags & F_COUNTED) && loop && --loop->ncancelled == 0) eddy__calm_loop_tls = loop;
  s->flags &= ~(F_COUNTED | F_LINKED);
  eddy__node_unlink(&s->sibling);
  /* Children still attached (tasks of a group that outlived a scope, which
   * the group protocol prevents) are re-parented so nothing dangles. */
  eddy_node *n;
  while ((n = eddy__list_pop_front(&s->children)) != NULL) {
    eddy_scope *c = eddy__container_of(n, eddy_scope, sibling);
    c->parent = s->parent;
    if (s->parent) eddy__list_push_back(&s->parent->children, n);
  }
}

static void wake_if_cancelled(eddy_task *t) {
  if (t && t->wait && (t->wait->flags & EDDY__WAIT_CANCELLABLE) && eddy__cancel_state(t))
    eddy__wake(t->wait, -ECANCELED);
}

/* Iterative pre-order walk of the subtree under s, not entering shields. */
static void wake_subtree(eddy_scope *root) {
  eddy_scope *s = root;
  for (;;) {
    wake_if_cancelled(s->owner);
    if (!eddy__list_empty(&s->children)) {
      eddy_scope *c = eddy__container_of(s->children.next, eddy_scope, sibling);
      /* skip shielded children: step to the next unshielded sibling */
      while (c && (c->flags & EDDY_SCOPE_SHIELD)) {
        eddy_node *nx = c->sibling.next;
        c = nx == &s->children ? NULL
                               : eddy__container_of(nx, eddy_scope, sibling);
      }
      if (c) {
        s = c;
        continue;
      }
    }
    /* climb until a next unshielded sibling exists */
    for (;;) {
      if (s == root) return;
      eddy_scope *p = s->parent;
      eddy_node *nx = s->sibling.next;
      eddy_scope *sib = NULL;
      while (nx != &p->children) {
        eddy_scope *c = eddy__container_of(nx, eddy_scope, sibling);
        if (!(c->flags & EDDY_SCOPE_SHIELD)) {
          sib = c;
          break;
        }
        nx = nx->next;
      }
      if (sib) {
        s = sib;
        break;
      }
      s = p;
    }
  }
}

void eddy__scope_cancel_reason(eddy_scope *s, int reason) {
  if (s->flags & F_CANCELLED) return;
  s->flags |= F_CANCELLED;
  s->reason = reason;
  count_cancelled(s);
  wake_subtree(s);
}

static void scope_timer_fire(eddy_timer_entry *e) {
  eddy_scope *s = eddy__container_of(e, eddy_scope, timer);
  if (s->flags & F_CANCELLED) return;
  s->flags |= F_FIRED;
  eddy__scope_cancel_reason(s, -ETIMEDOUT);
}

EDDY_API int eddy_scope_enter(eddy_scope *s, eddy_time_t deadline,
                              unsigned flags) {
  eddy_task *t = eddy__self();
  if (!t) return EDDY_ENOTTASK;
  if (!s) return -EINVAL;
  s->flags = flags & EDDY_SCOPE_SHIELD;
  s->reason = 0;
  s->deadline = deadline;
  s->timer.index = 0;
  s->timer.fire = scope_timer_fire;
  eddy__scope_link(s, t->scope, t);
  t->scope = s;
  if (deadline != EDDY_FOREVER) {
    if (deadline <= eddy_now()) {
      s->flags |= F_FIRED | F_CANCELLED;
      s->reason = -ETIMEDOUT;
      count_cancelled(s);
    } else {
      int r = eddy__timer_arm(t->loop, &s->timer, deadline);
      if (r) {
        t->scope = s->parent;
        eddy__scope_unlink(s);
        return r;
      }
    }
  }
  return 0;
}

EDDY_API int eddy_scope_exit(eddy_scope *s) {
  eddy_task *t = eddy__self();
  if (!t || !s) return -EINVAL;
  if (t->scope != s) return -EINVAL; /* not the innermost: misuse */
  t->scope = s->parent;
  eddy__scope_unlink(s);
  if (s->flags & F_FIRED) return 1;
  if (s->flags & F_EXPLICIT) return 2;
  return 0;
}

EDDY_API void eddy_scope_cancel(eddy_scope *s) {
  if (!s || (s->flags & F_CANCELLED)) return;
  s->flags |= F_EXPLICIT;
  eddy__scope_cancel_reason(s, -ECANCELED);
}

EDDY_API void eddy_scope_reschedule(eddy_scope *s, eddy_time_t deadline) {
  eddy_loop *loop = eddy__loop();
  if (!s || !loop || (s->flags & F_CANCELLED)) return;
  s->deadline = deadline;
  if (deadline == EDDY_FOREVER) {
    if (eddy__timer_armed(&s->timer)) eddy__timer_cancel(loop, &s->timer);
  } else if (deadline <= eddy_now()) {
    if (eddy__timer_armed(&s->timer)) eddy__timer_cancel(loop, &s->timer);
    scope_timer_fire(&s->timer);
  } else if (eddy__timer_arm(loop, &s->timer, deadline) != 0) {
    /* No memory to re-arm: fail safe by firing now rather than never. */
    scope_timer_fire(&s->timer);
  }
}

EDDY_API int eddy_scope_cancelled(const eddy_scope *s) {
  return s && (s->flags & F_CANCELLED) ? 1 : 0;
}

EDDY_API int eddy_cancelled(void) {
  eddy_task *t = eddy__self();
  return t ? eddy__cancel_state(t) : 0;
}
